"""``neuropipe doctor``: which energy counters and backends work here, and why not."""

from __future__ import annotations

import typer


def doctor() -> None:
    """Report energy counters, Lava's state, targets and package versions."""
    from neuropipe.pipeline.stages.doctor import report

    for line in report():
        typer.echo(line)
