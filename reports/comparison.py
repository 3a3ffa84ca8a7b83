"""Rows of the energy report (one per model x target) and the views computed on them alone.

The pipeline turns run directories into these plain records; everything here works on the rows
only: the equal-accuracy selection, break-even against the conventional baseline, and the
report record that renderers read. Energy figures are compared only at the same level
(``arithmetic``, ``chip``, ``system``, ``measured``); a figure whose terms span levels (a chip
estimate with host work costed at system level) says so wherever it is compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from neuropipe.core.errors import InputError
from neuropipe.core.levels import in_level_order
from neuropipe.core.records import Record
from neuropipe.reports.answer import Answer
from neuropipe.reports.aspects import AspectRow, aspect_rows
from neuropipe.reports.learning_views import (
    SparsityPoint,
    TrainingChoice,
    best_per_run,
    sparsity_points,
    training_choices,
)
from neuropipe.reports.spike_ties import SpikeTie
from neuropipe.reports.uncertainty import within_interval

# Host targets, in order of preference for naming a baseline target.
HOST_TARGETS = ("cpu", "gpu")
# The two sides of the comparison: a conventional network (network ``ann``) on any device, and a
# bio-inspired one (network ``snn``: trained SNNs, converted ANNs, reservoirs, STDP...).
CONVENTIONAL = "conventional"
BIO = "bio-inspired"
J_PER_KWH = 3.6e6
# Accuracies within this of the threshold count as reaching it (fractions printed to 4 places).
ACCURACY_TOLERANCE = 1e-9


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
        if self.network:
            return self.network
        return "ann" if self.kind == "ann" and self.target in HOST_TARGETS else "snn"

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
        matching = [e for e in self.estimates if e.level == level and e.estimated]
        return next((e for e in matching if e.default), matching[0] if matching else None)

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


@dataclass
class Comparison(Record):
    """What the report compares: every configuration of every run, on one dataset.

    Attributes:
        dataset: The one dataset of every run.
        runs: Run labels in the order given.
        sources: Run folders, by label.
        configs: One row per run x target.
        missing: Targets a run lacks that others have.
        notes: Caveats found while reading the runs (differing sample counts...).
    """

    type_tag = "report-comparison"
    dataset: str = ""
    runs: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    configs: list[ConfigRow] = field(default_factory=list)
    missing: list[MissingTarget] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def targets(self) -> list[str]:
        """Every target name, host targets first, then sorted."""
        return _targets(self.configs)

    @property
    def levels(self) -> list[str]:
        """Every level any configuration has a figure at, in ``core.levels`` order."""
        return _levels(self.configs)


@dataclass
class Selection(Record):
    """The cheapest configuration of one side on one target at one level at equal accuracy.

    Attributes:
        target: Target name.
        level: Level of the figures compared.
        run: Run of the cheapest configuration (None: nothing on this target reaches it).
        accuracy: Its accuracy.
        cost_model: Cost model of its figure.
        energy_j: Its energy per inference at this level (terms at other levels left out).
        level_label: The figure's level.
        baseline_run: Run of the conventional baseline at this level (None: none).
        baseline_target: Target of the baseline.
        baseline_cost_model: Cost model of the baseline's figure.
        baseline_energy_j: The baseline's energy per inference at this level.
        baseline_level_label: The baseline figure's level label.
        ratio: ``energy_j / baseline_energy_j`` (None when either is missing).
        comment: Why a figure or ratio is missing, or what the figures leave apart.
        side: ``conventional`` or ``bio-inspired``.
        admitted: True when the run reaches the threshold only within the uncertainty of its
            test set (see ``neuropipe.reports.uncertainty``).
        baseline_basis: Why that baseline: the ANN on the same target, or the cheapest
            conventional figure at this level on another target.
        host_j: Work done on the host at another level (a host first layer), not in
            ``energy_j``.
        whole_on_device: False when part of the inference (a first layer) runs on the host.
    """

    type_tag = "report-selection"
    ADDED_LATER: ClassVar[dict[str, Any]] = {"side": BIO, "admitted": False,
                                             "baseline_basis": "", "host_j": 0.0,
                                             "whole_on_device": True}
    target: str = ""
    level: str = ""
    run: str | None = None
    accuracy: float | None = None
    cost_model: str = ""
    energy_j: float | None = None
    level_label: str = ""
    baseline_run: str | None = None
    baseline_target: str = ""
    baseline_cost_model: str = ""
    baseline_energy_j: float | None = None
    baseline_level_label: str = ""
    ratio: float | None = None
    comment: str = ""
    side: str = BIO
    admitted: bool = False
    baseline_basis: str = ""
    host_j: float = 0.0
    whole_on_device: bool = True


# Break-even verdicts of a configuration against the baseline.
PAYS_BACK = "pays-back"          # costs more to train, less per inference: cheaper after N
OVERTAKEN = "overtaken"          # costs less to train, more per inference: cheaper until N
ALWAYS = "always-cheaper"        # costs no more to train nor per inference
NEVER = "never"                  # costs more to train and no less per inference
IS_BASELINE = "is-baseline"
NO_BASELINE = "no-baseline"


@dataclass
class BreakEven(Record):
    """Training energy plus N inferences of one configuration against the baseline.

    Attributes:
        run: Run label.
        target: Target name.
        level: Level of the inference figures compared.
        cost_model: Cost model of the configuration's figure.
        training_j: Training energy with PUE, joules.
        inference_j: Energy per inference at this level.
        baseline_run: The baseline's run (None: no baseline figure at this level).
        baseline_target: The baseline's target.
        baseline_training_j: The baseline's training energy with PUE.
        baseline_inference_j: The baseline's energy per inference at this level.
        n: Inferences at which the two totals are equal (None where they never cross).
        verdict: ``pays-back``, ``overtaken``, ``always-cheaper``, ``never``, ``is-baseline`` or
            ``no-baseline``.
    """

    type_tag = "report-break-even"
    run: str = ""
    target: str = ""
    level: str = ""
    cost_model: str = ""
    training_j: float = 0.0
    inference_j: float = 0.0
    baseline_run: str | None = None
    baseline_target: str = ""
    baseline_training_j: float | None = None
    baseline_inference_j: float | None = None
    n: float | None = None
    verdict: str = NO_BASELINE

    def total_j(self, inferences: float) -> float:
        """Training plus ``inferences`` inferences, joules."""
        return self.training_j + inferences * self.inference_j


@dataclass
class EnergyReport(Record):
    """Everything the report shows, as one record (``report.json``).

    Attributes:
        comparison: The configurations compared.
        threshold: Accuracy threshold of the equal-accuracy view (fraction).
        threshold_source: Whether it was given or is the default, and why that value.
        baseline_target: Target of the conventional baseline (None: no ANN on a host target).
        selection: The equal-accuracy view, one row per target and level.
        break_even: Each selected configuration against the baseline at the same level.
        created: When the report was made (ISO 8601).
        training_choice: Each run's training energy at its best accuracy, against the cheapest
            backprop run reaching the threshold.
        sparsity: Spiking runs of one model at different rate penalties (empty if none).
        levels: The levels the equal-accuracy views and the answer cover.
        accuracy_test: How equal accuracy is decided.
        answer: At equal accuracy, bio-inspired against conventional, level by level.
        spike_ties: Per spiking configuration and level, the spike rate that would tie the
            conventional baseline.
        aspects: Each bio-inspired aspect present (spike code, sparse activity, recurrence...)
            against its plain counterpart: energy ratio per level, accuracy difference.
    """

    type_tag = "energy-report"
    schema_version = 3
    ADDED_LATER: ClassVar[dict[str, Any]] = {"aspects": []}
    comparison: Comparison = field(default_factory=Comparison)
    threshold: float = 0.0
    threshold_source: str = ""
    baseline_target: str | None = None
    selection: list[Selection] = field(default_factory=list)
    break_even: list[BreakEven] = field(default_factory=list)
    created: str = ""
    training_choice: list[TrainingChoice] = field(default_factory=list)
    sparsity: list[SparsityPoint] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    accuracy_test: str = ""
    answer: Answer = field(default_factory=Answer)
    spike_ties: list[SpikeTie] = field(default_factory=list)
    aspects: list[AspectRow] = field(default_factory=list)


def check_threshold(accuracy: float) -> None:
    """Refuse an accuracy threshold outside (0, 1].

    Raises:
        InputError: If ``accuracy`` is not in (0, 1].
    """
    if not (isinstance(accuracy, int | float) and 0 < accuracy <= 1):
        raise InputError(f"--accuracy must be a fraction in (0, 1], got {accuracy}")


def default_threshold(configs: list[ConfigRow]) -> float:
    """The highest accuracy every compared run reaches on some target.

    That is the lowest, over runs, of each run's best accuracy on any target.
    """
    return min(c.accuracy for c in best_per_run(configs).values())


def baseline_target(configs: list[ConfigRow]) -> str | None:
    """The target of conventional configurations: ``cpu``, else ``gpu``, else the first other."""
    have = {c.target for c in configs if c.conventional}
    return next((t for t in (*HOST_TARGETS, *sorted(have)) if t in have), None)


def reaches(config: ConfigRow, threshold: float) -> bool:
    """True if the configuration reaches ``threshold``, exactly or within its test set's noise.

    See ``neuropipe.reports.uncertainty.TEST``.
    """
    return reaches_exactly(config, threshold) or within_interval(config.accuracy, config.samples,
                                                                 threshold)


def reaches_exactly(config: ConfigRow, threshold: float) -> bool:
    """True if the measured accuracy itself reaches ``threshold``."""
    return config.accuracy >= threshold - ACCURACY_TOLERANCE


def cheapest(configs: list[ConfigRow], level: str) -> tuple[ConfigRow, EstimateRow] | None:
    """The configuration whose figure at ``level`` is lowest (ties: the first given).

    The figure is ``EstimateRow.figure_j``: terms at other levels (host work) are left out.
    """
    best = None
    for c in configs:
        e = c.at_level(level)
        if e is not None and (best is None or e.figure_j < best[1].figure_j):
            best = (c, e)
    return best


def conventional_baseline(configs: list[ConfigRow], target: str, level: str, threshold: float
                          ) -> tuple[ConfigRow, EstimateRow, str] | None:
    """The conventional baseline of ``target`` at ``level``, and why it is that one.

    The ANN on the same target when one reaches the threshold with a figure at that level (an
    SNN on Loihi against the sigma-delta ANN on Loihi; on the same-silicon ASIC, the ANN on it);
    else the cheapest conventional configuration reaching the threshold with a figure at that
    level, on any target. Only configurations whose network is an ANN are candidates: a spiking
    network on cpu is never a baseline.
    """
    pool = [c for c in configs if c.conventional and reaches(c, threshold)]
    same = cheapest([c for c in pool if c.target == target], level)
    if same is not None:
        return same[0], same[1], f"the ANN on {target}"
    best = cheapest(pool, level)
    if best is None:
        return None
    return best[0], best[1], f"cheapest conventional {level}-level figure (on {best[0].target})"


def equal_accuracy(configs: list[ConfigRow], threshold: float,
                   levels: list[str] | None = None) -> list[Selection]:
    """Per target, level and side, the cheapest configuration reaching ``threshold``.

    Each is set against ``conventional_baseline`` at the same level. Figures at different levels
    are never compared; host work costed at another level is shown apart (``host_j``).
    """
    rows = []
    for target in _targets(configs):
        on_target = [c for c in configs if c.target == target]
        for level in _levels(on_target):
            if levels is not None and level not in levels:
                continue
            for side in (BIO, CONVENTIONAL):
                mine = [c for c in on_target if c.side == side and c.at_level(level)]
                if mine:
                    rows.append(_select(configs, mine, level, threshold, side))
    return rows


def _select(configs: list[ConfigRow], mine: list[ConfigRow], level: str, threshold: float,
            side: str) -> Selection:
    target = mine[0].target
    row = Selection(target=target, level=level, side=side)
    pick = cheapest([c for c in mine if reaches(c, threshold)], level)
    if pick is None:
        row.comment = f"no {side} configuration on {target} reaches {threshold:.2%}"
        return row
    config, estimate = pick
    row.run, row.accuracy, row.cost_model = config.run, config.accuracy, estimate.cost_model
    row.energy_j, row.level_label = estimate.figure_j, estimate.level
    row.admitted = not reaches_exactly(config, threshold)
    row.host_j, row.whole_on_device = estimate.off_level_j, not config.host_first_layer
    comments = []
    if estimate.off_level_j > 0:
        comments.append(f"first layer on the host: {joules_text(estimate.off_level_j)} at "
                        f"{'/'.join(estimate.other_levels) or 'another'} level "
                        f"({', '.join(estimate.off_level_terms)}) not in this {level}-level "
                        "figure; not the whole inference on the chip")
    base = conventional_baseline(configs, target, level, threshold)
    if base is None:
        comments.append(_no_baseline_reason(configs, level, threshold))
        row.comment = "; ".join(comments)
        return row
    b_config, b_est, row.baseline_basis = base
    row.baseline_run, row.baseline_target = b_config.run, b_config.target
    row.baseline_cost_model = b_est.cost_model
    row.baseline_energy_j, row.baseline_level_label = b_est.figure_j, b_est.level
    row.ratio = estimate.figure_j / b_est.figure_j if b_est.figure_j > 0 else None
    if b_config is config:
        comments.append("this is the baseline")
    row.comment = "; ".join(comments)
    return row


def _no_baseline_reason(configs: list[ConfigRow], level: str, threshold: float) -> str:
    conventional = [c for c in configs if c.conventional]
    if not conventional:
        return "no conventional baseline: no ANN is deployed on any target"
    if not any(c.at_level(level) for c in conventional):
        return (f"no conventional configuration has a {level}-level figure (deploy an ANN on a "
                "target with figures at this level)")
    return f"no conventional configuration with a {level}-level figure reaches {threshold:.2%}"


def joules_text(value: float) -> str:
    """An energy with a readable unit, for comments."""
    for unit, scale in (("kJ", 1e3), ("J", 1.0), ("mJ", 1e-3), ("µJ", 1e-6), ("nJ", 1e-9)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-12:.3g} pJ"


def break_even_n(training_j: float, inference_j: float, base_training_j: float,
                 base_inference_j: float) -> tuple[float | None, str]:
    """Inferences at which a configuration's training-plus-use energy equals the baseline's.

    With ``dT = training_j - base_training_j`` and ``dI = inference_j - base_inference_j``, the
    totals are equal at ``N = -dT / dI``.

    Returns:
        ``(N, verdict)``: ``pays-back`` (costs more to train, less per inference: cheaper after
        N), ``overtaken`` (costs less to train, more per inference: cheaper until N),
        ``always-cheaper`` or ``never`` (N None; equal training energy and a dearer inference
        is ``never``: dearer from the first inference).
    """
    d_train = training_j - base_training_j
    d_inf = inference_j - base_inference_j
    if d_train > 0 and d_inf < 0:
        return d_train / -d_inf, PAYS_BACK
    if d_train < 0 and d_inf > 0:
        return -d_train / d_inf, OVERTAKEN
    if d_train <= 0 and d_inf <= 0:
        return None, ALWAYS
    return None, NEVER


def break_even(configs: list[ConfigRow], selection: list[Selection]) -> list[BreakEven]:
    """Each selected configuration against the baseline of its level.

    Training energy is ``energy.json``'s kWh x PUE x 3.6e6 J; inference energy is the figure at
    the selection's level. Nothing is compared across levels.
    """
    by_run_target = {(c.run, c.target): c for c in configs}
    rows = []
    for s in selection:
        if s.run is None:
            continue
        config = by_run_target[(s.run, s.target)]
        row = BreakEven(run=s.run, target=s.target, level=s.level, cost_model=s.cost_model,
                        training_j=config.training.joules_pue, inference_j=s.energy_j or 0.0)
        if s.baseline_run is not None:
            base = by_run_target[(s.baseline_run, s.baseline_target)]
            row.baseline_run, row.baseline_target = base.run, base.target
            row.baseline_training_j = base.training.joules_pue
            row.baseline_inference_j = s.baseline_energy_j
            if base is config:
                row.verdict = IS_BASELINE
            else:
                row.n, row.verdict = break_even_n(row.training_j, row.inference_j,
                                                  row.baseline_training_j,
                                                  row.baseline_inference_j or 0.0)
        rows.append(row)
    return rows


def build_report(comparison: Comparison, threshold: float | None = None,
                 created: str = "", level: str | None = None) -> EnergyReport:
    """The report of ``comparison`` at ``threshold`` (default: see ``default_threshold``).

    Args:
        comparison: The configurations.
        threshold: Accuracy threshold (default: ``default_threshold``).
        created: Timestamp.
        level: Restrict the equal-accuracy views and the answer to this level.

    Raises:
        InputError: If ``threshold`` is outside (0, 1], there is nothing to compare, or no
            configuration has a figure at ``level``.
    """
    from neuropipe.reports.answer import build_answer
    from neuropipe.reports.spike_ties import spike_ties
    from neuropipe.reports.uncertainty import TEST

    if not comparison.configs:
        raise InputError("no deployments to compare")
    levels = check_level(comparison, level)
    if threshold is None:
        value = default_threshold(comparison.configs)
        source = (f"default: {value:.2%} is the highest accuracy every compared run reaches on "
                  "some target")
    else:
        check_threshold(threshold)
        value, source = float(threshold), "given with --accuracy"
    selection = equal_accuracy(comparison.configs, value, levels)
    return EnergyReport(comparison=comparison, threshold=value, threshold_source=source,
                        baseline_target=baseline_target(comparison.configs),
                        selection=selection,
                        break_even=break_even(comparison.configs, selection), created=created,
                        training_choice=training_choices(comparison.configs, value,
                                                         ACCURACY_TOLERANCE),
                        sparsity=sparsity_points(comparison.configs), levels=levels,
                        accuracy_test=TEST,
                        answer=build_answer(comparison.configs, value, levels),
                        spike_ties=spike_ties(comparison.configs, value, levels),
                        aspects=aspect_rows(comparison.configs))


def check_level(comparison: Comparison, level: str | None) -> list[str]:
    """The levels the report shows: ``[level]``, or every level of the comparison.

    Raises:
        InputError: If no configuration has a figure at ``level``.
    """
    have = comparison.levels
    if level is None:
        return have
    if level not in have:
        raise InputError(f"--level {level}: no compared run has a figure at that level; levels "
                         f"available: {', '.join(have) or 'none'}")
    return [level]


def _targets(configs: list[ConfigRow]) -> list[str]:
    names = {c.target for c in configs}
    return [t for t in HOST_TARGETS if t in names] + sorted(names - set(HOST_TARGETS))


def _levels(configs: list[ConfigRow]) -> list[str]:
    return in_level_order({lv for c in configs for lv in c.levels})
