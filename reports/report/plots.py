"""The report's plots (matplotlib, Agg canvas, PNG bytes): no pyplot, so no global state."""

from __future__ import annotations

import io
import math
from typing import Any

from neuropipe.reports.comparison import ConfigRow, EnergyReport

# File name -> title, in the order the report shows them.
PLOTS = {
    "answer.png": "At equal accuracy: conventional vs bio-inspired, energy per inference by level",
    "spike_rate.png": "Where spikes pay: energy per inference against spikes per synapse",
    "layer_ops.png": "Operations per layer and inference",
    "training_energy.png": "Training energy per run (incl. PUE)",
    "break_even.png": "Break-even: training + N × inference energy",
    "training_vs_accuracy.png": "Training energy vs best accuracy, by learning rule",
    "rate_penalty.png": "Sparse codes: accuracy vs spikes per inference at each rate penalty",
    "aspects.png": "Aspects: energy ratio to the plain counterpart against accuracy difference",
}


def render_plots(report: EnergyReport) -> dict[str, bytes]:
    """Every plot of the report as PNG bytes, by file name."""
    from neuropipe.reports.report.headline import headline, spike_rate

    plots = {"answer.png": _png(headline(report))}
    if any(t.rate for t in report.spike_ties):
        plots["spike_rate.png"] = _png(spike_rate(report))
    plots.update({"layer_ops.png": _png(_layer_ops(report)),
             "training_energy.png": _png(_training(report)),
             "break_even.png": _png(_break_even(report)),
             "training_vs_accuracy.png": _png(_training_vs_accuracy(report))})
    if report.sparsity:
        plots["rate_penalty.png"] = _png(_rate_penalty(report))
    if any(a.ratios for a in report.aspects):
        plots["aspects.png"] = _png(_aspects(report))
    return plots


def figure(panels: int, width: float = 6.0, height: float = 4.2, cols: int = 2
            ) -> tuple[Any, list[Any]]:
    """A figure with ``panels`` axes on a grid of ``cols`` columns, constrained layout."""
    from matplotlib.figure import Figure

    cols = min(cols, max(panels, 1))
    rows = math.ceil(max(panels, 1) / cols)
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(max(panels, 1))]
    return fig, axes


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def _colours(targets: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {t: cmap(i % 10) for i, t in enumerate(targets)}


def _layer_ops(report: EnergyReport) -> Any:
    runs = report.comparison.runs
    fig, axes = figure(len(runs), width=5.0, height=3.2, cols=3)
    colours = _colours(report.comparison.targets)
    for ax, run in zip(axes, runs, strict=False):
        configs: list[ConfigRow] = [c for c in report.comparison.configs if c.run == run]
        width = 0.8 / max(len(configs), 1)
        for j, c in enumerate(configs):
            xs = [i + j * width for i in range(len(c.layers))]
            ops = [max(lr.ops, 1e-9) for lr in c.layers]
            hatch = ["//" if lr.host_macs > lr.synops else "" for lr in c.layers]
            bars = ax.bar(xs, ops, width=width, color=colours[c.target], label=c.target)
            for bar, h in zip(bars, hatch, strict=True):
                bar.set_hatch(h)
        names = max((c.layers for c in configs), key=len, default=[])
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))],
                      [lr.name for lr in names], fontsize=7)
        ax.set_yscale("log")
        ax.set_title(run, fontsize=9)
        ax.set_ylabel("ops / inference", fontsize=8)
        ax.legend(fontsize=7)
    fig.suptitle("Operations per layer and inference: synops, or dense ops on cpu/gpu "
                 "(hatched: mostly MACs on the host)", fontsize=10)
    return fig


def _training(report: EnergyReport) -> Any:
    fig, (ax,) = figure(1, width=7.0, height=0.5 + 0.35 * len(report.comparison.runs))
    seen: dict[str, ConfigRow] = {}
    for c in report.comparison.configs:
        seen.setdefault(c.run, c)
    names = list(seen)
    values = [seen[r].training.joules_pue for r in names]
    ax.barh(names, values, color=["tab:gray" if seen[r].training.method == "estimate"
                                  else "tab:blue" for r in names])
    for i, r in enumerate(names):
        ax.annotate(f" {seen[r].training.kwh_pue:.2g} kWh, {seen[r].training.method}",
                    (values[i], i), va="center", fontsize=7)
    if values and min(values) > 0 and max(values) / min(values) > 100:
        ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("training energy incl. PUE, J (grey: estimate, blue: measured)")
    ax.margins(x=0.3)
    return fig


def _break_even(report: EnergyReport) -> Any:
    import numpy as np

    from neuropipe.core.levels import in_level_order

    levels = in_level_order({b.level for b in report.break_even})
    fig, axes = figure(len(levels))
    colours = _colours(report.comparison.targets)
    n = np.logspace(0, 12, 200)
    for ax, level in zip(axes, levels, strict=False):
        for b in (b for b in report.break_even if b.level == level):
            ax.plot(n, b.training_j + n * b.inference_j, color=colours[b.target],
                    label=f"{b.run} on {b.target}",
                    linestyle="--" if b.verdict == "is-baseline" else "-")
            if b.n is not None and b.n >= 1:
                ax.plot([b.n], [b.total_j(b.n)], "ko", markersize=4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{level} level (dashed: baseline; dots: break-even)", fontsize=9)
        ax.set_xlabel("inferences N")
        ax.set_ylabel("training + N × inference, J")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def _training_vs_accuracy(report: EnergyReport) -> Any:
    fig, (ax,) = figure(1, width=7.0, height=4.5)
    rules = list(dict.fromkeys(r.learning for r in report.training_choice))
    colours = _colours(rules)
    for r in report.training_choice:
        ax.scatter(r.training_j, r.accuracy * 100, color=colours[r.learning], s=45, zorder=3,
                   marker="o" if r.method == "measured" else "D")
        ax.annotate(r.run, (r.training_j, r.accuracy * 100), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")
    ax.axhline(report.threshold * 100, color="tab:red", linewidth=0.8, linestyle=":",
               label=f"threshold {report.threshold:.2%}")
    values = [r.training_j for r in report.training_choice if r.training_j > 0]
    if values and max(values) / min(values) > 100:
        ax.set_xscale("log")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=col, label=rule)
               for rule, col in colours.items()]
    handles += [Line2D([], [], marker="D", linestyle="", color="0.5", label="estimated energy")]
    handles += ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=7, loc="best")
    ax.set_xlabel("training energy incl. PUE, J")
    ax.set_ylabel("best accuracy on any target (%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title("Training energy vs accuracy, by learning rule", fontsize=10)
    return fig


def _rate_penalty(report: EnergyReport) -> Any:
    fig, axes = figure(2)
    targets = list(dict.fromkeys(p.target for p in report.sparsity))
    colours = _colours(targets)
    panels = ((axes[0], "spikes", "spikes per inference", False),
              (axes[1], "device_j", "device energy per inference, J (each target's default "
               "estimate; compare within a target)", True))
    for ax, attr, label, log in panels:
        for (model, target) in dict.fromkeys((p.model, p.target) for p in report.sparsity):
            mine = [p for p in report.sparsity if p.model == model and p.target == target
                    and getattr(p, attr) is not None]
            if not mine:
                continue
            xs = [getattr(p, attr) for p in mine]
            ax.plot(xs, [p.accuracy * 100 for p in mine], "o-", color=colours[target],
                    label=f"{model} on {target}")
            for p, x in zip(mine, xs, strict=True):
                ax.annotate(f"{p.rate_penalty:g}", (x, p.accuracy * 100), fontsize=7,
                            xytext=(4, -10), textcoords="offset points")
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(label, fontsize=8)
        ax.set_ylabel("accuracy on the target (%)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Sparse codes: accuracy against spikes and device energy (labels: rate "
                 "penalty)", fontsize=10)
    return fig


def _aspects(report: EnergyReport) -> Any:
    """One panel per level: each aspect's energy ratio (log) against its accuracy difference."""
    levels = [lv for lv in report.levels if any(lv in a.ratios for a in report.aspects)]
    fig, axes = figure(len(levels), width=5.5, height=4.0)
    colours = _colours(list(dict.fromkeys(a.aspect for a in report.aspects)))
    for ax, level in zip(axes, levels, strict=False):
        for a in report.aspects:
            if level not in a.ratios or a.accuracy_diff is None:
                continue
            ax.scatter(a.accuracy_diff * 100, a.ratios[level], color=colours[a.aspect],
                       label=a.aspect, s=30)
            ax.annotate(f"{a.setting} ({a.target})", (a.accuracy_diff * 100, a.ratios[level]),
                        fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xlabel("accuracy difference to the plain counterpart (pp)")
        ax.set_ylabel("energy per inference / plain counterpart's")
        ax.set_title(f"{level} level", fontsize=10)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(unique.values(), unique.keys(), fontsize=7)
    return fig
