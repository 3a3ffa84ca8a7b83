"""Training energy at equal accuracy and the rate-penalty trade-off, on hand-made rows."""

import pytest

from neuropipe.reports.comparison import (
    J_PER_KWH,
    Comparison,
    ConfigRow,
    EnergyReport,
    EstimateRow,
    TrainingRow,
    build_report,
)
from neuropipe.reports.learning_views import sparsity_points, training_choices
from neuropipe.reports.report.data import render_csv
from neuropipe.reports.report.output import render_files


def row(run, model, kind, target, acc, train_j, learning="backprop", penalty=0.0, spikes=0.0,
        energy=1e-6):
    return ConfigRow(run=run, model=model, kind=kind, dataset="mnist", target=target,
                     accuracy=acc, samples=10**6, spikes=spikes, learning=learning,
                     rate_penalty=penalty,
                     estimates=[EstimateRow(cost_model="m", level="chip", default=True,
                                            total_j=energy, device_j=energy,
                                            term_levels=["chip"])],
                     training=TrainingRow(kwh_pue=train_j / J_PER_KWH,
                                          methods={"cpu": "estimate"}))


def rows():
    return [
        row("mlp", "mlp", "ann", "cpu", 0.975, 300.0),
        row("mlp", "mlp", "ann", "loihi", 0.972, 300.0),
        row("snn", "snn-mlp", "snn", "loihi", 0.978, 2000.0, spikes=900.0),
        row("snn-p", "snn-mlp", "snn", "loihi", 0.960, 2100.0, penalty=0.5, spikes=300.0,
            energy=4e-7),
        row("stdp", "stdp", "snn", "loihi", 0.88, 900.0, learning="stdp"),
        row("lsm", "lsm", "snn", "loihi", 0.955, 120.0, learning="ridge"),
    ]


def test_training_ratio_is_against_the_cheapest_backprop_run_reaching_the_threshold():
    choices = {r.run: r for r in training_choices(rows(), 0.95)}
    # Best accuracies: mlp 0.975 on cpu; backprop runs reaching 0.95: mlp (300 J), snn (2000 J),
    # snn-p (2100 J) -> baseline mlp.
    assert choices["mlp"].target == "cpu" and choices["mlp"].accuracy == 0.975
    assert {r.baseline_run for r in choices.values()} == {"mlp"}
    assert choices["lsm"].ratio == pytest.approx(120.0 / 300.0)
    assert choices["snn"].ratio == pytest.approx(2000.0 / 300.0)
    assert choices["mlp"].ratio == pytest.approx(1.0)
    # stdp misses 0.95: no ratio, and it is never the baseline although it is not backprop.
    assert not choices["stdp"].reaches and choices["stdp"].ratio is None
    assert choices["stdp"].learning == "stdp"


def test_a_local_rule_is_never_the_baseline_even_when_cheapest():
    choices = training_choices(rows(), 0.85)
    # At 0.85 lsm (120 J, ridge) is the cheapest run but not backprop: baseline stays mlp.
    assert {r.baseline_run for r in choices} == {"mlp"}
    assert next(r for r in choices if r.run == "stdp").ratio == pytest.approx(3.0)


def test_no_backprop_run_at_the_threshold_gives_no_ratio():
    choices = training_choices(rows(), 0.977)
    # Only snn (0.978) reaches it, and it is backprop: it is its own baseline.
    assert [r.run for r in choices if r.reaches] == ["snn"]
    assert choices[0].baseline_run == "snn"
    assert all(r.ratio is None for r in choices if r.run != "snn")
    assert training_choices(rows()[4:], 0.5)[0].baseline_run is None


def test_sparsity_lists_models_trained_at_two_or_more_penalties_in_penalty_order():
    points = sparsity_points(rows())
    assert [(p.run, p.rate_penalty, p.spikes) for p in points] == [
        ("snn", 0.0, 900.0), ("snn-p", 0.5, 300.0)]
    assert points[1].energy_j == pytest.approx(4e-7) and points[1].level == "chip"
    assert points[1].device_j == pytest.approx(4e-7)
    assert sparsity_points(rows()[:3]) == []


def test_report_shows_both_views_and_reads_back():
    configs = rows()
    report = build_report(Comparison(dataset="mnist", runs=sorted({c.run for c in configs}),
                                     configs=configs), 0.95, created="now")
    files = render_files(report, ("md", "html", "json", "csv"))
    md = files["report.md"].decode()
    assert "Training energy at equal accuracy (95.00%)" in md
    assert "| lsm | lsm | ridge | 95.50% on loihi | yes |" in md
    assert "Sparse codes: the rate-penalty trade-off" in md and "rate_penalty.png" in files
    assert "training_vs_accuracy.png" in files
    back = EnergyReport.from_dict(report.to_dict())
    assert back.training_choice == report.training_choice and back.sparsity == report.sparsity
    csv_text = render_csv(report)
    assert "training-at-equal-accuracy,lsm,lsm,,loihi,,,,ratio,0.4," in csv_text
    assert "sparsity,snn-p,snn-mlp,snn,loihi,,chip,m,rate_penalty,0.5," in csv_text


def test_metrics_written_before_learning_was_recorded_read_as_backprop():
    from neuropipe.models.records import TrainMetrics

    old = TrainMetrics(model="mlp", kind="ann").to_dict()
    del old["learning"]
    assert TrainMetrics.from_dict(old).learning == "backprop"
    assert TrainMetrics.from_dict({**old, "learning": "stdp"}).learning == "stdp"
