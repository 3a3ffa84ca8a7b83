"""The views of the energy report, computed on its rows (``reports.rows``) alone.

The pipeline turns run directories into plain row records; everything here works on the rows
only: the equal-accuracy selection, break-even against the conventional baseline, and the
report record that renderers read. Energy figures are compared only at the same level
(``arithmetic``, ``chip``, ``system``, ``measured``); a figure whose terms span levels (a chip
estimate with host work costed at system level) says so wherever it is compared.
"""

from __future__ import annotations

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

# The rows and their constants, also importable from here as before the split.
from neuropipe.reports.rows import (  # noqa: F401
    BIO,
    CONVENTIONAL,
    HOST_TARGETS,
    J_PER_KWH,
    ConfigRow,
    EstimateRow,
    LayerRow,
    MissingTarget,
    TrainingRow,
)
from neuropipe.reports.spike_ties import SpikeTie
from neuropipe.reports.uncertainty import within_interval

# Accuracies within this of the threshold count as reaching it (fractions printed to 4 places).
ACCURACY_TOLERANCE = 1e-9


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
