"""A batched emulator of Lava's bit-accurate Loihi arithmetic (Dense, Conv and LIF, ``fixed_pt``).

It reproduces, sample for sample and spike for spike, what ``Loihi2SimCfg(select_tag='fixed_pt')``
computes for the processes the Lava runner builds, but on a whole batch at once with integer
numpy/torch arithmetic: each synapse layer delivers the previous step's accumulation (one step of
delay per layer), the current decays with Lava's +1 offset, ``u`` wraps at 24 bits, ``v`` saturates
at +-(2^23 - 1), the threshold is compared as ``vth << 6`` and spiking neurons reset to 0. A
layer's recurrent Dense (from its own spikes back to its input) delivers the previous step's
accumulation too, added to the feed-forward one at the neurons' input port (as Lava adds the
messages of every connection into one InPort). Each Dense shifts its own accumulation by its own
weight exponent (left for a positive one, right, rounding towards minus infinity, for a negative
one), as Lava's bit-accurate Dense does before it sends it.

Graded input (Loihi 2's integer-valued spikes) enters the same way: the first synapse layer
multiplies each integer payload by its weights; a first layer with ``du = -1`` (Lava's effective
current decay ``du + 1 = 0``) holds the current it received.

The emulator also counts how often a neuron's current wrapped at 24 bits (an input too large for
``u``): Lava wraps it the same way, so such a run is still bit-exact, but no longer what the graph
means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neuropipe.core.threads import batched
from neuropipe.targets.loihi.quantize import ACT_SHIFT, DECAY_UNITY, FixedLayer

UV_LIMIT = 2**23
F32_EXACT = 2**24  # float32 holds every integer of magnitude up to this exactly


@dataclass
class EmulatorResult:
    """Spikes of every layer of a batch.

    Attributes:
        spikes: Per layer, a bool array ``(steps, N, neurons)``.
        input_spikes: The input spikes ``(steps, N, inputs)`` fed to an on-chip first layer, or
            None when the first layer's synapses run on the host.
        u_wraps: Per layer, how many neuron updates (over the batch and the steps) wrapped the
            current ``u`` at 24 bits.
        wrapped_samples: Bool ``(N,)``: the samples in which any neuron's current wrapped.
    """

    spikes: list[np.ndarray]
    input_spikes: np.ndarray | None
    u_wraps: list[int] | None = None
    wrapped_samples: np.ndarray | None = None


def _decay(x: torch.Tensor, d: int) -> torch.Tensor:
    """``sign(x * (4096 - d)) * (|x * (4096 - d)| >> 12)``, as Lava computes it.

    Computed as the product shifted right by 12 after adding 4095 to a negative one (the
    ``prod >> 63`` mask): division by 4096 rounding towards zero, equal for every int64 product
    and a few times faster than sign, abs and an integer division.
    """
    prod = x * (DECAY_UNITY - d)
    return (prod + ((prod >> 63) & (DECAY_UNITY - 1))) >> 12


def _wrap_u(u: torch.Tensor) -> torch.Tensor:
    wrapped = torch.where(u > UV_LIMIT, u - 2 * UV_LIMIT, u)
    return torch.where(wrapped <= -UV_LIMIT, u + 2 * UV_LIMIT, wrapped)


def synapse(fixed: Any, spikes: torch.Tensor) -> torch.Tensor:
    """Integer accumulation of ``spikes`` (N, inputs) through a layer's weights, then the shift.

    Lava's bit-accurate Dense and Conv, for any layer with ``layer`` (kind, shapes, stride,
    padding), ``weight`` and ``weight_exp``: the LIF layers here and the sigma-delta layers
    (``targets.loihi.sdnn``), whose graded messages go through the same arithmetic.
    """
    layer = fixed.layer
    dtype = exact_float(fixed.weight, spikes)
    w = torch.as_tensor(fixed.weight, dtype=dtype)
    s = spikes.to(dtype)
    if layer.kind == "dense":
        acc = s @ w.T
    else:
        acc = torch.nn.functional.conv2d(s.reshape(len(s), *layer.in_shape), w,
                                         stride=layer.stride, padding=layer.padding)
        acc = acc.reshape(len(s), -1)
    return _finish(acc, fixed.weight_exp, layer.kind == "conv")


def exact_float(weight: np.ndarray, spikes: torch.Tensor) -> torch.dtype:
    """The float type whose sums of ``spikes`` x ``weight`` are exact: float32 where they can be.

    Every partial sum of one output is an integer no larger than the largest input magnitude
    times the output's sum of absolute weights; below 2^24 float32 holds them all exactly
    (summed in any order, as a GEMM or a direct convolution does), and its kernels run far
    faster (a 16-to-32-channel 5x5 convolution of 500 samples: 48 ms against 872 ms in float64,
    equal). Larger sums (graded payloads) stay in float64 (exact below 2^53).
    """
    if spikes.numel() == 0:
        return torch.float32
    top = 1 if spikes.dtype == torch.bool else int(spikes.abs().max())
    fan = float(np.abs(weight).reshape(len(weight), -1).sum(axis=1).max()) if weight.size else 0.0
    return torch.float32 if top * fan <= F32_EXACT else torch.float64


def _recurrent(fixed: FixedLayer, spikes: torch.Tensor) -> torch.Tensor:
    """Integer accumulation of a layer's own ``spikes`` (N, neurons) through its recurrent Dense."""
    w = torch.as_tensor(fixed.recurrent, dtype=torch.float64)
    return _finish(spikes.to(torch.float64) @ w.T, fixed.recurrent_exp, False)


def _finish(acc: torch.Tensor, e: int, conv: bool) -> torch.Tensor:
    """Round the accumulation to integers (exact: sums far below 2^53), then shift it by ``e``."""
    acc = acc.round().to(torch.int64)
    if conv:  # Lava's fixed-point Conv wraps its output to 24 signed bits
        acc = torch.remainder(acc + UV_LIMIT, 2 * UV_LIMIT) - UV_LIMIT
    return acc << e if e >= 0 else acc >> -e


def _batch(layers: list[FixedLayer], steps: int, host_bias: np.ndarray | None = None,
           input_spikes: np.ndarray | None = None) -> int:
    return len(host_bias) if host_bias is not None else input_spikes.shape[1]


@batched(_batch)  # threads for the batch and the cores free now (core.threads)
def emulate(layers: list[FixedLayer], steps: int, host_bias: np.ndarray | None = None,
            input_spikes: np.ndarray | None = None) -> EmulatorResult:
    """Run a batch through the fixed-point network for ``steps`` steps.

    Args:
        layers: The quantised layers (``quantize_chain``).
        steps: Steps to run (the inference window plus one step of delay per layer).
        host_bias: For a host first layer: per-sample bias mantissas ``(N, neurons)``.
        input_spikes: For an on-chip first layer: bool spikes, or integer graded payloads,
            ``(steps, N, inputs)``.

    Returns:
        The spikes of every layer.
    """
    first = layers[0]
    if first.on_chip_synapses:
        assert input_spikes is not None
        batch = input_spikes.shape[1]
    else:
        assert host_bias is not None
        batch = host_bias.shape[0]
    state = []
    for i, fx in enumerate(layers):
        n = fx.layer.neurons
        mant = torch.as_tensor(np.array(host_bias if (i == 0 and host_bias is not None) else
                                        np.broadcast_to(fx.bias_mant, (batch, n))),
                               dtype=torch.int64)
        state.append({
            "u": torch.zeros(batch, n, dtype=torch.int64),
            "v": torch.zeros(batch, n, dtype=torch.int64),
            "a": torch.zeros(batch, n, dtype=torch.int64),  # the synapse layer's buffer
            "bias": mant << fx.bias_exp,
            "vth": fx.vth << ACT_SHIFT,
        })
    out = [np.zeros((steps, batch, fx.layer.neurons), dtype=bool) for fx in layers]
    # Wrapped neuron updates per layer and sample; totals and wrapped samples derive at the end.
    wraps = [torch.zeros(batch, dtype=torch.int64) for _ in layers]
    x_spikes = torch.as_tensor(input_spikes) if input_spikes is not None else None
    for t in range(steps):
        prev = x_spikes[t] if x_spikes is not None else None
        new_buffers = []
        for i, (fx, st) in enumerate(zip(layers, state, strict=True)):
            a_in = st["a"]
            raw = _decay(st["u"], fx.du + 1) + (a_in << ACT_SHIFT)
            u = _wrap_u(raw)
            wraps[i] += (u != raw).sum(dim=1)
            v = _decay(st["v"], fx.dv) + u + st["bias"]
            v = v.clamp(-UV_LIMIT + 1, UV_LIMIT - 1)
            s = v > st["vth"]
            st["u"], st["v"] = u, torch.where(s, torch.zeros_like(v), v)
            out[i][t] = s.numpy()
            # The synapses into this layer accumulate this step's presynaptic spikes (and,
            # through a recurrent Dense, the layer's own); they arrive at the next step.
            buf = None
            if fx.on_chip_synapses:  # no input at all (graded input after step 0): nothing sums
                buf = (synapse(fx, prev) if i > 0 or bool(prev.any()) else
                       torch.zeros(batch, fx.layer.neurons, dtype=torch.int64))
            if fx.recurrent is not None:
                rec = _recurrent(fx, s)
                buf = rec if buf is None else buf + rec
            if buf is not None:
                new_buffers.append((i, buf))
            prev = s
        for i, buf in new_buffers:
            state[i]["a"] = buf
    per_sample = torch.stack(wraps).sum(dim=0) if wraps else torch.zeros(batch, dtype=torch.int64)
    return EmulatorResult(out, input_spikes, [int(w.sum()) for w in wraps],
                          (per_sample > 0).numpy())
