"""Cost models: published per-operation energies as data, and the one function that applies them.

A cost model is a list of entries, each the energy of one kind of operation (or of one watt-second
of static power) with its level and citation. ``energy_terms`` turns a deployment's counts into
labelled energy terms with any model; every target supplies only its constants. Units live in the
``unit`` of each entry (``pJ/synop``, ``nJ/MAC``, ``W``) and become joules only in ``joules``.

Levels (never compared across without saying so): ``arithmetic`` (the arithmetic alone, Horowitz
2014), ``chip`` (a chip's per-op minimum), ``system`` (a whole machine per op, or a board model with
static power), ``measured`` (a counter or a published measurement).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from neuropipe.core.levels import LEVELS
from neuropipe.targets.records import EnergyTerm

KINDS = ("dynamic", "static", "host")
# Joules per unit of the numerator of an entry's unit ("pJ/synop" -> pJ; "W" is J per second).
_JOULES = {"pJ": 1e-12, "nJ": 1e-9, "uJ": 1e-6, "mJ": 1e-3, "J": 1.0, "W": 1.0}


@dataclass(frozen=True)
class OpCost:
    """The energy of one kind of operation on one platform.

    Attributes:
        name: Name of the energy term it produces (``synops``, ``idle_chips``...).
        count: The count it applies to, a key of the quantities (``synops``, ``host_macs``,
            ``chip_seconds``...).
        cost: Energy per unit of ``count``, in ``unit``.
        unit: ``pJ/synop``, ``nJ/MAC``, ``W`` (for counts in seconds)...
        kind: ``dynamic`` (the device's activity), ``static`` (its idle power) or ``host``
            (work done on the host computer for the device).
        level: ``arithmetic``, ``chip``, ``system`` or ``measured``.
        source: Citation of the constant.
        missing: Why the term cannot be estimated when its count is unknown (None), e.g.
            a static power without a known time per inference.
    """

    name: str
    count: str
    cost: float
    unit: str
    kind: str
    level: str
    source: str
    missing: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.level not in LEVELS:
            raise ValueError(f"cost entry '{self.name}': kind {self.kind!r} / level "
                             f"{self.level!r} not in {KINDS} / {LEVELS}")
        if self.unit.split("/")[0] not in _JOULES:
            raise ValueError(f"cost entry '{self.name}': unknown unit {self.unit!r}")

    def joules(self, quantity: float) -> float:
        """Energy of ``quantity`` units of the count, in joules."""
        return float(quantity) * self.cost * _JOULES[self.unit.split("/")[0]]


@dataclass(frozen=True)
class CostModel:
    """Per-operation energies of one platform, at one level.

    Attributes:
        name: Short name, recorded with every figure computed from it.
        level: The level of its device terms (``chip`` or ``system``...).
        entries: The per-operation costs.
        notes: Caveats a reader must see beside any figure computed with this model.
        leaves_out: What a figure from this model does not include.
    """

    name: str
    level: str
    entries: tuple[OpCost, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    leaves_out: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sources(self) -> list[str]:
        """Citations of every entry, without repeats, in order."""
        return list(dict.fromkeys(e.source for e in self.entries))


def energy_terms(quantities: Mapping[str, float | None], model: CostModel) -> list[EnergyTerm]:
    """Apply a cost model to per-inference quantities: one labelled term per entry.

    Args:
        quantities: Per-inference counts by key (``synops``, ``neuron_updates``,
            ``chip_seconds``...); None where a count is unknown.
        model: The cost model.

    Returns:
        One term per entry; an entry whose count is None gives a term with
        ``joules_per_inference`` None, method ``not-estimated`` and the entry's reason.

    Raises:
        KeyError: If the model needs a count the quantities do not name (a bug in the target).
    """
    terms = []
    for entry in model.entries:
        if entry.count not in quantities:
            raise KeyError(f"cost model '{model.name}' needs count '{entry.count}', which the "
                           f"target does not provide (it gives {sorted(quantities)})")
        quantity = quantities[entry.count]
        common = dict(name=entry.name, kind=entry.kind, unit_cost=entry.cost, unit=entry.unit,
                      source=entry.source, level=entry.level, cost_model=model.name)
        if quantity is None:
            terms.append(EnergyTerm(joules_per_inference=None, method="not-estimated",
                                    quantity=0.0, note=entry.missing, **common))
        else:
            terms.append(EnergyTerm(joules_per_inference=entry.joules(quantity),
                                    method="cost-model", quantity=float(quantity), **common))
    return terms


# --- Shared constants --------------------------------------------------------------------------

# Degnan, Marr & Hasler, IEEE TVLSI 24(1), 2015, as tabulated in KerasSpiking's ModelEnergy:
# one synaptic op (one MAC) on an Intel i7-4960X costs 8.6 nJ at system level.
CPU_ENERGY_PER_MAC_NJ = 8.6
CPU_MAC_SOURCE = ("Degnan, Marr & Hasler, IEEE TVLSI 24(1), 2015 (via KerasSpiking "
                  "ModelEnergy): 8.6 nJ per MAC on an Intel i7-4960X")

HOST_INPUT_LAYER = OpCost(
    name="host_input_layer", count="host_macs", cost=CPU_ENERGY_PER_MAC_NJ, unit="nJ/MAC",
    kind="host", level="system", source=CPU_MAC_SOURCE)
