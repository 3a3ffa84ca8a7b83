"""Rich progress bars shared by the stages."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


def make_progress(*extra_fields: str) -> Progress:
    """Return a progress bar showing count, time, and the named task fields (e.g. loss)."""
    fields = [TextColumn(f"{name} {{task.fields[{name}]}}") for name in extra_fields]
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *fields,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
