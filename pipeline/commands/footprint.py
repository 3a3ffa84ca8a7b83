"""``neuropipe footprint``: kWh and CO2e from average power and hours, as Strubell et al. did."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from neuropipe.pipeline.commands.options import Co2Option, PueOption, RegionOption


def footprint(
    power_w: Annotated[float, typer.Option(
        help="Average power of CPU sockets + DRAM, watts (p_c + p_r).")],
    hours: Annotated[float, typer.Option(help="Duration in hours.")],
    gpus: Annotated[int, typer.Option(help="Number of GPUs (g).")] = 0,
    gpu_power_w: Annotated[float, typer.Option(help="Average power of one GPU, watts (p_g).")
                           ] = 0.0,
    pue: PueOption = None,
    region: RegionOption = None,
    co2_per_kwh: Co2Option = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")
                       ] = False,
) -> None:
    """Energy and CO2e of a run from its average power and hours (Strubell et al. 2019).

    kWh = PUE x t x (p_c + p_r + g x p_g) / 1000; CO2e = kWh x carbon intensity.
    """
    from neuropipe.reports.footprint import Accounting, strubell_footprint

    accounting = Accounting.build(pue, region, co2_per_kwh)
    fp = strubell_footprint(power_w, hours, gpus, gpu_power_w, accounting)
    if as_json:
        typer.echo(json.dumps({**fp.to_dict(), "pue": accounting.pue,
                               "kg_co2_per_kwh": accounting.kg_co2_per_kwh,
                               "region": accounting.region,
                               "intensity_source": accounting.intensity_source}))
    else:
        typer.echo(f"{fp.kwh:.6g} kWh; x PUE {accounting.pue:g} = {fp.kwh_pue:.6g} kWh; "
                   f"CO2e {fp.co2e_kg:.6g} kg ({fp.co2e_lbs:.6g} lbs) at "
                   f"{accounting.kg_co2_per_kwh:.4g} kg/kWh ({accounting.intensity_source})")
