"""Records of a measurement window: joules per component, each with how it was obtained."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neuropipe.core.records import Record

METHODS = ("rapl", "nvml-energy", "nvml-power", "estimate")


@dataclass
class ComponentEnergy(Record):
    """Energy of one component over a window.

    Attributes:
        component: ``cpu``, ``dram`` or ``gpu:<index>``.
        energy_j: Joules over the window.
        method: ``rapl``, ``nvml-energy``, ``nvml-power`` or ``estimate``.
        assumptions: For estimates, the figures assumed (with units in their names).
        note: Why this method was used (e.g. why no counter was read).
    """

    type_tag = "component-energy"
    component: str = ""
    energy_j: float = 0.0
    method: str = "estimate"
    assumptions: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class Measurement(Record):
    """One measurement window.

    Attributes:
        name: Window name.
        duration_s: Wall-clock duration.
        components: Energy per component.
        total_j: Sum of the components' energies.
        warnings: Anything a reader should know (e.g. a counter that read 0 J).
    """

    type_tag = "measurement"
    name: str = ""
    duration_s: float = 0.0
    components: list[ComponentEnergy] = field(default_factory=list)
    total_j: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.total_j = float(sum(c.energy_j for c in self.components))

    def energy_of(self, prefix: str) -> float:
        """Joules of the components whose name starts with ``prefix`` (``gpu`` sums all GPUs)."""
        return float(sum(c.energy_j for c in self.components if c.component.startswith(prefix)))

    def methods(self) -> dict[str, str]:
        """Method of every component."""
        return {c.component: c.method for c in self.components}
