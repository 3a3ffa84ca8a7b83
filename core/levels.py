"""The levels of an energy figure, shared by the targets that make figures and the report.

``arithmetic``: the arithmetic alone (Horowitz 2014). ``chip``: a chip's per-operation minimum
(Loihi, SpiNNaker per-op). ``system``: a whole machine per operation (Degnan 2015), or a board
model with static power (SpiNN-5). ``measured``: an energy counter (RAPL, NVML) or a published
measurement. Figures at different levels are different quantities: never compare across them
without saying so.
"""

from __future__ import annotations

LEVELS = ("arithmetic", "chip", "system", "measured")


def in_level_order(levels: set[str]) -> list[str]:
    """``levels`` ordered as ``LEVELS``, any unknown ones after them, sorted."""
    return [lv for lv in LEVELS if lv in levels] + sorted(levels - set(LEVELS))

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
