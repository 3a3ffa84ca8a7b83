"""Rendering of energy records as a Strubell-style table (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from neuropipe.reports.energy_record import EnergyRecord


def energy_table(record: EnergyRecord, title: str) -> Table:
    """Per-component energy, power and method, then kWh, kWh x PUE and CO2e."""
    table = Table(title=title)
    for col in ("component", "method", "energy (J)", "avg power (W)", "note"):
        table.add_column(col)
    for comp in record.total.components:
        table.add_row(comp.component, comp.method, f"{comp.energy_j:.3f}",
                      f"{record.average_power_w.get(comp.component, 0.0):.2f}",
                      "estimate: see below" if comp.method == "estimate" else comp.note)
    table.add_row("total", "", f"{record.total.total_j:.3f}",
                  f"{record.average_power_w.get('total', 0.0):.2f}",
                  f"{record.duration_s:.2f} s")
    return table


def print_energy(record: EnergyRecord, title: str, console: Console | None = None) -> None:
    """Print the table and the footprint lines."""
    console = console or Console()
    console.print(energy_table(record, title))
    c = record.constants
    console.print(f"kWh {record.kwh:.6g}; x PUE {c['pue']:g} = {record.kwh_pue:.6g} kWh; "
                  f"CO2e {record.co2e_kg:.6g} kg ({record.co2e_lbs:.6g} lbs) at "
                  f"{c['kg_co2_per_kwh']:.4g} kg/kWh ({c['region']}: {c['intensity_source']})")
    estimates = [comp for comp in record.total.components if comp.method == "estimate"]
    if estimates:
        console.print(f"[yellow]{estimates[0].note}.")
        for comp in estimates:
            a = comp.assumptions
            console.print(f"[yellow]  {comp.component}: {a.get('watts_source', '')}")
    console.print("figures leave out: " + "; ".join(record.leaves_out))
