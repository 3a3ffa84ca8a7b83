"""The ``loihi`` target: Lava's bit-accurate Loihi simulation, an emulator, published costs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.targets import chain as chain_mod
from neuropipe.targets import costs
from neuropipe.targets.base import (
    Availability,
    DeploymentRecord,
    EnergyTerm,
    LayerReport,
    Workload,
    joules_of,
)
from neuropipe.targets.counting import fan_out, macs
from neuropipe.targets.float_sim import poisson_spikes, predict, simulate
from neuropipe.targets.loihi.emulator import emulate
from neuropipe.targets.loihi.quantize import FixedLayer, quantize_chain

NETX_VERIFY_SAMPLES = 4  # netx networks are reloaded per sample: keep this check short
LEAVES_OUT = [
    "static (idle) power of the chip: Loihi 2 board static power is 0.23-0.28 W (lava-dl "
    "PilotNet tutorials), but no reference gives the time per step needed to turn it into "
    "joules per inference",
    "spike routing between cores (1.7 pJ in-tile, 3.0-4.2 pJ per tile hop, Davies et al. 2018)",
    "host-chip I/O: moving inputs onto and results off the chip",
    "off-chip memory and the host computer's own static power",
]


class LoihiTarget:
    """Intel Loihi, simulated bit-accurately by Lava (``Loihi2SimCfg(select_tag='fixed_pt')``)."""

    name = "loihi"
    description = "Intel Loihi via Lava's bit-accurate simulation; Davies et al. 2018 costs"
    cost_model = costs.LOIHI_1

    def availability(self) -> Availability:
        """Lava and lava-dl's netx import, with Lava's Python 3.11 fix in place."""
        from neuropipe.targets import lava_setup

        path = lava_setup.var_model_path()
        if path is None:
            return Availability(False, "lava-nc is not installed: run 'make venv', or see "
                                "README (Installing without make) for the pip steps")
        if lava_setup.needs_fix(path):
            return Availability(False, "Lava lacks its Python 3.11 fix: run "
                                "'python -m neuropipe.targets.lava_setup'")
        try:
            import lava.lib.dl.netx  # noqa: F401
            import lava.proc.lif.process  # noqa: F401
        except Exception as e:  # noqa: BLE001 - any import failure makes the target unavailable
            return Availability(False, f"Lava does not import ({type(e).__name__}: {e}); run "
                                "'make venv' or 'python -m neuropipe.targets.lava_setup'")
        return Availability(True, "lava.proc.lif and lava.lib.dl.netx import; 3.11 fix present")

    def supports(self, graph: Any, dt: float = 1.0) -> list[str]:
        """List graph content Loihi cannot run here (empty if all is supported)."""
        return chain_mod.unsupported(graph, dt)

    def deploy(self, workload: Workload, out_dir: Path, verify_samples: int = 16,
               batch_size: int = 500, progress: Any = None) -> DeploymentRecord:
        """Quantise, emulate every sample, verify the first ones in Lava, count and cost.

        Args:
            workload: Graph, samples and presentation.
            out_dir: Folder for the artefacts (the netx ``.net`` file).
            verify_samples: Samples also run in Lava and compared spike for spike.
            batch_size: Samples per emulator batch.
            progress: A rich ``Progress`` to report on, or None.
        """
        chain = chain_mod.to_chain(workload.graph, workload.dt)
        layers = quantize_chain(chain, workload.encoding)
        T, L = workload.timesteps, len(layers)
        on_chip_input = layers[0].on_chip_synapses
        steps = T + L - 1 + (1 if on_chip_input else 0)
        offset = 1 if on_chip_input else 0
        x = np.asarray(workload.inputs, dtype=np.float64)
        labels = np.asarray(workload.labels)
        n = len(x)
        rng = np.random.default_rng(workload.seed)

        def inputs_for(batch: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, int]:
            if on_chip_input:
                spikes = np.zeros((steps, len(batch), layers[0].layer.inputs), dtype=bool)
                spikes[:T] = poisson_spikes(batch, T, rng)
                return None, spikes, 0
            bias, clipped = layers[0].input_bias(batch)
            return bias, None, clipped

        task = progress.add_task("loihi: emulator", total=n) if progress else None
        spike_totals = [np.zeros(fx.layer.neurons) for fx in layers]
        input_totals = np.zeros(layers[0].layer.inputs)
        preds = np.zeros(n, dtype=np.int64)
        float_preds = np.zeros(n, dtype=np.int64)
        clipped_total = 0
        verify: dict[str, Any] = {}
        first_batch: tuple[np.ndarray | None, np.ndarray | None, list[np.ndarray]] | None = None
        for start in range(0, n, batch_size):
            batch = x[start:start + batch_size]
            host_bias, spikes_in, clipped = inputs_for(batch)
            clipped_total += clipped
            result = emulate(layers, steps, host_bias=host_bias, input_spikes=spikes_in)
            for i, s in enumerate(result.spikes):
                spike_totals[i] += s.sum(axis=(0, 1))
            if spikes_in is not None:
                input_totals += spikes_in.sum(axis=(0, 1))
            window = result.spikes[-1][offset + L - 1: offset + L - 1 + T]
            preds[start:start + len(batch)] = predict(window.sum(axis=0))
            sim_spikes = spikes_in[:T] if spikes_in is not None else None
            float_preds[start:start + len(batch)] = predict(simulate(
                chain, batch, T, workload.encoding, sim_spikes))
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
        record = self._record(workload, chain, layers, steps, n, preds, labels, spike_totals,
                              input_totals, verify)
        return record.replace(artifacts={"netx": netx_file.name})

    @staticmethod
    def _write_netx(layers: list[FixedLayer], steps: int, first_batch: Any, out_dir: Path,
                    verify: dict[str, Any], k: int) -> Path:
        """Write the lava-dl netx file and check that netx reproduces the output spikes."""
        from neuropipe.targets.loihi.netx_export import run_netx, write_netx

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

    def _record(self, workload: Workload, chain: chain_mod.Chain, layers: list[FixedLayer],
                steps: int, n: int, preds: np.ndarray, labels: np.ndarray,
                spike_totals: list[np.ndarray], input_totals: np.ndarray,
                verify: dict[str, Any]) -> DeploymentRecord:
        reports, total_synops, total_updates, host_macs = [], 0.0, 0.0, 0
        pre_spikes = input_totals / n
        for i, fx in enumerate(layers):
            layer = fx.layer
            spikes = spike_totals[i] / n
            if fx.on_chip_synapses:
                syn = float(np.dot(pre_spikes, fan_out(layer)))
            else:
                syn = 0.0
                host_macs += macs(layer)
            updates = float(layer.neurons * steps)
            total_synops += syn
            total_updates += updates
            reports.append(LayerReport(
                name=layer.name, kind=layer.kind, neurons=layer.neurons,
                synapses=int(np.count_nonzero(layer.weight)), spikes_per_inference=float(
                    spikes.sum()), synops_per_inference=syn,
                neuron_updates_per_inference=updates, quantisation={
                    "synapses_on": "chip" if fx.on_chip_synapses else "host",
                    "weight_bits": 8 if fx.on_chip_synapses else None,
                    "weight_exp": fx.weight_exp, "scale": fx.scale, "vth_mant": fx.vth,
                    "dv": fx.dv, "du": fx.du, "bias_exp": fx.bias_exp,
                    "max_abs_weight_error": fx.max_weight_error,
                    "neuron": layer.neuron.kind}))
            pre_spikes = spikes
        model = self.cost_model
        terms = [
            EnergyTerm("synops", total_synops * model.energy_per_synop_pj * 1e-12, "dynamic",
                       "cost-model", total_synops, model.energy_per_synop_pj, "pJ/synop",
                       model.sources[0]),
            EnergyTerm("neuron_updates", total_updates * model.energy_per_neuron_update_pj * 1e-12,
                       "dynamic", "cost-model", total_updates,
                       model.energy_per_neuron_update_pj, "pJ/update", model.sources[1]),
        ]
        terms.append(EnergyTerm(
            "static", None, "static", "not-estimated", 0.0, costs.LOIHI2_STATIC_POWER_W[0], "W",
            costs.LOIHI2_STATIC_SOURCE, note=(
                "static power times the time per inference; a Loihi 2 board draws "
                f"{costs.LOIHI2_STATIC_POWER_W[0]}-{costs.LOIHI2_STATIC_POWER_W[1]} W idle, but "
                "no reference gives the chip's time per step for this network, so it is not "
                "added")))
        if host_macs:
            terms.append(EnergyTerm("host_input_layer", host_macs * costs.CPU_ENERGY_PER_MAC_NJ
                                    * 1e-9, "host", "cost-model", float(host_macs),
                                    costs.CPU_ENERGY_PER_MAC_NJ, "nJ/MAC", costs.CPU_MAC_SOURCE))
        cores = sum(math.ceil(fx.layer.neurons / costs.LOIHI_NEURONS_PER_CORE) for fx in layers)
        notes = list(model.notes)
        if host_macs:
            notes.append("constant (analogue) input: the first layer's synapses run on the host "
                         "once per sample and reach the chip as a per-neuron bias; their MACs "
                         "are costed as CPU work (term host_input_layer). Use --encoding poisson "
                         "to put every synapse on the chip.")
        notes.append(f"each sample runs {steps} steps: {workload.timesteps} of input plus one "
                     "step of delay per synapse layer on the chip; the class is read from the "
                     "output spikes of the delayed window of the same length")
        return DeploymentRecord(
            target=self.name, accuracy=float(np.mean(preds == labels)),
            reference_accuracy=workload.reference_accuracy, samples=n,
            timesteps=workload.timesteps, synops_per_inference=total_synops,
            neuron_updates_per_inference=total_updates,
            energy_per_inference_j=joules_of(terms),
            chip_energy_per_inference_j=joules_of(terms, "dynamic"),
            host_energy_per_inference_j=joules_of(terms, "host"),
            energy_breakdown=terms,
            cost_model={**model.to_dict(), "static_power_w": list(
                costs.LOIHI2_STATIC_POWER_W), "static_source": costs.LOIHI2_STATIC_SOURCE,
                "static_included": False},
            layers=reports, verification=verify, leaves_out=list(LEAVES_OUT),
            resources={"cores": cores, "chips": math.ceil(cores / costs.LOIHI_CORES_PER_CHIP),
                       "neurons_per_core_limit": costs.LOIHI_NEURONS_PER_CORE,
                       "steps_per_sample": steps,
                       "note": "cores counted from neurons only (1,024 per core, Loihi 1 (check)); "
                               "synapse memory per core not checked"},
            artifacts={}, notes=notes)
