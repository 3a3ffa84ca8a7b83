"""Writes quantised layers as a lava-dl netx ``.net`` file (HDF5), the format Loihi 2 teams deploy.

Layout, as ``lava.lib.dl.netx.hdf5.Network`` reads it: groups ``layer/0``, ``layer/1``... with a
``type`` (``input``, ``dense``, ``conv``, ``flatten``), a ``shape`` (C, H, W or N), integer
``weight`` and ``bias`` (mantissas, with netx's fixed bias exponent 6) and a ``neuron`` group
(``type`` CUBA, ``iDecay`` = du + 1, ``vDecay`` = dv, ``vThMant``, ``refDelay``, ``gradedSpike``).

When the first layer's synapses run on the host (constant input), that layer becomes the netx
``input`` layer: its neurons receive the host-computed input through their bias, one value per
neuron and sample (mantissas with the exponent stored in the file's ``input_bias_exp``
attribute). Otherwise the file starts with a shape-only ``input`` layer and input spikes enter
the first ``dense`` or ``conv`` layer. With graded input (integer payloads) the file's
``input_message_bits`` attribute gives the payload's bits, to pass as
``netx.hdf5.Network(net_config, input_message_bits=N)``; the first layer's ``iDecay`` is 0 (netx
maps it to ``du = iDecay - 1 = -1``: the current holds) and its weights are integers with
exponent 0, which netx reads exactly.

A dense layer with a self-recurrent synapse is written as netx's ``dense_rec`` layer (its
``weight_rec`` read by ``netx.hdf5.Network`` into a ``RecurrentDense`` block: a second Dense from
the block's neurons back to their input, the same timing as the Lava runner's). netx's ``input``
layer has no recurrent weights: a recurrent first layer whose synapses run on the host
(constant input) cannot be written (``netx_problems`` says so; use poisson input).
Nor can a recurrent layer whose two Dense processes need other weight exponents than 0 (see
quantize.py: recurrent weights far larger than the feed-forward ones): netx reads integer
weights and derives one exponent for ``weight`` and ``weight_rec`` together
(``optimize_weight_bits`` on their concatenation in ``netx.hdf5.Network.create_dense``), so
the file would either clip the recurrent weights or drop the feed-forward ones' low bits. Such
a network gets no ``.net`` file rather than one that is not what Lava ran.
Per-neuron thresholds are already folded into the weight rows (one ``vThMant`` per layer). A
host readout is not part of the file: it runs on the host over the output layer's spike counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuropipe.core.errors import GraphError
from neuropipe.core.files import atomic_path
from neuropipe.targets.loihi.lava_runner import (
    quiet_children_on_interrupt,
    spikes_for_lava,
    stopping_lava,
)
from neuropipe.targets.loihi.netx_import import import_netx
from neuropipe.targets.loihi.quantize import FixedLayer


def _string(group, key: str, value: str) -> None:
    group.create_dataset(key, (1,), "S10", [value.encode("ascii")])


def _neuron(group, fx: FixedLayer) -> None:
    group.create_dataset("neuron/iDecay", data=fx.du + 1)
    group.create_dataset("neuron/vDecay", data=fx.dv)
    group.create_dataset("neuron/vThMant", data=fx.vth)
    group.create_dataset("neuron/refDelay", data=1)
    group.create_dataset("neuron/gradedSpike", data=False)
    _string(group, "neuron/type", "CUBA")


def netx_problems(layers: list[FixedLayer]) -> list[str]:
    """What of ``layers`` the netx format cannot hold (empty if the whole network fits)."""
    first = layers[0]
    if first.recurrent is not None and not first.on_chip_synapses:
        return [f"layer '{first.layer.name}' has a recurrent synapse "
                f"('{first.layer.recurrent_name}') but its input synapses run on the host "
                "(constant input), so netx would take it as its 'input' layer, which has no "
                "recurrent weights: use --encoding poisson for a netx file of this network"]
    problems = []
    for fx in layers:
        if fx.recurrent is not None and (fx.weight_exp, fx.recurrent_exp) != (0, 0):
            problems.append(
                f"layer '{fx.layer.name}' runs its feed-forward and recurrent "
                f"('{fx.layer.recurrent_name}') synapses with weight exponents "
                f"{fx.weight_exp} and {fx.recurrent_exp}, to keep 8 bits for both; netx's "
                "dense_rec layer derives one exponent for both from the file's integer "
                "weights, so no .net file could hold what Lava ran (the Lava and emulator "
                "runs are unaffected)")
    return problems


def write_netx(layers: list[FixedLayer], path: Path) -> None:
    """Write ``layers`` to ``path`` (atomically) in netx's HDF5 layout.

    Raises:
        GraphError: If netx cannot hold the network (see ``netx_problems``).
    """
    import h5py

    problems = netx_problems(layers)
    if problems:
        raise GraphError("; ".join(problems))

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["producer"] = "neuropipe"
        # Graded input: load with netx.hdf5.Network(..., input_message_bits=N) (N stored here).
        f.attrs["input_message_bits"] = layers[0].input_message_bits
        index = 0
        first = layers[0]
        if not first.on_chip_synapses:
            f.attrs["input_bias_exp"] = first.bias_exp
            g = f.create_group(f"layer/{index}")
            _string(g, "type", "input")
            g.create_dataset("shape", data=np.array(first.layer.out_shape))
            _neuron(g, first)
            index += 1
            rest = layers[1:]
        else:
            g = f.create_group(f"layer/{index}")
            _string(g, "type", "input")
            g.create_dataset("shape", data=np.array(first.layer.in_shape))
            index += 1
            rest = layers
        prev_shape = first.layer.out_shape if not first.on_chip_synapses else \
            first.layer.in_shape
        for fx in rest:
            layer = fx.layer
            if layer.kind == "dense" and len(prev_shape) == 3:
                g = f.create_group(f"layer/{index}")
                _string(g, "type", "flatten")
                index += 1
            g = f.create_group(f"layer/{index}")
            _string(g, "type", "dense_rec" if fx.recurrent is not None else layer.kind)
            g.create_dataset("shape", data=np.array(layer.out_shape))
            g.create_dataset("weight", data=fx.weight)
            if fx.recurrent is not None:
                g.create_dataset("weight_rec", data=fx.recurrent)
            bias = fx.bias_mant
            if layer.kind == "conv":
                g.create_dataset("stride", data=np.array(layer.stride))
                g.create_dataset("padding", data=np.array(layer.padding))
                g.create_dataset("dilation", data=np.array([1, 1]))
                g.create_dataset("groups", data=1)
                bias = bias.reshape(layer.out_shape)[:, 0, 0]  # per channel
            g.create_dataset("bias", data=bias)
            _neuron(g, fx)
            index += 1
            prev_shape = layer.out_shape


def run_netx(path: Path, layers: list[FixedLayer], steps: int, host_bias: np.ndarray | None,
             input_spikes: np.ndarray | None, samples: int) -> list[np.ndarray]:
    """Load ``path`` with ``netx.hdf5.Network`` and run ``samples`` samples in Lava.

    Each sample gets a freshly loaded network (netx blocks have no reset). Returns, per sample,
    the output layer's spikes ``(steps, neurons)``.
    """
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    quiet_children_on_interrupt()
    netx = import_netx()
    out = []
    bits = layers[0].input_message_bits
    for k in range(samples):
        net = netx.hdf5.Network(net_config=str(path), input_message_bits=bits)
        sink = Sink(shape=net.out.shape, buffer=steps)
        net.out.connect(sink.a_in)
        if host_bias is not None:
            neuron = net.layers[0].neuron
            mant = host_bias[k].astype(np.int32)
            shape = layers[0].layer.out_shape
            if len(shape) == 3:  # (C, H, W) flattened -> netx's (W, H, C)
                mant = np.transpose(mant.reshape(shape), (2, 1, 0))
            neuron.bias_mant.init = mant.reshape(neuron.bias_mant.shape)
            neuron.bias_exp.init = np.full(neuron.bias_exp.shape, layers[0].bias_exp)
        else:
            source = Source(data=spikes_for_lava(input_spikes[:, k], layers[0].layer.in_shape))
            source.s_out.connect(net.inp)
        with stopping_lava(net.stop):
            net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(
                select_tag="fixed_pt"))
            out.append(np.asarray(sink.data.get()).T.astype(bool))
    return out
