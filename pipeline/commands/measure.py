"""``neuropipe measure``: run any command and report its energy and footprint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from neuropipe.pipeline.commands.options import Co2Option, PueOption, RegionOption


def measure(
    ctx: typer.Context,
    command: Annotated[list[str] | None, typer.Argument(
        metavar="-- CMD ARGS", show_default=False,
        help="The command to measure and its arguments, after '--'.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the record here.")
                        ] = None,
    pue: PueOption = None,
    region: RegionOption = None,
    co2_per_kwh: Co2Option = None,
) -> None:
    """Run CMD (after '--'), report its energy and footprint, and pass on its exit code."""
    from neuropipe.reports.measure_command import measure_command

    code = measure_command([*(command or []), *ctx.args], json_out, pue, region, co2_per_kwh)
    raise typer.Exit(code)
