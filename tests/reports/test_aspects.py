"""The aspects view on hand-made rows: ratios to the plain counterpart, by hand."""

import json

import pytest

from neuropipe.reports.aspects import aspect_rows
from neuropipe.reports.comparison import (
    Comparison,
    ConfigRow,
    EnergyReport,
    EstimateRow,
    TrainingRow,
    build_report,
)
from neuropipe.reports.report.data import render_csv
from neuropipe.reports.report.text import ASPECTS_TITLE, tables


def est(level, total, model="m", default=False):
    return EstimateRow(cost_model=model, level=level, default=default, total_j=total,
                       device_j=total, term_levels=[level])


def row(run, model, kind, target, acc, chip, system=None, encoding="constant", penalty=0.0,
        learning="backprop", input_spikes=0.0, modules=1):
    estimates = [est("chip", chip, default=True)]
    if system is not None:
        estimates.append(est("system", system, model="s"))
    return ConfigRow(run=run, model=model, kind=kind, dataset="mnist", target=target,
                     accuracy=acc, samples=10**6, estimates=estimates, encoding=encoding,
                     rate_penalty=penalty, learning=learning, input_spikes=input_spikes,
                     modules=modules, training=TrainingRow(methods={"cpu": "estimate"}))


def test_host_work_at_another_level_is_left_out_of_the_ratio():
    plain = row("snn", "snn-mlp", "snn", "loihi", 0.97, 4e-6)
    plain.estimates[0].total_j, plain.estimates[0].off_level_j = 1e-3 + 4e-6, 1e-3
    (lat,) = aspect_rows([plain, row("lat", "snn-mlp", "snn", "loihi", 0.93, 1e-6,
                                     encoding="latency")])
    assert lat.ratios == pytest.approx({"chip": 0.25}) and "host" in lat.comment


def configs():
    return [
        row("snn", "snn-mlp", "snn", "loihi", 0.97, 2e-6, 8e-3),
        row("snn-old", "snn-mlp", "snn", "loihi", 0.95, 1e-6),  # less accurate: not the plain
        row("snn-lat", "snn-mlp", "snn", "loihi", 0.93, 5e-7, 6e-3, encoding="latency",
            input_spikes=150.0),
        row("snn-rate", "snn-mlp", "snn", "spinnaker", 0.96, 3e-6, encoding="rate"),
        row("snn-p", "snn-mlp", "snn", "loihi", 0.96, 1e-6, penalty=0.5),
        row("lsm", "lsm", "snn", "loihi", 0.955, 4e-6, learning="ridge", encoding="poisson"),
        row("mlp", "mlp", "ann", "cpu", 0.976, 1e-5),
    ]


def test_each_aspect_against_its_plain_counterpart_by_hand():
    rows = {(r.aspect, r.run): r for r in aspect_rows(configs())}
    assert set(rows) == {("spike code", "snn-lat"), ("spike code", "snn-rate"),
                         ("sparse activity", "snn-p"), ("recurrence", "lsm")}
    lat = rows["spike code", "snn-lat"]
    assert lat.plain_run == "snn"  # the most accurate plain snn-mlp on loihi
    assert lat.ratios == pytest.approx({"chip": 0.25, "system": 0.75})
    assert lat.accuracy_diff == pytest.approx(-0.04)
    assert lat.input_spikes == 150.0 and lat.setting == "latency"
    assert rows["sparse activity", "snn-p"].ratios == pytest.approx({"chip": 0.5})
    lsm = rows["recurrence", "lsm"]  # no spike-code row for lsm: its design is the aspect
    assert lsm.plain_run == "snn" and lsm.ratios == pytest.approx({"chip": 2.0})
    rate = rows["spike code", "snn-rate"]  # nothing plain on spinnaker
    assert rate.plain_run is None and rate.ratios == {} and "spinnaker" in rate.comment


def test_lca_is_sparse_coding_against_the_plain_snn_mlp():
    lca = row("lca", "lca", "snn", "loihi", 0.95, 3e-6, learning="sparse-coding")
    (r,) = aspect_rows([row("snn", "snn-mlp", "snn", "loihi", 0.97, 2e-6), lca])
    assert (r.aspect, r.plain_run) == ("sparse coding", "snn")
    assert r.ratios == pytest.approx({"chip": 1.5})
    assert r.accuracy_diff == pytest.approx(-0.02)


def test_the_report_shows_and_keeps_the_aspects(tmp_path):
    report = build_report(Comparison(dataset="mnist", runs=["a"], configs=configs()),
                          threshold=0.9)
    table = next(t for t in tables(report) if t.title == ASPECTS_TITLE)
    assert len(table.rows) == 4 and "energy ratio, chip" in table.headers
    assert "0.25×" in {cell for r in table.rows for cell in r}
    again = EnergyReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.aspects == report.aspects
    assert "aspect,snn-lat,snn-mlp,,loihi,,chip,m / m,energy_ratio,0.25," in render_csv(report)
    older = report.to_dict()
    del older["aspects"]  # a report written before the view still reads
    assert EnergyReport.from_dict(older).aspects == []


def test_ff_run_as_a_sigma_delta_network_meets_mlp_run_that_way():
    rows = aspect_rows([
        row("mlp", "mlp", "ann", "loihi", 0.976, 1e-6, encoding="sdnn"),
        row("mlp-if", "mlp", "ann", "loihi", 0.98, 8e-6),  # constant input: not the sdnn's match
        row("ff", "ff", "ann", "loihi", 0.95, 3e-5, encoding="sdnn", learning="forward-forward"),
        row("ff-if", "ff", "ann", "loihi", 0.82, 2e-4, learning="forward-forward"),
    ])
    by_run = {r.run: r for r in rows}
    assert {r.aspect for r in rows} == {"forward-only learning"}
    assert by_run["ff"].plain_run == "mlp" and by_run["ff"].ratios == pytest.approx({"chip": 30})
    assert by_run["ff-if"].plain_run == "mlp-if"
    assert by_run["ff-if"].ratios == pytest.approx({"chip": 25})
