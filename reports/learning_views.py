"""Two views of the report rows about how a model learned and how sparse it fires.

- Training at equal accuracy: each run's training energy next to its best accuracy on any
  target, set against the cheapest backprop run reaching the same threshold (local or closed-form
  learning against backprop).
- Sparse codes: spiking runs of one model trained with different rate penalties, per target: how
  accuracy falls as spikes (and energy per inference) fall.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neuropipe.core.records import Record
from neuropipe.reports.uncertainty import within_interval

if TYPE_CHECKING:  # the comparison module builds these views into its report record
    from neuropipe.reports.rows import ConfigRow

# Learning rules that train by backpropagating a loss (surrogate gradients included).
BACKPROP = "backprop"


@dataclass
class TrainingChoice(Record):
    """One run's training energy against its best accuracy.

    Attributes:
        run: Run label.
        model: Model name.
        learning: How the weights were learned (``backprop``, ``stdp``, ``ridge``...).
        accuracy: The run's best accuracy on any target.
        target: The target of that accuracy.
        training_j: Training energy with PUE, joules.
        method: ``measured`` or ``estimate`` (or by component).
        reaches: Whether ``accuracy`` reaches the report's threshold.
        baseline_run: The backprop run reaching the threshold with the least training energy.
        ratio: ``training_j`` over the baseline's (None: no baseline, or the run misses the
            threshold).
    """

    type_tag = "report-training-choice"
    run: str = ""
    model: str = ""
    learning: str = ""
    accuracy: float = 0.0
    target: str = ""
    training_j: float = 0.0
    method: str = ""
    reaches: bool = False
    baseline_run: str | None = None
    ratio: float | None = None


@dataclass
class SparsityPoint(Record):
    """One spiking configuration of a model trained with some rate penalty.

    Attributes:
        model: Model name.
        target: Target name.
        run: Run label.
        rate_penalty: The run's ``--rate-penalty``.
        accuracy: Accuracy on the target.
        spikes: Spikes per inference.
        synops: Synaptic operations per inference on the device.
        energy_j: The default estimate's energy per inference.
        device_j: Of which the device (chip or board): what spikes change, where the host's
            share (a first layer computed on the host) stays the same.
        level: That estimate's level.
        cost_model: That estimate's cost model.
    """

    type_tag = "report-sparsity-point"
    model: str = ""
    target: str = ""
    run: str = ""
    rate_penalty: float = 0.0
    accuracy: float = 0.0
    spikes: float = 0.0
    synops: float = 0.0
    energy_j: float | None = None
    device_j: float | None = None
    level: str = ""
    cost_model: str = ""


def best_per_run(configs: list[ConfigRow]) -> dict[str, ConfigRow]:
    """Each run's configuration with the highest accuracy (ties: the first given)."""
    best: dict[str, ConfigRow] = {}
    for c in configs:
        if c.run not in best or c.accuracy > best[c.run].accuracy:
            best[c.run] = c
    return best


def training_choices(configs: list[ConfigRow], threshold: float, tolerance: float = 0.0
                     ) -> list[TrainingChoice]:
    """Every run's training energy, and its ratio to the cheapest backprop run at the threshold.

    The baseline is the backprop run, among those whose best accuracy reaches ``threshold``
    (within ``tolerance``, or within the Wilson 95% interval of its test set, as the
    equal-accuracy view decides), with the least training energy (kWh x PUE). Runs below the
    threshold get no ratio: their training is not comparable at equal accuracy.
    """
    best = best_per_run(configs)
    rows = [TrainingChoice(run=run, model=c.model, learning=c.learning or BACKPROP,
                           accuracy=c.accuracy, target=c.target,
                           training_j=c.training.joules_pue, method=c.training.method,
                           reaches=c.accuracy >= threshold - tolerance
                           or within_interval(c.accuracy, c.samples, threshold))
            for run, c in best.items()]
    pool = [r for r in rows if r.reaches and r.learning == BACKPROP]
    base = min(pool, key=lambda r: r.training_j, default=None)
    for r in rows:
        if base is None:
            continue
        r.baseline_run = base.run
        if r.reaches and base.training_j > 0:
            r.ratio = r.training_j / base.training_j
    return rows


def sparsity_points(configs: list[ConfigRow]) -> list[SparsityPoint]:
    """Spiking configurations of models compared at two or more rate penalties.

    Sorted by model, target and rising penalty; empty when no model has runs that differ in
    their rate penalty.
    """
    penalties: dict[str, set[float]] = {}
    for c in configs:
        if c.kind == "snn":
            penalties.setdefault(c.model, set()).add(c.rate_penalty)
    models = {m for m, values in penalties.items() if len(values) > 1}
    points = []
    for c in configs:
        if c.kind != "snn" or c.model not in models:
            continue
        e = c.default_estimate
        points.append(SparsityPoint(
            model=c.model, target=c.target, run=c.run, rate_penalty=c.rate_penalty,
            accuracy=c.accuracy, spikes=c.spikes, synops=c.synops,
            energy_j=e.total_j if e is not None and e.estimated else None,
            device_j=e.device_j if e is not None and e.estimated else None,
            level=e.level_label if e is not None else "", cost_model=e.cost_model if e else ""))
    return sorted(points, key=lambda p: (p.model, p.target, p.rate_penalty, p.run))
