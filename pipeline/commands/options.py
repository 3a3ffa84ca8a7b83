"""Command-line options shared by several verbs (accounting constants)."""

from __future__ import annotations

from typing import Annotated

import typer

PueOption = Annotated[float | None, typer.Option(
    help="Power usage effectiveness (default 1.58, Strubell et al. 2019).")]
RegionOption = Annotated[str | None, typer.Option(
    help="Grid carbon intensity: us (default, 0.954 lbs/kWh) or world (481 g/kWh).")]
Co2Option = Annotated[float | None, typer.Option(help="Intensity in kg CO2e per kWh.")]
