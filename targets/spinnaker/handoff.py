"""The SpiNNaker target's handoff hook: ``network.npz``, ``pynn_network.py`` and the placement.

The deployed graph (``model.nir``) is put through this target's own functions again
(``network_file`` and the fast path); the network they give must be the deployment's
``network.npz`` in every array and its metadata. The bundle's ``network.npz`` is that network with
the reference inputs as its samples.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.core.errors import RunDirError
from neuropipe.targets.handoff import Reference, common_encoding, geometry, redeploy_hint
from neuropipe.targets.handoff.encoding import InputEncoding
from neuropipe.targets.records import DeploymentRecord, Resources

SIMULATOR = ("NEST through pyNN.nest (iaf_psc_delta, on-grid spikes, 1 ms step): "
             "network.npz built by pynn_network.py")
FAST = ("neuropipe's fast path: discrete-time float64 simulation of the PyNN network "
        "(targets/spinnaker/fast_path.py)")

SPINNAKER_CURRENT_RULE = (
    "i_offset (nA) of first-layer neuron j = gain_j * (W @ x)_j / p30_j added to the layer's "
    "static i_offset (its bias), with W from host_layer.npz, gain and p30 in host_layer.npz "
    "(p30 = tau_m / cm * (1 - exp(-1 / tau_m)), cm = 1 nF); network.npz's input_current holds "
    "it for the reference inputs; it acts for the whole run")
SPINNAKER_SPIKES_RULE = (
    "a SpikeSourceArray emits input i's spike of step t at (t + 1 + 2) ms (pynn_network.py's "
    "spike_times: NEST needs inputs after min_delay, so the run starts 2 ms earlier and the "
    "layers' biases are switched on 1 ms before the first input step); every projection has "
    "a 1 ms delay")


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
        raise RunDirError(f"{deployed_network} is damaged ({type(e).__name__}: {e})"
                          f"{redeploy_hint(deployed_network, 'spinnaker')}") from e
    inputs_key = "input_current" if encoding == "constant" else "input_spikes"
    differs = [k for k in sorted(set(arrays) | set(old_arrays)) if k != inputs_key and (
        k not in arrays or k not in old_arrays or not np.array_equal(arrays[k], old_arrays[k]))]
    same_meta = {k: v for k, v in meta.items() if k != "mapping"} == {
        k: v for k, v in old_meta.items() if k != "mapping"}
    if differs or not same_meta:
        what = f"arrays {', '.join(differs[:3])} differ" if differs else "its metadata differs"
        raise RunDirError(f"{deployed_network} is not the network the deployment's model.nir "
                          f"gives ({what}){redeploy_hint(deployed_network, 'spinnaker')}")
    result = run_fast_path(chain, xs, timesteps, steps, encoding, spikes)
    info = common_encoding("spinnaker", dataset, chain, encoding, timesteps, steps, seed)
    info.step_duration = "1 ms of real time (PyNN timestep 1.0 ms)"
    inputs: dict[str, np.ndarray] = {"images": x.astype(np.float32), "labels": labels,
                                     "steps": np.array(steps), inputs_key: arrays[inputs_key]}
    host_layer = None
    if encoding == "constant":
        first = chain.layers[0]
        params = cell(first)
        host_layer = {"weight": first.weight, "bias": first.bias, "gain": params["gain"],
                      "p30": params["p30"], **geometry(first)}
        info.chip_input, info.chip_input_rule = "current", SPINNAKER_CURRENT_RULE
        info.host_layer = "host_layer.npz"
        info.constants = {"cm_nF": 1.0, "host_layer_kind": first.kind}
    else:
        info.chip_input, info.chip_input_rule = "spikes", SPINNAKER_SPIKES_RULE
    fast = np.ascontiguousarray(result.output_raster.transpose(1, 0, 2))
    # The bundle's network file is the deployed one, with the reference inputs as its samples.
    network = (old_meta, {**old_arrays, inputs_key: arrays[inputs_key]})
    return Reference(inputs, fast, info, host_layer, network=network,
                     simulator=SIMULATOR, fast_simulator=FAST)


class SpiNNakerHandoff:
    """Bundles of a SpiNNaker deployment: the PyNN network, its script and the placement."""

    target = "spinnaker"
    short_name = "NEST"
    deployed = "network.npz"
    script = "pynn_network.py"
    deployment_files = ("model.nir", "network.npz", "pynn_network.py", "placement.json")
    bundle_files = ("model.nir", "network.npz", "pynn_network.py", "placement.json")
    resources_file = "placement.json"
    roles = {
        "network.npz": "the PyNN network: per-layer connection lists (mV), IF_curr_delta "
                       "parameters, and the reference inputs as its samples",
        "pynn_network.py": "builds network.npz on pyNN.nest or pyNN.spiNNaker (numpy, PyNN only)",
        "placement.json": "sPyNNaker's placement on a virtual SpiNN-5 board (cores, chips, "
                          "routes)",
    }

    @property
    def script_source(self) -> Path:
        """``targets/spinnaker/pynn_network.py``, which every deployment copies."""
        from neuropipe.targets.spinnaker.target import SCRIPT

        return Path(SCRIPT)

    def check_deployment(self, record: DeploymentRecord, folder: Path, run_root: Path) -> None:
        """Every SpiNNaker deployment can be bundled (its files are checked by the caller)."""

    def reference(self, chain: Any, deployed: Path, x: np.ndarray, labels: np.ndarray,
                  encoding: str, timesteps: int, steps: int, seed: int, dataset: str
                  ) -> Reference:
        """The bundle's network and fast-path outputs (``spinnaker_reference``)."""
        return spinnaker_reference(chain, deployed, x, labels, encoding, timesteps, steps, seed,
                                   dataset)

    def write_files(self, root: Path, folder: Path, ref: Reference) -> None:
        """Write the network with the reference inputs; copy the script and the placement."""
        import shutil

        from neuropipe.targets.spinnaker.network import write_network

        write_network(str(root / self.deployed), *ref.network)
        shutil.copyfile(folder / self.script, root / self.script)
        shutil.copyfile(folder / self.resources_file, root / self.resources_file)

    def read_network(self, path: Path) -> dict[str, np.ndarray]:
        """The arrays of a ``network.npz``."""
        from neuropipe.targets.spinnaker.pynn_network import load

        return load(str(path))[1]

    def resources(self, root: Path, steps: int) -> Resources:
        """Cores, chips and boards of the bundle's ``placement.json``, read as deploy does."""
        import json

        from neuropipe.targets.spinnaker.target import SpiNNakerTarget

        placement = json.loads((root / self.resources_file).read_text(encoding="utf-8"))
        return SpiNNakerTarget()._resources(placement, steps)

    def simulation(self, bundle: Path, samples: int, out: Path) -> tuple[list[str], str]:
        """``pynn_network.py nest network.npz`` (PyNN on NEST)."""
        return ([str(bundle / self.script), "nest", str(bundle / self.deployed), "--samples",
                 str(samples), "--out", str(out)],
                "the NEST run of network.npz (pynn_network.py)")

    def output_spikes(self, out: Path) -> np.ndarray:
        """The last layer's spikes (``L0``, ``L1``...: the highest index) of the script's file."""
        with np.load(out) as data:
            last = max(int(k[1:]) for k in data.files if k.startswith("L") and k[1:].isdigit())
            return np.asarray(data[f"L{last}"], dtype=bool)

    def how_to_run(self, e: InputEncoding) -> list[str]:
        """Build ``network.npz`` with PyNN on NEST, or on a SpiNNaker board."""
        current = e.chip_input == "current"
        sample = (["groups[0].set(i_offset=arrays['L0_i_offset'] + arrays['input_current'][k])",
                   f"sim.run({e.steps})"] if current else
                  ["# input spikes of sample k: pn.spike_times(arrays['input_spikes'][k]) (ms),",
                   "# passed to pn.build(..., input_spike_times=...); see run_nest for the timing",
                   f"sim.run({e.steps} + pn.INPUT_OFFSET_MS)"])
        return [
            "`pynn_network.py` (numpy and PyNN only) builds the network of `network.npz` on any "
            "PyNN backend. On NEST, as the reference was made:", "",
            "```sh", "python pynn_network.py nest network.npz --out spikes.npz  # L0, L1...: "
            "sample x step x neuron", "```", "",
            "On a SpiNNaker board (sPyNNaker 1!7.4.1, `pyNN.spiNNaker`):", "",
            "```python", "import numpy as np", "import pynn_network as pn",
            "pn.configure_spinnaker('/tmp/spinnaker', virtual=False)  # writes .spynnaker.cfg:",
            "# add your board's machine_name (or spalloc server) under [Machine] there",
            "import pyNN.spiNNaker as sim", "meta, arrays = pn.load('network.npz')",
            "sim.setup(timestep=1.0, min_delay=1.0)", "k = 0  # sample",
            "groups = pn.build(sim, meta, arrays, for_nest=False)  # input group first if spikes",
            "groups[-1].record('spikes')", *sample, "```", "",
            "`placement.json` is sPyNNaker's placement of this network on a virtual SpiNN-5 board "
            "(cores, chips, routes). This bundle was checked on NEST only: it was not run on a "
            "SpiNNaker board, whose spike times may be stamped one step apart from NEST's "
            "(compare per-class counts in the window, and the labels)."]
