"""The ``cpu`` and ``gpu`` targets: the conventional baseline, counted, costed and measured.

An ANN runs as trained: its ONNX model in onnxruntime. A spiking network runs as a CPU or GPU
executes one: every step a dense pass in PyTorch (float32, the delay-free reference). Each
deployment counts dense and effective operations per layer, costs them with every applicable
model at once (Horowitz, arithmetic; Degnan, system), and, where the device is here, measures
inference with the meter the pipeline passes in (warm-up excluded, batch size stated).
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.core.spike_codes import TRAINING_ENCODINGS
from neuropipe.core.threads import compute_threads, onnx_session_options
from neuropipe.targets import chain as chain_mod
from neuropipe.targets.base import Availability, Workload
from neuropipe.targets.costs import CostModel, energy_terms
from neuropipe.targets.float_sim import encode_input, predict, simulate, simulate_tallied
from neuropipe.targets.host import costs as host_costs
from neuropipe.targets.host import ops as host_ops
from neuropipe.targets.records import (
    Counts,
    DeploymentRecord,
    EnergyEstimate,
    EnergyTerm,
    LayerReport,
    Resources,
    deployment_record,
)

WARMUP_BATCHES = 1
COUNTER_METHODS = ("rapl", "nvml-energy", "nvml-power")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's processor string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


@functools.cache
def cuda_status() -> tuple[bool, str]:
    """Whether PyTorch sees a CUDA device here, and why not."""
    import torch

    if torch.cuda.is_available():
        return True, f"CUDA device {torch.cuda.get_device_name(0)}"
    return False, "no CUDA device here (torch.cuda.is_available() is False)"


class HostTarget:
    """Shared behaviour of the host targets; subclasses name the device and its costs."""

    name = "host"
    description = ""
    device = "cpu"
    packages = ("onnxruntime", "onnx", "torch")
    levels = ("system", "arithmetic", "measured")  # measured: where the meter has a counter
    encodings = TRAINING_ENCODINGS
    runs_onnx = True  # a conventional network is deployed as its ONNX model, not converted
    measures = True  # the pipeline passes its energy meter to deploy()
    default_model: CostModel = host_costs.DEGNAN_CPU
    models: tuple[CostModel, ...] = ()

    def device_here(self) -> tuple[bool, str]:
        """Whether this target's device exists here (it can then be measured)."""
        return True, f"{os.cpu_count()} CPU threads ({cpu_model()})"

    def availability(self) -> Availability:
        """Host targets always run: where the device is missing they count and cost only."""
        ok, why = self.device_here()
        return Availability(True, why if ok else f"{why}: counts and costs only, not measured")

    def supports(self, graph: Any, dt: float = 1.0) -> list[str]:
        """List graph content this target cannot run (ONNX models are checked when deployed)."""
        if graph is None:
            return []
        return chain_mod.unsupported(graph, dt)

    def deploy(self, workload: Workload, out_dir: Path, verify_samples: int = 16,
               batch_size: int = 256, progress: Any = None, meter: Any = None
               ) -> DeploymentRecord:
        """Run every sample, count and cost it; measure it where the device is here.

        Args:
            workload: A NIR graph (spiking) or an ONNX model (conventional), and samples.
            out_dir: Folder for the artefacts (a copy of the ONNX model).
            verify_samples: Unused here (no reference simulator beyond the run itself).
            batch_size: Samples per batch, for counting and for the measured run.
            progress: A rich ``Progress`` to report on, or None.
            meter: An energy meter with a ``window(name)`` context manager (the pipeline's),
                or None to skip the measurement.
        """
        del verify_samples
        if workload.onnx:
            return self._deploy_onnx(workload, Path(out_dir), batch_size, progress, meter)
        return self._deploy_snn(workload, batch_size, progress, meter)

    # --- conventional networks --------------------------------------------------------------

    def _providers(self) -> tuple[list[str], bool]:
        """The onnxruntime providers for this device, and whether they run on it."""
        import onnxruntime as ort

        if self.device == "cuda":
            if "CUDAExecutionProvider" in ort.get_available_providers() and cuda_status()[0]:
                return ["CUDAExecutionProvider"], True
            return ["CPUExecutionProvider"], False
        return ["CPUExecutionProvider"], True

    def _deploy_onnx(self, workload: Workload, out_dir: Path, batch_size: int, progress: Any,
                     meter: Any) -> DeploymentRecord:
        import onnx
        import onnxruntime as ort

        model = onnx.load(workload.onnx)
        layers = host_ops.onnx_layers(model)
        x = np.asarray(workload.inputs, dtype=np.float32)
        input_name = model.graph.input[0].name
        labels = np.asarray(workload.labels)
        n = len(x)
        activity = host_ops.run_probed(model, layers, x, batch_size, progress,
                                       f"{self.name}: counting")
        preds, nonzero, shapes = activity.preds, activity.nonzero, activity.shapes
        ops = host_ops.ann_layer_ops(layers, shapes, {k: v / n for k, v in nonzero.items()})
        providers, on_device = self._providers()
        timing: dict[str, Any] = {"execution": f"onnxruntime {ort.__version__} "
                                               f"{providers[0]}", "batch_size": batch_size}
        measured = None
        if on_device:
            options = onnx_session_options(batch_size)  # threads: core.threads
            options.log_severity_level = 3
            timing["threads"] = options.intra_op_num_threads
            session = ort.InferenceSession(model.SerializeToString(), options,
                                           providers=providers)

            def run_all() -> None:
                for start in range(0, n, batch_size):
                    session.run(None, {input_name: x[start:start + batch_size]})

            session.run(None, {input_name: x[:batch_size]})  # warm-up, not measured
            measured, timing = self._measure(run_all, n, meter, timing)
        shutil.copyfile(workload.onnx, out_dir / "model.onnx")
        return self._record(workload, ops, preds, labels, measured, timing, on_device,
                            artifacts={"onnx": "model.onnx"},
                            notes=["a conventional network, run as trained (ONNX in "
                                   "onnxruntime, float32): no conversion to spikes"])

    # --- spiking networks ---------------------------------------------------------------------

    def _deploy_snn(self, workload: Workload, batch_size: int, progress: Any, meter: Any
                    ) -> DeploymentRecord:
        import torch

        chain = chain_mod.to_chain(workload.graph, workload.dt)
        x = np.asarray(workload.inputs, dtype=np.float32).reshape(
            len(workload.inputs), *chain.input_shape)
        labels = np.asarray(workload.labels)
        n, T, encoding = len(x), workload.timesteps, workload.encoding
        rng = np.random.default_rng(workload.seed)
        batches = [(x[s:s + batch_size], encode_input(x[s:s + batch_size], T, encoding, rng))
                   for s in range(0, n, batch_size)]
        on_device = self.device == "cpu" or cuda_status()[0]
        device = self.device if on_device else "cpu"
        nonzero = [np.zeros(layer.inputs) for layer in chain.layers]
        fed_back = [None if layer.recurrent is None else np.zeros(layer.neurons)
                    for layer in chain.layers]
        last_spikes = np.zeros(chain.layers[-1].neurons)
        readout_nonzero = np.zeros(chain.layers[-1].neurons)
        preds = np.zeros(n, dtype=np.int64)
        task = progress.add_task(f"{self.name}: counting", total=n) if progress else None
        start = 0
        for batch, spikes in batches:
            counts = simulate_tallied(chain, batch, T, encoding, spikes, nonzero, fed_back,
                                      device)
            last_spikes += counts.sum(axis=0)
            readout_nonzero += (counts != 0).sum(axis=0)
            preds[start:start + len(batch)] = predict(chain.scores(counts))
            start += len(batch)
            if progress:
                progress.update(task, advance=len(batch))
        spikes_per_layer = [z / n for z in nonzero[1:]] + [last_spikes / n]
        ops = host_ops.spiking_layer_ops(
            chain.layers, [z / n for z in nonzero], spikes_per_layer, T, encoding,
            recurrent_inputs=[None if f is None else f / n for f in fed_back],
            readout=chain.readout, readout_nonzero=readout_nonzero / n)
        timing: dict[str, Any] = {"execution": f"PyTorch {torch.__version__} float32 on "
                                               f"{device}, one dense pass per step",
                                  "batch_size": batch_size}
        measured = None
        if on_device:
            def run_all() -> None:
                for batch, spikes in batches:
                    simulate(chain, batch, T, encoding, spikes, device)

            with compute_threads(batch_size) as threads:  # one count for the whole window
                simulate(chain, batches[0][0], T, encoding, batches[0][1], device)  # warm-up
                measured, timing = self._measure(run_all, n, meter, timing)
            timing["threads"] = threads
        notes = [f"a spiking network run conventionally: {T} dense passes per inference "
                 "(float32, no delays; the same arithmetic as the PyTorch reference)"]
        if chain.recurrent:
            notes.append("recurrent synapses (kind 'recurrent') are one more dense pass per "
                         "step over the layer's spikes of the previous step")
        if chain.readout is not None:
            notes.append(f"host readout '{chain.readout.name}' (kind 'readout'): one pass of "
                         "its weights over the last layer's spike counts per inference (MACs)")
        input_spikes = float(nonzero[0].sum() / n) if spikes is not None else 0.0
        return self._record(workload, ops, preds, labels, measured, timing, on_device,
                            artifacts={}, notes=notes, input_spikes=input_spikes)

    # --- shared -------------------------------------------------------------------------------

    def _measure(self, run_all: Any, n: int, meter: Any, timing: dict[str, Any]
                 ) -> tuple[Any, dict[str, Any]]:
        """Time (and meter, if given) one pass over every sample, warm-up excluded."""
        import torch

        started = time.perf_counter()
        if meter is not None:
            with meter.window(f"{self.name}-inference") as handle:
                run_all()
                if self.device == "cuda":
                    torch.cuda.synchronize()
            measured = handle.result
        else:
            run_all()
            measured = None
        wall = time.perf_counter() - started
        return measured, {**timing, "warmup_batches": WARMUP_BATCHES, "samples": n,
                          "wall_s": wall, "samples_per_s": n / wall if wall > 0 else None}

    def _measured_estimate(self, measured: Any, n: int, on_device: bool) -> EnergyEstimate:
        """The meter's window as an estimate: ``measured`` level only for real counters."""
        if measured is None:
            why = (self.device_here()[1] if not on_device
                   else "no meter was given (the pipeline passes one)")
            term = EnergyTerm(name=self.device, joules_per_inference=None, kind="dynamic",
                              method="not-estimated", unit="J", level="measured",
                              source="energy counter of the device", cost_model="meter",
                              note=f"not measured: {why}")
            return EnergyEstimate.of([term], "meter", "measured", [term.source], [term.note],
                                     ["everything: no measurement was possible"])
        counters = all(c.method in COUNTER_METHODS for c in measured.components)
        level = "measured" if counters else "system"
        name = "meter" if counters else "meter-estimate"
        terms = [EnergyTerm(
            name=c.component, joules_per_inference=c.energy_j / n, kind="dynamic",
            method="measured" if c.method in COUNTER_METHODS else "estimate",
            quantity=measured.duration_s / n, unit="J", level=level, cost_model=name,
            source=f"neuropipe meter, method {c.method}", note=c.note) for c in measured.components]
        notes = [f"one window over {n} inferences, warm-up excluded: joules / {n}"]
        if not counters:
            notes.append("no energy counter here: the meter's estimate (busy CPU-seconds x "
                         "watts per thread, resident memory x W/GB), not a measurement")
        return EnergyEstimate.of(terms, name, level, sorted({t.source for t in terms}), notes,
                                 ["the machine's idle power and other processes",
                                  "power-supply losses and cooling (no PUE applied here)"])

    def _record(self, workload: Workload, ops: list[host_ops.LayerOps], preds: np.ndarray,
                labels: np.ndarray, measured: Any, timing: dict[str, Any], on_device: bool,
                artifacts: dict[str, str], notes: list[str], input_spikes: float = 0.0
                ) -> DeploymentRecord:
        n = len(labels)
        quantities = host_ops.totals(ops)
        estimates = [EnergyEstimate.from_terms(m, energy_terms(quantities, m),
                                               m is self.default_model) for m in self.models]
        estimates.append(self._measured_estimate(measured, n, on_device))
        reports = [LayerReport(
            name=o.name, kind=o.kind, neurons=o.neurons, synapses=o.synapses, synapses_on="host",
            spikes_per_inference=o.spikes,
            synops_per_inference=o.effective if o.binary_input else 0.0,
            neuron_updates_per_inference=o.neuron_updates,
            ops={"dense": o.dense, "effective": o.effective,
                 "op": "AC" if o.binary_input else "MAC"}) for o in ops]
        counts = Counts(synops=quantities["effective_acs"],
                        neuron_updates=quantities["neuron_updates"], host_macs=0.0,
                        spikes=float(sum(o.spikes for o in ops)), input_spikes=input_spikes,
                        ops={k: v for k, v in quantities.items() if k != "neuron_updates"})
        per_inference = (timing["wall_s"] / n) if "wall_s" in timing else None
        ok, where = self.device_here()
        resources = Resources(
            cores=int(timing.get("threads") or self._cores()), chips=1, boards=None,
            neurons_per_core_limit=0,
            steps_per_sample=workload.timesteps if workload.graph is not None else 1,
            time_per_inference_s=per_inference,
            placement=f"host: {where}" if ok else f"host (not here: {where})",
            details={"batch_size": timing.get("batch_size")})
        verification = {**timing, "measured_on_device": bool(on_device and measured)}
        if workload.reference_accuracy is not None:
            verification["reference_accuracy"] = workload.reference_accuracy
        leaves_out = list(dict.fromkeys(
            item for e in estimates if e.default for item in e.leaves_out))
        notes = [*notes, "every cost model's figure is in 'estimates' with its level: "
                         "arithmetic (Horowitz 2014) and system (Degnan 2015) per-op costs "
                         "and the meter's window are not comparable with each other"]
        return deployment_record(
            self.name, accuracy=float(np.mean(preds == labels)),
            reference_accuracy=workload.reference_accuracy, samples=n,
            timesteps=workload.timesteps if workload.graph is not None else 1, counts=counts,
            estimates=estimates, layers=reports, verification=verification,
            resources=resources, leaves_out=leaves_out, artifacts=artifacts, notes=notes,
            network="snn" if workload.graph is not None else "ann")

    def _cores(self) -> int:
        """Threads where the run was not timed (torch's thread count)."""
        import torch

        return int(torch.get_num_threads())


class CpuTarget(HostTarget):
    """This machine's CPU: onnxruntime or PyTorch on the CPU, metered (RAPL or estimate)."""

    name = "cpu"
    description = ("the host CPU: ANN in onnxruntime, SNN as dense steps in PyTorch; Horowitz "
                   "and Degnan per-op costs and the meter")
    device = "cpu"
    default_model = host_costs.DEGNAN_CPU
    models = (host_costs.DEGNAN_CPU, host_costs.DEGNAN_ARM, host_costs.HOROWITZ_FP32,
              host_costs.HOROWITZ_FP32_EFFECTIVE, host_costs.HOROWITZ_INT8)


class GpuTarget(HostTarget):
    """A CUDA GPU: onnxruntime's CUDA provider or PyTorch on CUDA, metered with NVML."""

    name = "gpu"
    description = ("a CUDA GPU: ANN in onnxruntime, SNN as dense steps in PyTorch; Horowitz "
                   "and Degnan per-op costs, NVML where a GPU is present")
    device = "cuda"
    default_model = host_costs.DEGNAN_GPU
    models = (host_costs.DEGNAN_GPU, host_costs.HOROWITZ_FP32,
              host_costs.HOROWITZ_FP32_EFFECTIVE, host_costs.HOROWITZ_INT8)

    def device_here(self) -> tuple[bool, str]:
        """A CUDA device visible to PyTorch."""
        return cuda_status()

    def _cores(self) -> int:
        return 1
