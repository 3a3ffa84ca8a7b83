"""The ``loihi`` target: Lava's bit-accurate Loihi simulation, an emulator, published costs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.core.errors import GraphError
from neuropipe.core.spike_codes import TRAINING_ENCODINGS
from neuropipe.targets import chain as chain_mod
from neuropipe.targets.base import Availability, Workload
from neuropipe.targets.costs import energy_terms
from neuropipe.targets.counting import LayerActivity, count_layers, totals
from neuropipe.targets.float_sim import encode_input, predict, simulate
from neuropipe.targets.loihi import costs as loihi_costs
from neuropipe.targets.loihi.emulator import emulate
from neuropipe.targets.loihi.limits import loihi_problems
from neuropipe.targets.loihi.quantize import RECURRENT_HEADROOM, FixedLayer, quantize_chain
from neuropipe.targets.records import (
    DeploymentRecord,
    EnergyEstimate,
    deployment_record,
)

NETX_VERIFY_SAMPLES = 4  # netx networks are reloaded per sample: keep this check short


def _scale(scale: float | np.ndarray) -> float | list[float]:
    """A layer's scale for the record: one float, or [min, max] of per-neuron scales."""
    if isinstance(scale, np.ndarray):
        return [float(scale.min()), float(scale.max())]
    return float(scale)


def _graded_fields(fx: FixedLayer) -> dict[str, Any]:
    """The quantisation fields of a first layer fed graded spikes."""
    return {
        "input_message_bits": fx.input_message_bits,
        "graded_payload": f"rint(pixel * {fx.graded_max}): integers 0..{fx.graded_max}, one "
                          "graded spike per nonzero payload at step 0",
        "held_current": "du = -1 (netx iDecay 0): the current does not decay, it holds W p "
                        "for the whole sample",
        "graded_events": "graded_events_per_inference = nonzero payloads x nonzero deployed "
                         "fan-out, once per sample; synops_per_inference (binary) is 0"}


def _graded_notes(fx: FixedLayer, steps: int, timesteps: int) -> list[str]:
    """What a deployment with graded input says about it."""
    return [
        f"graded input: each pixel enters the chip once per sample, at step 0, as one "
        f"{fx.input_message_bits}-bit graded spike (payload rint(pixel * {fx.graded_max}); a "
        "zero payload sends nothing) "
        f"into the first {fx.layer.kind} layer ('{fx.layer.name}', weight_exp "
        f"{fx.weight_exp}); its neurons hold that current (du = -1, netx iDecay 0) for the "
        "whole sample instead of taking it as a host bias: no host MACs for the first layer",
        "graded events (counts.graded_events) = nonzero payloads x nonzero deployed fan-out, "
        "once per sample, counted apart from binary synops (spikes of the later layers)",
        "graded events are costed with Loihi 1's 23.6 pJ per synaptic spike op (Davies et al. "
        "2018) as a stand-in: no per-operation energy is published for Loihi 2's graded "
        "spikes, and a graded event (a multiply by its payload) may cost more. Magnitude "
        "check: Loihi 2 measured 1.661 mJ per inference (1.094 mJ dynamic) for LIF PilotNet "
        "on a board (lava-dl PilotNet tutorial, system level), a far larger network",
        f"step convention with graded input: the held current reaches the first layer at step "
        f"1 and stays, so each sample still runs {timesteps} steps of input plus one step of "
        f"delay per synapse layer on the chip ({steps} steps, as with poisson input); the first "
        "layer's static bias acts from step 0",
    ]


class LoihiTarget:
    """Intel Loihi, simulated bit-accurately by Lava (``Loihi2SimCfg(select_tag='fixed_pt')``)."""

    name = "loihi"
    description = "Intel Loihi via Lava's bit-accurate simulation; Davies et al. 2018 costs"
    packages = ("lava-nc", "lava-dl")
    levels = ("chip",)
    encodings = (*TRAINING_ENCODINGS, "graded", "sdnn")

    def availability(self) -> Availability:
        """Lava and lava-dl's netx import, with Lava's Python 3.11 fix in place."""
        from neuropipe.targets import lava_setup

        path = lava_setup.var_model_path()
        if path is None:
            return Availability(False, "lava-nc is not installed: run 'make venv', or see "
                                "docs/install.md for the pip steps")
        if lava_setup.needs_fix(path):
            return Availability(False, "Lava lacks its Python 3.11 fix: run "
                                "'python -m neuropipe.targets.lava_setup'")
        try:
            import lava.proc.lif.process  # noqa: F401

            from neuropipe.targets.loihi.netx_import import import_netx

            import_netx()
        except Exception as e:  # noqa: BLE001 - any import failure makes the target unavailable
            return Availability(False, f"Lava does not import ({type(e).__name__}: {e}); run "
                                "'make venv' or 'python -m neuropipe.targets.lava_setup'")
        return Availability(True, "lava.proc.lif and lava.lib.dl.netx import; 3.11 fix present")

    def supports(self, graph: Any, dt: float = 1.0) -> list[str]:
        """List graph content Loihi cannot run here (empty if all is supported)."""
        try:
            chain = chain_mod.to_chain(graph, dt)
        except GraphError as e:
            return [str(e)]
        return loihi_problems(chain)

    def deploy(self, workload: Workload, out_dir: Path, verify_samples: int = 16,
               batch_size: int = 500, progress: Any = None, **options: Any) -> DeploymentRecord:
        """Quantise, emulate every sample, verify the first ones in Lava, count and cost.

        A conventional network (``workload.encoding == "sdnn"``, ``workload.onnx`` set) runs as a
        sigma-delta network instead (``targets/loihi/sdnn``).

        Args:
            workload: Graph, samples and presentation.
            out_dir: Folder for the artefacts (the netx ``.net`` file).
            verify_samples: Samples also run in Lava and compared spike for spike.
            batch_size: Samples per emulator batch.
            progress: A rich ``Progress`` to report on, or None.
            options: For ``sdnn``: ``calibration`` images and ``delta_threshold``.
        """
        if workload.encoding == "sdnn":
            from neuropipe.targets.loihi.sdnn.deploy import deploy_sdnn

            return deploy_sdnn(self.name, workload, out_dir, verify_samples, batch_size,
                               progress, **options)
        chain = chain_mod.to_chain(workload.graph, workload.dt)
        layers = quantize_chain(chain, workload.encoding)
        # One step of delay per synapse layer on the chip (and one more for on-chip input).
        steps = workload.timesteps + len(layers) - 1 + (1 if layers[0].on_chip_synapses else 0)
        x = np.asarray(workload.inputs, dtype=np.float64)
        labels = np.asarray(workload.labels)
        n = len(x)
        run = _emulate_all(chain, layers, steps, workload, x, batch_size, progress)
        verify: dict[str, Any] = {}
        if verify_samples > 0 and run.first_batch is not None:
            verify = self._verify(layers, steps, run.first_batch, min(verify_samples, n),
                                  progress)
        netx_file = self._write_netx(layers, steps, run.first_batch, out_dir, verify,
                                     min(verify_samples, n, NETX_VERIFY_SAMPLES))
        verify.update(run.checks(labels))
        record = self._record(workload, layers, steps, run, labels, verify, chain)
        if netx_file is None:
            return record
        return record.replace(artifacts={"netx": netx_file.name})

    @staticmethod
    def _write_netx(layers: list[FixedLayer], steps: int, first_batch: Any, out_dir: Path,
                    verify: dict[str, Any], k: int) -> Path | None:
        """Write the lava-dl netx file and check that netx reproduces the output spikes.

        Returns None (and says why in ``verify['netx_skipped']``) when netx cannot hold the
        network.
        """
        from neuropipe.targets.loihi.netx_export import netx_problems, run_netx, write_netx

        problems = netx_problems(layers)
        if problems:
            verify["netx_skipped"] = "; ".join(problems)
            return None
        path = Path(out_dir) / "model.net"
        write_netx(layers, path)
        if k > 0 and first_batch is not None:
            host_bias, spikes_in, emulated = first_batch
            outs = run_netx(path, layers, steps, host_bias, spikes_in, k)
            same = [np.array_equal(o, emulated[-1][:, j]) for j, o in enumerate(outs)]
            verify["netx_samples"] = k
            verify["netx_output_match"] = float(np.mean(same))
        return path

    @staticmethod
    def _verify(layers: list[FixedLayer], steps: int,
                first_batch: tuple[np.ndarray | None, np.ndarray | None, list[np.ndarray]],
                k: int, progress: Any) -> dict[str, Any]:
        """Run the first ``k`` samples in Lava and compare every spike with the emulator."""
        from neuropipe.targets.loihi.lava_runner import run_in_lava

        host_bias, spikes_in, emulated = first_batch
        task = progress.add_task("loihi: Lava verification", total=k) if progress else None
        lava = run_in_lava(layers, steps, host_bias, spikes_in, k,
                           on_sample=(lambda _: progress.update(task, advance=1))
                           if progress else None)
        equal = total = 0
        mismatched_samples = 0
        for j, per_layer in enumerate(lava):
            same = True
            for i, raster in enumerate(per_layer):
                mine = emulated[i][:, j]
                equal += int((mine == raster).sum())
                total += raster.size
                same &= bool((mine == raster).all())
            mismatched_samples += not same
        return {"lava_samples": k, "spike_match": equal / total if total else 1.0,
                "samples_with_mismatch": mismatched_samples, "lava_run_config":
                "Loihi2SimCfg(select_tag='fixed_pt')"}

    def _record(self, workload: Workload, layers: list[FixedLayer], steps: int, run: _Totals,
                labels: np.ndarray, verify: dict[str, Any], chain: chain_mod.Chain
                ) -> DeploymentRecord:
        """Count on the deployed (quantised) network, cost it, and assemble the record."""
        n = len(labels)
        reports = count_layers(_activity(layers, run, n, steps), chain.readout)
        _label_quantisation(reports, layers)
        counts = totals(reports, float(run.inputs.sum() / n))
        model = loihi_costs.LOIHI_1
        quantities = {"synops": counts.synops, "graded_events": counts.graded_events,
                      "neuron_updates": counts.neuron_updates,
                      "host_macs": counts.host_macs, "seconds": None}
        estimate = EnergyEstimate.from_terms(model, energy_terms(quantities, model), True)
        notes = [*model.notes, *_input_notes(layers, steps, workload.timesteps),
                 *_step_notes(steps, workload.timesteps)]
        if any(fx.recurrent is not None for fx in layers):
            notes.extend(_recurrent_notes())
        if verify.get("current_wraps"):
            notes.append(_wrap_note(verify, n))
        if chain.readout is not None:
            notes.append(_readout_note(chain.readout))
        if "netx_skipped" in verify:
            notes.append(f"no netx file: {verify['netx_skipped']}")
        resources = loihi_costs.loihi_resources([fx.layer.neurons for fx in layers], steps)
        return deployment_record(
            self.name, accuracy=float(np.mean(run.preds == labels)),
            reference_accuracy=workload.reference_accuracy, samples=n,
            timesteps=workload.timesteps, counts=counts, estimates=[estimate], layers=reports,
            verification=verify, resources=resources, leaves_out=list(model.leaves_out),
            artifacts={}, notes=notes, network="snn")


@dataclass
class _Totals:
    """What the emulator's batches add up to, over every sample.

    Attributes:
        spikes: Per layer, each neuron's spikes.
        fed: Per layer, the spikes its Dense delivered (to the next layer, or back through a
            recurrent Dense): all but the last step's (the run ends first).
        inputs: Each input's spikes (or nonzero graded messages).
        preds: The chip's class per sample.
        float_preds: The float simulation's class per sample.
        clipped: Host bias values clipped to 13 bits.
        wraps: Per layer, neuron updates that wrapped the 24-bit current.
        wrapped_samples: Samples in which any current wrapped.
        first_batch: Host bias, input spikes and emulated spikes of the first batch (verified
            in Lava and netx).
    """

    spikes: list[np.ndarray]
    fed: list[np.ndarray]
    inputs: np.ndarray
    preds: np.ndarray
    float_preds: np.ndarray
    clipped: int = 0
    wraps: list[int] = field(default_factory=list)
    wrapped_samples: int = 0
    first_batch: tuple[np.ndarray | None, np.ndarray | None, list[np.ndarray]] | None = None

    @classmethod
    def empty(cls, layers: list[FixedLayer], n: int) -> _Totals:
        """Zero totals for ``n`` samples of ``layers``."""
        return cls([np.zeros(fx.layer.neurons) for fx in layers],
                   [np.zeros(fx.layer.neurons) for fx in layers],
                   np.zeros(layers[0].layer.inputs), np.zeros(n, dtype=np.int64),
                   np.zeros(n, dtype=np.int64), wraps=[0] * len(layers))

    def add(self, layers: list[FixedLayer], result: Any, spikes_in: np.ndarray | None,
            clipped: int) -> None:
        """Add one batch's emulator result and chip input."""
        self.clipped += clipped
        for i, s in enumerate(result.spikes):
            total = s.sum(axis=(0, 1))
            self.spikes[i] += total
            if layers[i].recurrent is not None or i < len(layers) - 1:  # not the output's
                self.fed[i] += total - s[-1].sum(axis=0)
            self.wraps[i] += result.u_wraps[i]
        self.wrapped_samples += int(result.wrapped_samples.sum())
        if spikes_in is not None:  # spikes, or nonzero graded messages
            self.inputs += (spikes_in != 0).sum(axis=(0, 1))

    def checks(self, labels: np.ndarray) -> dict[str, Any]:
        """The verification entries the totals give (float agreement, limits hit)."""
        return {"float_prediction_agreement": float(np.mean(self.preds == self.float_preds)),
                "float_accuracy": float(np.mean(self.float_preds == labels)),
                "bias_values_clipped": int(self.clipped),
                "current_wraps": int(sum(self.wraps)),
                "samples_with_current_wraps": self.wrapped_samples}


@dataclass
class _ChipInput:
    """How a batch enters the chip: graded spikes, unary spikes, or a host-computed bias."""

    first: FixedLayer
    steps: int
    timesteps: int
    encoding: str
    rng: np.random.Generator

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, int]:
        """Host bias (or None), input spikes (or None), and how many bias values clipped."""
        first = self.first
        if first.graded_max > 0:  # one graded spike per pixel at step 0; the first layer holds it
            spikes = np.zeros((self.steps, len(batch), first.layer.inputs), dtype=np.int16)
            spikes[0] = first.graded_payload(batch.reshape(len(batch), -1))
            return None, spikes, 0
        if first.on_chip_synapses:
            spikes = np.zeros((self.steps, len(batch), first.layer.inputs), dtype=bool)
            spikes[:self.timesteps] = encode_input(batch, self.timesteps, self.encoding, self.rng)
            return None, spikes, 0
        bias, clipped = first.input_bias(batch)
        return bias, None, clipped


def _emulate_all(chain: chain_mod.Chain, layers: list[FixedLayer], steps: int,
                 workload: Workload, x: np.ndarray, batch_size: int, progress: Any) -> _Totals:
    """Emulate every sample in batches; the chip's and the float simulation's classes."""
    T, L, n = workload.timesteps, len(layers), len(x)
    offset = 1 if layers[0].on_chip_synapses else 0
    graded = layers[0].graded_max > 0
    chip_input = _ChipInput(layers[0], steps, T, workload.encoding,
                            np.random.default_rng(workload.seed))
    task = progress.add_task("loihi: emulator", total=n) if progress else None
    run = _Totals.empty(layers, n)
    for start in range(0, n, batch_size):
        batch = x[start:start + batch_size]
        host_bias, spikes_in, clipped = chip_input(batch)
        result = emulate(layers, steps, host_bias=host_bias, input_spikes=spikes_in)
        run.add(layers, result, spikes_in, clipped)
        window = result.spikes[-1][offset + L - 1: offset + L - 1 + T]
        run.preds[start:start + len(batch)] = predict(chain.scores(window.sum(axis=0)))
        sim_spikes = spikes_in[:T] if spikes_in is not None and not graded else None
        run.float_preds[start:start + len(batch)] = predict(simulate(  # graded: held input
            chain, batch, T, "constant" if graded else workload.encoding, sim_spikes))
        if run.first_batch is None:
            run.first_batch = (host_bias, spikes_in, result.spikes)
        if progress:
            progress.update(task, advance=len(batch))
    return run


def _activity(layers: list[FixedLayer], run: _Totals, n: int, steps: int
              ) -> list[LayerActivity]:
    """Per layer, the deployed synapses and the spikes they carried, per sample."""
    activity, pre_spikes = [], run.inputs / n
    for i, fx in enumerate(layers):
        # A host layer runs the float weights on the CPU; a recurrent Dense is always on
        # the chip, with its quantised weights.
        deployed = dataclasses.replace(
            fx.layer, weight=fx.weight if fx.on_chip_synapses else fx.layer.weight,
            recurrent=fx.recurrent)
        graded_in = pre_spikes if fx.graded_max else None
        activity.append(LayerActivity(deployed, fx.on_chip_synapses,
                                      pre_spikes if fx.on_chip_synapses and not
                                      fx.graded_max else None,
                                      run.spikes[i] / n, steps,
                                      None if fx.recurrent is None else run.fed[i] / n,
                                      graded_in))
        pre_spikes = run.fed[i] / n
    return activity


def _label_quantisation(reports: list[Any], layers: list[FixedLayer]) -> None:
    """Fill each layer report's ``quantisation`` with what the deployed layer holds."""
    by_name = {fx.layer.name: fx for fx in layers}
    by_recurrent = {fx.layer.recurrent_name: fx for fx in layers if fx.recurrent is not None}
    for report in reports:
        if report.kind == "readout":
            report.quantisation = {"weights": "float64 on the host (not on the chip)"}
        elif report.kind == "recurrent":
            fx = by_recurrent[report.name]
            report.quantisation = {
                "weight_bits": 8, "weight_exp": fx.recurrent_exp, "scale": _scale(fx.scale),
                "max_abs_weight_error": fx.max_recurrent_error,
                "zero_after_quantisation": int(np.count_nonzero(fx.layer.recurrent)
                                               - np.count_nonzero(fx.recurrent))}
        else:
            report.quantisation = _layer_quantisation(by_name[report.name])


def _layer_quantisation(fx: FixedLayer) -> dict[str, Any]:
    """The quantisation entry of a feed-forward layer."""
    quantisation = {
        "weight_bits": 8 if fx.on_chip_synapses else None,
        "weight_exp": fx.weight_exp, "scale": _scale(fx.scale), "vth_mant": fx.vth,
        "dv": fx.dv, "du": fx.du, "bias_exp": fx.bias_exp,
        "max_abs_weight_error": fx.max_weight_error,
        "neuron": fx.layer.neuron.kind,
        "zero_after_quantisation": int(np.count_nonzero(fx.layer.weight)
                                       - np.count_nonzero(fx.weight))
        if fx.on_chip_synapses else 0}
    if fx.graded_max:
        quantisation.update(_graded_fields(fx))
    if isinstance(fx.scale, np.ndarray):
        quantisation["per_neuron_rows"] = (
            "per-neuron thresholds (r, v_leak) folded into each neuron's weight rows and bias: "
            "one shared vth_mant; scale is [min, max] over neurons")
    return quantisation


def _input_notes(layers: list[FixedLayer], steps: int, timesteps: int) -> list[str]:
    """What the record says about how the input reaches the chip."""
    notes = _graded_notes(layers[0], steps, timesteps) if layers[0].graded_max else []
    if not layers[0].on_chip_synapses:
        notes.append("constant (analogue) input: the first layer's synapses run on the host "
                     "once per sample and reach the chip as a per-neuron bias; their MACs "
                     "are costed as CPU work (term host_input_layer). Use --encoding graded "
                     "(Loihi 2 graded spikes) or poisson to put every synapse on the chip.")
    return notes


def _step_notes(steps: int, timesteps: int) -> list[str]:
    """The step convention, and what the counts are taken on."""
    return [f"each sample runs {steps} steps: {timesteps} of input plus one step of delay per "
            "synapse layer on the chip; the class is read from the output spikes of the "
            "delayed window of the same length",
            "counts are taken on the quantised weights Lava runs: a weight that quantises to 0 "
            "is no synapse",
            "synops count delivered spikes only: a layer's spikes of the last step never reach "
            "the next layer before the run ends"]


def _recurrent_notes() -> list[str]:
    """How recurrent synapses run, are counted and quantised."""
    return ["recurrent synapses run as a second Lava Dense from a layer's spikes back to its "
            "own input (one step of delay, as the graph means); their synops (every spike of "
            "the layer but the last step's, which the run ends before delivering, x its "
            "nonzero recurrent fan-out) are listed as layers of kind 'recurrent'",
            "each Dense has its own weight exponent (weight_exp of the layer and of its "
            "'recurrent' entry): both keep 8-bit mantissas however far apart their magnitudes "
            "are; a recurrent layer's threshold mantissa is kept at most 2^17 / "
            f"{RECURRENT_HEADROOM} so that one step's input of up to {RECURRENT_HEADROOM} "
            "thresholds fits the 24-bit current (current_wraps counts the neuron updates where "
            "it did not)"]


def _wrap_note(verify: dict[str, Any], n: int) -> str:
    """The samples whose 24-bit current wrapped."""
    return (f"{verify['current_wraps']} neuron updates in {verify['samples_with_current_wraps']} "
            f"of {n} samples wrapped the 24-bit current (one step's input too large for u: Lava "
            "and Loihi wrap it round to the other sign, so a strong inhibition excites); those "
            "samples do not compute exactly what the graph means")


def _readout_note(readout: chain_mod.Readout) -> str:
    """The host readout's work, which is not chip work."""
    return (f"host readout '{readout.name}': class scores = W c + b of the output layer's spike "
            f"counts in the window, computed on the host; its {readout.macs} MACs per inference "
            "are host work (counted in host_macs, costed as term host_input_layer), not chip "
            "work")
