"""``neuropipe sweep`` from start to end: the folder, the search, the outputs, one summary."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import shlex
import time
from pathlib import Path

from neuropipe.core.errors import InputError, InterruptedRun, NeuropipeError, RunDirError
from neuropipe.core.files import check_writable
from neuropipe.pipeline.progress import make_progress
from neuropipe.pipeline.sweep.spec import SweepSpec, load_spec

SPEC_FILE = "sweep.json"  # the checked spec, as the sweep ran it
DEFAULT_ROOT = Path("runs") / "sweeps"


def run_sweep(spec: str, out: Path | None = None, trials: int | None = None,
              address: str | None = None, resume: bool = False) -> list[str]:
    """Run a sweep (or continue one) and write its outputs; return the summary lines.

    Raises:
        InputError: A bad spec or option, or Ray not installed.
        RunDirError: ``--out`` holds other files, or nothing to resume.
        ClusterError: The cluster cannot be reached.
        InterruptedRun: Ctrl-C; finished trials and their outputs are kept.
        NeuropipeError: Every trial failed (the first one's reason).
    """
    sweep = load_spec(spec, trials)
    from neuropipe.pipeline.sweep.search import require_ray, run_search

    require_ray()  # before anything is written or shown
    if address is not None:  # before anything is written: a wrong address leaves no folder
        from neuropipe.pipeline.sweep.search import check_reachable

        check_reachable(address)
    folder, sweep = _open_folder(sweep, spec, out, trials, resume)
    start = time.perf_counter()
    with make_progress() as progress:
        task = progress.add_task(f"{sweep.name}: trials", total=sweep.trials)

        def on_trial(done: int, expected: int) -> None:
            progress.update(task, completed=done, total=expected)

        try:
            outcome = run_search(sweep, folder, address, resume, on_trial)
        except KeyboardInterrupt as e:
            raise InterruptedRun(f"interrupted; finished trials are kept in {folder}: continue "
                                 f"with --resume --out {shlex.quote(str(folder))}") from e
    wall = time.perf_counter() - start
    if not outcome.results:
        if outcome.errors:
            raise NeuropipeError(f"all {len(outcome.errors)} trials that ran failed; the first: "
                                 f"{outcome.errors[0]}")
        raise InterruptedRun(f"interrupted before any trial finished; continue with --resume "
                             f"--out {shlex.quote(str(folder))}")
    from neuropipe.pipeline.sweep.output import write_outputs

    written = write_outputs(sweep, folder, outcome.results)
    lines = summary(sweep, folder, outcome, written, wall, address)
    if outcome.interrupted:
        for line in lines:
            print(line)
        raise InterruptedRun(f"interrupted: {len(outcome.results)} of {outcome.expected} trials "
                             f"finished and are kept (outputs written for them); continue with "
                             f"--resume --out {shlex.quote(str(folder))}")
    return lines


def _open_folder(sweep: SweepSpec, spec: str, out: Path | None, trials: int | None,
                 resume: bool) -> tuple[Path, SweepSpec]:
    """The sweep's folder and spec: new (refusing a folder with files), or as ``--resume`` saved."""
    if resume:
        if out is None:
            raise InputError("--resume needs --out DIR: the sweep to continue")
        folder = out.resolve()
        saved_path = folder / SPEC_FILE
        if not saved_path.is_file():
            raise RunDirError(f"{folder} holds no sweep to resume ({SPEC_FILE} is missing); "
                              "start one with another --out")
        saved = SweepSpec.read(saved_path)
        given = sweep if trials is not None else dataclasses.replace(sweep, trials=saved.trials)
        changed = [f.name for f in dataclasses.fields(SweepSpec)
                   if getattr(given, f.name) != getattr(saved, f.name)]
        if changed:
            raise InputError(f"--resume continues {folder} as it started, but {spec} differs in "
                             f"{', '.join(changed)}: give the same spec (and --trials), or start "
                             "a new sweep with another --out")
        from neuropipe.pipeline.sweep.search import can_resume

        if not can_resume(folder):
            raise RunDirError(f"{folder} has no Ray Tune state to resume (stopped before the "
                              "search started?): start again with another --out")
        check_writable(folder, "make it writable, or copy the sweep elsewhere and resume that")
        return folder, saved
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = (out or DEFAULT_ROOT / f"{sweep.name}-{stamp}").resolve()
    check_writable(folder, "choose another --out")  # first: refuses a file given as --out
    if folder.exists() and any(folder.iterdir()):
        hint = " (a sweep: continue it with --resume)" if (folder / SPEC_FILE).is_file() else ""
        raise RunDirError(f"{folder} already holds files{hint}; choose another --out")
    folder.mkdir(parents=True, exist_ok=True)
    sweep.write(folder / SPEC_FILE)
    return folder, sweep


def summary(sweep: SweepSpec, folder: Path, outcome: object, written: object, wall: float,
            address: str | None) -> list[str]:
    """What ``sweep`` prints: trials done, each target's front, the files."""
    from neuropipe.pipeline.sweep.pareto import left_off
    from neuropipe.pipeline.sweep.trial import converted
    from neuropipe.reports.report.text import joules

    where = f"Ray cluster {address}" if address else "local Ray"
    lines = [f"{sweep.name}: {len(outcome.results)} of {outcome.expected} trials finished in "
             f"{wall:.0f} s ({where}, {sweep.concurrent} at a time); folder {folder}"]
    if outcome.errors:
        lines.append(f"  {len(outcome.errors)} trial(s) failed; the first: {outcome.errors[0]}")
    for target in sweep.targets:
        front = written.fronts.get(target.name, [])
        lines.append(f"front on {target.name} ({target.level} level): {len(front)} of "
                     f"{len(outcome.results)} trials")
        for r in front:
            o = r.targets[target.name]
            what = describe(r.params, converted(r.params, target.name))
            training = (f", training {joules(r.training_energy_j)} "
                        f"({r.training_energy_method})" if sweep.training_energy else "")
            lines.append(f"  {what}: accuracy {o.accuracy:.4f}, "
                         f"{joules(o.energy_j)} per inference ({o.cost_model}){training}; "
                         f"{Path(r.run).name}")
        off = left_off(outcome.results, target.name)
        if off:
            host = max(r.targets[target.name].off_level_j for r in off)
            lines.append(f"  left off: {len(off)} trial(s) with a first layer on the host, "
                         f"which their {target.level}-level figure leaves out (up to "
                         f"{joules(host)} per inference at another level; trials.csv: "
                         f"whole_{target.name} 0, off_level_{target.name}_j)")
    lines.append(f"written {folder}/: {', '.join(written.files)}")
    lines.append(f"energy report: {written.report_note}")
    return lines


def describe(params: object, conversion: bool | None) -> str:
    """A trial's values in a few words: model, width, steps, encoding, penalty, epochs, lr.

    ``conversion`` as ``converted`` gives it: steps, encoding and percentile are shown only
    where they were used.
    """
    p = params
    parts = [p.model]
    if p.hidden is not None:
        parts.append(f"hidden {p.hidden}")
    if conversion is not False:
        parts.append(f"T {p.timesteps} {p.encoding}" + (" (converted)" if conversion else ""))
    if p.rate_penalty:
        parts.append(f"rate penalty {p.rate_penalty:.3g}")
    if conversion:
        parts.append(f"p{p.percentile:.4g}")
    parts.append(f"{p.epochs} ep, lr {p.lr:.2g}")
    return ", ".join(parts)
