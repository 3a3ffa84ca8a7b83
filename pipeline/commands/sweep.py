"""``neuropipe sweep``: search model families for the accuracy-energy frontier, on Ray Tune."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def sweep(
    spec: Annotated[str, typer.Argument(
        metavar="SPEC", help="A sweep spec (TOML), or a bundled one: mnist-small, mnist-tiny.",
        show_default=False)],
    address: Annotated[str | None, typer.Option(
        envvar="RAY_ADDRESS", show_envvar=True,
        help="A Ray cluster to run on (host:port, ray://host:port or auto); default: a "
             "private local Ray.")] = None,
    trials: Annotated[int | None, typer.Option(help="Trials to run (default: the spec's).",
                                               show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        help="Sweep folder (default runs/sweeps/NAME-TIME).")] = None,
    resume: Annotated[bool, typer.Option(
        help="Continue the interrupted sweep in --out: finished trials are kept.")] = False,
) -> None:
    """Search SPEC's model families on Ray Tune for the accuracy-energy Pareto front per target."""
    from neuropipe.pipeline.sweep.run import run_sweep

    for line in run_sweep(spec, out=out, trials=trials, address=address, resume=resume):
        typer.echo(line)
