"""The energy record of a run (``energy.json``): measured windows, power, kWh and CO2e."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from neuropipe.core.records import Record
from neuropipe.reports.footprint import STRUBELL_SOURCE, Accounting, footprint_from_joules
from neuropipe.reports.meter.records import ComponentEnergy, Measurement

LEAVES_OUT = [
    "other processes on the machine and its idle (static) power",
    "network, storage, fans and power-supply losses beyond what PUE covers",
    "the embodied energy of the hardware",
]


@dataclass
class EnergyRecord(Record):
    """Energy of a run or command, after Strubell et al. (2019).

    Attributes:
        total: The whole window (components with their methods).
        per_epoch: One window per epoch (training), keyed by epoch number.
        duration_s: Seconds measured.
        average_power_w: Mean power over the window, per component and ``total``.
        kwh: Energy in kWh.
        kwh_pue: kWh times PUE.
        co2e_kg: Emissions in kg CO2-equivalent.
        co2e_lbs: The same in pounds, as Strubell et al. report.
        constants: PUE and carbon intensity used, with sources.
        leaves_out: What the figures do not include.
        machine: What the machine was doing (see ``machine_conditions``): CPU count, load
            average at the start and end, threads used. Empty in records of schema version 1,
            which did not record it.
    """

    type_tag = "energy"
    schema_version = 2
    total: Measurement = field(default_factory=Measurement)
    per_epoch: dict[str, Measurement] = field(default_factory=dict)
    duration_s: float = 0.0
    average_power_w: dict[str, float] = field(default_factory=dict)
    kwh: float = 0.0
    kwh_pue: float = 0.0
    co2e_kg: float = 0.0
    co2e_lbs: float = 0.0
    constants: dict[str, Any] = field(default_factory=dict)
    leaves_out: list[str] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyRecord:
        """Rebuild a record; one of schema version 1 (no ``machine``) is read with it empty."""
        if data.get("type") == cls.type_tag and data.get("schema_version") == 1:
            data = {**data, "schema_version": cls.schema_version, "machine": {}}
        return super().from_dict(data)


LOAD_NOTE = ("load averages count the machine's runnable processes (1, 5, 15 minutes); above "
             "cpu_count this process waited for cores, its wall time grew, and an estimate from "
             "busy CPU-seconds may include threads spinning while they waited")


def load_average() -> list[float]:
    """The machine's 1, 5 and 15-minute load averages, or [] where the system has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return []


def machine_conditions(windows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the machine was doing over a record's windows, for the record's ``machine`` field.

    Args:
        windows: Per window (e.g. epoch), in order: ``load_average_start``,
            ``load_average_end`` (as from ``load_average``) and optionally ``threads`` (e.g.
            torch's intra- and inter-op threads and the OpenMP wait policy).

    Returns:
        ``cpu_count``, the load average at the start of the first window and the end of the
        last, the threads (a list if windows differ), the windows themselves when more than
        one, and a note on how to read the load.
    """
    parts = list(windows.values())
    out: dict[str, Any] = {"cpu_count": os.cpu_count()}
    if parts:
        out["load_average_start"] = parts[0].get("load_average_start", [])
        out["load_average_end"] = parts[-1].get("load_average_end", [])
        threads = [p["threads"] for p in parts if "threads" in p]
        if threads:
            distinct = [t for i, t in enumerate(threads) if t not in threads[:i]]
            out["threads"] = distinct[0] if len(distinct) == 1 else distinct
    if len(parts) > 1:
        out["per_window"] = windows
    out["note"] = LOAD_NOTE
    return out


ADDITIVE_ASSUMPTIONS = ("cpu_seconds", "seconds")


def merge_assumptions(first: dict[str, Any], first_s: float,
                      second: dict[str, Any], second_s: float) -> dict[str, Any]:
    """Assumptions of two windows added together.

    Amounts (``cpu_seconds``, ``seconds``) add up, ``mean_*`` figures are averaged weighted by the
    windows' durations, and anything else is kept when both windows agree, else listed.
    """
    merged = dict(first)
    for key, value in second.items():
        old = merged.get(key)
        if key not in merged:
            merged[key] = value
        elif key in ADDITIVE_ASSUMPTIONS:
            merged[key] = old + value
        elif key.startswith("mean_") and first_s + second_s > 0:
            merged[key] = (old * first_s + value * second_s) / (first_s + second_s)
        elif old != value:
            merged[key] = (old if isinstance(old, list) else [old]) + [value]
    return merged


def sum_measurements(name: str, parts: list[Measurement]) -> Measurement:
    """Add windows component by component (e.g. the epochs of a resumed run).

    A component whose method differs between windows keeps the first method and gains a warning.
    """
    by_comp: dict[str, ComponentEnergy] = {}
    seconds: dict[str, float] = {}
    warnings = [w for p in parts for w in p.warnings]
    for part in parts:
        for comp in part.components:
            if comp.component not in by_comp:
                by_comp[comp.component] = ComponentEnergy.from_dict(comp.to_dict())
                seconds[comp.component] = part.duration_s
                continue
            total = by_comp[comp.component]
            if comp.method != total.method:
                warnings.append(f"{comp.component}: windows measured by {total.method} and "
                                f"{comp.method} are summed")
            total.energy_j += comp.energy_j
            total.assumptions = merge_assumptions(total.assumptions, seconds[comp.component],
                                                  comp.assumptions, part.duration_s)
            seconds[comp.component] += part.duration_s
    return Measurement(name=name, duration_s=sum(p.duration_s for p in parts),
                       components=list(by_comp.values()), warnings=warnings)


def energy_record(total: Measurement | None = None,
                  per_epoch: dict[str, Measurement] | None = None,
                  accounting: Accounting | None = None,
                  machine: dict[str, Any] | None = None) -> EnergyRecord:
    """Build the record; without ``total`` the per-epoch windows are summed.

    ``machine`` (from ``machine_conditions``) says what the machine was doing meanwhile.

    ``kwh = J / 3.6e6``, ``kwh_pue = PUE * kwh``, ``CO2e = kwh_pue * intensity`` (Strubell et al.
    2019: PUE 1.58 and 0.954 lbs CO2e/kWh by default).
    """
    per_epoch = per_epoch or {}
    accounting = accounting or Accounting()
    if total is None:
        total = sum_measurements("total", list(per_epoch.values()))
    fp = footprint_from_joules(total.total_j, accounting)
    seconds = total.duration_s
    power = {c.component: (c.energy_j / seconds if seconds > 0 else 0.0)
             for c in total.components}
    power["total"] = total.total_j / seconds if seconds > 0 else 0.0
    return EnergyRecord(
        total=total, per_epoch=per_epoch, duration_s=seconds, average_power_w=power,
        kwh=fp.kwh, kwh_pue=fp.kwh_pue, co2e_kg=fp.co2e_kg, co2e_lbs=fp.co2e_lbs,
        constants={"pue": accounting.pue, "pue_source": "2018 global data-centre average "
                   f"(Uptime Institute), as used by {STRUBELL_SOURCE}" if accounting.pue == 1.58
                   else "given with --pue", "kg_co2_per_kwh": accounting.kg_co2_per_kwh,
                   "region": accounting.region, "intensity_source": accounting.intensity_source,
                   "method": STRUBELL_SOURCE},
        leaves_out=list(LEAVES_OUT), machine=dict(machine or {}))
