"""Rows of the energy report: one per model x target, with its estimates, layers and training.

Plain records made from a run's records (``pipeline/stages/energy_report.py``) and read back
from ``report.json``; the views computed on them (equal accuracy, break-even, the Answer) are in
``reports.comparison``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from neuropipe.core.levels import figure_at, in_level_order
from neuropipe.core.records import Record

# Host targets, in order of preference for naming a baseline target.
HOST_TARGETS = ("cpu", "gpu")
# The two sides of the comparison: a conventional network (network ``ann``) on any device, and a
# bio-inspired one (network ``snn``: trained SNNs, converted ANNs, reservoirs, STDP...).
CONVENTIONAL = "conventional"
BIO = "bio-inspired"
J_PER_KWH = 3.6e6


@dataclass
class EstimateRow(Record):
    """One cost model's energy per inference of one configuration.

    Attributes:
        cost_model: Name of the cost model.
        level: Level of the estimate (of its device terms).
        default: True for the deployment's headline estimate.
        total_j: Joules per inference, every estimated term.
        device_j: Of which the device (dynamic plus static).
        static_j: Of which the device's static power.
        host_j: Of which work done on the host for the device.
        term_levels: Levels of the estimated terms, without repeats.
        not_estimated: Terms named but not estimated (they add nothing to ``total_j``).
        estimated: False when no term is estimated: then ``total_j`` is no figure at all (a
            meter that could not measure), and the estimate is never compared.
        sources: Citations of the constants.
        leaves_out: What the figure does not include.
        off_level_j: Of ``total_j``, terms costed at another level than the estimate's own
            (host work at system level inside a chip estimate): never part of the figure at
            ``level``, shown apart.
        off_level_terms: Names of those terms.
        spike_j: Of the figure, the terms that scale with spikes (``synops``, ``synops_*``,
            ``spike_queue*``, ``router_packets``...).
        terms: Joules per inference of each estimated term at the estimate's level, by name.
    """

    type_tag = "report-estimate"
    ADDED_LATER: ClassVar[dict[str, Any]] = {"off_level_j": 0.0, "off_level_terms": [],
                                             "spike_j": 0.0, "terms": {}}
    cost_model: str = ""
    level: str = ""
    default: bool = False
    total_j: float = 0.0
    device_j: float = 0.0
    static_j: float = 0.0
    host_j: float = 0.0
    term_levels: list[str] = field(default_factory=list)
    not_estimated: list[str] = field(default_factory=list)
    estimated: bool = True
    sources: list[str] = field(default_factory=list)
    leaves_out: list[str] = field(default_factory=list)
    off_level_j: float = 0.0
    off_level_terms: list[str] = field(default_factory=list)
    spike_j: float = 0.0
    terms: dict[str, float] = field(default_factory=dict)

    @property
    def figure_j(self) -> float:
        """Joules per inference at the estimate's own level: ``total_j`` less ``off_level_j``."""
        return self.total_j - self.off_level_j

    @property
    def other_levels(self) -> list[str]:
        """Levels of terms that differ from the estimate's own (e.g. host work at system)."""
        return [lv for lv in self.term_levels if lv != self.level]

    @property
    def level_label(self) -> str:
        """``chip``, or ``chip + system-level terms`` when its terms span levels."""
        extra = self.other_levels
        return self.level + (f" + {'/'.join(extra)}-level terms" if extra else "")


@dataclass
class LayerRow(Record):
    """Operations of one layer per inference.

    Attributes:
        name: Layer (NIR node) name.
        kind: ``dense``, ``conv``...
        neurons: Neurons in the layer.
        synops: Synaptic operations on the device.
        host_macs: Multiply-accumulates on the host.
        neuron_updates: Neuron updates.
        spikes: Spikes emitted.
        dense_ops: Operations a host target executes for the layer (None for other targets).
        synapses: Nonzero synapses feeding it, as deployed.
        on: ``chip``, or ``host`` for a first layer computed on the host.
    """

    type_tag = "report-layer"
    ADDED_LATER: ClassVar[dict[str, Any]] = {"synapses": 0, "on": "chip"}
    name: str = ""
    kind: str = ""
    neurons: int = 0
    synops: float = 0.0
    host_macs: float = 0.0
    neuron_updates: float = 0.0
    spikes: float = 0.0
    dense_ops: float | None = None
    synapses: int = 0
    on: str = "chip"

    @property
    def ops(self) -> float:
        """Operations per inference: a host target's dense ops, else synops plus host MACs."""
        return self.dense_ops if self.dense_ops is not None else self.synops + self.host_macs


@dataclass
class TrainingRow(Record):
    """The training energy of a run, from its ``energy.json``.

    Attributes:
        joules: Energy measured or estimated over the training window (no PUE).
        kwh: The same in kWh.
        kwh_pue: kWh times PUE (what break-even uses).
        co2e_kg: Emissions, kg CO2e.
        pue: The PUE applied.
        methods: How each component was obtained (``rapl``, ``nvml-energy``, ``estimate``...).
        leaves_out: What the figure does not include.
    """

    type_tag = "report-training"
    joules: float = 0.0
    kwh: float = 0.0
    kwh_pue: float = 0.0
    co2e_kg: float = 0.0
    pue: float = 1.0
    methods: dict[str, str] = field(default_factory=dict)
    leaves_out: list[str] = field(default_factory=list)

    @property
    def joules_pue(self) -> float:
        """Training energy with PUE, in joules (``kwh_pue`` x 3.6e6)."""
        return self.kwh_pue * J_PER_KWH

    @property
    def method(self) -> str:
        """``measured``, ``estimate``, or the methods by component when they are mixed."""
        kinds = {"estimate" if m == "estimate" else "measured" for m in self.methods.values()}
        if len(kinds) == 1:
            return kinds.pop()
        return ", ".join(f"{c}: {m}" for c, m in self.methods.items()) or "unknown"


def network_of(network: str, kind: str, target: str) -> str:
    """What runs on the device: ``network`` when recorded (``ann``/``snn``).

    For a record written before the field existed, what it meant: ``ann`` for an ANN run on
    cpu/gpu, else ``snn``.
    """
    if network in ("ann", "snn"):
        return network
    return "ann" if kind == "ann" and target in HOST_TARGETS else "snn"


@dataclass
class ConfigRow(Record):
    """One model deployed on one target: what the report compares.

    Attributes:
        run: Label of the run (its folder name, made unique).
        model: Model name.
        kind: ``ann`` or ``snn`` (of the trained model).
        dataset: Dataset of training and evaluation.
        target: Deployment target name.
        accuracy: Accuracy on the target (fraction).
        reference_accuracy: Accuracy of the reference model on the same samples.
        samples: Samples the accuracy was measured on.
        timesteps: Steps per sample.
        synops: Synaptic operations per inference on the device.
        neuron_updates: Neuron updates per inference.
        host_macs: Multiply-accumulates per inference on the host.
        spikes: Spikes per inference.
        ops: Conventional operations per inference of host targets (``dense_macs``,
            ``dense_acs``, ``effective_macs``, ``effective_acs``); empty for other targets.
        packets: Router packets per inference (None where not modelled).
        latency_s: Time per inference on the device (None where unknown).
        cores: Cores used.
        chips: Chips used.
        estimates: Every cost model's figure.
        layers: Per-layer operations.
        training: The run's training energy.
        leaves_out: What the deployment's figures leave out.
        notes: The deployment's notes.
        learning: How the run learned its weights (``backprop``, ``stdp``, ``ridge``...).
        rate_penalty: The run's spike-rate penalty (0: none).
        network: What runs on the device: ``ann`` (conventional) or ``snn`` (bio-inspired);
            ``""`` from records written before deployments said so (see ``side``).
        encoding: The deployment's input encoding (``constant``, ``poisson``, ``graded``,
            ``sdnn``; ``""`` where unknown).
        graded_events: Graded synaptic events per inference on the device.
        input_spikes: Input spikes per inference (a spike code; 0: analogue input or not
            recorded).
        modules: Modules the run's hidden layer is split into (1: dense).
    """

    type_tag = "report-config"
    schema_version = 2
    ADDED_LATER: ClassVar[dict[str, Any]] = {"network": "", "encoding": "",
                                             "graded_events": 0.0, "input_spikes": 0.0,
                                             "modules": 1}
    run: str = ""
    model: str = ""
    kind: str = ""
    dataset: str = ""
    target: str = ""
    accuracy: float = 0.0
    reference_accuracy: float | None = None
    samples: int = 0
    timesteps: int = 0
    synops: float = 0.0
    neuron_updates: float = 0.0
    host_macs: float = 0.0
    spikes: float = 0.0
    ops: dict[str, float] = field(default_factory=dict)
    packets: float | None = None
    latency_s: float | None = None
    cores: int = 0
    chips: int = 0
    estimates: list[EstimateRow] = field(default_factory=list)
    layers: list[LayerRow] = field(default_factory=list)
    training: TrainingRow = field(default_factory=TrainingRow)
    leaves_out: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    learning: str = "backprop"
    rate_penalty: float = 0.0
    network: str = ""
    encoding: str = ""
    graded_events: float = 0.0
    input_spikes: float = 0.0
    modules: int = 1

    @property
    def resolved_network(self) -> str:
        """``network``, or for older records: ``ann`` for an ANN run on cpu/gpu, else ``snn``."""
        return network_of(self.network, self.kind, self.target)

    @property
    def conventional(self) -> bool:
        """True when a conventional network (an ANN) runs on the device."""
        return self.resolved_network == "ann"

    @property
    def side(self) -> str:
        """``conventional`` or ``bio-inspired``."""
        return CONVENTIONAL if self.conventional else BIO

    @property
    def host_first_layer(self) -> bool:
        """True when part of the inference (a first layer) runs on the host, not the device."""
        return self.target not in HOST_TARGETS and (
            self.host_macs > 0 or any(lr.on == "host" for lr in self.layers))

    def whole_at(self, level: str) -> bool:
        """True when its figure at ``level`` covers the whole inference.

        At chip level a configuration with a first layer on the host does not (the Answer and
        the headline plot leave it out or draw it hollow).
        """
        return level != "chip" or not self.host_first_layer

    @property
    def device_synapses(self) -> int:
        """Nonzero deployed synapses on the device that receive spikes.

        Host layers are not counted, nor layers fed graded values (a graded first layer on the
        chip: its synapses see no binary spike, ``synops`` 0); when no layer receives a spike,
        every device synapse counts (the rate is then 0).
        """
        device = [lr for lr in self.layers if lr.on != "host"]
        spiking = [lr for lr in device if lr.synops > 0]
        return sum(lr.synapses for lr in (spiking or device))

    @property
    def spikes_per_synapse(self) -> float | None:
        """Synaptic events per deployed synapse per inference (None: synapses unknown)."""
        n = self.device_synapses
        return self.synops / n if n > 0 else None

    @property
    def label(self) -> str:
        """``run on target``."""
        return f"{self.run} on {self.target}"

    @property
    def default_estimate(self) -> EstimateRow | None:
        """The headline estimate."""
        return next((e for e in self.estimates if e.default), None)

    def at_level(self, level: str) -> EstimateRow | None:
        """The figure at ``level``: the default estimate if at that level, else the first.

        Estimates with no estimated term are not figures and are skipped.
        """
        return figure_at(self.estimates, level)

    def range_at(self, level: str) -> tuple[float, float, int]:
        """Lowest and highest total at ``level`` and how many cost models give one."""
        totals = [e.total_j for e in self.estimates if e.level == level and e.estimated]
        return (min(totals), max(totals), len(totals)) if totals else (math.nan, math.nan, 0)

    @property
    def levels(self) -> list[str]:
        """Levels at which this configuration has a figure, in ``core.levels`` order."""
        return in_level_order({e.level for e in self.estimates if e.estimated})


@dataclass
class MissingTarget(Record):
    """A target some compared runs were deployed on but this run was not.

    Attributes:
        run: Run label.
        target: Target name.
    """

    type_tag = "report-missing"
    run: str = ""
    target: str = ""
