"""The report's two answer plots: the headline, and where spikes pay.

The headline: conventional vs bio-inspired per level. Where spikes pay: energy per inference
against spikes per synapse, with the conventional baselines.
"""

from __future__ import annotations

from typing import Any

from neuropipe.reports.comparison import ConfigRow, EnergyReport

# Two clearly different marks: conventional (ANN) and bio-inspired (SNN).
SIDES = {
    "conventional": dict(marker="s", color="tab:blue", label="conventional (ANN on the device)"),
    "bio-inspired": dict(marker="o", color="tab:orange",
                         label="bio-inspired (SNN on the device)"),
}


def points(report: EnergyReport, level: str
           ) -> list[tuple[float, float, str, list[str], bool, set[str]]]:
    """Points of one panel: (accuracy %, joules, side, labels, wholly on the device, members).

    Configurations whose figures coincide (same side, accuracy to 0.01 point, energy to 4
    digits) are one point labelled for all of them.
    """
    groups: dict[tuple[str, float, float, bool], list[ConfigRow]] = {}
    for c in report.comparison.configs:
        e = c.at_level(level)
        if e is None or e.figure_j <= 0:
            continue
        whole = c.whole_at(level)
        key = (c.side, round(c.accuracy * 100, 2), float(f"{e.figure_j:.4g}"), whole)
        groups.setdefault(key, []).append(c)
    return [(acc, j, side, _merged(cs), whole, {c.label for c in cs})
            for (side, acc, j, whole), cs in groups.items()]


def _merged(configs: list[ConfigRow]) -> list[str]:
    """Labels of coinciding configurations: ``mlp on cpu, gpu`` when one run shares them."""
    runs: dict[str, list[str]] = {}
    for c in configs:
        runs.setdefault(c.run, []).append(c.target)
    return [f"{run} on {', '.join(targets)}" for run, targets in runs.items()]


def headline(report: EnergyReport) -> Any:
    """Per level one panel: accuracy vs energy per inference (log), the two sides marked apart."""
    from neuropipe.reports.report.plots import figure

    at = {lv: points(report, lv) for lv in report.levels}
    levels = [lv for lv in report.levels if at[lv]]
    fig, axes = figure(len(levels), width=6.2, height=4.4, cols=2 if len(levels) == 4 else 3)
    answer = {ln.level: ln for ln in report.answer.lines}
    panels: list[tuple[Any, list[tuple[float, float, str, Any]]]] = []
    for ax, level in zip(axes, levels, strict=False):
        line = answer.get(level)
        picks = {line.bio, line.conventional} if line else set()
        labels_here = []
        for acc, joules, side, labels, whole, members in at[level]:
            style = SIDES[side]
            ax.scatter(acc, joules, marker=style["marker"], s=60, zorder=3,
                       facecolors=style["color"] if whole else "none",
                       edgecolors=style["color"], linewidths=1.5)
            if members & picks:  # the two the answer sets against each other; hollow points
                # (first layer on the host) are explained by the legend and named in the text
                labels_here.append((acc, joules, " + ".join(labels), style["color"]))
        panels.append((ax, labels_here))
        ax.axvline(report.threshold * 100, color="tab:red", linewidth=1, linestyle=":")
        ax.set_yscale("log")
        ax.margins(y=0.35)
        xs = [p[0] for p in at[level]] + [report.threshold * 100]
        pad = max((max(xs) - min(xs)) * 0.25, 0.25)
        ax.set_xlim(min(xs) - pad, min(max(xs) + pad, 100.0 + pad / 4))
        title = f"{level} level"
        if line is not None and line.ratio is not None:
            title += f": bio-inspired / conventional = {line.ratio:.3g}×"
        elif line is not None:
            title += ": no pair"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("accuracy on the target (%)")
        ax.set_ylabel(f"energy per inference, J ({level} level only)")
        ax.grid(True, which="both", alpha=0.3)
    hollow = any(not p[4] for lv in levels for p in at[lv])
    _legend(fig, report, hollow)
    place_labels(fig, panels)
    return fig


# Where a label may sit around its point: offset in points, horizontal and vertical alignment.
_SPOTS = ((0, 12, "center", "bottom"), (0, -12, "center", "top"), (10, 0, "left", "center"),
          (-10, 0, "right", "center"), (10, 10, "left", "bottom"), (-10, 10, "right", "bottom"),
          (10, -10, "left", "top"), (-10, -10, "right", "top"))


def place_labels(fig: Any, panels: list[tuple[Any, list[tuple[float, float, str, Any]]]]
                 ) -> None:
    """Label points where the text overlaps no other label, no point and stays in its panel.

    Each label tries the spots around its point in turn; if none is free, it takes the one
    with the least overlap.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax, labels in panels:
        frame = ax.get_window_extent(renderer)
        dots = [d for c in ax.collections for d in ax.transData.transform(c.get_offsets())]
        placed: list[Any] = []
        for x, y, text, colour in labels:
            best = None
            for dx, dy, ha, va in _SPOTS:
                ann = ax.annotate(text, (x, y), fontsize=8, xytext=(dx, dy),
                                  textcoords="offset points", ha=ha, va=va, color=colour,
                                  bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none",
                                            alpha=0.85),
                                  # a leader line, so a label is never read as another point's
                                  arrowprops=dict(arrowstyle="-", color=colour, lw=0.6,
                                                  shrinkA=0, shrinkB=4))
                box = ann.get_window_extent(renderer).expanded(1.05, 1.1)
                cost = (sum(_overlap(box, b) for b in placed)
                        + sum(box.padded(5).contains(px, py) for px, py in dots) * 50.0
                        + (0.0 if _inside(box, frame) else 1e6))
                if best is None or cost < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (cost, ann, box)
                else:
                    ann.remove()
                if cost == 0:
                    break
            if best is not None:
                placed.append(best[2])


def _overlap(a: Any, b: Any) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _inside(box: Any, frame: Any) -> bool:
    return (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
            and box.y1 <= frame.y1)


def _legend(fig: Any, report: EnergyReport, hollow: bool) -> None:
    """One legend for the figure, below the panels (never over data)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker=v["marker"], linestyle="", color=v["color"],
                      markersize=8, label=v["label"]) for v in SIDES.values()]
    if hollow:
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="none",
                              markeredgecolor="0.3", markersize=8,
                              label="hollow: chip part only, first layer on the host"))
    handles.append(Line2D([], [], color="tab:red", linestyle=":",
                          label=f"equal-accuracy threshold {report.threshold:.2%}"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)


def _tie_name(t: Any) -> str:
    return f"{t.run} on {t.target}" + ("" if t.whole_on_device else " (chip part)")


def spike_rate(report: EnergyReport) -> Any:
    """Per level, each SNN's energy against spikes per synapse; baselines as horizontal lines."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    from neuropipe.reports.report.plots import figure

    ties = [t for t in report.spike_ties if t.rate is not None and t.rate > 0]
    levels = list(dict.fromkeys(t.level for t in ties))
    fig, axes = figure(len(levels), width=6.2, height=4.2, cols=2)
    cmap = colormaps["tab10"]
    names = dict.fromkeys(_tie_name(t) for t in ties)
    colours = {name: cmap(i % 10) for i, name in enumerate(names)}
    for ax, level in zip(axes, levels, strict=False):
        mine = [t for t in ties if t.level == level]
        top = max(max(3 * (t.rate or 0), 2 * (t.tie_rate or 0)) for t in mine)
        low = min(t.rate or top for t in mine) / 3
        x = np.logspace(np.log10(low), np.log10(top), 200)
        for t in mine:
            colour = colours[_tie_name(t)]
            ax.plot(x, [t.energy_at(v) for v in x], color=colour)
            ax.plot([t.rate], [t.energy_j], "o", color=colour, markersize=7)
            if t.tie_rate is not None and t.tie_rate <= top:
                ax.plot([t.tie_rate], [t.baseline_j], "x", color="black", markersize=7)
        for base, joules in dict.fromkeys((f"{t.baseline_run} on {t.baseline_target}",
                                           t.baseline_j) for t in mine):
            ax.axhline(joules, color="0.3", linestyle="--", linewidth=1)
            ax.annotate(f"baseline: {base}", (0.01, joules), xycoords=("axes fraction", "data"),
                        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8),
                        fontsize=8, xytext=(0, 3), textcoords="offset points", color="0.3")
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set_xlim(low, top)
        ax.set_title(f"{level} level", fontsize=10)
        ax.set_xlabel("spikes per synapse per inference (synaptic events / deployed synapses)")
        ax.set_ylabel(f"energy per inference, J ({level} level)")
        ax.grid(True, which="both", alpha=0.3)
    handles = [Line2D([], [], color=c, marker="o", label=name) for name, c in colours.items()]
    handles += [Line2D([], [], color="0.3", linestyle="--", label="conventional baseline"),
                Line2D([], [], color="black", marker="x", linestyle="", label="tie")]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    return fig
