"""Reader of Linux powercap RAPL counters (``intel-rapl`` and ``amd-rapl`` zones) with wrap-around.

Package zones (``package-N``) and their ``dram`` subzones are read; ``psys`` and the ``core`` /
``uncore`` subzones are skipped because they overlap the package (psys > package > core):
summing them would count energy twice. Counters wrap at ``max_energy_range_uj`` (about 65 kJ on
many CPUs: four minutes at 250 W), so ``CounterPoller`` reads them in the background, often
enough that no wrap between two readings can be missed, as Zeus does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from neuropipe.core.errors import MeterError

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
    """Reads all package and DRAM zones (``CounterPoller`` turns readings into joules)."""

    def __init__(self, root: Path = POWERCAP_ROOT) -> None:
        self.zones = discover(root)

    def read(self) -> list[int]:
        """Current ``energy_uj`` of every zone."""
        return [zone.read_uj() for zone in self.zones]


POLL_INTERVAL_S = 1.0


class CounterPoller:
    """Follows every zone's counter so that a window of any length counts every wrap.

    Reading a counter only when a window opens and closes misses all wraps but one. The poller
    reads all zones every ``interval_s`` seconds in a daemon thread (and whenever ``poll`` is
    called) and keeps, per zone, the energy since it started as an unbounded integer, plus the
    number of wraps seen. One second is far inside any wrap period (65 kJ would need 65 kW).

    Args:
        counter: The zones to follow.
        interval_s: Seconds between background readings.
    """

    def __init__(self, counter: PowercapCounter, interval_s: float = POLL_INTERVAL_S) -> None:
        self._counter = counter
        self._interval = interval_s
        self._lock = threading.Lock()
        self._last = counter.read()
        self._total_uj = [0] * len(counter.zones)
        self._wraps = [0] * len(counter.zones)
        self._users = 0
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    @property
    def interval_s(self) -> float:
        """Seconds between background readings."""
        return self._interval

    def poll(self) -> tuple[list[int], list[int]]:
        """Read every zone now; return the energy (uJ) and wraps per zone since the start."""
        with self._lock:
            now = self._counter.read()
            for i, (zone, a, b) in enumerate(zip(self._counter.zones, self._last, now,
                                                 strict=True)):
                if b < a:
                    self._wraps[i] += 1
                self._total_uj[i] += delta_uj(a, b, zone.max_energy_range_uj)
            self._last = now
            return list(self._total_uj), list(self._wraps)

    def joules_between(self, start: list[int], end: list[int]) -> dict[str, float]:
        """Joules per component between two ``poll`` totals."""
        out: dict[str, float] = {}
        for zone, a, b in zip(self._counter.zones, start, end, strict=True):
            out[zone.component] = out.get(zone.component, 0.0) + (b - a) / 1e6
        return out

    def acquire(self) -> None:
        """Start the background thread for a window (reference-counted)."""
        with self._lock:
            self._users += 1
            if self._thread is None:
                self._halt.clear()
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                 name="neuropipe-rapl-poller")
                self._thread.start()

    def release(self) -> None:
        """Stop the background thread once no window needs it."""
        with self._lock:
            self._users = max(self._users - 1, 0)
            thread = self._thread if self._users == 0 else None
            if thread is not None:
                self._thread = None
                self._halt.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while not self._halt.wait(self._interval):
            try:
                self.poll()
            except MeterError as e:
                self.error = str(e)
                return
