"""The levels of an energy figure, shared by the targets that make figures and the report.

``arithmetic``: the arithmetic alone (Horowitz 2014). ``chip``: a chip's per-operation minimum
(Loihi, SpiNNaker per-op). ``system``: a whole machine per operation (Degnan 2015), or a board
model with static power (SpiNN-5). ``measured``: an energy counter (RAPL, NVML) or a published
measurement. Figures at different levels are different quantities: never compare across them
without saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

E = TypeVar("E")

LEVELS = ("arithmetic", "chip", "system", "measured")


def in_level_order(levels: set[str]) -> list[str]:
    """``levels`` ordered as ``LEVELS``, any unknown ones after them, sorted."""
    return [lv for lv in LEVELS if lv in levels] + sorted(levels - set(LEVELS))


def figure_at(estimates: Sequence[E], level: str, cost_model: str | None = None) -> E | None:
    """The figure at ``level``: the default estimate if it is at that level, else the first.

    With ``cost_model``, only that cost model's estimate qualifies. Estimates that estimated
    nothing (``estimated`` false: a meter that could not measure) are not figures and are never
    picked. Works on any estimates with ``level``, ``default``, ``cost_model`` and
    ``estimated``: a deployment's ``EnergyEstimate`` and the report's ``EstimateRow``.

    Returns:
        The estimate, or None when no estimate qualifies.
    """
    usable: list[Any] = [e for e in estimates if e.level == level and e.estimated
                         and (cost_model is None or e.cost_model == cost_model)]
    return next((e for e in usable if e.default), usable[0] if usable else None)

# What each level means, in the order of ``LEVELS`` (the report prints these before its tables).
LEVEL_DEFINITIONS = {
    "arithmetic": "the arithmetic alone: multiply-accumulates and additions at published "
                  "per-operation energies (Horowitz 2014); no memory, no chip, no machine",
    "chip": "a chip's own per-operation minimum (Loihi, SpiNNaker per-op, the same-silicon "
            "ASIC): only work done on the chip; host work is shown apart, never summed in",
    "system": "a whole machine per operation (Degnan 2015), or a board model with static "
              "power (SpiNN-5); work done on a host for a device is costed here",
    "measured": "an energy counter (RAPL, NVML) or a published measurement",
}
