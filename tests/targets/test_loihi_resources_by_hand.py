"""Loihi's cores and chips by hand: each layer on ceil(neurons / 1,024) cores, 128 cores a chip.

The figures are Davies et al. 2018's (Loihi 1: 128 neuromorphic cores per chip, up to 1,024
neurons per core), as ``targets/loihi/costs.py`` states them; layers do not share a core.
"""

from __future__ import annotations

import pytest

from neuropipe.targets.loihi.costs import (
    LOIHI_CORES_PER_CHIP,
    LOIHI_NEURONS_PER_CORE,
    loihi_resources,
)


def test_the_published_limits() -> None:
    assert LOIHI_NEURONS_PER_CORE == 1024 and LOIHI_CORES_PER_CHIP == 128


@pytest.mark.parametrize("layers, cores, chips", [
    # 1 + 2 + 1 + 3: 1,024 fills one core, 1,025 needs two, 1 needs one, 3,000 needs three.
    ([1024, 1025, 1, 3000], 7, 1),
    ([128 * 1024], 128, 1),  # 131,072 neurons: 128 cores, one full chip
    ([128 * 1024, 1], 129, 2),  # one neuron more, in its own layer: a 129th core, a 2nd chip
    ([300] * 257, 257, 3),  # 257 small layers, one core each: ceil(257 / 128) = 3 chips
    ([], 0, 0),
])
def test_cores_and_chips(layers: list[int], cores: int, chips: int) -> None:
    res = loihi_resources(layers, steps=9)
    assert (res.cores, res.chips) == (cores, chips)


def test_every_field_of_the_record() -> None:
    res = loihi_resources([10, 2048], steps=27)  # 1 + 2 cores
    assert res.cores == 3 and res.chips == 1 and res.boards is None
    assert res.neurons_per_core_limit == 1024  # the limit used, not a default of 0
    assert res.steps_per_sample == 27 and res.time_per_inference_s is None
    # How the figure was obtained: an estimate from the per-core limit, not a mapper's placement.
    assert res.placement.startswith("estimate: neurons / 1,024 per core")
    assert res.details == {}


def test_the_loihi_static_term_names_the_measured_board_power_but_adds_nothing():
    from neuropipe.targets.loihi.costs import LOIHI_1

    static = next(e for e in LOIHI_1.entries if e.name == "static")
    # lava-dl's PilotNet benchmark, Loihi 2 board: static 0.232 W (energy-references.md);
    # the range quoted is 0.23-0.28 W, and the entry carries its low end.
    assert (static.cost, static.unit, static.kind, static.level) == (
        0.23, "W", "static", "measured")
    assert "0.23-0.28 W idle" in static.missing
    assert "0.23-0.28 W" in static.source
