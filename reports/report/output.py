"""The report's output folder: formats, rendering to bytes, and an all-or-nothing write.

Every file is rendered in memory first, then written into a hidden staging folder beside the
output folder, which is renamed into place: a failure leaves no partial report behind. An
existing output folder is replaced only if it holds nothing but an earlier energy report.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from neuropipe.core.errors import InputError
from neuropipe.core.files import umask_mode
from neuropipe.core.staging import swap_in
from neuropipe.reports.comparison import EnergyReport

FORMATS = ("md", "html", "json", "csv")
REPORT_FILES = tuple(f"report.{f}" for f in FORMATS)
# Written with every report, whatever its formats: it marks the folder as an energy report's,
# so the same command can replace it (a Markdown-only report has no report.json to tell).
MARKER = ".energy-report.json"


def parse_formats(value: str) -> tuple[str, ...]:
    """``md,html`` -> ``("md", "html")``.

    Raises:
        InputError: If a format is unknown or none is given.
    """
    formats = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(f"--format {value!r}: choose one or more of {','.join(FORMATS)}"
                         + (f" (unknown: {', '.join(bad)})" if bad else ""))
    return formats


def render_files(report: EnergyReport, formats: tuple[str, ...]) -> dict[str, bytes]:
    """Every file of the report, by name.

    PNGs are written beside Markdown (which links them); HTML embeds them.
    """
    from neuropipe.reports.report.data import render_csv, render_json

    files: dict[str, bytes] = {}
    plots: dict[str, bytes] = {}
    if "md" in formats or "html" in formats:
        from neuropipe.reports.report.plots import render_plots

        plots = render_plots(report)
    if "md" in formats:
        from neuropipe.reports.report.markdown import render_markdown

        files.update(plots)
        files["report.md"] = render_markdown(report, list(plots)).encode("utf-8")
    if "html" in formats:
        from neuropipe.reports.report.html import render_html

        files["report.html"] = render_html(report, plots).encode("utf-8")
    if "json" in formats:
        files["report.json"] = render_json(report).encode("utf-8")
    if "csv" in formats:
        files["report.csv"] = render_csv(report).encode("utf-8")
    files[MARKER] = json.dumps({"type": EnergyReport.type_tag, "formats": list(formats)},
                               indent=1).encode("utf-8")
    return files


def is_previous_report(folder: Path) -> bool:
    """True if ``folder`` holds only files an energy report writes, marked as a report's.

    The mark is the report's ``.energy-report.json`` (every report since it was added), or
    its ``report.json`` (reports written before, with the json format).
    """
    names = [p.name for p in folder.iterdir()]
    if not all(n in REPORT_FILES or n == MARKER or (n.endswith(".png") and "/" not in n)
               for n in names):
        return False
    if any((folder / n).is_dir() for n in names):
        return False
    return any(_holds_report_tag(folder / n) for n in (MARKER, "report.json") if n in names)


def _holds_report_tag(path: Path) -> bool:
    """Whether ``path`` is a JSON object with the energy report's type tag."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("type") == EnergyReport.type_tag


def check_out(out: Path) -> None:
    """Refuse an output folder that cannot be written or holds something else, before any work.

    Raises:
        InputError: If ``out`` is a file, lies under a file, cannot be written, holds other
            files than an earlier energy report, or is (or holds) the current folder.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder: choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not is_previous_report(out):
            raise InputError(f"--out {out} is not empty and holds files other than an earlier "
                             "energy report: choose another --out or empty it")
        here = Path.cwd().resolve()
        if out.resolve() == here or out.resolve() in here.parents:
            raise InputError(f"--out {out} is the current folder or holds it: choose another "
                             "--out")
    ancestor = out.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"--out {out} lies under {ancestor}, which is a file: choose another "
                         "--out")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: {ancestor} is not writable: choose another --out")


def publish(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into ``out`` all at once (staging folder, then renames).

    An earlier report in ``out`` is replaced only after the new one is complete.

    Raises:
        InputError: If the folder cannot be created or written; nothing is left behind.
    """
    check_out(out)
    final = out.absolute()
    created = _make_parents(final.parent)
    staging = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp",
                                        dir=final.parent))
        staging.chmod(umask_mode(0o777))
        for name, data in files.items():
            with open(staging / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            (staging / name).chmod(umask_mode(0o666))
        _swap_in(staging, final)
    except OSError as e:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for folder in reversed(created):
            _rmdir_quietly(folder)
        raise InputError(f"cannot write the report to {out} ({e.strerror or e}): choose another "
                         "--out") from e
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for folder in reversed(created):
            _rmdir_quietly(folder)
        raise


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, outermost first."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        for m in missing:
            _rmdir_quietly(m)
        raise InputError(f"cannot create {folder} ({e.strerror or e}): choose another --out"
                         ) from e
    return list(reversed(missing))


def _rmdir_quietly(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _swap_in(staging: Path, final: Path) -> None:
    """Put ``staging`` at ``final``; an earlier report there is removed only afterwards."""
    if final.is_dir() and not any(final.iterdir()):
        final.rmdir()
    aside = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
    aside.rmdir()  # a free name beside it, for the earlier report while the new one moves in
    swap_in(staging, final, aside)
