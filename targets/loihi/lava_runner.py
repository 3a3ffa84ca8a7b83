"""Runs quantised layers in Lava's bit-accurate Loihi simulation (``Loihi2SimCfg('fixed_pt')``).

A layer with a self-recurrent synapse gets a second Dense process from its LIF's ``s_out`` back
to the same LIF's ``a_in`` (Lava adds both Dense outputs at the port), with its own
``weight_exp``.

The network is compiled once; between samples the runner resets every neuron's ``u`` and ``v``
and every synapse buffer, and loads the next sample (its input spikes, or its per-sample bias when
the first layer's synapses run on the host), so that each sample starts from rest. Graded input
(integer payloads) goes through the same source into a first Dense or Conv with
``num_message_bits`` set, whose LIF holds its current (``du = -1``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from neuropipe.targets.loihi.quantize import FixedLayer


def _lava_conv_weight(weight: np.ndarray) -> np.ndarray:
    """Torch conv weights ``(out, in, kh, kw)`` -> Lava's ``(out, kw, kh, in)`` (X-Y-feature).

    Lava's Conv computes a true convolution (it flips the kernel before torch's correlation),
    so the kernel is flipped here to keep torch's (and NIR's) cross-correlation.
    """
    return np.ascontiguousarray(np.transpose(weight, (0, 3, 2, 1))[:, ::-1, ::-1])


def to_xyf(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Flattened ``(C, H, W)`` values -> Lava's ``(W, H, C)`` layout."""
    return np.transpose(flat.reshape(shape), (2, 1, 0))


def lava_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A layer's ``(C, H, W)`` shape in Lava's ``(W, H, C)`` order (flat shapes as they are)."""
    return (shape[2], shape[1], shape[0]) if len(shape) == 3 else tuple(shape)


def lava_layout(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Flattened per-neuron values in Lava's layout for a layer of ``shape``."""
    return to_xyf(np.asarray(flat), shape) if len(shape) == 3 else np.asarray(flat)


def spikes_for_lava(spikes: np.ndarray, in_shape: tuple[int, ...]) -> np.ndarray:
    """Input spikes ``(steps, inputs)`` -> a Lava source's data.

    That is ``(inputs, steps)``, or ``(W, H, C, steps)`` for a convolutional first layer.
    """
    data = spikes.T.astype(np.int32)
    if len(in_shape) == 3:
        data = np.stack([to_xyf(data[:, t], in_shape) for t in range(data.shape[1])], axis=-1)
    return data


def _from_xyf(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Lava's ``(W, H, C[, T])`` layout -> flattened ``(C, H, W)`` (time stays last)."""
    if arr.ndim == 4:
        return np.transpose(arr, (2, 1, 0, 3)).reshape(-1, arr.shape[-1])
    return np.transpose(arr, (2, 1, 0)).reshape(-1)


_QUIET_CHILDREN = False


def _exit_quietly(signum: int, frame: object) -> None:
    os._exit(128 + signum)


def quiet_children_on_interrupt() -> None:
    """Make processes this process forks from now on (Lava's runtime) end quietly on Ctrl-C.

    Ctrl-C reaches the whole process group: with Python's default handler each of Lava's
    processes prints its own traceback. They still end at once (as before), but silently; the
    parent stops the runtime and reports one line. ``os.register_at_fork`` hooks run for
    ``os.fork`` (multiprocessing), not for ``subprocess``, whose programs keep their handlers.
    """
    global _QUIET_CHILDREN
    if not _QUIET_CHILDREN:
        os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGINT, _exit_quietly))
        # multiprocessing starts its resource tracker with this process's -W options: after an
        # interrupt it frees Lava's shared memory without a two-line warning about doing so.
        sys.warnoptions.append("ignore:resource_tracker:UserWarning")
        _QUIET_CHILDREN = True


class LavaNetwork:
    """The quantised network as Lava processes, compiled once and run sample by sample."""

    def __init__(self, layers: list[FixedLayer], steps: int) -> None:
        from lava.proc.conv.process import Conv
        from lava.proc.dense.process import Dense
        from lava.proc.io.sink import RingBuffer as Sink
        from lava.proc.io.source import RingBuffer as Source
        from lava.proc.lif.process import LIF

        quiet_children_on_interrupt()
        self.layers, self.steps = layers, steps
        self.lifs, self.synapses, self.sinks = [], [], []
        self.source = None
        prev_port = None
        for i, fx in enumerate(layers):
            layer = fx.layer
            shape = lava_shape(layer.out_shape)
            lif = LIF(shape=shape, du=fx.du, dv=fx.dv, vth=fx.vth,
                      bias_mant=lava_layout(fx.bias_mant, layer.out_shape),
                      bias_exp=np.full(shape, fx.bias_exp), name=f"lif{i}")
            if fx.on_chip_synapses:
                if i == 0:
                    self.source = Source(data=np.zeros((*lava_shape(layer.in_shape),
                                                        steps), dtype=np.int32))
                    prev_port = self.source.s_out
                if layer.kind == "dense":
                    weights = fx.weight
                    if i > 0 and len(layers[i - 1].layer.out_shape) == 3:
                        # The presynaptic population is laid out (W, H, C) in Lava; NIR and
                        # torch flatten (C, H, W): reorder the weight columns to match.
                        c, h, w = layers[i - 1].layer.out_shape
                        weights = weights.reshape(-1, c, h, w).transpose(0, 3, 2, 1).reshape(
                            weights.shape[0], -1)
                    syn = Dense(weights=weights, weight_exp=fx.weight_exp,
                                num_message_bits=fx.input_message_bits, name=f"dense{i}")
                    syn_in, syn_out = syn.s_in, syn.a_out
                else:
                    syn = Conv(weight=_lava_conv_weight(fx.weight),
                               input_shape=lava_shape(layer.in_shape),
                               padding=layer.padding[::-1], stride=layer.stride[::-1],
                               weight_exp=fx.weight_exp, num_message_bits=fx.input_message_bits,
                               name=f"conv{i}")
                    syn_in, syn_out = syn.s_in, syn.a_out
                if prev_port.shape != syn_in.shape:
                    prev_port = prev_port.reshape(syn_in.shape)
                prev_port.connect(syn_in)
                syn_out.connect(lif.a_in)
                self.synapses.append(syn)
            if fx.recurrent is not None:
                # The layer's own spikes back to its input: Lava's Dense sends the previous
                # step's accumulation, so s_{t-1} reaches step t, as the NIR contract says.
                # Its own weight exponent: recurrent weights may be far larger (or coarser)
                # than the feed-forward ones.
                rec = Dense(weights=fx.recurrent, weight_exp=fx.recurrent_exp,
                            num_message_bits=0, name=f"recurrent{i}")
                lif.s_out.connect(rec.s_in)
                rec.a_out.connect(lif.a_in)
                self.synapses.append(rec)
            sink = Sink(shape=shape, buffer=steps)
            lif.s_out.connect(sink.a_in)
            self.lifs.append(lif)
            self.sinks.append(sink)
            prev_port = lif.s_out
        self._started = False

    def run_sample(self, host_bias: np.ndarray | None = None,
                   input_spikes: np.ndarray | None = None) -> list[np.ndarray]:
        """Run one sample from rest and return each layer's spikes ``(steps, neurons)``.

        Args:
            host_bias: Bias mantissas of a host first layer ``(neurons,)``.
            input_spikes: Input spikes ``(steps, inputs)`` of an on-chip first layer (bool, or
                integer graded payloads).
        """
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg

        first = self.layers[0]
        if self._started:
            for lif in self.lifs:
                lif.u.set(np.zeros(lif.u.shape))
                lif.v.set(np.zeros(lif.v.shape))
            for syn in self.synapses:
                buf = syn.a_buff if hasattr(syn, "a_buff") else syn.a_buf
                buf.set(np.zeros(buf.shape))
        if host_bias is not None:
            mant = lava_layout(host_bias, first.layer.out_shape)
            if self._started:
                self.lifs[0].bias_mant.set(mant)
            else:
                self.lifs[0].bias_mant.init = mant
        if input_spikes is not None and self.source is not None:
            data = spikes_for_lava(input_spikes, first.layer.in_shape)
            if self._started:
                self.source.data.set(data)
            else:
                self.source.data.init = data
        self.lifs[0].run(condition=RunSteps(num_steps=self.steps),
                         run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        self._started = True
        spikes = []
        for fx, sink in zip(self.layers, self.sinks, strict=True):
            data = sink.data.get()
            if len(fx.layer.out_shape) == 3:
                data = _from_xyf(data, fx.layer.out_shape)
            spikes.append(np.asarray(data).T.astype(bool))
        return spikes

    def stop(self) -> None:
        """Stop Lava's runtime (if it was started)."""
        if self._started:
            self.lifs[0].stop()


@contextlib.contextmanager
def stopping_lava(stop: Callable[[], None]) -> Iterator[None]:
    """Run the block, then ``stop`` Lava's runtime.

    After Ctrl-C, Lava's processes have already ended (see ``quiet_children_on_interrupt``) and its
    runtime can no longer stop cleanly (it may wait for them for ever): instead, whatever is
    left of its processes is killed, and the interrupt goes on.
    """
    try:
        yield
    except KeyboardInterrupt:
        _kill_lava_processes()
        raise
    except BaseException:
        stop()
        raise
    stop()


def _kill_lava_processes() -> None:
    """Kill this process's children, except multiprocessing's resource tracker.

    The tracker stays so that it frees the shared memory Lava's channels used.
    """
    import psutil

    children = [c for c in psutil.Process().children(recursive=True)
                if "resource_tracker" not in " ".join(_cmdline(c))]
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(children, timeout=5)


def _cmdline(process: Any) -> list[str]:
    try:
        return process.cmdline()
    except Exception:  # noqa: BLE001 - psutil.Error, a process already gone
        return []


def run_in_lava(layers: list[FixedLayer], steps: int, host_bias: np.ndarray | None,
                input_spikes: np.ndarray | None, samples: int,
                on_sample: Callable[[int], None] | None = None) -> list[list[np.ndarray]]:
    """Run ``samples`` samples in Lava; return per sample the list of layer spike rasters.

    Args:
        layers: Quantised layers.
        steps: Steps per sample.
        host_bias: Per-sample bias mantissas ``(N, neurons)`` of a host first layer, or None.
        input_spikes: Input spikes ``(steps, N, inputs)`` of an on-chip first layer, or None.
        samples: How many of the N samples to run.
        on_sample: Called after each sample with its index (for progress bars).
    """
    net = LavaNetwork(layers, steps)
    results = []
    with stopping_lava(net.stop):
        for k in range(samples):
            results.append(net.run_sample(
                host_bias=None if host_bias is None else host_bias[k],
                input_spikes=None if input_spikes is None else input_spikes[:, k]))
            if on_sample is not None:
                on_sample(k)
    return results
