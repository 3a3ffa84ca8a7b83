"""``neuropipe measure``: run any command and report its energy and footprint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from neuropipe.pipeline.commands.options import Co2Option, PueOption, RegionOption


def measure(
    ctx: typer.Context,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the record here.")
                        ] = None,
    pue: PueOption = None,
    region: RegionOption = None,
    co2_per_kwh: Co2Option = None,
) -> None:
    """Run the command after '--', measure its energy, and pass through its exit code."""
    from neuropipe.reports.measure_command import measure_command

    code = measure_command(list(ctx.args), json_out, pue, region, co2_per_kwh)
    raise typer.Exit(code)
