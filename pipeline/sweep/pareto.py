"""The Pareto front: trials that no other trial beats on every objective at once."""

from __future__ import annotations

from collections.abc import Sequence

from neuropipe.pipeline.sweep.spec import (
    TRAINING_ENERGY,
    SweepSpec,
    accuracy_metric,
    energy_metric,
)
from neuropipe.pipeline.sweep.trial import TrialResult


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether ``a`` is as good as ``b`` everywhere and better somewhere (all minimised)."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True))


def front_indices(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the points no other point dominates (every coordinate minimised).

    Equal points are all kept: none of them beats another.
    """
    return [i for i, p in enumerate(points)
            if not any(dominates(q, p) for j, q in enumerate(points) if j != i)]


def objectives_of(result: TrialResult, spec: SweepSpec, target: str) -> list[float]:
    """The trial's objectives on ``target`` as values to minimise (accuracy negated)."""
    metrics = result.metrics()
    values = [-metrics[accuracy_metric(target)], metrics[energy_metric(target)]]
    if spec.training_energy:
        values.append(metrics[TRAINING_ENERGY])
    return values


def fronts(results: Sequence[TrialResult], spec: SweepSpec) -> dict[str, list[TrialResult]]:
    """The front of each target, cheapest energy per inference first.

    On each target the objectives are its accuracy (max) and its energy per inference (min),
    and training energy (min) where the spec asks for it. A trial whose figure does not cover
    the whole inference at the target's level (``TargetOutcome.whole``: at chip level, a first
    layer on the host) takes no part, as in the report's chip-level comparison (``left_off``).
    """
    out = {}
    for target in spec.targets:
        done = [r for r in results if target.name in r.targets and r.targets[target.name].whole]
        keep = front_indices([objectives_of(r, spec, target.name) for r in done])
        out[target.name] = sorted((done[i] for i in keep),
                                  key=lambda r, t=target.name: (r.targets[t].energy_j,
                                                                -r.targets[t].accuracy))
    return out


def left_off(results: Sequence[TrialResult], target: str) -> list[TrialResult]:
    """Trials on ``target`` whose figure leaves part of the inference out (never compared)."""
    return [r for r in results if target in r.targets and not r.targets[target].whole]
