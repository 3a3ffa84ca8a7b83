"""The report as Markdown, linking the PNG plots written beside it."""

from __future__ import annotations

from neuropipe.reports.comparison import EnergyReport
from neuropipe.reports.report import text
from neuropipe.reports.report.plots import PLOTS


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def table(t: text.Table) -> list[str]:
    """A table section as Markdown lines."""
    lines = [f"## {t.title}", "", *[p + "\n" for p in t.intro]]
    lines.append("| " + " | ".join(_cell(h) for h in t.headers) + " |")
    lines.append("|" + "---|" * len(t.headers))
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    lines.append("")
    lines += [f"- {n}" for n in t.notes]
    return [*lines, ""] if t.notes else lines


def render_markdown(report: EnergyReport, plots: list[str]) -> str:
    """The whole report; ``plots`` are the PNG file names written beside it."""
    lines = [f"# {text.TITLE}: {', '.join(report.comparison.runs)}", "",
             f"Made {report.created} from runs on {report.comparison.dataset}: "
             + ", ".join(f"`{p}`" for p in report.comparison.sources.values()) + ".", ""]
    lines += table(text.answer_table(report))
    if text.HEADLINE in plots:
        lines += [f"![{PLOTS[text.HEADLINE]}]({text.HEADLINE})", ""]
    lines += ["## Levels", "", "Every energy figure is labelled with one of these levels; "
              "figures at different levels are never compared.", ""]
    lines += [f"- {d}" for d in text.levels_section(report)] + [""]
    for t in text.tables(report):
        lines += table(t)
        if t.title.startswith(text.SPIKE_TITLE) and text.SPIKE_PLOT in plots:
            lines += [f"![{PLOTS[text.SPIKE_PLOT]}]({text.SPIKE_PLOT})", ""]
    rest = [n for n in plots if n not in (text.HEADLINE, text.SPIKE_PLOT)]
    if rest:
        lines += ["## Plots", ""]
        lines += [f"![{PLOTS.get(name, name)}]({name})\n" for name in rest]
    lines += ["## What each figure leaves out", ""]
    for title, items in text.leaves_out_sections(report):
        lines += [f"**{title}**", "", *[f"- {i}" for i in items], ""]
    lines += ["## Notes", "", *[f"- {n}" for n in text.notes(report)], ""]
    return "\n".join(lines)
