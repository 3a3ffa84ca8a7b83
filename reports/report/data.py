"""The report as data: JSON (the report record itself) and CSV (every number, one per row)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from neuropipe.reports.comparison import EnergyReport
from neuropipe.reports.rows import ConfigRow

CSV_COLUMNS = ("section", "run", "model", "kind", "target", "layer", "level", "cost_model",
               "quantity", "value", "unit", "note")


def render_json(report: EnergyReport) -> str:
    """``report.json``: the report record, readable back with ``EnergyReport.read``."""
    return json.dumps(report.to_dict(), indent=2) + "\n"


def csv_rows(report: EnergyReport) -> list[dict[str, Any]]:
    """Every number of the report in long form: one row per quantity."""
    rows: list[dict[str, Any]] = [dict(section="report", quantity="threshold",
                                       value=report.threshold, unit="fraction",
                                       note=report.threshold_source)]
    for c in report.comparison.configs:
        rows += _config_rows(c)
    for m in report.comparison.missing:
        rows.append(dict(section="missing", run=m.run, target=m.target, note="no deployment"))
    rows += _selection_rows(report)
    rows += _finding_rows(report)
    return rows


def _config_rows(c: ConfigRow) -> list[dict[str, Any]]:
    """One configuration's rows: its figures, energy per inference, layers and training."""
    rows = []
    who = dict(run=c.run, model=c.model, kind=c.kind, target=c.target)
    for q, unit in (("accuracy", "fraction"), ("reference_accuracy", "fraction"),
                    ("samples", "images"), ("timesteps", "steps"), ("synops", "1/inference"),
                    ("neuron_updates", "1/inference"), ("host_macs", "1/inference"),
                    ("spikes", "1/inference"), ("packets", "1/inference"),
                    ("latency_s", "s"), ("cores", "cores"), ("chips", "chips")):
        rows.append(dict(section="configuration", **who, quantity=q, value=getattr(c, q),
                         unit=unit))
    for e in c.estimates:
        note = ("default; " if e.default else "") + e.level_label
        if e.not_estimated:
            note += "; not estimated: " + ", ".join(e.not_estimated)
        for q in ("figure_j", "total_j", "device_j", "static_j", "host_j", "off_level_j"):
            rows.append(dict(section="energy-per-inference", **who, level=e.level,
                             cost_model=e.cost_model, quantity=q, value=getattr(e, q),
                             unit="J", note=note))
    for lr in c.layers:
        for q in ("neurons", "synops", "host_macs", "neuron_updates", "spikes"):
            rows.append(dict(section="layer", **who, layer=lr.name, quantity=q,
                             value=getattr(lr, q), unit="1/inference", note=lr.kind))
    t = c.training
    for q, unit in (("joules", "J"), ("kwh", "kWh"), ("pue", ""), ("kwh_pue", "kWh"),
                    ("joules_pue", "J"), ("co2e_kg", "kg")):
        rows.append(dict(section="training", **who, quantity=q, value=getattr(t, q),
                         unit=unit, note=t.method))
    return rows


def _selection_rows(report: EnergyReport) -> list[dict[str, Any]]:
    """The rows of the equal-accuracy selection and of the answer."""
    rows = []
    for s in report.selection:
        for q, unit in (("accuracy", "fraction"), ("energy_j", "J"),
                        ("baseline_energy_j", "J"), ("ratio", "")):
            rows.append(dict(section="equal-accuracy", run=s.run or "", target=s.target,
                             level=s.level, cost_model=s.cost_model, quantity=q,
                             value=getattr(s, q), unit=unit,
                             note=f"{s.side}; baseline: {s.baseline_run or '-'} on "
                                  f"{s.baseline_target or '-'} ({s.baseline_basis or '-'}); "
                                  f"{s.comment}"))
    for ln in report.answer.lines:
        for q, unit in (("bio_j", "J"), ("conventional_j", "J"), ("ratio", "")):
            rows.append(dict(section="answer", level=ln.level, quantity=q, value=getattr(ln, q),
                             unit=unit, note=f"bio-inspired: {ln.bio or '-'}; conventional: "
                                             f"{ln.conventional or '-'}; "
                                             f"{ln.fact or ln.reason}"))
    return rows


def _finding_rows(report: EnergyReport) -> list[dict[str, Any]]:
    """The rows of spike ties, break-even points, training choice, sparsity and aspects."""
    rows = []
    for t in report.spike_ties:
        for q, unit in (("synapses", "synapses"), ("synops", "1/inference"),
                        ("rate", "spikes/synapse/inference"), ("energy_j", "J"),
                        ("spike_j", "J"), ("fixed_j", "J"), ("baseline_j", "J"),
                        ("tie_synops", "1/inference"), ("tie_rate", "spikes/synapse/inference")):
            rows.append(dict(section="spike-tie", run=t.run, kind="snn", target=t.target,
                             level=t.level, cost_model=t.cost_model, quantity=q,
                             value=getattr(t, q), unit=unit,
                             note=f"{t.verdict}; baseline: {t.baseline_run} on "
                                  f"{t.baseline_target}"))
    for b in report.break_even:
        for q in ("training_j", "inference_j", "baseline_training_j", "baseline_inference_j",
                  "n"):
            rows.append(dict(section="break-even", run=b.run, target=b.target, level=b.level,
                             cost_model=b.cost_model, quantity=q, value=getattr(b, q),
                             unit="inferences" if q == "n" else "J",
                             note=f"{b.verdict}; baseline: {b.baseline_run or '-'}"))
    for r in report.training_choice:
        for q, unit in (("accuracy", "fraction"), ("training_j", "J"), ("ratio", "")):
            rows.append(dict(section="training-at-equal-accuracy", run=r.run, model=r.model,
                             target=r.target, quantity=q, value=getattr(r, q), unit=unit,
                             note=f"{r.learning}; reaches threshold: {r.reaches}; baseline: "
                                  f"{r.baseline_run or '-'}"))
    for p in report.sparsity:
        for q, unit in (("rate_penalty", ""), ("accuracy", "fraction"),
                        ("spikes", "1/inference"), ("synops", "1/inference"),
                        ("energy_j", "J"), ("device_j", "J")):
            rows.append(dict(section="sparsity", run=p.run, model=p.model, kind="snn",
                             target=p.target, level=p.level, cost_model=p.cost_model,
                             quantity=q, value=getattr(p, q), unit=unit))
    for a in report.aspects:
        note = f"{a.aspect}: {a.setting}; plain: {a.plain_run or '-'}"
        for q, unit, value in (("accuracy_diff", "fraction", a.accuracy_diff),
                               ("input_spikes", "1/inference", a.input_spikes)):
            rows.append(dict(section="aspect", run=a.run, model=a.model, target=a.target,
                             quantity=q, value=value, unit=unit, note=note))
        for level, ratio in a.ratios.items():
            rows.append(dict(section="aspect", run=a.run, model=a.model, target=a.target,
                             level=level, cost_model=a.cost_models.get(level, ""),
                             quantity="energy_ratio", value=ratio, unit="", note=note))
    return rows


def render_csv(report: EnergyReport) -> str:
    """``report.csv``: columns ``CSV_COLUMNS``; empty value where a figure is unknown."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(report):
        writer.writerow({k: "" if row.get(k) is None else row.get(k, "") for k in CSV_COLUMNS})
    return buf.getvalue()
