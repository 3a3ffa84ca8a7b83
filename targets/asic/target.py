"""The ``asic`` target: any run costed on one hypothetical 45 nm digital accelerator.

After Lemaire et al. 2022: the ANN and the SNN are costed on the same silicon (Horowitz's
integer arithmetic plus per-layer on-chip SRAM, ``costs``), so that an SNN advantage, or its
absence, does not come from comparing two different chips. An ANN runs as its ONNX model in
onnxruntime with its weights quantised to 8 bits (counting nonzero inputs per layer); an SNN runs
in the float simulator every target checks against (``float_sim``), with 8-bit weights.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.core.spike_codes import TRAINING_ENCODINGS
from neuropipe.targets import chain as chain_mod
from neuropipe.targets.asic import costs as c
from neuropipe.targets.asic import ops as asic_ops
from neuropipe.targets.base import Availability, Workload
from neuropipe.targets.counting import LayerActivity, count_layers, totals
from neuropipe.targets.float_sim import encode_input, predict, simulate, simulate_tallied
from neuropipe.targets.host import ops as host_ops
from neuropipe.targets.records import (
    Counts,
    DeploymentRecord,
    LayerReport,
    Resources,
    deployment_record,
)

ANN_DENSE = "asic45-ann-dense"
ANN_ZERO_SKIP = "asic45-ann-zero-skip"
SNN = "asic45-snn"
PLACEMENT = ("hypothetical: one 45 nm accelerator whose per-layer SRAMs hold every weight, "
             "bias, potential and activation (sizes in each layer's quantisation)")


def quantise_chain(chain: chain_mod.Chain) -> tuple[chain_mod.Chain, dict[str, dict[str, Any]]]:
    """The chain with 8-bit weights (and recurrent weights), and each layer's quantisation."""
    layers, details = [], {}
    for layer in chain.layers:
        w, scale = asic_ops.quantise(layer.weight)
        rec, rec_scale = (None, None) if layer.recurrent is None else asic_ops.quantise(
            layer.recurrent)
        layers.append(dataclasses.replace(layer, weight=w, recurrent=rec))
        details[layer.name] = {"weight_bits": 8, "scale": scale,
                               "zero_after_quantisation": int(np.count_nonzero(layer.weight)
                                                              - np.count_nonzero(w))}
        if rec is not None:
            details[layer.recurrent_name] = {
                "weight_bits": 8, "scale": rec_scale,
                "zero_after_quantisation": int(np.count_nonzero(layer.recurrent)
                                               - np.count_nonzero(rec))}
    return dataclasses.replace(chain, layers=layers), details


def _memories(ops: list[c.Op]) -> dict[str, dict[str, Any]]:
    """Per layer, each term's SRAM size and access energy (for the layer reports)."""
    out: dict[str, dict[str, Any]] = {}
    for op in ops:
        if op.memory_bytes:
            out.setdefault(op.layer, {})[op.name] = {"bytes": op.memory_bytes,
                                                     "pj_per_access": round(op.pj, 4)}
    return out


class AsicTarget:
    """One hypothetical digital accelerator (45 nm) for ANN and SNN alike, after Lemaire 2022."""

    name = "asic"
    description = ("one hypothetical 45 nm digital accelerator for ANNs and SNNs alike "
                   "(Lemaire 2022): Horowitz integer arithmetic plus per-layer on-chip SRAM")
    packages = ("numpy", "onnx", "onnxruntime")
    levels = ("chip",)
    encodings = TRAINING_ENCODINGS
    runs_onnx = True  # an ANN is costed from its ONNX model, an SNN from its NIR graph

    def availability(self) -> Availability:
        """Always available: a cost model over the float simulator and onnxruntime."""
        return Availability(True, "a cost model (numpy) over the float simulator or "
                                  "onnxruntime: no device needed")

    def supports(self, graph: Any, dt: float = 1.0) -> list[str]:
        """List graph content this target cannot run (ONNX models are checked when deployed)."""
        if graph is None:
            return []
        return chain_mod.unsupported(graph, dt)

    def deploy(self, workload: Workload, out_dir: Path, verify_samples: int = 16,
               batch_size: int = 500, progress: Any = None) -> DeploymentRecord:
        """Run every sample, count what the accelerator would do, and cost it.

        Args:
            workload: A NIR graph (spiking) or an ONNX model (conventional), and samples.
            out_dir: Folder for the artefacts (a copy of an ONNX model).
            verify_samples: Unused (the float simulator is its own reference).
            batch_size: Samples per batch (counts are summed over batches).
            progress: A rich ``Progress`` to report on, or None.
        """
        del verify_samples
        if workload.onnx:
            return self._deploy_ann(workload, Path(out_dir), batch_size, progress)
        return self._deploy_snn(workload, batch_size, progress)

    # --- conventional networks --------------------------------------------------------------

    def _deploy_ann(self, workload: Workload, out_dir: Path, batch_size: int, progress: Any
                    ) -> DeploymentRecord:
        import onnx
        import onnxruntime as ort
        from onnx import numpy_helper

        model = onnx.load(workload.onnx)
        by_name = {init.name: init for init in model.graph.initializer}
        details = {}
        for node in model.graph.node:
            if node.op_type in host_ops.WEIGHTED_OPS and node.input[1] in by_name:
                init = by_name[node.input[1]]
                w = numpy_helper.to_array(init)
                q, scale = asic_ops.quantise(w)
                init.CopyFrom(numpy_helper.from_array(q.astype(w.dtype), init.name))
                details[node.name or node.output[0]] = {
                    "weight_bits": 8, "scale": scale,
                    "zero_after_quantisation": int(np.count_nonzero(w) - np.count_nonzero(q))}
        layers = host_ops.onnx_layers(model)  # the quantised weights; refuses what it cannot count
        x = np.asarray(workload.inputs, dtype=np.float32)
        labels = np.asarray(workload.labels)
        n = len(x)
        activity = host_ops.run_probed(model, layers, x, batch_size, progress,
                                       f"{self.name}: counting")
        preds, nonzero, shapes = activity.preds, activity.nonzero, activity.shapes
        chain_layers = [layer.as_layer(shapes[layer.input_name]) for layer in layers]
        per_input = [np.asarray(nonzero[layer.input_name], dtype=np.float64).reshape(-1) / n
                     for layer in layers]
        variants = {v: [op for layer, z in zip(chain_layers, per_input, strict=True)
                        for op in asic_ops.ann_layer_ops(layer, z, v)]
                    for v in asic_ops.VARIANTS}
        notes = [*c.NOTES,
                 "a conventional network: weights quantised to 8 bits (per-tensor symmetric, "
                 "the accuracy is that of these weights in onnxruntime, activations float32; "
                 "the costing assumes 8-bit activations)",
                 "two estimates of the same run: dense (every connection, what a plain "
                 "accelerator executes) and zero-skip (only nonzero input x nonzero weight, "
                 "the accelerator's best case after Dampfhoffer et al. 2023; the default, so "
                 "that any SNN advantage is conservative)",
                 "each output's accumulator is a register (output-stationary): no partial-sum "
                 "SRAM traffic; ReLU and requantisation are not costed; every layer is charged "
                 "one bias read and add per output"]
        estimates = [
            asic_ops.estimate(variants["dense"], ANN_DENSE, False, [
                *notes, "dense: every connection executed, every input read"]),
            asic_ops.estimate(variants["zero-skip"], ANN_ZERO_SKIP, True, [
                *notes, "zero-skip: only connections with a nonzero input and a nonzero "
                        "weight, only nonzero inputs read"])]
        memories = _memories(variants["dense"])
        reports = [LayerReport(
            name=o.name, kind=o.kind, neurons=o.neurons, synapses=o.synapses,
            synapses_on="chip", ops={"dense": o.dense, "effective": o.effective, "op": "MAC"},
            quantisation={**details.get(o.name, {}), "memories": memories.get(o.name, {})})
            for o in host_ops.ann_layer_ops(layers, shapes,
                                            {k: v / n for k, v in nonzero.items()})]
        counts = Counts(ops={"dense_macs": float(sum(r.ops["dense"] for r in reports)),
                             "dense_acs": 0.0,
                             "effective_macs": float(sum(r.ops["effective"] for r in reports)),
                             "effective_acs": 0.0})
        shutil.copyfile(workload.onnx, out_dir / "model.onnx")
        return deployment_record(
            self.name, accuracy=float(np.mean(preds == labels)),
            reference_accuracy=workload.reference_accuracy, samples=n, timesteps=1,
            counts=counts, estimates=estimates, layers=reports,
            verification={"execution": f"onnxruntime {ort.__version__} CPUExecutionProvider, "
                                       "8-bit weights", "batch_size": batch_size},
            resources=self._resources(1), leaves_out=list(c.CHIP_LEAVES_OUT),
            artifacts={"onnx": "model.onnx"}, notes=notes, network="ann")

    # --- spiking networks ---------------------------------------------------------------------

    def _deploy_snn(self, workload: Workload, batch_size: int, progress: Any
                    ) -> DeploymentRecord:
        chain = chain_mod.to_chain(workload.graph, workload.dt)
        deployed, details = quantise_chain(chain)
        x = np.asarray(workload.inputs, dtype=np.float32).reshape(
            len(workload.inputs), *chain.input_shape)
        labels = np.asarray(workload.labels)
        n, T, encoding = len(x), workload.timesteps, workload.encoding
        rng = np.random.default_rng(workload.seed)
        layers = deployed.layers
        nonzero = [np.zeros(layer.inputs) for layer in layers]
        fed_back = [None if layer.recurrent is None else np.zeros(layer.neurons)
                    for layer in layers]
        last_spikes = np.zeros(layers[-1].neurons)
        preds = np.zeros(n, dtype=np.int64)
        float_preds = np.zeros(n, dtype=np.int64)
        task = progress.add_task(f"{self.name}: counting", total=n) if progress else None
        for start in range(0, n, batch_size):
            batch = x[start:start + batch_size]
            spikes = encode_input(batch, T, encoding, rng)
            counts = simulate_tallied(deployed, batch, T, encoding, spikes, nonzero, fed_back)
            last_spikes += counts.sum(axis=0)
            preds[start:start + len(batch)] = predict(deployed.scores(counts))
            float_preds[start:start + len(batch)] = predict(simulate(chain, batch, T,
                                                                     encoding, spikes))
            if progress:
                progress.update(task, advance=len(batch))
        graded = encoding == "constant"
        inputs = [z / n for z in nonzero]
        # Every spike of a hidden layer reaches the next one (no delays here): its input count.
        emitted = inputs[1:] + [last_spikes / n]
        fed = [None if f is None else f / n for f in fed_back]
        ops: list[c.Op] = [] if graded else asic_ops.input_queue_ops(
            float(inputs[0].sum()), layers[0].inputs)
        for i, layer in enumerate(layers):
            ops += asic_ops.snn_layer_ops(layer, inputs[i], float(emitted[i].sum()), T,
                                          graded and i == 0, fed[i])
        if chain.readout is not None:
            ops += asic_ops.readout_ops(chain.readout)
        activity = [LayerActivity(layer, True, inputs[i], emitted[i], T, fed[i])
                    for i, layer in enumerate(layers)]
        reports = count_layers(activity, chain.readout)
        memories = _memories(ops)
        graded_events = 0.0
        for report in reports:
            report.quantisation = {**details.get(report.name, {}),
                                   "memories": memories.get(report.name, {})}
        if graded:  # the analogue first layer: graded events, not binary synops
            graded_events = float(sum(o.count for o in ops if o.name == "graded_mac"))
            reports[0].synops_per_inference = 0.0
            reports[0].ops = {"graded_events": graded_events, "op": "MAC"}
        if chain.readout is not None:
            reports[-1].quantisation = {"weights": "float64 as the graph gives them; costed "
                                                   "as 8-bit MACs on the same silicon",
                                        "memories": memories.get(chain.readout.name, {})}
        counts = totals(reports, 0.0 if graded else float(inputs[0].sum()))
        counts.graded_events = graded_events
        notes = _snn_notes(chain, encoding)
        estimate = asic_ops.estimate(ops, SNN, True, notes)
        return deployment_record(
            self.name, accuracy=float(np.mean(preds == labels)),
            reference_accuracy=workload.reference_accuracy, samples=n, timesteps=T,
            counts=counts, estimates=[estimate], layers=reports,
            verification={"execution": "float simulator (float_sim), 8-bit weights",
                          "float_prediction_agreement": float(np.mean(preds == float_preds)),
                          "float_accuracy": float(np.mean(float_preds == labels)),
                          "batch_size": batch_size},
            resources=self._resources(T), leaves_out=list(c.CHIP_LEAVES_OUT), artifacts={},
            notes=notes, network="snn")

    @staticmethod
    def _resources(steps: int) -> Resources:
        return Resources(cores=1, chips=1, boards=None, neurons_per_core_limit=0,
                         steps_per_sample=steps, time_per_inference_s=None,
                         placement=PLACEMENT)


def _snn_notes(chain: chain_mod.Chain, encoding: str) -> list[str]:
    """What the record of a spiking network says about its counts and costs."""
    graded = encoding == "constant"
    notes = [*c.NOTES,
             "a spiking network: counts from the float simulator (no pipeline delays) with "
             "8-bit weights (per-tensor symmetric; a weight that quantises to 0 is no "
             "synapse); float potentials stand in for the 32-bit ones",
             "synaptic-event terms (synops_*) and spike-queue terms (spike_queue_*) scale "
             "with the spikes; the neuron_* terms with neurons x steps",
             "each synaptic event reads and writes its target's potential in SRAM "
             "(Lemaire's event-driven count): a core that held a step's potentials in "
             "registers would save most of synops_potential_rw"]
    if graded:
        notes.append("constant (analogue) input: the first layer is graded, MACs on the "
                     "nonzero pixels once per sample into a held 32-bit current that each "
                     "neuron reads every step (graded_* terms; counts.graded_events)")
    else:
        notes.append(f"{encoding} input: the input spikes enter through a queue and are "
                     "binary synaptic events of the first layer")
    if chain.recurrent:
        notes.append("recurrent synapses: each spike fed back (all but the last step's) "
                     "is a binary synaptic event like a feed-forward one, with its own "
                     "8-bit weight memory")
    if chain.readout is not None:
        notes.append(f"host readout '{chain.readout.name}': its {chain.readout.macs} MACs "
                     "per inference are costed as ANN MACs on the same silicon (8-bit "
                     "weight read + MAC) and listed apart as kind 'host' (readout_* terms)")
    return notes
