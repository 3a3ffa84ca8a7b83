"""Loihi fixed-point quantisation of a layer chain: 8-bit weights, 12-bit decays, scaled thresholds.

Integer state follows Lava's bit-accurate LIF (``fixed_pt``): synaptic input is shifted left by
6 into ``u``; ``v = v * (4096 - dv) / 4096 + u + (bias_mant << bias_exp)``; a neuron spikes when
``v > vth << 6``. A float layer ``v += -leak * v + leak * v_leak + gain * (W s + b)`` maps onto it
with one scale ``S`` per layer (integer threshold units per float unit): ``vth = round(S * v_th)``,
weights ``round(gain * W * S)`` (8-bit, mixed sign: even values in [-256, 254], as Lava's Dense
truncates them), ``dv = round(leak * 4096)``, ``du = 4095`` (the current does not persist: the
LIF and IF neurons here have no synaptic filter), and the bias ``64 * S * (leak * v_leak + gain *
b)`` as a 13-bit mantissa with a 3-bit exponent.

Per-neuron thresholds (a Lava LIF process holds one ``vth``): each neuron ``i`` gets its own scale
``S_i = S * v_ref / v_th[i]`` (``v_ref`` the largest threshold), so that every neuron's threshold
is the same mantissa ``round(S * v_ref)``: its incoming weight rows (feed-forward and recurrent)
and its bias are scaled by ``S_i`` instead of ``S``, exactly equivalent in exact arithmetic (NIR
contract item 3). The same row scaling carries per-neuron ``r`` and ``v_leak``; dense layers only.
A self-recurrent synapse becomes a second Dense from the layer's spikes back to its own input,
quantised with the same row scales but its own weight exponent (Lava's Dense has one per
process): its mantissas are ``gain * W_R * S_i / 2**e_R`` with ``e_R >= 0`` the smallest exponent
that keeps them in 8 bits, so recurrent weights far larger than the feed-forward ones (lateral
inhibition) no longer push the feed-forward weights to 0.

The neurons' current ``u`` wraps at 24 bits, and one step's input enters it shifted left by 6:
a step's summed input must stay below ``2**17`` threshold-mantissa units, or a strong inhibition
wraps round into excitation. A layer with a recurrent synapse therefore keeps its threshold
mantissa at most ``2**17 / RECURRENT_HEADROOM`` (room for one step's input of
``RECURRENT_HEADROOM`` thresholds). When that caps ``S`` below the feed-forward weights' own
8-bit limit, the feed-forward Dense gets a negative exponent (mantissas ``W * S_i * 2**-e_F``,
Lava shifts the step's sum right by ``-e_F``, rounding towards minus infinity) and keeps its 8
bits too. Without recurrence nothing changes: ``weight_exp`` 0 and ``S`` at the weights' limit.

Graded input (``--encoding graded``, Loihi 2's integer-valued spikes): the first layer's synapses
run on the chip and take each pixel once per sample as one graded spike, an integer payload
``p = rint(x * P)`` with ``P = 2**b - 1``. The first LIF layer holds that current: ``du = -1``
(netx ``iDecay = 0``; Lava's effective current decay ``du + 1`` is then 0), so the spike sent at
step 0 sets ``u = (W p) << 6`` from step 1 on, which is re-sending the input every step, one
step later. Its weights are integers ``gain * W * S_i / P`` with exponent 0 (netx cannot hold a
fractional weight); the current must stay within 24 bits for any image in [0, 1]
(``sum_j |W_ij| * P < 2**17``), which caps ``S``. So the payload's bits trade the weights'
resolution against the pixels': ``b`` from 4 to 8 (8: MNIST's own pixel values) is chosen per
network by the smallest estimated current error (``quantize_graded``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuropipe.core.errors import GraphError
from neuropipe.targets.chain import Chain, Layer
from neuropipe.targets.float_sim import host_synapse

WEIGHT_MAX = 254  # mixed-sign 8-bit weights; Lava truncates the least significant bit
WEIGHT_MIN = -256
VTH_MAX = 2**17 - 1  # 17-bit threshold mantissa
BIAS_MANT_MAX = 4095  # 13-bit signed mantissa
BIAS_EXP_MAX = 7  # 3-bit exponent
ACT_SHIFT = 6  # synaptic input and threshold are shifted left by 6 in the neuron
DECAY_UNITY = 4096  # 12-bit decay constants
DU_NO_CURRENT = 4095  # with Lava's +1 offset, the current decays fully every step
DU_HELD = -1  # netx iDecay 0: Lava's effective current decay du + 1 = 0, the current holds
GRADED_PIXEL_BITS = 8  # MNIST's own pixels: 0..255
GRADED_PIXEL_MAX = 2**GRADED_PIXEL_BITS - 1
NETX_BIAS_EXP = 6  # netx builds LIF processes with bias_exp = 6
U_LIMIT = 2**17  # one step's input (threshold-mantissa units) that u holds after the << 6
RECURRENT_HEADROOM = 64  # thresholds of input per step a recurrent layer's u must hold
WEIGHT_EXP_MIN = -8  # Loihi's weight exponent range
WEIGHT_EXP_MAX = 7


@dataclass
class FixedLayer:
    """A layer in Loihi fixed point.

    Attributes:
        layer: The float layer it came from.
        on_chip_synapses: False for a first layer whose synapses run on the host (constant
            input): its input arrives as a per-sample bias instead.
        scale: Integer threshold units per float unit of membrane potential.
        weight: Integer weights (even, in [-256, 254]), layout as the float weights.
        weight_exp: Lava's Dense/Conv ``weight_exp``: 0 (the scale absorbs it), or negative on
            a recurrent layer whose headroom caps the scale (see the module docstring).
        bias_mant: Per-neuron bias mantissa (static part; host layers add the input per sample).
        bias_exp: Shared bias exponent of the layer.
        dv: Voltage decay (12-bit).
        du: Current decay (12-bit).
        vth: Threshold mantissa (17-bit).
        max_weight_error: Largest absolute weight error, in float units of the original weights.
        recurrent: Integer recurrent weight mantissas ``(neurons, neurons)`` (even, in
            [-256, 254]) of a layer with a self-recurrent synapse, else None. Always on the chip.
        max_recurrent_error: Largest absolute error of the recurrent weights (float units).
        recurrent_exp: The recurrent Dense's own ``weight_exp`` (>= 0): each mantissa stands
            for ``mantissa * 2**recurrent_exp`` threshold-mantissa units.
        graded_max: For a first layer fed graded spikes, the largest payload (255: a pixel of 1);
            0 when its input is binary spikes or a host bias.

    ``scale`` is one float, or one value per neuron when thresholds (or ``r``, ``v_leak``)
    differ between neurons (row scaling, see the module docstring).
    """

    layer: Layer
    on_chip_synapses: bool
    scale: float | np.ndarray
    weight: np.ndarray
    weight_exp: int
    bias_mant: np.ndarray
    bias_exp: int
    dv: int
    du: int
    vth: int
    max_weight_error: float
    recurrent: np.ndarray | None = None
    max_recurrent_error: float = 0.0
    recurrent_exp: int = 0
    graded_max: int = 0

    @property
    def input_message_bits(self) -> int:
        """Bits of the graded payload this layer's synapses take (0: binary spikes)."""
        return int(self.graded_max).bit_length()

    def graded_payload(self, x: np.ndarray) -> np.ndarray:
        """Integer payloads ``rint(x * graded_max)`` of analogue inputs ``x`` in [0, 1]."""
        x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
        return np.rint(x * self.graded_max).astype(np.int32)

    def bias_raw(self, float_bias: np.ndarray) -> tuple[np.ndarray, int, int]:
        """Quantise a float bias (membrane units per step) into ``(mantissa, exponent, clipped)``.

        Args:
            float_bias: Bias in float membrane units per step, any shape.

        Returns:
            The mantissas, the exponent used, and how many values were clipped.
        """
        raw = np.asarray(float_bias, dtype=np.float64) * self.scale * (1 << ACT_SHIFT)
        return fit_bias(raw, self.bias_exp)

    def input_bias(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """Per-sample bias mantissas of a host layer for analogue inputs ``x`` ``(N, *in)``.

        Returns:
            Mantissas of shape ``(N, neurons)`` and the number of clipped values.
        """
        layer = self.layer
        current = host_synapse(layer, x)
        n = layer.neuron
        mant, _, clipped = self.bias_raw(n.leak * n.v_leak + n.input_gain * current)
        return mant, clipped


def fit_bias(raw: np.ndarray, exp: int | None = None) -> tuple[np.ndarray, int, int]:
    """Split raw biases into 13-bit mantissas and one exponent (the smallest that fits).

    Returns:
        ``(mantissas, exponent, clipped)``; values beyond ``4095 << 7`` are clipped.
    """
    peak = float(np.max(np.abs(raw))) if np.size(raw) else 0.0
    if exp is None:
        exp = 0
        while exp < BIAS_EXP_MAX and peak / (1 << exp) > BIAS_MANT_MAX:
            exp += 1
    mant = np.rint(raw / (1 << exp))
    clipped = int(np.sum(np.abs(mant) > BIAS_MANT_MAX))
    return np.clip(mant, -BIAS_MANT_MAX - 1, BIAS_MANT_MAX).astype(np.int64), exp, clipped


def host_input_bounds(layer: Layer) -> np.ndarray:
    """Per neuron, the largest |gain * (W x + b)| + |leak * v_leak| for any input in [0, 1].

    A convolution's neurons of one channel share its bound (a position sees the whole kernel).
    """
    n = layer.neuron
    w = layer.weight.reshape(layer.weight.shape[0], -1)
    hi = np.clip(w, 0, None).sum(1) + layer.bias
    lo = np.clip(w, None, 0).sum(1) + layer.bias
    peak = np.maximum(np.abs(hi), np.abs(lo))
    if layer.kind == "conv":
        peak = np.repeat(peak, int(np.prod(layer.out_shape[1:])))
    return peak * np.abs(n.input_gain) + np.abs(n.leak * np.asarray(n.v_leak))


def host_input_bound(layer: Layer) -> float:
    """Largest |gain * (W x + b)| for any input in [0, 1] (a bound that never clips)."""
    return float(np.max(host_input_bounds(layer)))


def static_bias(layer: Layer) -> np.ndarray:
    """Per-neuron float bias of a layer with on-chip synapses: ``leak * v_leak + gain * b``."""
    n = layer.neuron
    bias = layer.bias
    if layer.kind == "conv":
        bias = np.repeat(bias, int(np.prod(layer.out_shape[1:])))
    return np.broadcast_to(n.leak * n.v_leak + n.input_gain * bias, (layer.neurons,)).copy()


def _per_neuron(layer: Layer) -> bool:
    """Whether a layer's thresholds, ``r`` or ``v_leak`` differ between neurons (row scaling).

    Raises:
        GraphError: If they do on a convolutional layer (its kernel is shared by every row).
    """
    n = layer.neuron
    per_neuron = any(isinstance(v, np.ndarray) for v in (n.v_threshold, n.r, n.v_leak))
    if per_neuron and layer.kind != "dense":
        raise GraphError(f"layer '{layer.name}': per-neuron thresholds, r or v_leak on a "
                         "convolutional layer cannot be row-scaled (the kernel is shared)")
    return per_neuron


def _rows(value: float | np.ndarray) -> float | np.ndarray:
    """A per-neuron vector as a column (to scale weight rows); a float as it is."""
    return value[:, None] if isinstance(value, np.ndarray) else value


def _quantise_weights(float_w: np.ndarray, scale: float | np.ndarray,
                      exp: int = 0) -> np.ndarray:
    """Mantissas ``2 * rint(w * S / 2**exp / 2)`` in [-256, 254] of a Dense with exponent ``exp``.

    Even, as Lava drops the least significant bit of mixed-sign weights.
    """
    w = np.rint(float_w * _rows(scale) / (2.0 ** exp) / 2.0) * 2.0
    return np.clip(w, WEIGHT_MIN, WEIGHT_MAX).astype(np.int64)


def weight_exponent(peak: float) -> int:
    """The smallest exponent ``e`` with ``peak / 2**e <= 254`` (8-bit mantissas).

    ``peak`` is the largest weight in threshold-mantissa units; ``e`` stays in Loihi's range.
    """
    if peak <= 0:
        return 0
    exp = int(np.ceil(np.log2(peak / WEIGHT_MAX) - 1e-12))
    return int(np.clip(exp, WEIGHT_EXP_MIN, WEIGHT_EXP_MAX))


def _weight_error(w: np.ndarray, exp: int, scale: float | np.ndarray, gain: float | np.ndarray,
                  float_w: np.ndarray) -> float:
    """Largest |deployed - float| weight, in float units of the original weights."""
    if not w.size:
        return 0.0
    return float(np.max(np.abs(w * 2.0 ** exp / _rows(scale * gain) - float_w)))


def quantize_layer(layer: Layer, on_chip_synapses: bool) -> FixedLayer:
    """Quantise one layer (see the module docstring for the mapping).

    The scale is the largest that keeps the threshold within 17 bits, the feed-forward weights
    within 8 bits and the bias within a 13-bit mantissa with exponent up to 7; a layer with a
    recurrent synapse also keeps the threshold mantissa within ``2**17 / RECURRENT_HEADROOM``,
    and each of its two Dense processes gets the exponent that keeps its mantissas in 8 bits.
    For a host layer the bias bound is the largest input current any image in [0, 1] can
    cause, so per-sample biases never clip.

    Raises:
        GraphError: If the threshold quantises to 0, or per-neuron values sit on a conv layer.
    """
    n = layer.neuron
    vth = np.asarray(n.v_threshold, dtype=np.float64)
    per_neuron = _per_neuron(layer)
    v_ref = float(vth.max())
    # Each neuron's scale relative to the layer's: 1 for a shared threshold.
    rel: float | np.ndarray = (np.broadcast_to(v_ref / vth, (layer.neurons,)).astype(np.float64)
                               if per_neuron else 1.0)
    recurrent = layer.recurrent is not None
    limits = [VTH_MAX / max(v_ref, 1e-12)]
    if recurrent:  # room for one step's input of RECURRENT_HEADROOM thresholds in u
        limits.append(U_LIMIT / RECURRENT_HEADROOM / max(v_ref, 1e-12))
    gain = n.input_gain
    gain_w = _rows(gain) * layer.weight
    peak_w = 0.0
    if on_chip_synapses:
        peak_w = float(np.max(np.abs(gain_w * _rows(rel)))) if gain_w.size else 0.0
        if peak_w > 0:
            limits.append(WEIGHT_MAX / peak_w)
        static = static_bias(layer)
    else:
        static = np.broadcast_to(host_input_bounds(layer), (layer.neurons,))
    peak_b = float(np.max(np.abs(static * rel))) if static.size else 0.0
    # On-chip layers keep bias_exp = 6 (the bias in weight units), the exponent lava-dl's netx
    # format assumes; a host layer's per-sample bias may use any exponent up to 7.
    max_exp = NETX_BIAS_EXP if on_chip_synapses else BIAS_EXP_MAX
    if peak_b > 0:
        limits.append(BIAS_MANT_MAX * (1 << max_exp) / ((1 << ACT_SHIFT) * peak_b))
    base = float(min(limits))
    scale: float | np.ndarray = base * rel
    if on_chip_synapses:
        bias_exp = NETX_BIAS_EXP
    else:
        _, bias_exp, _ = fit_bias(static * scale * (1 << ACT_SHIFT))
    w_exp = 0
    if on_chip_synapses:
        if recurrent:  # negative only when the headroom caps S below the weights' limit
            w_exp = min(0, weight_exponent(peak_w * base))
        w = _quantise_weights(gain_w, scale, w_exp)
        err = _weight_error(w, w_exp, scale, gain, layer.weight)
        bias_mant, _, _ = fit_bias(static * scale * (1 << ACT_SHIFT), bias_exp)
    else:
        w, err = np.zeros((0,), dtype=np.int64), 0.0
        bias_mant = np.zeros(layer.neurons, dtype=np.int64)
    rec, rec_err, rec_exp = None, 0.0, 0
    if recurrent:
        gain_r = _rows(gain) * layer.recurrent
        rec_exp = max(0, weight_exponent(float(np.max(np.abs(gain_r * _rows(scale))))))
        rec = _quantise_weights(gain_r, scale, rec_exp)
        rec_err = _weight_error(rec, rec_exp, scale, gain, layer.recurrent)
    vth_mant = int(round(v_ref * base))
    if vth_mant < 1:
        raise GraphError(f"layer '{layer.name}': its weights or biases are so large against the "
                         f"threshold ({v_ref:g}) that the threshold quantises to 0; "
                         "rescale the layer")
    return FixedLayer(layer, on_chip_synapses, scale, w, w_exp, bias_mant, bias_exp,
                      int(round(n.leak * DECAY_UNITY)), DU_NO_CURRENT, vth_mant, err, rec,
                      rec_err, rec_exp)


def graded_current_peak(w: np.ndarray, pixel_max: int) -> int:
    """Largest |summed input| (threshold-mantissa units) of mantissas ``w``, payloads <= P.

    That is a neuron's positive (or negative) weights all fully on (weight exponent 0).
    """
    rows = w.reshape(w.shape[0], -1)
    peak = max(int(np.clip(rows, 0, None).sum(1).max(initial=0)),
               int(-np.clip(rows, None, 0).sum(1).min(initial=0)))
    return peak * pixel_max


def _graded_at(layer: Layer, pixel_max: int) -> tuple[float, FixedLayer]:
    """Quantise a graded first layer for payloads 0..pixel_max; return its estimated error.

    The error is the variance of one neuron's held current (float units, mean over neurons)
    for payloads spread evenly over [0, pixel_max]: weight rounding (``P**2 / 36`` mantissa
    units squared per nonzero weight) plus, below 255 levels, the rounding of MNIST's 8-bit
    pixels to the payload (``W**2 / 12`` per weight).
    """
    n = layer.neuron
    vth = np.asarray(n.v_threshold, dtype=np.float64)
    v_ref = float(vth.max())
    per_neuron = any(isinstance(v, np.ndarray) for v in (n.v_threshold, n.r, n.v_leak))
    rel: float | np.ndarray = (np.broadcast_to(v_ref / vth, (layer.neurons,)).astype(np.float64)
                               if per_neuron else 1.0)
    gain_w = _rows(n.input_gain) * layer.weight
    rows = (gain_w * _rows(rel)).reshape(layer.weight.shape[0], -1)
    bound = float(max(np.clip(rows, 0, None).sum(1).max(initial=0),
                      -np.clip(rows, None, 0).sum(1).min(initial=0)))
    peak_w = float(np.max(np.abs(rows))) if rows.size else 0.0
    static = static_bias(layer)
    peak_b = float(np.max(np.abs(static * rel))) if static.size else 0.0
    limits = [VTH_MAX / max(v_ref, 1e-12)]
    if bound > 0:
        limits.append((U_LIMIT - 1) / bound)
    if peak_b > 0:
        limits.append(BIAS_MANT_MAX / peak_b)
    if peak_w > 0:
        limits.append(WEIGHT_MAX * pixel_max / peak_w)
    base = float(min(limits))
    while True:  # rounding may push a row's sum past 2**17: shrink the scale until it fits
        scale = base * rel
        w = _quantise_weights(gain_w / pixel_max, scale)
        if graded_current_peak(w, pixel_max) < U_LIMIT:
            break
        base *= 0.99
    nonzero = np.count_nonzero(rows) / max(layer.weight.shape[0], 1)
    var = nonzero * pixel_max**2 / 36.0
    if pixel_max < GRADED_PIXEL_MAX:
        var += float(np.sum(w.astype(np.float64) ** 2)) / max(layer.weight.shape[0], 1) / 12.0
    err = _weight_error(w, 0, scale / pixel_max, n.input_gain, layer.weight)
    bias_mant, _, _ = fit_bias(static * scale * (1 << ACT_SHIFT), NETX_BIAS_EXP)
    vth_mant = int(round(v_ref * base))
    if vth_mant < 1:
        raise GraphError(f"layer '{layer.name}': its weights or biases are so large against the "
                         f"threshold ({v_ref:g}) that the threshold quantises to 0; "
                         "rescale the layer")
    fixed = FixedLayer(layer, True, scale, w, 0, bias_mant, NETX_BIAS_EXP,
                       int(round(n.leak * DECAY_UNITY)), DU_HELD, vth_mant, err,
                       graded_max=pixel_max)
    return var / base**2, fixed


def quantize_graded(layer: Layer, pixel_bits: int | None = None) -> FixedLayer:
    """Quantise a first layer fed graded spikes whose current holds (module docstring).

    The weight exponent is 0: lava-dl's netx reads integer weights and can express no
    fractional weight (nor does Lava's Conv apply an exponent), so the ``.net`` file holds
    exactly what Lava ran. The scale is the largest that keeps the threshold within 17 bits,
    the static bias within its mantissa (exponent 6), the weights within 8 bits and the held
    current of any image in [0, 1] within 24 bits. The payload's bits (``pixel_bits``, else
    chosen from 4 to 8) trade the weights' resolution (integers per payload unit) against the
    pixels' own: the choice with the smallest estimated current error wins (``_graded_at``).

    Raises:
        GraphError: If the layer is recurrent, a conv layer has per-neuron values, or the
            threshold quantises to 0.
    """
    if layer.recurrent is not None:
        raise GraphError(f"layer '{layer.name}' has a recurrent synapse: graded input needs a "
                         "current that holds, and its recurrent input would then never decay; "
                         "use --encoding constant or poisson")
    _per_neuron(layer)  # refuses per-neuron values on a conv layer
    bits = [pixel_bits] if pixel_bits else list(range(GRADED_PIXEL_BITS, 3, -1))
    return min((_graded_at(layer, 2**b - 1) for b in bits), key=lambda c: c[0])[1]


def quantize_chain(chain: Chain, encoding: str) -> list[FixedLayer]:
    """Quantise every layer.

    With ``constant`` input the first layer's synapses run on the host; with ``graded`` input
    they run on the chip, fed one graded spike per pixel (``quantize_graded``).
    """
    return [quantize_graded(layer) if i == 0 and encoding == "graded" else
            quantize_layer(layer, on_chip_synapses=not (i == 0 and encoding == "constant"))
            for i, layer in enumerate(chain.layers)]
