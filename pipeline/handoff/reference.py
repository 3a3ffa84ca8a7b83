"""Reference inputs of a bundle, what the chip receives for them, and the fast simulator's output.

The deployed graph (``model.nir`` of the deployment) is read again and put through the target's
own public functions (Loihi: ``quantize_chain`` and the bit-accurate emulator; SpiNNaker:
``network_file`` and the fast path). The network files they give are compared with the ones the
deployment wrote, so a bundle is never made from a deployment whose files and graph disagree.
The expected outputs in ``reference/`` then come from the bundle's own script (``simulate``);
the fast simulator's output is kept to state how far it agrees.
"""

from __future__ import annotations

import shlex
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.core.errors import RunDirError
from neuropipe.pipeline.handoff import encoding as enc
from neuropipe.pipeline.handoff.encoding import InputEncoding

LOIHI_SIMULATOR = ("Lava 0.10 (lava-dl netx): model.net loaded with netx.hdf5.Network, run with "
                   "Loihi2SimCfg(select_tag='fixed_pt') by run_lava.py")
SPINNAKER_SIMULATOR = ("NEST through pyNN.nest (iaf_psc_delta, on-grid spikes, 1 ms step): "
                       "network.npz built by pynn_network.py")
LOIHI_FAST = ("neuropipe's batched emulator of Lava's fixed_pt arithmetic "
              "(targets/loihi/emulator.py)")
SPINNAKER_FAST = ("neuropipe's fast path: discrete-time float64 simulation of the PyNN network "
                  "(targets/spinnaker/fast_path.py)")


@dataclass
class Reference:
    """What ``reference/`` and the target's network files are made of.

    Attributes:
        inputs: Arrays of ``reference/inputs.npz``.
        fast_output: Output spikes of the fast simulator ``(N, steps, classes)``.
        encoding: The encoding record (``encoding.json``).
        host_layer: Arrays of ``host_layer.npz`` (analogue input), or None.
        network: SpiNNaker: ``(meta, arrays)`` of the bundle's ``network.npz``.
        simulator: What makes the expected outputs.
        fast_simulator: What made ``fast_output``.
    """

    inputs: dict[str, np.ndarray]
    fast_output: np.ndarray
    encoding: InputEncoding
    host_layer: dict[str, np.ndarray] | None = None
    network: tuple[dict, dict[str, np.ndarray]] | None = None
    simulator: str = ""
    fast_simulator: str = ""
    notes: list[str] = field(default_factory=list)


def _common(target: str, dataset: str, chain: Any, encoding: str, timesteps: int, steps: int,
            seed: int) -> InputEncoding:
    start, stop = steps - timesteps, steps
    readout = chain.readout is not None
    return InputEncoding(
        target=target, dataset=dataset, input_shape=[int(s) for s in chain.input_shape],
        encoding=encoding, timesteps=timesteps, steps=steps,
        seed=seed if encoding == "poisson" else None,
        spike_rule=enc.SPIKE_RULES.get(encoding, ""),
        output_layer=chain.layers[-1].neuron_name or chain.layers[-1].name,
        classes=int(chain.readout.classes if readout else chain.layers[-1].neurons),
        readout="readout.npz" if readout else "",
        decode=enc.decode_rule(timesteps, start, stop, readout),
        window_start=start, window_stop=stop)


def readout_arrays(chain: Any) -> dict[str, np.ndarray] | None:
    """``readout.npz`` of a chain with a host readout, else None."""
    if chain.readout is None:
        return None
    return {"weight": np.asarray(chain.readout.weight, dtype=np.float64),
            "bias": np.asarray(chain.readout.bias, dtype=np.float64)}


def _per_neuron(value: Any, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()


def _geometry(layer: Any) -> dict[str, np.ndarray]:
    """A host layer's shapes (and a convolution's stride and padding) for ``host_layer.npz``."""
    shapes = {"in_shape": np.array(layer.in_shape), "out_shape": np.array(layer.out_shape)}
    if layer.kind == "conv":
        shapes.update(stride=np.array(layer.stride), padding=np.array(layer.padding))
    return shapes


def loihi_reference(chain: Any, deployed_net: Path, x: np.ndarray, labels: np.ndarray,
                    encoding: str, timesteps: int, steps: int, seed: int, dataset: str
                    ) -> Reference:
    """Chip inputs and emulator outputs of the reference images for the Loihi target.

    Raises:
        RunDirError: If the deployment's ``model.net`` is not what its graph quantises to.
    """
    from neuropipe.targets.float_sim import encode_input
    from neuropipe.targets.loihi.emulator import emulate
    from neuropipe.targets.loihi.netx_export import write_netx
    from neuropipe.targets.loihi.quantize import quantize_chain

    layers = quantize_chain(chain, encoding)
    with tempfile.TemporaryDirectory(prefix="neuropipe-handoff-net-") as folder:
        fresh = Path(folder) / "model.net"
        write_netx(layers, fresh)
        difference = h5_difference(fresh, deployed_net)
    if difference:
        raise RunDirError(f"{deployed_net} is not what the deployment's model.nir quantises to "
                          f"({difference}): re-deploy with 'neuropipe convert "
                          f"{shlex.quote(str(deployed_net.parent.parent.parent))} --target "
                          "loihi --force'")
    first = layers[0]
    on_chip = first.on_chip_synapses
    info = _common("loihi", dataset, chain, encoding, timesteps, steps, seed)
    info.step_duration = "one Lava/Loihi algorithmic time step"
    inputs: dict[str, np.ndarray] = {"images": x.astype(np.float32), "labels": labels,
                                     "steps": np.array(steps)}
    host_layer = None
    if first.graded_max:
        spikes = np.zeros((steps, len(x), first.layer.inputs), dtype=np.int32)
        spikes[0] = first.graded_payload(x.reshape(len(x), -1))
        result = emulate(layers, steps, input_spikes=spikes)
        inputs["spikes"] = np.ascontiguousarray(spikes.transpose(1, 0, 2))
        info.chip_input = "graded spikes"
        info.chip_input_rule = enc.loihi_graded_rule(first.graded_max, first.input_message_bits)
        info.constants = {"input_message_bits": first.input_message_bits,
                          "pixel_max": first.graded_max}
    elif on_chip:
        spikes = np.zeros((steps, len(x), first.layer.inputs), dtype=bool)
        spikes[:timesteps] = encode_input(x, timesteps, encoding, np.random.default_rng(seed))
        result = emulate(layers, steps, input_spikes=spikes)
        inputs["spikes"] = np.ascontiguousarray(spikes.transpose(1, 0, 2))
        info.chip_input, info.chip_input_rule = "spikes", enc.LOIHI_SPIKES_RULE
    else:
        bias, clipped = first.input_bias(x)
        if clipped:
            raise RunDirError(f"{clipped} bias values of the reference inputs do not fit 13 bits")
        result = emulate(layers, steps, host_bias=bias)
        inputs["bias_mant"] = bias.astype(np.int32)
        n = first.layer.neurons
        neuron = first.layer.neuron
        host_layer = {"weight": first.layer.weight, "bias": first.layer.bias,
                      "leak": _per_neuron(neuron.leak, n), "v_leak": _per_neuron(neuron.v_leak, n),
                      "gain": _per_neuron(neuron.input_gain, n),
                      "scale": _per_neuron(first.scale, n), **_geometry(first.layer)}
        info.chip_input, info.chip_input_rule = "bias", enc.LOIHI_BIAS_RULE
        info.host_layer = "host_layer.npz"
        info.constants = {"bias_exp": int(first.bias_exp), "host_layer_kind": first.layer.kind}
    fast = np.ascontiguousarray(result.spikes[-1].transpose(1, 0, 2))
    return Reference(inputs, fast, info, host_layer, simulator=LOIHI_SIMULATOR,
                     fast_simulator=LOIHI_FAST)


def spinnaker_reference(chain: Any, deployed_network: Path, x: np.ndarray, labels: np.ndarray,
                        encoding: str, timesteps: int, steps: int, seed: int, dataset: str
                        ) -> Reference:
    """The bundle's ``network.npz`` (deployed network, reference inputs) and fast-path outputs.

    Raises:
        RunDirError: If the deployment's ``network.npz`` is not the network its graph gives.
    """
    from neuropipe.targets.float_sim import encode_input
    from neuropipe.targets.spinnaker.fast_path import run_fast_path
    from neuropipe.targets.spinnaker.network import cell, network_file
    from neuropipe.targets.spinnaker.pynn_network import load

    xs = x.reshape(len(x), *chain.input_shape).astype(np.float64)
    spikes = encode_input(xs, timesteps, encoding, np.random.default_rng(seed))
    meta, arrays = network_file(chain, timesteps, encoding, steps, xs, spikes)
    try:
        old_meta, old_arrays = load(str(deployed_network))
    except (EOFError, OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise RunDirError(f"{deployed_network} is damaged ({type(e).__name__}: {e}): re-deploy "
                          f"with 'neuropipe convert "
                          f"{shlex.quote(str(deployed_network.parent.parent.parent))} --target "
                          "spinnaker --force'") from e
    inputs_key = "input_current" if encoding == "constant" else "input_spikes"
    differs = [k for k in sorted(set(arrays) | set(old_arrays)) if k != inputs_key and (
        k not in arrays or k not in old_arrays or not np.array_equal(arrays[k], old_arrays[k]))]
    same_meta = {k: v for k, v in meta.items() if k != "mapping"} == {
        k: v for k, v in old_meta.items() if k != "mapping"}
    if differs or not same_meta:
        what = f"arrays {', '.join(differs[:3])} differ" if differs else "its metadata differs"
        raise RunDirError(f"{deployed_network} is not the network the deployment's model.nir "
                          f"gives ({what}): re-deploy with 'neuropipe convert "
                          f"{shlex.quote(str(deployed_network.parent.parent.parent))} --target "
                          "spinnaker --force'")
    result = run_fast_path(chain, xs, timesteps, steps, encoding, spikes)
    info = _common("spinnaker", dataset, chain, encoding, timesteps, steps, seed)
    info.step_duration = "1 ms of real time (PyNN timestep 1.0 ms)"
    inputs: dict[str, np.ndarray] = {"images": x.astype(np.float32), "labels": labels,
                                     "steps": np.array(steps), inputs_key: arrays[inputs_key]}
    host_layer = None
    if encoding == "constant":
        first = chain.layers[0]
        params = cell(first)
        host_layer = {"weight": first.weight, "bias": first.bias, "gain": params["gain"],
                      "p30": params["p30"], **_geometry(first)}
        info.chip_input, info.chip_input_rule = "current", enc.SPINNAKER_CURRENT_RULE
        info.host_layer = "host_layer.npz"
        info.constants = {"cm_nF": 1.0, "host_layer_kind": first.kind}
    else:
        info.chip_input, info.chip_input_rule = "spikes", enc.SPINNAKER_SPIKES_RULE
    fast = np.ascontiguousarray(result.output_raster.transpose(1, 0, 2))
    # The bundle's network file is the deployed one, with the reference inputs as its samples.
    network = (old_meta, {**old_arrays, inputs_key: arrays[inputs_key]})
    return Reference(inputs, fast, info, host_layer, network=network,
                     simulator=SPINNAKER_SIMULATOR, fast_simulator=SPINNAKER_FAST)


def h5_difference(a: Path, b: Path) -> str:
    """The first difference between two HDF5 files (datasets and attributes), or ``''``."""
    import h5py

    def contents(path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with h5py.File(path, "r") as f:
            out.update({f"@{k}": np.asarray(v) for k, v in f.attrs.items()})
            f.visititems(lambda name, obj: out.__setitem__(name, np.asarray(obj))
                         if isinstance(obj, h5py.Dataset) else None)
        return out

    try:
        mine, theirs = contents(a), contents(b)
    except OSError as e:
        return f"unreadable: {e}"
    for key in sorted(set(mine) | set(theirs)):
        if key not in mine or key not in theirs:
            return f"'{key}' is in only one of them"
        if mine[key].shape != theirs[key].shape or not np.array_equal(mine[key], theirs[key]):
            return f"'{key}' differs"
    return ""
