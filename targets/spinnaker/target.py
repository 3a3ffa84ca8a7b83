"""The ``spinnaker`` and ``spinnaker2`` targets: one PyNN network, three uses.

The network is written once (``network.npz`` plus ``pynn_network.py``, which builds it for any
PyNN backend). The fast path runs every test image; NEST (``pyNN.nest``) runs the first ones as
the reference; sPyNNaker maps the network onto a virtual SpiNN-5 board for cores, chips and
routes. Counts come from the fast path's spikes on the deployed weights; energy from the
SpiNNaker software's own SpiNN-5 model and from published per-operation costs, side by side.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.core.errors import GraphError, TargetError
from neuropipe.core.files import atomic_path
from neuropipe.core.spike_codes import SPIKE_ENCODINGS, TRAINING_ENCODINGS
from neuropipe.targets import chain as chain_mod
from neuropipe.targets.base import Availability, Workload
from neuropipe.targets.costs import CostModel, energy_terms
from neuropipe.targets.counting import LayerActivity, count_layers, totals
from neuropipe.targets.float_sim import encode_input, predict, simulate
from neuropipe.targets.records import (
    Counts,
    DeploymentRecord,
    EnergyEstimate,
    Resources,
    deployment_record,
)
from neuropipe.targets.spinnaker import costs as spin_costs
from neuropipe.targets.spinnaker import pynn_network
from neuropipe.targets.spinnaker.fast_path import delay_depth, run_fast_path
from neuropipe.targets.spinnaker.network import network_file, write_network

SCRIPT = Path(pynn_network.__file__)
# SDRAM a SpiNNaker 1 chip offers the application (pacman's figure for a SpiNN-5 chip, in its
# "will not fit" message), shared by 16 application cores; a static synapse takes one 32-bit
# word of a synaptic row. A layer needing more than its share per core is refused.
SDRAM_PER_CHIP_BYTES = 123_469_792
BYTES_PER_SYNAPSE = 4
SYNAPSES_PER_CORE_LIMIT = SDRAM_PER_CHIP_BYTES // spin_costs.APP_CORES_PER_CHIP \
    // BYTES_PER_SYNAPSE


@functools.cache
def _toolchain_status() -> tuple[bool, str]:
    """Import PyNN's NEST and SpiNNaker backends in a child process (they print banners)."""
    missing = [name for name in ("pyNN", "nest", "spynnaker")
               if importlib.util.find_spec(name) is None]
    if missing:
        return False, (f"{', '.join(missing)} not installed: run 'make venv', or pip install "
                       "-r requirements/spinnaker.txt")
    code = ("import os, warnings; warnings.filterwarnings('ignore'); "
            "os.environ.setdefault('PYNEST_QUIET', '1'); import pyNN.nest, pyNN.spiNNaker")
    folder = tempfile.mkdtemp(prefix="neuropipe-probe-")
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=folder, env={**os.environ, "XDG_CONFIG_HOME": folder},
                              timeout=300)
    except subprocess.TimeoutExpired:
        return False, "importing pyNN.nest and pyNN.spiNNaker took over 300 s"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return False, f"pyNN.nest / pyNN.spiNNaker do not import: {last}"
    return True, "pyNN.nest (NEST) and pyNN.spiNNaker (sPyNNaker, virtual board) import"


def run_script(args: list[str], what: str, timeout: float = 3600) -> None:
    """Run ``pynn_network.py`` in a child process, quietly; a failure is a one-line error."""
    folder = tempfile.mkdtemp(prefix="neuropipe-pynn-")
    env = {**os.environ, "PYNEST_QUIET": "1", "XDG_CONFIG_HOME": folder,
           "MPLCONFIGDIR": os.path.join(folder, "mpl"), "OMP_NUM_THREADS": "1"}
    try:
        proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                              text=True, cwd=folder, env=env, timeout=timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()] or ["?"]
        raise TargetError(f"{what} failed: {lines[-1][:400]}")


class SpiNNakerTarget:
    """SpiNNaker 1 (SpiNN-5 boards): sPyNNaker placement, NEST reference, two cost models."""

    name = "spinnaker"
    description = ("SpiNNaker 1 via PyNN: sPyNNaker placement on a virtual SpiNN-5 board, NEST "
                   "reference; SpiNNMachine board model and Hoeppner 2019 per-op costs")
    packages = ("pynn", "nest-simulator", "spynnaker", "spinnmachine", "spinnfrontendcommon")
    levels = ("system", "chip")
    encodings = TRAINING_ENCODINGS  # no graded spikes on SpiNNaker
    neurons_per_core = spin_costs.NEURONS_PER_CORE
    placement_note = ("a virtual board maps the network but records no spikes and measures no "
                      "energy: spikes come from the fast path (checked against NEST), cores, "
                      "chips and routes from sPyNNaker's placement")

    def availability(self) -> Availability:
        """PyNN with its NEST and sPyNNaker backends imports."""
        ok, why = _toolchain_status()
        return Availability(ok, why)

    def supports(self, graph: Any, dt: float = 1.0) -> list[str]:
        """List graph content this target cannot run (empty if all is supported)."""
        try:
            chain = chain_mod.to_chain(graph, dt)
        except GraphError as e:
            return [str(e)]
        return self._limits(chain)

    def _limits(self, chain: chain_mod.Chain) -> list[str]:
        problems = []
        for layer in chain.layers:
            # Synapses onto each neuron: a conv neuron sees its channel's whole kernel.
            per_neuron = np.count_nonzero(layer.weight.reshape(layer.weight.shape[0], -1), axis=1)
            if layer.kind == "conv":
                per_neuron = np.repeat(per_neuron, int(np.prod(layer.out_shape[1:])))
            if layer.recurrent is not None:  # the recurrent synapses sit on the same cores
                per_neuron = per_neuron + np.count_nonzero(layer.recurrent, axis=1)
            worst = max(int(per_neuron[i:i + self.neurons_per_core].sum())
                        for i in range(0, len(per_neuron), self.neurons_per_core))
            if worst > SYNAPSES_PER_CORE_LIMIT:
                problems.append(
                    f"node '{layer.name}' needs {worst:,} synapses on one core "
                    f"({self.neurons_per_core} neurons per core); a core's share of a chip's "
                    f"SDRAM holds about {SYNAPSES_PER_CORE_LIMIT:,}: prune or split the layer")
        return problems

    def deploy(self, workload: Workload, out_dir: Path, verify_samples: int = 16,
               batch_size: int = 500, progress: Any = None) -> DeploymentRecord:
        """Run the fast path on every sample, NEST on the first ones, map, count and cost.

        Args:
            workload: Graph, samples and presentation.
            out_dir: Folder for the artefacts (network file, script, placement).
            verify_samples: Samples also run in NEST and compared spike for spike.
            batch_size: Samples per fast-path batch.
            progress: A rich ``Progress`` to report on, or None.
        """
        chain = chain_mod.to_chain(workload.graph, workload.dt)
        problems = self._limits(chain)
        if problems:
            raise GraphError("; ".join(problems))
        out_dir = Path(out_dir).resolve()  # the PyNN child processes run elsewhere
        x = np.asarray(workload.inputs, dtype=np.float64)
        x = x.reshape(len(x), *chain.input_shape)
        labels = np.asarray(workload.labels)
        n, T, encoding = len(x), workload.timesteps, workload.encoding
        depth = delay_depth(chain, encoding)
        steps = T + depth
        rng = np.random.default_rng(workload.seed)
        task = progress.add_task(f"{self.name}: fast path", total=n) if progress else None
        spike_totals = [np.zeros(layer.neurons) for layer in chain.layers]
        fed_totals = [np.zeros(layer.neurons) for layer in chain.layers]
        input_totals = np.zeros(chain.layers[0].inputs)
        preds = np.zeros(n, dtype=np.int64)
        float_preds = np.zeros(n, dtype=np.int64)
        k = min(verify_samples, n)
        first: dict[str, Any] = {}
        for start in range(0, n, batch_size):
            batch = x[start:start + batch_size]
            spikes = encode_input(batch, T, encoding, rng)
            result = run_fast_path(chain, batch, T, steps, encoding, spikes,
                                   keep_rasters=start == 0 and k > 0)
            for i, counts in enumerate(result.counts):
                spike_totals[i] += counts.sum(axis=0)
                fed_totals[i] += result.fed_back[i].sum(axis=0)
            if spikes is not None:
                input_totals += spikes.sum(axis=(0, 1))
            preds[start:start + len(batch)] = predict(chain.scores(result.window_counts))
            float_preds[start:start + len(batch)] = predict(
                simulate(chain, batch, T, encoding, spikes))
            if start == 0:
                first = {"rasters": result.rasters, "spikes": spikes, "x": batch,
                         "depth": depth, "timesteps": T, "scores": chain.scores}
            if progress:
                progress.update(task, advance=len(batch))
        kept = max(k, 1)  # the mapping runs the first sample; NEST the first k
        meta, arrays = network_file(chain, T, encoding, steps, first["x"][:kept],
                                    None if first["spikes"] is None
                                    else first["spikes"][:, :kept])
        network_path = out_dir / "network.npz"
        with atomic_path(network_path) as tmp:
            write_network(str(tmp), meta, arrays)
        shutil.copyfile(SCRIPT, out_dir / "pynn_network.py")
        verify = self._verify_in_nest(network_path, first, k, progress) if k else {}
        verify.update({
            "fast_path": "discrete-time float64 simulation of the PyNN network (1 ms step, "
                         "1 ms delay per projection), every sample",
            "float_prediction_agreement": float(np.mean(preds == float_preds)),
            "float_accuracy": float(np.mean(float_preds == labels))})
        placement = self._place(network_path, out_dir, progress)
        return self._record(workload, chain, steps, n, preds, labels, spike_totals,
                            input_totals, verify, placement, fed_totals)

    def _verify_in_nest(self, network_path: Path, first: dict[str, Any], k: int,
                        progress: Any) -> dict[str, Any]:
        """Run the first ``k`` samples in NEST; compare every spike of every layer."""
        task = progress.add_task(f"{self.name}: NEST reference", total=None) if progress \
            else None
        with tempfile.TemporaryDirectory(prefix="neuropipe-nest-") as folder:
            out = Path(folder) / "spikes.npz"
            run_script(["nest", str(network_path), "--samples", str(k), "--out", str(out)],
                       "NEST reference run")
            with np.load(out) as data:
                nest = [data[f"L{i}"] for i in range(len(first["rasters"]))]
                build_s, per_sample_s = float(data["build_s"]), float(data["per_sample_s"])
        if progress:
            progress.update(task, total=1, completed=1)
        equal = total = mismatched = 0
        layer_counts = []
        mine_rasters = [r[:, :k].transpose(1, 0, 2) for r in first["rasters"]]
        for mine, theirs in zip(mine_rasters, nest, strict=True):
            equal += int((mine == theirs).sum())
            total += mine.size
            layer_counts.append({"fast_path": int(mine.sum()), "nest": int(theirs.sum())})
        for j in range(k):
            mismatched += any(not np.array_equal(m[j], t[j])
                              for m, t in zip(mine_rasters, nest, strict=True))
        window = slice(first["depth"], first["depth"] + first["timesteps"])
        scores = first.get("scores", lambda counts: counts)
        agree = np.mean(predict(scores(mine_rasters[-1][:, window].sum(axis=1)))
                        == predict(scores(nest[-1][:, window].sum(axis=1))))
        return {"nest_samples": k, "spike_match": equal / total if total else 1.0,
                "samples_with_mismatch": mismatched, "nest_prediction_agreement": float(agree),
                "spikes_per_layer": layer_counts, "nest_build_s": build_s,
                "nest_per_sample_s": per_sample_s,
                "nest_model": "iaf_psc_delta via pyNN.nest (spike_precision='on_grid')"}

    def _place(self, network_path: Path, out_dir: Path, progress: Any) -> dict[str, Any]:
        """Map the network with sPyNNaker on a virtual SpiNN-5 board; keep placement.json."""
        task = progress.add_task(f"{self.name}: sPyNNaker mapping", total=None) if progress \
            else None
        path = out_dir / "placement.json"
        run_script(["spinnaker", str(network_path), "--out", str(path)],
                   "sPyNNaker mapping on a virtual board")
        if progress:
            progress.update(task, total=1, completed=1)
        return json.loads(path.read_text(encoding="utf-8"))

    def _activity(self, chain: chain_mod.Chain, encoding: str, steps: int,
                  spike_totals: list[np.ndarray], input_totals: np.ndarray, n: int,
                  fed_totals: list[np.ndarray] | None = None) -> list[LayerActivity]:
        """Layers as deployed: PyNN takes the float weights, so they are counted as they are."""
        activity, pre = [], input_totals / n
        for i, layer in enumerate(chain.layers):
            on_chip = not (i == 0 and encoding == "constant")
            # A recurrent projection delivers every step's spikes but the last one's.
            fed = (None if fed_totals is None or layer.recurrent is None
                   else fed_totals[i] / n)
            activity.append(LayerActivity(layer, on_chip, pre if on_chip else None,
                                          spike_totals[i] / n, steps, fed))
            # The next projection delivers every step's spikes but the last one's.
            pre = (spike_totals if fed_totals is None else fed_totals)[i] / n
        return activity

    @staticmethod
    def _routing(placement: dict[str, Any], per_neuron_spikes: list[np.ndarray]
                 ) -> tuple[float, float]:
        """Packets (one per spike of a core with outgoing routes) and router traversals."""
        packets = traversals = 0.0
        for population, spikes in zip(placement["populations"], per_neuron_spikes, strict=True):
            for core in population["cores"]:
                if core["route_chips"] == 0:
                    continue  # no outgoing projection: its spikes are only recorded
                s = float(spikes[core["lo_atom"]:core["hi_atom"] + 1].sum())
                packets += s
                traversals += s * core["route_chips"]
        return packets, traversals

    def _resources(self, placement: dict[str, Any], steps: int) -> Resources:
        cores = [(c["x"], c["y"]) for pop in placement["populations"] for c in pop["cores"]]
        chips = len(set(cores))
        return Resources(
            cores=len(cores), chips=chips,
            boards=max(1, math.ceil(placement["machine_chips"] / spin_costs.CHIPS_PER_BOARD)),
            neurons_per_core_limit=self.neurons_per_core, steps_per_sample=steps,
            time_per_inference_s=steps * spin_costs.TIMESTEP_S,
            placement="sPyNNaker 1!7.4.1 placement on a virtual SpiNN-5 board",
            details={"populations": [
                {"label": p["label"], "size": p["size"], "cores": len(p["cores"]),
                 "chips": sorted({f"{c['x']},{c['y']}" for c in p["cores"]})}
                for p in placement["populations"]],
                "routing_entries_per_chip": placement["routing_entries_per_chip"],
                "mapping_s": placement["mapping_s"]})

    def _estimates(self, counts: Counts, resources: Resources) -> list[EnergyEstimate]:
        t = resources.time_per_inference_s
        quantities = {"synops": counts.synops, "neuron_updates": counts.neuron_updates,
                      "host_macs": counts.host_macs, "chip_seconds": resources.chips * t,
                      "core_seconds": resources.cores * t,
                      "router_traversals": counts.router_traversals}
        models: list[tuple[CostModel, bool]] = [(spin_costs.SPINN5_BOARD, True),
                                                (spin_costs.SPINNAKER1_PER_OP, False)]
        return [EnergyEstimate.from_terms(m, energy_terms(quantities, m), default)
                for m, default in models]

    def _record(self, workload: Workload, chain: chain_mod.Chain, steps: int, n: int,
                preds: np.ndarray, labels: np.ndarray, spike_totals: list[np.ndarray],
                input_totals: np.ndarray, verify: dict[str, Any],
                placement: dict[str, Any],
                fed_totals: list[np.ndarray] | None = None) -> DeploymentRecord:
        encoding = workload.encoding
        reports = count_layers(self._activity(chain, encoding, steps, spike_totals,
                                              input_totals, n, fed_totals), chain.readout)
        for report in reports:
            report.quantisation = {"weights": "float64 in the PyNN network (sPyNNaker stores "
                                              "them in 16-bit fixed point on the board)"}
            if report.kind == "readout":
                report.quantisation = {"weights": "float64 on the host (not on the board)"}
        counts = totals(reports, float(input_totals.sum() / n))
        sources = ([input_totals / n] if encoding in SPIKE_ENCODINGS else []) + [
            s / n for s in spike_totals]
        packets, traversals = self._routing(placement, sources)
        counts.packets, counts.router_traversals = packets, traversals
        resources = self._resources(placement, steps)
        estimates = self._estimates(counts, resources)
        notes = [
            f"each sample runs {steps} steps of 1 ms in real time: {workload.timesteps} of "
            f"input plus one step of delay per projection; the class is read from the last "
            f"layer's spikes in the {workload.timesteps} steps after that delay",
            "neurons are PyNN IF_curr_delta (delta synapses, no synaptic current, tau_refrac 0); "
            "see network.npz's meta for the mapping of time constants, threshold and reset",
            self.placement_note,
            "synops count delivered spikes only: a layer's spikes of the last step never reach "
            "the next population before the run ends (they are still sent as packets)",
        ]
        if encoding == "constant":
            notes.append("constant (analogue) input: the first layer's synapses run on the host "
                         "and reach the board as each neuron's i_offset (term host_input_layer); "
                         "SpiNNaker has no graded spikes (Loihi's --encoding graded), so only a "
                         "spike encoding (--encoding poisson) puts every synapse on the board")
        if chain.recurrent:
            notes.append("recurrent synapses are PyNN projections from a population to itself "
                         "(1 ms delay, between every pair of its <=256-neuron blocks); their "
                         "synops (every spike of the layer but the last step's, which the "
                         "run ends before delivering, x its nonzero recurrent fan-out) are "
                         "listed as layers of kind 'recurrent'")
        if chain.readout is not None:
            notes.append(f"host readout '{chain.readout.name}': class scores = W c + b of the "
                         "last layer's spike counts in the window, on the host; its "
                         f"{chain.readout.macs} MACs per inference are host work (in host_macs, "
                         "term host_input_layer), not board work")
        return deployment_record(
            self.name, accuracy=float(np.mean(preds == labels)),
            reference_accuracy=workload.reference_accuracy, samples=n,
            timesteps=workload.timesteps, counts=counts, estimates=estimates, layers=reports,
            verification=verify, resources=resources,
            leaves_out=list(next(e for e in estimates if e.default).leaves_out),
            artifacts={"network": "network.npz", "pynn_script": "pynn_network.py",
                       "placement": "placement.json"},
            notes=notes, network="snn")


class SpiNNaker2Target(SpiNNakerTarget):
    """SpiNNaker 2: the same PyNN network and NEST reference, per-operation costs only.

    No public mapper places a network on SpiNNaker 2 from PyNN (py-spinnaker2 is not on PyPI),
    so processing elements and chips are an estimate from the neuron count, and the record
    says so; no board model exists for it (SpiNNMachine's raises 'Spin2 idle/active energy
    unknown').
    """

    name = "spinnaker2"
    description = ("SpiNNaker 2, estimated: the spinnaker target's network and NEST reference; "
                   "Hoeppner 2019 per-op costs, placement estimated (152 PEs per chip)")
    packages = ("pynn", "nest-simulator")
    levels = ("chip",)
    placement_note = ("SpiNNaker 2 runs the same PyNN network here: spikes come from the fast "
                      "path (checked against NEST); placement is an estimate (no public mapper)")

    def _place(self, network_path: Path, out_dir: Path, progress: Any) -> dict[str, Any]:
        """An estimate: each population on ceil(neurons / 256) PEs, 152 PEs per chip."""
        from neuropipe.targets.spinnaker.pynn_network import load

        meta, _ = load(str(network_path))
        sizes = ([("input", meta["input_size"])] if meta["input"] == "spikes" else []) + [
            (layer["name"], layer["size"]) for layer in meta["layers"]]
        populations = [{"label": label, "size": size, "pes": math.ceil(
            size / self.neurons_per_core)} for label, size in sizes]
        placement = {"populations": populations, "estimate": True}
        path = out_dir / "placement.json"
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(placement, indent=1), encoding="utf-8")
        return placement

    @staticmethod
    def _routing(placement: dict[str, Any], per_neuron_spikes: list[np.ndarray]
                 ) -> tuple[None, None]:
        return None, None  # no route model for SpiNNaker 2

    def _resources(self, placement: dict[str, Any], steps: int) -> Resources:
        pes = sum(p["pes"] for p in placement["populations"])
        return Resources(
            cores=pes, chips=math.ceil(pes / spin_costs.SPINNAKER2_PES_PER_CHIP), boards=None,
            neurons_per_core_limit=self.neurons_per_core, steps_per_sample=steps,
            time_per_inference_s=steps * spin_costs.TIMESTEP_S,
            placement="estimate: ceil(neurons / 256) processing elements per population (as "
                      "sPyNNaker on SpiNNaker 1; no public SpiNNaker 2 mapper), 152 PEs per chip "
                      "(SpiNNMachine version_spin2.py); real time at 1 ms per step assumed",
            details={"populations": placement["populations"]})

    def _estimates(self, counts: Counts, resources: Resources) -> list[EnergyEstimate]:
        quantities = {"synops": counts.synops, "neuron_updates": counts.neuron_updates,
                      "host_macs": counts.host_macs}
        model = spin_costs.SPINNAKER2_PER_OP
        return [EnergyEstimate.from_terms(model, energy_terms(quantities, model), True)]
