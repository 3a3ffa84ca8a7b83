"""A batched emulator of Lava's ``fixed_pt`` sigma-delta arithmetic (Dense, Conv, SigmaDelta).

It reproduces, message for message, what ``Loihi2SimCfg(select_tag='fixed_pt')`` computes for
the processes ``lava_runner`` builds, on a whole batch at once with integer torch arithmetic:

- step 0: the input source sends the image's integer messages (then nothing: a static image);
- every Dense/Conv delivers the previous step's accumulation (one step of delay per layer):
  ``(w . m) << weight_exp`` (a right shift floors), a Conv's wrapped to 24 signed bits;
- layer ``i``'s bias enters its neurons' input once, at step ``i + 1``, the step its first
  input arrives (a bias source sends it straight into the SigmaDelta's ``a_in``; the
  SigmaDelta's own ``bias`` is 0);
- every SigmaDelta: ``sigma += a_in``; ``act = relu(sigma + bias)`` (identity for the output
  layer); ``delta = act - act_prev + residue``; ``s = delta`` where ``|delta| >= vth <<
  state_exp``, else 0; ``residue = delta - s``; message ``s >> state_exp``.

Why the bias is gated: Lava's SigmaDelta applies its ``bias`` from the first step, before the
input reaches the layer, so each layer would first send its bias-only activation and then, step
by step, corrections as the earlier layers' bias-only activations and then the input's arrive (on
the mnist cnn, 2.2 times the ANN's effective MACs). Entering with the input, each neuron sends
its activation once (at delta threshold 0) and nothing after. A layer ``i`` (0-based) receives
its last input at step ``i + 1``, so ``len(layers) + 1`` steps let the output layer settle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neuropipe.core.threads import batched
from neuropipe.targets.loihi.emulator import UV_LIMIT, synapse
from neuropipe.targets.loihi.sdnn.quantize import SdnnLayer

LIMIT = UV_LIMIT  # 24 signed bits of state


@dataclass
class SdnnResult:
    """Messages of every layer of a batch.

    Attributes:
        messages: Per layer, int64 ``(steps, N, neurons)``: the messages it sent each step.
        scores: The output layer's final ``sigma + bias`` ``(N, classes)`` (the sum of its
            messages: its threshold is 0).
        state_overflows: Per layer, neuron updates whose ``sigma + bias`` left 24 signed bits.
        max_message: Per layer, the largest |message|.
    """

    messages: list[np.ndarray]
    scores: np.ndarray
    state_overflows: list[int]
    max_message: list[int]


@batched(lambda layers, x_int, steps: len(x_int))  # threads: core.threads
def emulate_sdnn(layers: list[SdnnLayer], x_int: np.ndarray, steps: int) -> SdnnResult:
    """Run a batch of integer input messages ``x_int`` ``(N, inputs)`` for ``steps`` steps."""
    n = len(x_int)
    x = torch.as_tensor(np.asarray(x_int, dtype=np.int64))
    state = [{k: torch.zeros(n, fx.layer.neurons, dtype=torch.int64)
              for k in ("buf", "sigma", "act", "residue")} for fx in layers]
    biases = [torch.as_tensor(fx.bias, dtype=torch.int64) for fx in layers]
    zero = torch.zeros((), dtype=torch.int64)
    out = [np.zeros((steps, n, fx.layer.neurons), dtype=np.int64) for fx in layers]
    overflows = [0] * len(layers)
    for t in range(steps):
        prev = x if t == 0 else torch.zeros_like(x)
        new_bufs = []
        for i, (fx, st) in enumerate(zip(layers, state, strict=True)):
            new_bufs.append(synapse(fx, prev))  # delivered at the next step
            st["sigma"] = st["sigma"] + st["buf"] + (biases[i] if t == i + 1 else zero)
            pre = st["sigma"]
            overflows[i] += int(((pre >= LIMIT) | (pre < -LIMIT)).sum())
            act = torch.relu(pre) if fx.relu else pre
            delta = act - st["act"] + st["residue"]
            s = torch.where(delta.abs() >= (fx.vth << fx.state_exp), delta,
                            torch.zeros_like(delta))
            st["residue"], st["act"] = delta - s, act
            msg = s >> fx.state_exp
            out[i][t] = msg.numpy()
            prev = msg
        for st, buf in zip(state, new_bufs, strict=True):
            st["buf"] = buf
    scores = out[-1].sum(axis=0)
    return SdnnResult(out, scores, overflows,
                      [int(np.abs(m).max()) if m.size else 0 for m in out])
