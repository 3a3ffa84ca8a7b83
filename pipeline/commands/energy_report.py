"""``neuropipe energy-report``: compare runs on every target, at equal accuracy, with break-even."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def energy_report(
    runs: Annotated[list[Path], typer.Argument(help="Run directories with deployments.",
                                               metavar="RUN")],
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default ./energy-report); an earlier report there is replaced.")
                   ] = None,
    accuracy: Annotated[float | None, typer.Option(
        help="Accuracy threshold in (0, 1] of the equal-accuracy view (default: the highest "
             "accuracy every run reaches on some target).")] = None,
    formats: Annotated[str, typer.Option(
        "--format", help="Comma-separated: md, html, json, csv.")] = "md,html,json,csv",
    level: Annotated[str | None, typer.Option(
        help="Restrict the answer and the equal-accuracy views to one level (arithmetic, "
             "chip, system or measured).")] = None,
) -> None:
    """Compare RUNS model x target: energy per inference by level, equal accuracy, break-even."""
    from neuropipe.pipeline.stages.energy_report import ReportConfig, run_energy_report

    report, folder, names = run_energy_report(ReportConfig(
        runs=list(runs), out=out, accuracy=accuracy, formats=formats, level=level))
    c = report.comparison
    typer.echo(f"{len(c.configs)} configurations of {len(c.runs)} runs on {c.dataset}; "
               f"threshold {report.threshold:.2%}; baseline "
               f"{report.baseline_target or 'none (no ANN deployed)'}")
    for m in c.missing:
        typer.echo(f"  missing: {m.run} on {m.target}")
    for sentence in report.answer.sentences:
        typer.echo(f"  {sentence}")
    typer.echo(f"written {folder}/: {', '.join(names)}")
