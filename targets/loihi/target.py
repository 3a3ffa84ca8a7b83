"""The ``loihi`` target: Lava's bit-accurate Loihi simulation, an emulator, published costs."""

from __future__ import annotations

import dataclasses
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
        T, L = workload.timesteps, len(layers)
        on_chip_input = layers[0].on_chip_synapses
        graded = layers[0].graded_max > 0
        steps = T + L - 1 + (1 if on_chip_input else 0)
        offset = 1 if on_chip_input else 0
        x = np.asarray(workload.inputs, dtype=np.float64)
        labels = np.asarray(workload.labels)
        n = len(x)
        rng = np.random.default_rng(workload.seed)

        def inputs_for(batch: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, int]:
            if graded:  # one graded spike per pixel at step 0; the first layer holds it
                spikes = np.zeros((steps, len(batch), layers[0].layer.inputs), dtype=np.int16)
                spikes[0] = layers[0].graded_payload(batch.reshape(len(batch), -1))
                return None, spikes, 0
            if on_chip_input:
                spikes = np.zeros((steps, len(batch), layers[0].layer.inputs), dtype=bool)
                spikes[:T] = encode_input(batch, T, workload.encoding, rng)
                return None, spikes, 0
            bias, clipped = layers[0].input_bias(batch)
            return bias, None, clipped

        task = progress.add_task("loihi: emulator", total=n) if progress else None
        spike_totals = [np.zeros(fx.layer.neurons) for fx in layers]
        # Spikes a Dense delivered (to the next layer, or back through a recurrent Dense): all
        # but the last step's (the run ends first).
        fed_totals = [np.zeros(fx.layer.neurons) for fx in layers]
        input_totals = np.zeros(layers[0].layer.inputs)
        preds = np.zeros(n, dtype=np.int64)
        float_preds = np.zeros(n, dtype=np.int64)
        clipped_total = 0
        wraps, wrapped_samples = [0] * L, 0
        verify: dict[str, Any] = {}
        first_batch: tuple[np.ndarray | None, np.ndarray | None, list[np.ndarray]] | None = None
        for start in range(0, n, batch_size):
            batch = x[start:start + batch_size]
            host_bias, spikes_in, clipped = inputs_for(batch)
            clipped_total += clipped
            result = emulate(layers, steps, host_bias=host_bias, input_spikes=spikes_in)
            for i, s in enumerate(result.spikes):
                total = s.sum(axis=(0, 1))
                spike_totals[i] += total
                if layers[i].recurrent is not None or i < L - 1:  # not the output layer's
                    fed_totals[i] += total - s[-1].sum(axis=0)
                wraps[i] += result.u_wraps[i]
            wrapped_samples += int(result.wrapped_samples.sum())
            if spikes_in is not None:  # spikes, or nonzero graded messages
                input_totals += (spikes_in != 0).sum(axis=(0, 1))
            window = result.spikes[-1][offset + L - 1: offset + L - 1 + T]
            preds[start:start + len(batch)] = predict(chain.scores(window.sum(axis=0)))
            sim_spikes = spikes_in[:T] if spikes_in is not None and not graded else None
            float_preds[start:start + len(batch)] = predict(simulate(  # graded: held input
                chain, batch, T, "constant" if graded else workload.encoding, sim_spikes))
            if first_batch is None:
                first_batch = (host_bias, spikes_in, result.spikes)
            if progress:
                progress.update(task, advance=len(batch))
        if verify_samples > 0 and first_batch is not None:
            verify = self._verify(layers, steps, first_batch, min(verify_samples, n), progress)
        netx_file = self._write_netx(layers, steps, first_batch, out_dir, verify,
                                     min(verify_samples, n, NETX_VERIFY_SAMPLES))
        verify["float_prediction_agreement"] = float(np.mean(preds == float_preds))
        verify["float_accuracy"] = float(np.mean(float_preds == labels))
        verify["bias_values_clipped"] = int(clipped_total)
        verify["current_wraps"] = int(sum(wraps))
        verify["samples_with_current_wraps"] = wrapped_samples
        record = self._record(workload, layers, steps, n, preds, labels, spike_totals,
                              input_totals, verify, chain, fed_totals)
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

    def _record(self, workload: Workload, layers: list[FixedLayer], steps: int, n: int,
                preds: np.ndarray, labels: np.ndarray, spike_totals: list[np.ndarray],
                input_totals: np.ndarray, verify: dict[str, Any],
                chain: chain_mod.Chain | None = None,
                fed_totals: list[np.ndarray] | None = None) -> DeploymentRecord:
        """Count on the deployed (quantised) network, cost it, and assemble the record."""
        activity, pre_spikes = [], input_totals / n
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
                                          spike_totals[i] / n, steps,
                                          None if fed_totals is None or fx.recurrent is None
                                          else fed_totals[i] / n, graded_in))
            pre_spikes = (spike_totals if fed_totals is None else fed_totals)[i] / n
        readout = chain.readout if chain is not None else None
        reports = count_layers(activity, readout)
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
                fx = by_name[report.name]
                report.quantisation = {
                    "weight_bits": 8 if fx.on_chip_synapses else None,
                    "weight_exp": fx.weight_exp, "scale": _scale(fx.scale), "vth_mant": fx.vth,
                    "dv": fx.dv, "du": fx.du, "bias_exp": fx.bias_exp,
                    "max_abs_weight_error": fx.max_weight_error,
                    "neuron": fx.layer.neuron.kind,
                    "zero_after_quantisation": int(np.count_nonzero(fx.layer.weight)
                                                   - np.count_nonzero(fx.weight))
                    if fx.on_chip_synapses else 0}
                if fx.graded_max:
                    report.quantisation.update(_graded_fields(fx))
                if isinstance(fx.scale, np.ndarray):
                    report.quantisation["per_neuron_rows"] = (
                        "per-neuron thresholds (r, v_leak) folded into each neuron's weight "
                        "rows and bias: one shared vth_mant; scale is [min, max] over neurons")
        counts = totals(reports, float(input_totals.sum() / n))
        model = loihi_costs.LOIHI_1
        quantities = {"synops": counts.synops, "graded_events": counts.graded_events,
                      "neuron_updates": counts.neuron_updates,
                      "host_macs": counts.host_macs, "seconds": None}
        estimate = EnergyEstimate.from_terms(model, energy_terms(quantities, model), True)
        notes = list(model.notes)
        if layers[0].graded_max:
            notes.extend(_graded_notes(layers[0], steps, workload.timesteps))
        if not layers[0].on_chip_synapses:
            notes.append("constant (analogue) input: the first layer's synapses run on the host "
                         "once per sample and reach the chip as a per-neuron bias; their MACs "
                         "are costed as CPU work (term host_input_layer). Use --encoding graded "
                         "(Loihi 2 graded spikes) or poisson to put every synapse on the chip.")
        notes.append(f"each sample runs {steps} steps: {workload.timesteps} of input plus one "
                     "step of delay per synapse layer on the chip; the class is read from the "
                     "output spikes of the delayed window of the same length")
        notes.append("counts are taken on the quantised weights Lava runs: a weight that "
                     "quantises to 0 is no synapse")
        notes.append("synops count delivered spikes only: a layer's spikes of the last step "
                     "never reach the next layer before the run ends")
        if any(fx.recurrent is not None for fx in layers):
            notes.append("recurrent synapses run as a second Lava Dense from a layer's spikes "
                         "back to its own input (one step of delay, as the graph means); their "
                         "synops (every spike of the layer but the last step's, which the "
                         "run ends before delivering, x its nonzero recurrent fan-out) are "
                         "listed as layers of kind 'recurrent'")
            notes.append("each Dense has its own weight exponent (weight_exp of the layer and "
                         "of its 'recurrent' entry): both keep 8-bit mantissas however far apart "
                         "their magnitudes are; a recurrent layer's threshold mantissa is kept "
                         f"at most 2^17 / {RECURRENT_HEADROOM} so that one step's input of up "
                         f"to {RECURRENT_HEADROOM} thresholds fits the 24-bit current "
                         "(current_wraps counts the neuron updates where it did not)")
        if verify.get("current_wraps"):
            notes.append(f"{verify['current_wraps']} neuron updates in "
                         f"{verify['samples_with_current_wraps']} of {n} samples wrapped the "
                         "24-bit current (one step's input too large for u: Lava and Loihi wrap "
                         "it round to the other sign, so a strong inhibition excites); those "
                         "samples do not compute exactly what the graph means")
        if readout is not None:
            notes.append(f"host readout '{readout.name}': class scores = W c + b of the output "
                         "layer's spike counts in the window, computed on the host; its "
                         f"{readout.macs} MACs per inference are host work (counted in "
                         "host_macs, costed as term host_input_layer), not chip work")
        if "netx_skipped" in verify:
            notes.append(f"no netx file: {verify['netx_skipped']}")
        resources = loihi_costs.loihi_resources([fx.layer.neurons for fx in layers], steps)
        return deployment_record(
            self.name, accuracy=float(np.mean(preds == labels)),
            reference_accuracy=workload.reference_accuracy, samples=n,
            timesteps=workload.timesteps, counts=counts, estimates=[estimate], layers=reports,
            verification=verify, resources=resources, leaves_out=list(model.leaves_out),
            artifacts={}, notes=notes, network="snn")
