"""What a sweep leaves in its folder: the trials table, the fronts, the Pareto plot, the report.

Every file is written atomically; re-running the output (after ``--resume``) replaces them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuropipe.core.files import write_bytes_atomic, write_json_atomic, write_text_atomic
from neuropipe.pipeline.sweep.pareto import fronts
from neuropipe.pipeline.sweep.spec import SweepSpec
from neuropipe.pipeline.sweep.trial import TrialResult, converted

PARAMS = ("model", "epochs", "lr", "hidden", "timesteps", "encoding", "rate_penalty",
          "percentile")
MARKERS = {"ann": "o", "snn": "s"}


@dataclass
class Written:
    """Files written and what the energy report made of the front's runs."""

    files: list[str] = field(default_factory=list)
    fronts: dict[str, list[TrialResult]] = field(default_factory=dict)
    report_note: str = ""


def write_outputs(spec: SweepSpec, out: Path, results: list[TrialResult]) -> Written:
    """Write ``trials.csv/json``, ``front.csv/json``, ``pareto.png`` and ``report/``."""
    results = sorted(results, key=lambda r: r.trial)
    best = fronts(results, spec)
    written = Written(fronts=best)
    write_json_atomic(out / "trials.json", [r.to_dict() for r in results])
    write_text_atomic(out / "trials.csv", trials_csv(spec, results, best))
    write_json_atomic(out / "front.json", {t: [front_row(r, t) for r in rs]
                                           for t, rs in best.items()})
    write_text_atomic(out / "front.csv", front_csv(best))
    write_bytes_atomic(out / "pareto.png", pareto_png(spec, results, best))
    written.files = ["trials.csv", "trials.json", "front.csv", "front.json", "pareto.png"]
    written.report_note = _report(out, best)
    if not written.report_note.startswith("not written"):
        written.files.append("report/")
    return written


def trials_csv(spec: SweepSpec, results: list[TrialResult],
               best: dict[str, list[TrialResult]]) -> str:
    """One row per trial: its values, training figures, and per target accuracy and energy."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["trial", "run", *PARAMS, "test_accuracy", "training_energy_j",
              "training_energy_method"]
    for t in spec.targets:
        header += [f"accuracy_{t.name}", f"energy_{t.name}_j", f"level_{t.name}",
                   f"cost_model_{t.name}", f"front_{t.name}", f"whole_{t.name}",
                   f"off_level_{t.name}_j", f"off_level_terms_{t.name}"]
    writer.writerow(header)
    for r in results:
        p = r.params
        row: list[Any] = [r.trial, r.run, *(_cell(getattr(p, name)) for name in PARAMS),
                          r.test_accuracy, r.training_energy_j, r.training_energy_method]
        for t in spec.targets:
            o = r.targets.get(t.name)
            row += ([o.accuracy, o.energy_j, o.level, o.cost_model,
                     int(r in best.get(t.name, [])), int(o.whole), o.off_level_j,
                     " ".join(o.off_level_terms)] if o else ["", "", "", "", 0, "", "", ""])
        writer.writerow(row)
    return buf.getvalue()


def front_row(r: TrialResult, target: str) -> dict[str, Any]:
    """One point of a target's front."""
    o = r.targets[target]
    return {"target": target, "trial": r.trial, "run": r.run, "model": r.params.model,
            "accuracy": o.accuracy, "energy_j": o.energy_j, "level": o.level,
            "cost_model": o.cost_model, "training_energy_j": r.training_energy_j,
            "params": r.params.to_dict()}


def front_csv(best: dict[str, list[TrialResult]]) -> str:
    """Every target's front, cheapest first."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["target", "trial", "run", *PARAMS, "accuracy", "energy_j", "level",
                     "cost_model", "training_energy_j"])
    for target, rs in best.items():
        for r in rs:
            o = r.targets[target]
            writer.writerow([target, r.trial, r.run,
                             *(_cell(getattr(r.params, n)) for n in PARAMS), o.accuracy,
                             o.energy_j, o.level, o.cost_model, r.training_energy_j])
    return buf.getvalue()


def _cell(value: Any) -> Any:
    return "" if value is None else value


def pareto_png(spec: SweepSpec, results: list[TrialResult],
               best: dict[str, list[TrialResult]]) -> bytes:
    """One panel per target: every trial by model family, the front joined and outlined."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from neuropipe.models.zoo import MODELS

    n = len(spec.targets)
    cols = min(n, 2)
    rows = -(-n // cols)
    fig = Figure(figsize=(6.0 * cols, 4.4 * rows), layout="constrained")
    models = sorted({r.params.model for r in results})
    colour = {m: colormaps["tab10"](i % 10) for i, m in enumerate(models)}
    for i, target in enumerate(spec.targets):
        ax = fig.add_subplot(rows, cols, i + 1)
        front = best.get(target.name, [])
        for r in results:
            o = r.targets.get(target.name)
            if o is None:
                continue
            on_front = r in front
            # hollow: the figure leaves out a first layer on the host (never on the front)
            ax.scatter(o.accuracy * 100, o.energy_j, s=70 if on_front else 30,
                       color=colour[r.params.model] if o.whole else "none",
                       marker=MARKERS.get(MODELS[r.params.model].kind, "^"),
                       edgecolors=("black" if on_front else
                                   "none" if o.whole else colour[r.params.model]),
                       linewidths=1.2, zorder=3, alpha=1.0 if on_front else 0.55)
        if front:
            pts = sorted((r.targets[target.name].accuracy * 100, r.targets[target.name].energy_j)
                         for r in front)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color="0.3", linestyle="--",
                    linewidth=1, zorder=2)
            for r in front:
                o = r.targets[target.name]
                ax.annotate(_label(r, target.name), (o.accuracy * 100, o.energy_j), fontsize=7,
                            xytext=(4, 4), textcoords="offset points")
        cost = sorted({r.targets[target.name].cost_model for r in results
                       if target.name in r.targets})
        ax.set_yscale("log")
        ax.set_title(f"{target.name}: {target.level} level ({', '.join(cost)})", fontsize=9)
        ax.set_xlabel(f"accuracy on {target.name} (%)")
        ax.set_ylabel(f"energy per inference, J ({target.level} level)")
        ax.grid(True, which="both", alpha=0.3)
        handles = [Line2D([], [], marker=MARKERS.get(MODELS[m].kind, "^"), linestyle="",
                          color=colour[m], label=m) for m in models]
        handles.append(Line2D([], [], marker="o", linestyle="--", color="0.3",
                              markerfacecolor="white", markeredgecolor="black",
                              label="Pareto front (outlined)"))
        if any(not r.targets[target.name].whole for r in results if target.name in r.targets):
            handles.append(Line2D([], [], marker="o", linestyle="", color="0.3",
                                  markerfacecolor="none",
                                  label="hollow: first layer on the host, not compared"))
        ax.legend(handles=handles, fontsize=7, loc="best")
    extra = " and training energy" if spec.training_energy else ""
    fig.suptitle(f"{spec.name}: {len(results)} trials; front = no other trial is more accurate "
                 f"and cheaper per inference{extra}", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def _label(r: TrialResult, target: str) -> str:
    """Model, hidden width and steps (where the target ran spikes), e.g. ``mlp h47 T23``."""
    p = r.params
    parts = [p.model]
    if p.hidden is not None:
        parts.append(f"h{p.hidden}")
    if converted(p, target) is not False:  # an SNN, or an ANN converted for this target
        parts.append(f"T{p.timesteps}")
    return " ".join(parts)


def _report(out: Path, best: dict[str, list[TrialResult]]) -> str:
    """``energy-report`` over the runs on any front, into ``out/report``; what became of it."""
    from neuropipe.core.errors import NeuropipeError
    from neuropipe.pipeline.stages.energy_report import ReportConfig, run_energy_report

    runs = list(dict.fromkeys(Path(r.run) for rs in best.values() for r in rs))
    missing = [str(r) for r in runs if not r.is_dir()]
    if not runs:
        return "not written: no trial finished"
    if missing:
        return (f"not written: {len(missing)} front run(s) are not on this machine (e.g. "
                f"{missing[0]}): the workers wrote them; give --out a folder every node shares")
    try:
        _, folder, _ = run_energy_report(ReportConfig(runs=runs, out=out / "report"))
    except NeuropipeError as e:
        return f"not written: {e}"
    return f"{folder}/ over the {len(runs)} run(s) on a front"
