"""Runs a quantised sigma-delta network in Lava (``Loihi2SimCfg(select_tag='fixed_pt')``).

Processes: a ``RingBuffer`` source sending the image's integer messages at the first step, then
per layer a graded ``Dense`` (``num_message_bits=16``) or ``Conv`` and a ``SigmaDelta`` (ReLU for
hidden layers, ``ActivationMode.UNIT`` for the output layer, its own ``bias`` 0), a bias source
(a ``RingBuffer`` sending layer ``i``'s bias into the SigmaDelta's ``a_in`` at step ``i + 1``,
with the layer's first input; Lava adds the messages arriving at a port) and a sink on every
SigmaDelta's ``s_out``. The network is compiled once; between samples every SigmaDelta's
``sigma``, ``act``, ``residue`` and ``error`` and every synapse buffer are reset to 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neuropipe.targets.loihi.lava_runner import (
    _from_xyf,
    _lava_conv_weight,
    lava_layout,
    lava_shape,
    quiet_children_on_interrupt,
    spikes_for_lava,
    stopping_lava,
)
from neuropipe.targets.loihi.sdnn.quantize import MESSAGE_BITS, SdnnLayer


class LavaSdnn:
    """The sigma-delta network as Lava processes, compiled once and run sample by sample."""

    def __init__(self, layers: list[SdnnLayer], steps: int) -> None:
        from lava.proc.conv.process import Conv
        from lava.proc.dense.process import Dense
        from lava.proc.io.sink import RingBuffer as Sink
        from lava.proc.io.source import RingBuffer as Source
        from lava.proc.sdn.process import ActivationMode, SigmaDelta

        quiet_children_on_interrupt()
        self.layers, self.steps = layers, steps
        first = layers[0].layer
        self.source = Source(data=np.zeros((*lava_shape(first.in_shape), steps),
                                           dtype=np.int32))
        self.neurons, self.synapses, self.sinks = [], [], []
        prev_port, prev_shape = self.source.s_out, first.in_shape
        for i, fx in enumerate(layers):
            layer = fx.layer
            shape = lava_shape(layer.out_shape)
            sd = SigmaDelta(shape=shape, vth=fx.vth, bias=0, state_exp=fx.state_exp,
                            spike_exp=0, act_mode=ActivationMode.RELU if fx.relu
                            else ActivationMode.UNIT, name=f"sigma_delta{i}")
            bias = np.zeros((*shape, steps), dtype=np.int32)
            if i + 1 < steps:
                bias[..., i + 1] = lava_layout(fx.bias, layer.out_shape)
            bias_source = Source(data=bias)
            bias_source.s_out.connect(sd.a_in)
            if layer.kind == "dense":
                weights = fx.weight
                if len(prev_shape) == 3:  # (W, H, C) in Lava; torch flattens (C, H, W)
                    c, h, w = prev_shape
                    weights = weights.reshape(-1, c, h, w).transpose(0, 3, 2, 1).reshape(
                        weights.shape[0], -1)
                syn = Dense(weights=weights, weight_exp=fx.weight_exp,
                            num_message_bits=MESSAGE_BITS, name=f"dense{i}")
            else:
                syn = Conv(weight=_lava_conv_weight(fx.weight),
                           input_shape=lava_shape(layer.in_shape),
                           padding=layer.padding[::-1], stride=layer.stride[::-1],
                           weight_exp=0, num_message_bits=MESSAGE_BITS, name=f"conv{i}")
            if prev_port.shape != syn.s_in.shape:
                prev_port = prev_port.reshape(syn.s_in.shape)
            prev_port.connect(syn.s_in)
            syn.a_out.connect(sd.a_in)
            sink = Sink(shape=shape, buffer=steps)
            sd.s_out.connect(sink.a_in)
            self.neurons.append(sd)
            self.synapses.append(syn)
            self.sinks.append(sink)
            prev_port, prev_shape = sd.s_out, layer.out_shape
        self._started = False

    def run_sample(self, x_int: np.ndarray) -> list[np.ndarray]:
        """Run one image ``(inputs,)`` from rest; return each layer's messages ``(steps, n)``."""
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg

        first = self.layers[0].layer
        raster = np.zeros((self.steps, int(np.prod(first.in_shape))), dtype=np.int32)
        raster[0] = x_int  # each pixel once, at step 0
        data = spikes_for_lava(raster, first.in_shape)
        if self._started:
            for sd in self.neurons:
                for var in (sd.sigma, sd.act, sd.residue, sd.error):
                    var.set(np.zeros(var.shape, dtype=np.int32))
            for syn in self.synapses:
                buf = syn.a_buff if hasattr(syn, "a_buff") else syn.a_buf
                buf.set(np.zeros(buf.shape))
            self.source.data.set(data)
        else:
            self.source.data.init = data
        self.neurons[0].run(condition=RunSteps(num_steps=self.steps),
                            run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        self._started = True
        out = []
        for fx, sink in zip(self.layers, self.sinks, strict=True):
            got = np.asarray(sink.data.get())
            if len(fx.layer.out_shape) == 3:
                got = _from_xyf(got, fx.layer.out_shape)
            out.append(got.T.astype(np.int64))
        return out

    def stop(self) -> None:
        """Stop Lava's runtime (if it was started)."""
        if self._started:
            self.neurons[0].stop()


def run_sdnn_in_lava(layers: list[SdnnLayer], steps: int, x_int: np.ndarray, samples: int,
                     on_sample: Callable[[int], None] | None = None) -> list[list[np.ndarray]]:
    """Run the first ``samples`` images in Lava; per sample, each layer's messages."""
    net = LavaSdnn(layers, steps)
    results = []
    with stopping_lava(net.stop):
        for k in range(samples):
            results.append(net.run_sample(x_int[k]))
            if on_sample is not None:
                on_sample(k)
    return results
