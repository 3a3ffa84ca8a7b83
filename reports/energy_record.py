"""The energy record of a run (``energy.json``): measured windows, power, kWh and CO2e."""

from __future__ import annotations

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
    """

    type_tag = "energy"
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
                  accounting: Accounting | None = None) -> EnergyRecord:
    """Build the record; without ``total`` the per-epoch windows are summed.

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
        leaves_out=list(LEAVES_OUT))
