"""Reader of Linux powercap RAPL counters (``intel-rapl`` and ``amd-rapl`` zones) with wrap-around.

Package zones (``package-N``) and their ``dram`` subzones are read; ``psys`` and the ``core`` /
``uncore`` subzones are skipped because they overlap the package (psys > package > core):
summing them would count energy twice. Counters wrap at ``max_energy_range_uj``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neuropipe.pipeline.errors import MeterError

POWERCAP_ROOT = Path("/sys/class/powercap")
PERMISSION_HINT = ("energy_uj is readable only by root since Linux 5.10 (CVE-2020-8694): run as "
                   "root, or let your user read it (sudo chmod o+r /sys/class/powercap/*/energy_uj"
                   " and the subzones)")


@dataclass(frozen=True)
class Zone:
    """One counter: its folder, its component (``cpu`` or ``dram``) and wrap range."""

    path: Path
    component: str
    max_energy_range_uj: int

    def read_uj(self) -> int:
        """Read ``energy_uj``.

        Raises:
            MeterError: If it cannot be read (with the permission hint where that is why).
        """
        try:
            return int((self.path / "energy_uj").read_text().strip())
        except PermissionError as e:
            raise MeterError(f"cannot read {self.path / 'energy_uj'}: {PERMISSION_HINT}") from e
        except (OSError, ValueError) as e:
            raise MeterError(f"cannot read {self.path / 'energy_uj'}: {e}") from e


def delta_uj(start: int, end: int, max_range_uj: int) -> int:
    """Energy between two readings of a counter that wraps after ``max_range_uj``."""
    return end - start if end >= start else end + (max_range_uj - start) + 1


def discover(root: Path = POWERCAP_ROOT) -> list[Zone]:
    """Find package and DRAM zones under ``root`` (no double counting, see module docstring)."""
    zones: list[Zone] = []
    if not root.is_dir():
        return zones
    for top in sorted(root.iterdir()):
        if not (top.name.startswith("intel-rapl:") or top.name.startswith("amd-rapl:")):
            continue
        if top.name.count(":") != 1:
            continue  # subzones are visited from their package
        name = _name(top)
        if not name.startswith("package"):
            continue  # psys (platform) overlaps the packages
        zones.append(Zone(top, "cpu", _max_range(top)))
        for sub in sorted(top.iterdir()):
            if sub.is_dir() and sub.name.startswith(top.name + ":") and _name(sub) == "dram":
                zones.append(Zone(sub, "dram", _max_range(sub)))
    return zones


def _name(zone: Path) -> str:
    try:
        return (zone / "name").read_text().strip()
    except OSError:
        return ""


def _max_range(zone: Path) -> int:
    try:
        return int((zone / "max_energy_range_uj").read_text().strip())
    except (OSError, ValueError):
        return 2**32 - 1


def probe(root: Path = POWERCAP_ROOT) -> tuple[bool, str]:
    """Whether RAPL counters can be read under ``root``, and why not."""
    if not root.is_dir():
        return False, f"no {root} (a virtual machine, or a kernel without powercap)"
    zones = discover(root)
    if not zones:
        return False, f"{root} has no intel-rapl/amd-rapl package zones"
    try:
        zones[0].read_uj()
    except MeterError as e:
        return False, str(e)
    return True, f"{len(zones)} zone(s): " + ", ".join(f"{z.path.name} ({z.component})"
                                                       for z in zones)


class PowercapCounter:
    """Reads all package and DRAM zones; ``joules_between`` handles wrap-around."""

    def __init__(self, root: Path = POWERCAP_ROOT) -> None:
        self.zones = discover(root)

    def read(self) -> list[int]:
        """Current ``energy_uj`` of every zone."""
        return [zone.read_uj() for zone in self.zones]

    def joules_between(self, start: list[int], end: list[int]) -> dict[str, float]:
        """Joules per component (``cpu``, ``dram``) between two readings."""
        out: dict[str, float] = {}
        for zone, a, b in zip(self.zones, start, end, strict=True):
            out[zone.component] = out.get(zone.component, 0.0) + delta_uj(
                a, b, zone.max_energy_range_uj) / 1e6
        return out
