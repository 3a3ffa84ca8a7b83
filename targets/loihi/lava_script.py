"""Run a neuropipe Loihi handoff bundle's ``model.net`` in Lava and save the output spikes.

This file is self-contained (numpy, h5py, lava-nc and lava-dl only): ``neuropipe handoff``
copies it into every Loihi bundle as ``run_lava.py``, and ``neuropipe handoff verify`` runs that
copy, so a hardware team runs exactly what was checked.

The network is loaded with ``lava.lib.dl.netx.hdf5.Network`` from the ``.net`` file alone. Each
sample gets a freshly loaded network (netx blocks have no reset), so every sample starts from
rest. The chip input of each sample comes from ``reference/inputs.npz`` (or any file of the same
layout):

- ``bias_mant`` (int, sample x neuron, flattened C-H-W order): the first layer's synapses run on
  the host; its neurons (the netx ``input`` layer) receive the host-computed input as their bias
  mantissa, with the exponent stored in the ``.net`` file's ``input_bias_exp`` attribute;
- ``spikes`` (bool, sample x step x input): spikes fed into ``net.inp`` from a ring buffer; or,
  when the ``.net`` file's ``input_message_bits`` attribute is above 0, integer graded payloads
  (one graded spike per pixel at step 0), and the network is loaded with that many input
  message bits.

``steps`` (in the same file) is how many steps each sample runs. The output layer's spikes are
saved as ``output_spikes`` (bool, sample x step x neuron).

Usage::

    python run_lava.py model.net reference/inputs.npz --out spikes.npz [--samples N]
    python run_lava.py model.net reference/inputs.npz --out spikes.npz --hardware  # Loihi 2

``--hardware`` runs with ``Loihi2HwCfg``; that needs Intel's lava-loihi extension and a Loihi 2
system, and the host-side ring buffers may need lava-loihi's embedded I/O adapters there.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys

import numpy as np


def import_netx():
    """Import ``lava.lib.dl.netx`` without the unrelated messages slayer prints on import."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from lava.lib.dl import netx
    finally:
        logger.setLevel(level)
    return netx


def to_xyf(flat: np.ndarray, shape: tuple) -> np.ndarray:
    """Flattened ``(C, H, W)`` values -> Lava's ``(W, H, C)`` layout."""
    return np.transpose(np.asarray(flat).reshape(shape), (2, 1, 0))


def from_lava(data: np.ndarray) -> np.ndarray:
    """A sink's ``(neurons..., steps)`` data -> bool ``(steps, neurons)`` in C-H-W order."""
    data = np.asarray(data)
    if data.ndim == 4:  # (W, H, C, steps)
        data = np.transpose(data, (2, 1, 0, 3))
    return data.reshape(-1, data.shape[-1]).T.astype(bool)


def input_layer(path: str) -> tuple[tuple, int | None, int]:
    """Shape of the ``.net`` file's first layer, its input bias exponent, its input bits.

    The exponent is None when the first layer takes spikes; the bits are 0 for unary spikes.
    """
    import h5py

    with h5py.File(path, "r") as f:
        shape = tuple(int(s) for s in np.asarray(f["layer/0/shape"]).ravel())
        exp = f.attrs.get("input_bias_exp")
        bits = int(f.attrs.get("input_message_bits", 0))
    return shape, None if exp is None else int(exp), bits


def run_sample(netx, path: str, inputs: dict, k: int, steps: int, hardware: bool
               ) -> np.ndarray:
    """Run sample ``k`` from rest; return the output layer's spikes ``(steps, neurons)``."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2HwCfg, Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    shape, bias_exp, bits = input_layer(path)
    net = netx.hdf5.Network(net_config=path, input_message_bits=bits)
    sink = Sink(shape=net.out.shape, buffer=steps)
    net.out.connect(sink.a_in)
    if "bias_mant" in inputs:
        if bias_exp is None:
            raise ValueError(f"{path} has no input_bias_exp attribute: its first layer takes "
                             "spikes, not a bias")
        neuron = net.layers[0].neuron
        mant = np.asarray(inputs["bias_mant"][k]).astype(np.int32)
        if len(shape) == 3:
            mant = to_xyf(mant, shape)
        neuron.bias_mant.init = mant.reshape(neuron.bias_mant.shape)
        neuron.bias_exp.init = np.full(neuron.bias_exp.shape, bias_exp)
    else:
        raster = np.asarray(inputs["spikes"][k], dtype=np.int32)  # (steps, inputs)
        if len(shape) == 3:
            data = np.stack([to_xyf(raster[t], shape) for t in range(steps)], axis=-1)
        else:
            data = raster.T
        source = Source(data=data)
        source.s_out.connect(net.inp)
    config = Loihi2HwCfg() if hardware else Loihi2SimCfg(select_tag="fixed_pt")
    net.run(condition=RunSteps(num_steps=steps), run_cfg=config)
    try:
        return from_lava(sink.data.get())
    finally:
        net.stop()


def main(argv: list | None = None) -> int:
    """Command line: run the samples of an inputs file and save their output spikes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("net", help="the .net file (lava-dl netx HDF5)")
    parser.add_argument("inputs", help="inputs .npz (bias_mant or spikes, and steps)")
    parser.add_argument("--out", required=True, help="where to save output_spikes (.npz)")
    parser.add_argument("--samples", type=int, default=None, help="run only the first N")
    parser.add_argument("--hardware", action="store_true",
                        help="run on Loihi 2 with Loihi2HwCfg (needs lava-loihi)")
    args = parser.parse_args(argv)
    with np.load(args.inputs, allow_pickle=False) as data:
        inputs = {k: data[k] for k in data.files}
    steps = int(inputs["steps"])
    available = len(inputs["bias_mant"] if "bias_mant" in inputs else inputs["spikes"])
    samples = available if args.samples is None else min(args.samples, available)
    netx = import_netx()
    out = [run_sample(netx, os.path.abspath(args.net), inputs, k, steps, args.hardware)
           for k in range(samples)]
    tmp = os.path.abspath(args.out) + ".tmp.npz"
    np.savez(tmp, output_spikes=np.stack(out) if out else np.zeros((0, steps, 0), bool))
    os.replace(tmp, os.path.abspath(args.out))
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except Exception as e:  # noqa: BLE001 - one line for the caller, and no hanging runtime
        print(f"run_lava.py: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        os._exit(1)
    sys.stdout.flush()
    os._exit(code)  # Lava's runtime threads can otherwise keep the interpreter alive
