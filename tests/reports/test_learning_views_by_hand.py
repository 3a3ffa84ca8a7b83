"""Training at equal accuracy and the sparsity points, edge by edge, by hand.

Issue 23: mutants of ``reports/learning_views.py``. Energies are picked so that any other
baseline gives another ratio.
"""

import pytest

from neuropipe.reports.comparison import J_PER_KWH, ConfigRow, EstimateRow, TrainingRow
from neuropipe.reports.learning_views import best_per_run, sparsity_points, training_choices


def row(run, acc, train_j=0.0, learning="backprop", samples=10**6, target="cpu",
        model="snn-mlp", kind="snn", penalty=0.0, estimates=(), methods=None):
    return ConfigRow(run=run, model=model, kind=kind, target=target, accuracy=acc,
                     samples=samples, learning=learning, rate_penalty=penalty,
                     estimates=list(estimates),
                     training=TrainingRow(kwh_pue=train_j / J_PER_KWH,
                                          methods=methods or {"cpu": "rapl"}))


def test_each_runs_best_accuracy_first_given_on_a_tie():
    a_cpu, a_gpu, a_loihi = row("a", 0.95), row("a", 0.95, target="gpu"), row("a", 0.9)
    b = row("b", 0.5, target="loihi")
    assert best_per_run([a_cpu, a_gpu, b, a_loihi]) == {"a": a_cpu, "b": b}
    assert best_per_run([a_loihi, a_gpu, a_cpu])["a"] is a_gpu  # 0.95 beats 0.9


def test_the_baseline_and_ratios_at_the_edges_of_reaching():
    # threshold 0.625 with tolerance 0.125: 0.5 reaches exactly; 0.45 on only 20 images reaches
    # through its Wilson interval (top 0.658 >= 0.625); 0.4 on 10^6 images does not
    configs = [
        row("edge", 0.5, 400.0),
        row("lr", 0.7, 100.0, learning="ridge", methods={"cpu": "estimate"}),
        row("wil", 0.45, 50.0, samples=20),
        row("miss", 0.4, 10.0),  # cheapest, but below: neither baseline nor ratio
        row("old", 0.6, 25.0, learning=""),  # a record older than the field: backprop
    ]
    got = {r.run: r for r in training_choices(configs, 0.625, 0.125)}
    assert {r: c.reaches for r, c in got.items()} == {
        "edge": True, "lr": True, "wil": True, "miss": False, "old": True}
    assert got["old"].learning == "backprop" and got["lr"].learning == "ridge"
    assert {c.baseline_run for c in got.values()} == {"old"}  # 25 J, the cheapest backprop
    # each over old's 25 J: 400 / 25 = 16, 100 / 25 = 4, 50 / 25 = 2, 25 / 25 = 1
    assert {r: c.ratio for r, c in got.items()} == {
        "edge": 16.0, "lr": 4.0, "wil": 2.0, "miss": None, "old": 1.0}
    assert got["edge"].training_j == pytest.approx(400.0)
    assert (got["lr"].method, got["edge"].method) == ("estimate", "measured")
    assert (got["wil"].accuracy, got["wil"].target, got["wil"].model) == (0.45, "cpu", "snn-mlp")
    # without the tolerance 0.5 misses 0.625 (its interval on 10^6 images is narrow)
    assert not {r.run: r for r in training_choices(configs, 0.625)}["edge"].reaches


def test_a_baseline_without_training_energy_gives_no_ratio():
    got = training_choices([row("free", 0.9, 0.0), row("paid", 0.9, 30.0)], 0.8)
    assert [(r.baseline_run, r.ratio) for r in got] == [("free", None), ("free", None)]


def est(total, device, default=True, estimated=True, levels=("chip",)):
    return EstimateRow(cost_model="m", level="chip", default=default, total_j=total,
                       device_j=device, estimated=estimated, term_levels=list(levels))


def test_sparsity_points_in_order_and_their_figures():
    configs = [
        row("s3", 0.93, target="loihi", penalty=0.1, estimates=[est(1.0, 0.75)]),
        row("s0", 0.97, target="loihi", estimates=[
            est(9.0, 9.0, default=False), est(2.0, 1.5, levels=("chip", "system"))]),
        row("s1", 0.95, target="loihi", penalty=0.1, estimates=[est(3.0, 2.0, estimated=False)]),
        row("s2", 0.91, target="cpu", penalty=0.5),  # no estimate at all
        row("a0", 0.97, model="mlp", kind="ann"), row("a1", 0.9, model="mlp", kind="ann",
                                                      penalty=0.1),  # ANNs: not spiking
        row("c0", 0.98, model="snn-cnn", penalty=0.2),  # one penalty only
    ]
    configs[0].spikes, configs[0].synops = 12.0, 34.0
    points = sparsity_points(configs)
    assert [(p.target, p.rate_penalty, p.run) for p in points] == [
        ("cpu", 0.5, "s2"), ("loihi", 0.0, "s0"), ("loihi", 0.1, "s1"), ("loihi", 0.1, "s3")]
    s2, s0, s1, s3 = points
    assert (s0.energy_j, s0.device_j, s0.level, s0.cost_model) == (
        2.0, 1.5, "chip + system-level terms", "m")  # the default estimate, not the first
    assert (s1.energy_j, s1.device_j, s1.level, s1.cost_model) == (None, None, "chip", "m")
    assert (s2.energy_j, s2.device_j, s2.level, s2.cost_model) == (None, None, "", "")
    assert (s3.energy_j, s3.device_j, s3.accuracy, s3.model) == (1.0, 0.75, 0.93, "snn-mlp")
    assert (s3.spikes, s3.synops) == (12.0, 34.0)
    assert sparsity_points([row("x", 0.9, model="m1", penalty=0.1),
                            row("y", 0.9, model="m2", penalty=0.2)]) == []


def test_a_baseline_under_one_joule_still_gives_ratios():
    got = training_choices([row("small", 0.9, 0.5), row("big", 0.9, 2.0)], 0.8)
    assert [(r.baseline_run, r.ratio) for r in got] == [("small", 1.0), ("small", 4.0)]
