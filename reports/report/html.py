"""The report as one self-contained HTML file: short CSS, plots embedded as data URIs."""

from __future__ import annotations

import base64
from html import escape

from neuropipe.reports.comparison import EnergyReport
from neuropipe.reports.report import text
from neuropipe.reports.report.plots import PLOTS

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 96em; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
th { background: #f0f0f0; } tr:nth-child(even) td { background: #fafafa; }
.wide { overflow-x: auto; } figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; }
img { max-width: 100%; border: 1px solid #eee; } .intro, .note { max-width: 60em; }
li { margin: 0.2em 0; } .answer { max-width: 60em; font-size: 1.05em; margin: 0.4em 0; }
"""


def table(t: text.Table) -> str:
    """A table section as HTML."""
    head = "".join(f"<th>{escape(h)}</th>" for h in t.headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in t.rows)
    intro = "".join(f'<p class="intro">{escape(p)}</p>' for p in t.intro)
    notes = ("<ul>" + "".join(f'<li class="note">{escape(n)}</li>' for n in t.notes) + "</ul>"
             if t.notes else "")
    if t.title == "Answer":
        intro = "".join(f'<p class="answer">{escape(p)}</p>' for p in t.intro)
    return (f"<h2>{escape(t.title)}</h2>{intro}<div class=\"wide\"><table><thead><tr>{head}"
            f"</tr></thead><tbody>{body}</tbody></table></div>{notes}")


def _figure(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    title = escape(PLOTS.get(name, name))
    return (f'<figure><img alt="{title}" src="data:image/png;base64,{data}">'
            f"<figcaption>{title}</figcaption></figure>")


def render_html(report: EnergyReport, plots: dict[str, bytes]) -> str:
    """The whole report; ``plots`` are PNG bytes by file name, embedded in the page."""
    runs = ", ".join(report.comparison.runs)
    parts = [f"<h1>{escape(text.TITLE)}: {escape(runs)}</h1>",
             f"<p>Made {escape(report.created)} from runs on "
             f"{escape(report.comparison.dataset)}: "
             + ", ".join(f"<code>{escape(p)}</code>" for p in report.comparison.sources.values())
             + ".</p>"]
    parts.append(table(text.answer_table(report)))
    if text.HEADLINE in plots:
        parts.append(_figure(text.HEADLINE, plots[text.HEADLINE]))
    parts.append("<h2>Levels</h2><p>Every energy figure is labelled with one of these levels; "
                 "figures at different levels are never compared.</p><ul>"
                 + "".join(f"<li>{escape(d)}</li>" for d in text.levels_section(report))
                 + "</ul>")
    for t in text.tables(report):
        parts.append(table(t))
        if t.title.startswith(text.SPIKE_TITLE) and text.SPIKE_PLOT in plots:
            parts.append(_figure(text.SPIKE_PLOT, plots[text.SPIKE_PLOT]))
    rest = [n for n in plots if n not in (text.HEADLINE, text.SPIKE_PLOT)]
    if rest:
        parts.append("<h2>Plots</h2>")
        parts += [_figure(name, plots[name]) for name in rest]
    parts.append("<h2>What each figure leaves out</h2>")
    for title, items in text.leaves_out_sections(report):
        parts.append(f"<p><strong>{escape(title)}</strong></p><ul>"
                     + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
    parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>"
                                                for n in text.notes(report)) + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(text.TITLE)}: {escape(runs)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(parts)}</body></html>\n")
