"""Loihi fixed point of a sigma-delta network: 8-bit weights, integer graded activations.

Lava's ``SigmaDelta`` (``fixed_pt``) keeps integer state: ``sigma += a_in``, ``act = relu(sigma +
bias)`` (or ``sigma + bias`` with ``ActivationMode.UNIT``), ``delta = act - act_prev + residue``,
``s = delta if |delta| >= vth << state_exp else 0``, ``residue = delta - s``, and it sends the
message ``s >> state_exp``. A Dense sends ``(w . m) << weight_exp`` (a negative exponent shifts
right, rounding towards minus infinity); Lava's fixed-point Conv ignores ``weight_exp`` and wraps
its output to 24 signed bits.

Scales (integer units per float unit), layer by layer from the input:

- input: ``A_in = 255``: MNIST pixels in [0, 1] are k / 255, so the input messages are exact
  8-bit integers;
- weights: mantissas ``w = 2 rint(W Q / 2)`` (even, in [-256, 254], as Lava's Dense truncates
  mixed-sign weights) with ``Q = 254 / max|W|``;
- sigma: ``U = A_in Q 2**weight_exp`` units per float unit of the layer's pre-activation; the bias
  is ``rint(b U)`` in the same units;
- messages: ``A = U / 2**state_exp``. The downshift ``D = state_exp - weight_exp`` is the smallest
  that brings the layer's largest calibration activation to at most ``2**activation_bits - 1``
  message units (activations of about ``activation_bits`` bits; messages are sent in 16 bits,
  netx's SDNN default, so larger test activations still fit). ``state_exp`` takes up to 7 (its 3
  bits) and ``weight_exp`` the rest (down to -8, Dense only). A conv layer, whose Lava Conv has
  no exponent, keeps ``D <= 7``: if that is not enough, its activations take more bits (up to
  the 16-bit messages at the calibration maximum; the record's ``activation_scale`` and
  ``max_message`` say how many) and only beyond that its weight scale ``Q`` is lowered (fewer
  weight bits; the record says how many remain).
- the output layer (no ReLU) has ``state_exp = 0`` and delta threshold 0: its messages go to the
  host, which sums them into its final ``sigma + bias`` (the class scores), scaled to at most
  ``2**20`` at the calibration maximum (8x headroom in the 24-bit state).

The delta threshold is a fraction of each hidden layer's calibrated activation range: ``vth =
rint(X * A * h_max)`` message units (0 = every change is sent: the exact network).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from neuropipe.core.errors import GraphError
from neuropipe.targets.loihi.quantize import WEIGHT_MAX, WEIGHT_MIN
from neuropipe.targets.loihi.sdnn.network import AnnLayer, forward

INPUT_SCALE = 255  # MNIST pixels are k / 255: integer input messages 0..255, exact
ACTIVATION_BITS = 8  # hidden activations use about 8 bits at their calibration maximum
MESSAGE_BITS = 16  # graded message payload (netx's SDNN default num_message_bits)
OUTPUT_BITS = 20  # the output layer's scores at calibration maximum: 8x headroom in 24 bits
STATE_EXP_MAX = 7  # SigmaDelta's state_exp has 3 bits
WEIGHT_EXP_MIN = -8
STATE_BITS = 24


@dataclass
class SdnnLayer:
    """One sigma-delta layer in Loihi fixed point.

    Attributes:
        layer: The float layer.
        weight: Integer weight mantissas (even, in [-256, 254]), layout as the float weights.
        weight_exp: The Dense's ``weight_exp`` (<= 0; 0 for a conv).
        state_exp: The SigmaDelta's ``state_exp`` (0..7): message = change of act >> state_exp.
        bias: Per-neuron bias in sigma units (the SigmaDelta's ``bias`` Var).
        vth: Delta threshold in message units (the SigmaDelta's ``vth`` argument; its Var holds
            ``vth << state_exp``).
        in_scale: Integer message units per float unit of the layer's input.
        weight_scale: ``Q``: integer weight units per float unit.
        act_scale: Integer message units per float unit of the layer's output.
        calib_max: Largest |activation| of the layer on the calibration images (float units).
        max_weight_error: Largest |deployed - float| weight, in float units.
    """

    layer: AnnLayer
    weight: np.ndarray
    weight_exp: int
    state_exp: int
    bias: np.ndarray
    vth: int
    in_scale: float
    weight_scale: float
    act_scale: float
    calib_max: float
    max_weight_error: float

    @property
    def relu(self) -> bool:
        """True for a hidden layer (ReLU), False for the output layer (identity)."""
        return self.layer.relu

    def weight_bits(self) -> int:
        """Bits the largest weight mantissa uses, sign included (8 at most).

        The mantissas are even (Lava drops the least significant bit of mixed-sign weights),
        so ``[-256, 254]`` is 8 bits.
        """
        peak = int(np.max(np.abs(self.weight))) // 2 if self.weight.size else 0
        return int(math.ceil(math.log2(peak + 1))) + 1 if peak else 1


def input_messages(x: np.ndarray) -> np.ndarray:
    """The image as integer messages ``rint(255 x)`` ``(N, inputs)`` (exact for MNIST)."""
    return np.rint(np.asarray(x, dtype=np.float64).reshape(len(x), -1) * INPUT_SCALE
                   ).astype(np.int64)


def with_threshold(layers: list[SdnnLayer], fraction: float) -> list[SdnnLayer]:
    """The same layers with the hidden layers' delta threshold set to ``fraction`` of range."""
    return [dataclasses.replace(fx, vth=int(round(fraction * fx.act_scale * fx.calib_max))
                                if fx.relu else 0) for fx in layers]


def quantize_sdnn(layers: list[AnnLayer], calibration: np.ndarray,
                  delta_threshold: float = 0.0,
                  activation_bits: int = ACTIVATION_BITS) -> list[SdnnLayer]:
    """Quantise the ANN's layers (see the module docstring).

    Args:
        layers: The float layers (``network.read_onnx``).
        calibration: Images ``(N, ...)`` in [0, 1] that set each layer's activation range.
        delta_threshold: Hidden layers' delta threshold, a fraction of their calibrated range.
        activation_bits: Bits of a hidden activation at its calibration maximum.

    Raises:
        GraphError: If a hidden layer follows the output layer (a ReLU-free layer before the
            end) or a layer has no nonzero weight.
    """
    for layer in layers[:-1]:
        if not layer.relu:
            raise GraphError(f"layer '{layer.name}' has no ReLU but is not the last layer: a "
                             "sigma-delta network here needs ReLU between its layers")
    acts = forward(layers, calibration)
    in_scale = float(INPUT_SCALE)
    out = []
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        peak_w = float(np.max(np.abs(layer.weight)))
        if peak_w == 0:
            raise GraphError(f"layer '{layer.name}' has only zero weights")
        h_max = max(float(np.max(np.abs(acts[i]))), 1e-9)
        target = ((2 ** OUTPUT_BITS - 1) if last else (2 ** activation_bits - 1)) / h_max
        q = WEIGHT_MAX / peak_w
        d_max = (0 if last else STATE_EXP_MAX) + (-WEIGHT_EXP_MIN if layer.kind == "dense"
                                                   else 0)
        d = max(0, int(math.ceil(math.log2(in_scale * q / target) - 1e-12)))
        if d > d_max:  # a conv layer (Lava's Conv has no exponent): more activation bits
            d = d_max
            ceiling = target if last else (2 ** (MESSAGE_BITS - 1) - 1) / h_max
            if in_scale * q / 2.0 ** d > ceiling:  # beyond 16-bit messages: fewer weight bits
                q = ceiling * 2.0 ** d / in_scale
        state_exp = 0 if last else min(d, STATE_EXP_MAX)
        weight_exp = -(d - state_exp)
        w = np.clip(np.rint(layer.weight * q / 2.0) * 2.0, WEIGHT_MIN, WEIGHT_MAX).astype(np.int64)
        sigma_scale = in_scale * q * 2.0 ** weight_exp
        act_scale = sigma_scale / 2.0 ** state_exp
        bias = np.rint(layer.bias_per_neuron() * sigma_scale).astype(np.int64)
        err = float(np.max(np.abs(w / q - layer.weight)))
        fx = SdnnLayer(layer, w, weight_exp, state_exp, bias, 0, in_scale, q, act_scale, h_max,
                       err)
        out.append(fx)
        in_scale = act_scale
    return with_threshold(out, delta_threshold)
