"""The Loihi target's handoff hook: ``model.net`` (lava-dl netx), ``run_lava.py`` and its reference.

The deployed graph (``model.nir``) is put through this target's own functions again
(``quantize_chain``, ``write_netx`` and the bit-accurate emulator); the ``.net`` file they give
must be the deployment's, byte for byte in every dataset and attribute.
"""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.core.errors import RunDirError
from neuropipe.core.rundir import RunDir
from neuropipe.targets.handoff import (
    Reference,
    common_encoding,
    geometry,
    per_neuron,
    redeploy_hint,
)
from neuropipe.targets.handoff.encoding import InputEncoding
from neuropipe.targets.records import DeploymentRecord, Resources

SIMULATOR = ("Lava 0.10 (lava-dl netx): model.net loaded with netx.hdf5.Network, run with "
             "Loihi2SimCfg(select_tag='fixed_pt') by run_lava.py")
FAST = "neuropipe's batched emulator of Lava's fixed_pt arithmetic (targets/loihi/emulator.py)"

LOIHI_BIAS_RULE = (
    "bias_mant = clip(rint(scale * 64 * (leak * v_leak + gain * (W @ x + b)) / 2**bias_exp), "
    "-4096, 4095) per first-layer neuron, with W, b, scale, leak, v_leak and gain (one value "
    "per neuron) from host_layer.npz and x the flattened input; the neuron receives "
    "bias_mant << bias_exp (bias_exp is also the .net file's input_bias_exp attribute) every "
    "step of the sample")
LOIHI_SPIKES_RULE = ("input spikes enter the .net's first synapse layer (net.inp) as unary "
                     "spikes, one row per step; they reach its neurons one step later")


def loihi_graded_rule(pixel_max: int, bits: int) -> str:
    """How the image becomes graded input spikes (``--encoding graded``)."""
    return (f"payload p_i = rint(x_i * {pixel_max}) (integers 0..{pixel_max}, {bits} message "
            f"bits) of every input i, sent once per sample at step 0 as one graded spike into "
            f"the .net's first synapse layer (net.inp; load with netx.hdf5.Network(net_config, "
            f"input_message_bits={bits}), the file's input_message_bits attribute); zero "
            "payloads send nothing; the first layer's current holds it (iDecay 0) from step 1 "
            "to the end of the sample")


def loihi_reference(chain: Any, deployed_net: Path, x: np.ndarray, labels: np.ndarray,
                    encoding: str, timesteps: int, steps: int, seed: int, dataset: str
                    ) -> Reference:
    """Chip inputs and emulator outputs of the reference images for the Loihi target.

    Raises:
        RunDirError: If the deployment's ``model.net`` is not what its graph quantises to.
        ValueError: If the images do not have the graph's number of inputs (a bundle's
            ``reference/inputs.npz`` can hold anything).
    """
    from neuropipe.targets.float_sim import encode_input
    from neuropipe.targets.loihi.emulator import emulate
    from neuropipe.targets.loihi.netx_export import write_netx
    from neuropipe.targets.loihi.quantize import quantize_chain

    inputs = int(np.prod(chain.input_shape))
    if x.size != len(x) * inputs:
        raise ValueError(f"images of shape {tuple(x.shape)} for a network of {inputs} inputs")
    layers = quantize_chain(chain, encoding)
    with tempfile.TemporaryDirectory(prefix="neuropipe-handoff-net-") as folder:
        fresh = Path(folder) / "model.net"
        write_netx(layers, fresh)
        difference = h5_difference(fresh, deployed_net)
    if difference:
        raise RunDirError(f"{deployed_net} is not what the deployment's model.nir quantises to "
                          f"({difference}){redeploy_hint(deployed_net, 'loihi')}")
    first = layers[0]
    on_chip = first.on_chip_synapses
    info = common_encoding("loihi", dataset, chain, encoding, timesteps, steps, seed)
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
        info.chip_input_rule = loihi_graded_rule(first.graded_max, first.input_message_bits)
        info.constants = {"input_message_bits": first.input_message_bits,
                          "pixel_max": first.graded_max}
    elif on_chip:
        spikes = np.zeros((steps, len(x), first.layer.inputs), dtype=bool)
        spikes[:timesteps] = encode_input(x, timesteps, encoding, np.random.default_rng(seed))
        result = emulate(layers, steps, input_spikes=spikes)
        inputs["spikes"] = np.ascontiguousarray(spikes.transpose(1, 0, 2))
        info.chip_input, info.chip_input_rule = "spikes", LOIHI_SPIKES_RULE
    else:
        bias, clipped = first.input_bias(x)
        if clipped:
            raise RunDirError(f"{clipped} bias values of the reference inputs do not fit 13 bits")
        result = emulate(layers, steps, host_bias=bias)
        inputs["bias_mant"] = bias.astype(np.int32)
        n = first.layer.neurons
        neuron = first.layer.neuron
        host_layer = {"weight": first.layer.weight, "bias": first.layer.bias,
                      "leak": per_neuron(neuron.leak, n), "v_leak": per_neuron(neuron.v_leak, n),
                      "gain": per_neuron(neuron.input_gain, n),
                      "scale": per_neuron(first.scale, n), **geometry(first.layer)}
        info.chip_input, info.chip_input_rule = "bias", LOIHI_BIAS_RULE
        info.host_layer = "host_layer.npz"
        info.constants = {"bias_exp": int(first.bias_exp), "host_layer_kind": first.layer.kind}
    fast = np.ascontiguousarray(result.spikes[-1].transpose(1, 0, 2))
    return Reference(inputs, fast, info, host_layer, simulator=SIMULATOR,
                     fast_simulator=FAST)


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


class LoihiHandoff:
    """Bundles of a Loihi deployment: the netx ``.net`` file Lava ran, and ``run_lava.py``."""

    target = "loihi"
    short_name = "Lava"
    deployed = "model.net"
    script = "run_lava.py"
    script_source = Path(__file__).with_name("lava_script.py")
    deployment_files = ("model.nir", "model.net")
    bundle_files = ("model.nir", "model.net", "run_lava.py")
    resources_file = ""
    roles = {
        "model.net": "lava-dl netx network (HDF5): the quantised parameters Lava ran",
        "run_lava.py": "loads model.net with netx and runs samples in Lava (numpy, h5py, Lava "
                       "only)",
    }

    def check_deployment(self, record: DeploymentRecord, folder: Path, run_root: Path) -> None:
        """Refuse a deployment without a netx file, saying why netx could not hold it."""
        skipped = record.verification.get("netx_skipped")
        if not skipped or (folder / self.deployed).is_file():
            return
        fix = ""
        if "--encoding poisson" in skipped:  # a train run, or the results of a bare NIR file
            fix = (f"; that is 'neuropipe convert {shlex.quote(str(run_root))} --target loihi "
                   "--encoding poisson --force'" if RunDir(run_root).config.is_file() else
                   "; that is 'neuropipe convert' of the NIR file again with --encoding poisson "
                   "--force")
        raise RunDirError(f"the Loihi deployment in {folder} has no netx .net file, which a "
                          f"Loihi handoff is built on: {skipped}{fix}")

    def reference(self, chain: Any, deployed: Path, x: np.ndarray, labels: np.ndarray,
                  encoding: str, timesteps: int, steps: int, seed: int, dataset: str
                  ) -> Reference:
        """Chip inputs and emulator outputs of the reference images (``loihi_reference``)."""
        return loihi_reference(chain, deployed, x, labels, encoding, timesteps, steps, seed,
                               dataset)

    def write_files(self, root: Path, folder: Path, ref: Reference) -> None:
        """Copy the deployed ``model.net`` and the Lava script."""
        import shutil

        shutil.copyfile(folder / self.deployed, root / self.deployed)
        shutil.copyfile(self.script_source, root / self.script)

    def read_network(self, path: Path) -> dict[str, np.ndarray]:
        """Not used: the ``.net`` file is copied as deployed (``Reference.network`` is None)."""
        raise NotImplementedError("a Loihi bundle's model.net is the deployed file")

    def resources(self, root: Path, steps: int) -> Resources:
        """Not used: a Loihi bundle has no resources file."""
        raise NotImplementedError("a Loihi bundle has no resources file")

    def simulation(self, bundle: Path, samples: int, out: Path) -> tuple[list[str], str]:
        """``run_lava.py model.net reference/inputs.npz`` (``Loihi2SimCfg('fixed_pt')``)."""
        return ([str(bundle / self.script), str(bundle / self.deployed),
                 str(bundle / "reference" / "inputs.npz"), "--samples", str(samples),
                 "--out", str(out)], "the Lava run of model.net (run_lava.py)")

    def output_spikes(self, out: Path) -> np.ndarray:
        """``output_spikes`` of the script's file."""
        with np.load(out) as data:
            return np.asarray(data["output_spikes"], dtype=bool)

    def how_to_run(self, e: InputEncoding) -> list[str]:
        """Load ``model.net`` with netx and run it in Lava (and on Loihi 2)."""
        bias = e.chip_input == "bias"
        load_input = (
            ["# first-layer neurons get the host-computed input as their bias:",
             "neuron = net.layers[0].neuron",
             "mant = inputs['bias_mant'][k]  # flattened C-H-W; Lava wants (W, H, C) for conv",
             "neuron.bias_mant.init = mant.reshape(neuron.bias_mant.shape)",
             f"neuron.bias_exp.init = np.full(neuron.bias_exp.shape, "
             f"{e.constants.get('bias_exp')})"] if bias else
            ["# (inputs, steps); a convolutional first layer wants (W, H, C, steps)",
             "source = RingBuffer(data=inputs['spikes'][k].T.astype(np.int32))",
             "source.s_out.connect(net.inp)"])
        return [
            "Load the network with lava-dl's netx and run it with Lava (lava-nc 0.10, lava-dl "
            "0.6; `run_lava.py` in this folder does all of this):", "",
            "```python", "import numpy as np",
            "from lava.lib.dl import netx",
            "from lava.magma.core.run_conditions import RunSteps",
            "from lava.magma.core.run_configs import Loihi2SimCfg, Loihi2HwCfg",
            "from lava.proc.io.sink import RingBuffer as Sink",
            "from lava.proc.io.source import RingBuffer",
            "inputs = np.load('reference/inputs.npz')", "k = 0  # sample",
            "net = netx.hdf5.Network(net_config='model.net'"
            + (f", input_message_bits={e.constants.get('input_message_bits')}"
               if e.chip_input == "graded spikes" else "")
            + ")  # a fresh network per sample",
            f"sink = Sink(shape=net.out.shape, buffer={e.steps})",
            "net.out.connect(sink.a_in)", *load_input,
            f"net.run(condition=RunSteps(num_steps={e.steps}), "
            "run_cfg=Loihi2SimCfg(select_tag='fixed_pt'))",
            "spikes = sink.data.get().T  # (steps, classes)", "net.stop()", "```", "",
            "On Loihi 2 hardware use `run_cfg=Loihi2HwCfg()` (needs Intel's lava-loihi "
            "extension; Python ring buffers may need its embedded-I/O adapters there). "
            "`python run_lava.py model.net reference/inputs.npz --out spikes.npz [--hardware]` "
            "runs every reference sample and saves `output_spikes` (sample x step x class).",
            "This bundle was checked in Lava's bit-accurate simulation only: it was not run on "
            "Loihi hardware."]
