"""The report's answer on hand-made rows: sides by network, baselines per level and target,
equal accuracy within the test set's noise, where spikes pay, and the bad inputs."""

import pytest

from neuropipe.core.errors import InputError
from neuropipe.reports.comparison import (
    NEVER,
    BreakEven,
    Comparison,
    ConfigRow,
    EstimateRow,
    LayerRow,
    TrainingRow,
    build_report,
)
from neuropipe.reports.report.output import render_files
from neuropipe.reports.report.text import verdict
from neuropipe.reports.spike_ties import FIXED_EXCEEDS, TIES, is_spike_term
from neuropipe.reports.uncertainty import wilson_interval


def est(level, terms, model=None, default=True, static=0.0):
    """An estimate made of ``terms`` (name -> J at ``level``) plus static power."""
    spike = sum(j for n, j in terms.items() if is_spike_term(n))
    total = sum(terms.values()) + static
    return EstimateRow(cost_model=model or f"{level}-model", level=level, default=default,
                       total_j=total, device_j=total, static_j=static, term_levels=[level],
                       spike_j=spike, terms={**terms, **({"static": static} if static else {})})


def cfg(run, target, network, acc, estimates, synops=0.0, synapses=0, samples=10**6,
        kind=None, train_j=100.0):
    return ConfigRow(run=run, model=run, kind=kind or network, dataset="mnist", target=target,
                     accuracy=acc, samples=samples, synops=synops, network=network,
                     estimates=estimates,
                     layers=[LayerRow(name="dense 1", synapses=synapses, synops=synops)],
                     training=TrainingRow(kwh_pue=train_j / 3.6e6))


def build(configs, threshold=None, level=None):
    runs = list(dict.fromkeys(c.run for c in configs))
    return build_report(Comparison(dataset="mnist", runs=runs, configs=configs), threshold,
                        level=level)


def sel(rep, target, level, side="bio-inspired"):
    return next(s for s in rep.selection if (s.target, s.level, s.side) == (target, level, side))


# Wilson intervals --------------------------------------------------------------------------------

def test_wilson_interval_by_hand():
    # p = 0.9, n = 100, z = 1.96: z²/n = 0.038415; denominator 1.038415;
    # centre = (0.9 + 0.019207) / 1.038415 = 0.885202;
    # half = 1.959964 / 1.038415 × sqrt(0.0009 + 0.00009604) = 1.887457 × 0.031560 = 0.059568.
    low, high = wilson_interval(0.9, 100)
    assert (low, high) == (pytest.approx(0.825634, abs=2e-6), pytest.approx(0.944770, abs=2e-6))
    # p = 0.962, n = 2000: centre = 0.962961 / 1.001921 = 0.961115;
    # half = 1.956207 × sqrt(1.8278e-5 + 2.4009e-7) = 1.956207 × 0.0043032 = 0.0084180.
    low, high = wilson_interval(0.962, 2000)
    assert (low, high) == (pytest.approx(0.952697, abs=2e-6), pytest.approx(0.969532, abs=2e-6))
    assert wilson_interval(0.5, 0) == (0.5, 0.5)  # unknown sample count: no interval


def test_accuracy_within_the_test_sets_noise_counts_as_equal():
    # Threshold 96.25%: an SNN at 96.20% on 2,000 images (interval up to 96.95%) is admitted;
    # one at 94.00% (interval 92.87%-94.96%) is not.
    configs = [cfg("mlp", "cpu", "ann", 0.976, [est("system", {"macs": 4e-3})], samples=2000),
               cfg("snn", "loihi", "snn", 0.962, [est("system", {"synops": 1e-3})],
                   samples=2000),
               cfg("snn2", "spinnaker", "snn", 0.94, [est("system", {"synops": 1e-4})],
                   samples=2000)]
    rep = build(configs, 0.9625)
    s = sel(rep, "loihi", "system")
    assert s.run == "snn" and s.admitted and s.ratio == pytest.approx(0.25)
    assert sel(rep, "spinnaker", "system").run is None
    assert rep.answer.admitted == ["snn on loihi (96.20% on 2,000 images, 95% interval "
                                   "95.27%–96.95%)"]
    line = rep.answer.lines[0]
    assert (line.bio, line.conventional, line.ratio) == ("snn on loihi", "mlp on cpu",
                                                         pytest.approx(0.25))
    assert "admitted so: snn on loihi" in rep.answer.sentences[0]


# Baselines ----------------------------------------------------------------------------------------

def test_the_baseline_is_an_ann_never_a_spiking_run_on_cpu():
    # A spiking run on cpu is the cheapest cpu figure (1 mJ); the ANN on cpu costs 4 mJ. The
    # right baseline (the ANN) gives 2 mJ / 4 mJ = 0.5; the wrong one would give 2.0.
    configs = [cfg("snn", "cpu", "snn", 0.98, [est("system", {"macs": 1e-3})]),
               cfg("mlp", "cpu", "ann", 0.98, [est("system", {"macs": 4e-3})]),
               cfg("snn", "loihi", "snn", 0.98, [est("system", {"synops": 2e-3})])]
    rep = build(configs)
    s = sel(rep, "loihi", "system")
    assert (s.baseline_run, s.baseline_target) == ("mlp", "cpu")
    assert s.ratio == pytest.approx(0.5)
    # The spiking run on cpu is bio-inspired: against the ANN on cpu, 1 / 4 = 0.25.
    assert sel(rep, "cpu", "system").ratio == pytest.approx(0.25)
    assert sel(rep, "cpu", "system").baseline_basis == "the ANN on cpu"


def chip_configs():
    """Chip figures on loihi (SNN, and the ANN as a sigma-delta network), asic, spinnaker."""
    return [
        cfg("snn", "loihi", "snn", 0.98, [est("chip", {"synops": 0.5e-6,
                                                       "neuron_updates": 2.5e-6})],
            synops=500, synapses=1000),
        cfg("mlp", "loihi", "ann", 0.98, [est("chip", {"graded_events": 6e-6})], kind="ann"),
        cfg("snn", "asic", "snn", 0.98, [est("chip", {"synops": 3e-7, "neuron_updates": 1e-7},
                                             "asic45-snn")], synops=3000, synapses=1000),
        cfg("mlp", "asic", "ann", 0.98, [
            est("chip", {"macs": 5e-7}, "asic45-ann-dense", default=False),
            est("chip", {"macs": 2e-7}, "asic45-ann-zero-skip")], kind="ann"),
        cfg("snn", "spinnaker", "snn", 0.98, [est("chip", {"synops": 1e-6,
                                                           "neuron_updates": 4e-6})],
            synops=100, synapses=1000),
        cfg("mlp", "cpu", "ann", 0.98, [est("system", {"macs": 8e-3})]),
    ]


def test_chip_baselines_come_from_the_same_chip_else_the_cheapest_chip_figure():
    rep = build(chip_configs())
    # loihi SNN 3 µJ vs the ANN on loihi (sigma-delta) 6 µJ: 0.5.
    loihi = sel(rep, "loihi", "chip")
    assert (loihi.baseline_run, loihi.baseline_target, loihi.ratio) == (
        "mlp", "loihi", pytest.approx(0.5))
    assert loihi.baseline_basis == "the ANN on loihi"
    # asic SNN 0.4 µJ vs the ANN on the same silicon, its default (zero-skip) 0.2 µJ: 2.0.
    asic = sel(rep, "asic", "chip")
    assert (asic.baseline_target, asic.baseline_cost_model, asic.ratio) == (
        "asic", "asic45-ann-zero-skip", pytest.approx(2.0))
    # spinnaker has no ANN: the cheapest conventional chip figure, the asic ANN, 5 / 0.2 = 25.
    spin = sel(rep, "spinnaker", "chip")
    assert spin.ratio == pytest.approx(25.0)
    assert spin.baseline_basis == "cheapest conventional chip-level figure (on asic)"
    # No chip-level row ends with "no baseline figure" when a conventional chip figure exists.
    assert all(s.baseline_run for s in rep.selection if s.level == "chip" and s.run)


def test_the_answer_pairs_the_cheapest_of_each_side_per_level_with_the_deciding_fact():
    rep = build(chip_configs())
    chip, system = rep.answer.lines
    # Cheapest bio-inspired at chip: asic SNN 0.4 µJ; cheapest conventional: asic ANN 0.2 µJ.
    assert (chip.bio, chip.conventional, chip.ratio) == ("snn on asic", "mlp on asic",
                                                         pytest.approx(2.0))
    # 3,000 events on 1,000 synapses = 3 per synapse; tie at 3 × (0.2 − 0.1) / 0.3 = 1.
    assert chip.fact == ("it fires 3 spikes per synapse per inference, above the break-even "
                         "rate of 1")
    assert system.ratio is None
    assert system.reason == "no bio-inspired configuration has a system-level figure"
    sentences = rep.answer.sentences
    assert 3 <= len(sentences) <= 6
    assert sentences[1].startswith("At chip level the cheapest bio-inspired configuration, snn "
                                   "on asic (98.00%), uses 400 nJ per inference against 200 nJ")
    assert sentences[2] == ("At system level there is no pair: no bio-inspired configuration "
                            "has a system-level figure.")
    assert sentences[-1] == "So, at equal accuracy, the bio-inspired network is not cheaper at " \
                            "chip level."


def test_spike_rate_that_ties_the_baseline_by_hand():
    rep = build(chip_configs(), level="chip")
    ties = {t.target: t for t in rep.spike_ties}
    # loihi: fixed 2.5 µJ, spike-driven 0.5 µJ at 0.5 per synapse; baseline 6 µJ:
    # x = 0.5 × (6 − 2.5) / 0.5 = 3.5 per synapse, 3,500 events.
    assert ties["loihi"].verdict == TIES and ties["loihi"].rate == pytest.approx(0.5)
    assert ties["loihi"].tie_rate == pytest.approx(3.5)
    assert ties["loihi"].tie_synops == pytest.approx(3500)
    assert ties["loihi"].energy_at(3.5) == pytest.approx(6e-6)
    # spinnaker: neuron updates alone (4 µJ) exceed the asic ANN (0.2 µJ): no rate ties.
    assert ties["spinnaker"].verdict == FIXED_EXCEEDS and ties["spinnaker"].tie_rate is None
    assert set(ties) == {"loihi", "asic", "spinnaker"}  # conventional rows get none
    files = render_files(rep, ("md",))
    assert "spike_rate.png" in files and "3.5 (3,500 events)" in files["report.md"].decode()
    assert "none: the fixed terms alone (4 µJ) exceed the baseline" in \
        files["report.md"].decode()


def test_static_power_is_named_when_it_decides():
    configs = [cfg("mlp", "cpu", "ann", 0.98, [est("system", {"macs": 1e-3})]),
               cfg("snn", "spinnaker", "snn", 0.98,
                   [est("system", {"synops": 1e-4}, static=3e-3)], synops=10, synapses=10)]
    line = build(configs).answer.lines[0]
    # 3.1 mJ vs 1 mJ; static 3 / 3.1 = 97%.
    assert line.ratio == pytest.approx(3.1)
    assert line.fact == "static power is 97% of its figure, whatever it computes"


# Bad input and wording ----------------------------------------------------------------------------

def test_a_level_no_run_has_is_refused_naming_the_levels():
    with pytest.raises(InputError, match=r"^--level measured: no compared run has a figure at "
                       r"that level; levels available: chip, system$"):
        build(chip_configs(), level="measured")


def test_break_even_wording_with_equal_training_energy():
    row = BreakEven(run="mlp", target="loihi", level="chip", training_j=100.0, inference_j=2.0,
                    baseline_run="mlp", baseline_target="asic", baseline_training_j=100.0,
                    baseline_inference_j=1.0, verdict=NEVER)
    assert verdict(row) == ("same training energy (same run), dearer per inference: costs more "
                            "from the first inference")
    rep = build(chip_configs())
    be = next(b for b in rep.break_even if b.target == "loihi" and b.run == "snn")
    assert "until 0 inferences" not in verdict(be)


def test_fixed_terms_above_the_baseline_decide_it():
    from neuropipe.reports.answer import decisive_fact

    spin = chip_configs()[4]
    # Neuron updates alone, 4 µJ, exceed the conventional 0.2 µJ.
    assert decisive_fact(spin, spin.estimates[0], 2e-7) == (
        "its terms that do not scale with spikes already cost 4 µJ (neuron updates: 100% of "
        "them), more than the conventional 200 nJ: no spike rate would tie")


def test_coinciding_points_are_drawn_once_and_labelled_for_both():
    from neuropipe.reports.report.headline import points

    configs = [cfg("mlp", "cpu", "ann", 0.98, [est("arithmetic", {"macs": 1e-6})]),
               cfg("mlp", "gpu", "ann", 0.98, [est("arithmetic", {"macs": 1e-6})]),
               cfg("snn", "loihi", "snn", 0.98, [est("chip", {"synops": 1e-7})], synops=5,
                   synapses=10)]
    rep = build(configs)
    (point,) = points(rep, "arithmetic")
    assert point[3] == ["mlp on cpu, gpu"] and point[5] == {"mlp on cpu", "mlp on gpu"}
    # The chip panel holds the chip figure only; no panel is empty.
    assert [p[1] for p in points(rep, "chip")] == [1e-7]


def test_spikes_per_synapse_counts_only_synapses_that_receive_spikes():
    # A graded first layer on the chip (1,000 synapses, no binary events) and a spiking second
    # layer (100 synapses, 250 events): 250 / 100 = 2.5 spikes per synapse, not 250 / 1,100.
    c = cfg("snn", "asic", "snn", 0.98, [est("chip", {"synops": 1e-7})])
    c.layers = [LayerRow(name="dense 1", synapses=1000, synops=0.0),
                LayerRow(name="dense 2", synapses=100, synops=250.0),
                LayerRow(name="host", synapses=5000, synops=0.0, on="host")]
    c.synops = 250.0
    assert c.device_synapses == 100 and c.spikes_per_synapse == pytest.approx(2.5)


def test_the_operations_cell_names_graded_events_where_there_are_some():
    from neuropipe.reports.comparison import ConfigRow
    from neuropipe.reports.report.text import ops_cell

    sdnn = ConfigRow(run="mlp", target="loihi", graded_events=38188.0, neuron_updates=798.0)
    assert ops_cell(sdnn) == "38,188 graded events + 0 synops + 0 host MACs; 798 neuron updates"
    spikes = ConfigRow(run="s", target="loihi", synops=7259.0, neuron_updates=9396.0)
    assert ops_cell(spikes) == "7,259 synops + 0 host MACs; 9,396 neuron updates"


# Figures of 0 J, and the views the report carries (issue 23: survivors pinned) ---------------

def test_a_bio_inspired_figure_of_0_j_is_written_as_0_and_costs_nothing_per_inference():
    # The SNN's figure is 0 J (its one term is 0): 0 J / 4 mJ = 0, cheaper. The sentence writes
    # 0 J as "0 pJ" (never 1 J), and its break-even row uses 0 J per inference: equal training
    # (100 J each, dT = 0) and dI = 0 - 4 mJ < 0, so it is always cheaper (1 J would give
    # dI = +0.996 J: never).
    from neuropipe.reports.comparison import ALWAYS

    configs = [cfg("mlp", "cpu", "ann", 0.98, [est("system", {"macs": 4e-3})]),
               cfg("snn", "loihi", "snn", 0.98, [est("system", {"synops": 0.0})])]
    rep = build(configs)
    (line,) = rep.answer.lines
    assert (line.bio_j, line.ratio) == (0.0, 0.0)
    assert rep.answer.sentences[1] == (
        "At system level the cheapest bio-inspired configuration, snn on loihi (98.00%), uses "
        "0 pJ per inference against 4 mJ for the cheapest conventional one, mlp on cpu "
        "(98.00%): 0×, cheaper; no breakdown of its figure is recorded.")
    row = next(b for b in rep.break_even if b.run == "snn")
    assert (row.inference_j, row.baseline_inference_j) == (0.0, pytest.approx(4e-3))
    assert (row.n, row.verdict) == (None, ALWAYS)


def test_a_conventional_baseline_of_0_j_gives_no_ratio_and_a_reason():
    # The ANN's figure is 0 J: no ratio (2 mJ / 0). Break-even against 0 J per inference:
    # dT = 100 - 50 = 50 J > 0 and dI = 2 mJ - 0 > 0: never (with 1 J instead of 0, dI would be
    # -0.998 J and it would pay back after 50 / 0.998 = 50.1 inferences).
    configs = [cfg("mlp", "cpu", "ann", 0.98, [est("system", {"macs": 0.0})], train_j=50.0),
               cfg("snn", "loihi", "snn", 0.98, [est("system", {"synops": 2e-3})])]
    rep = build(configs)
    assert sel(rep, "loihi", "system").ratio is None
    row = next(b for b in rep.break_even if b.run == "snn")
    assert (row.training_j, row.baseline_training_j) == (pytest.approx(100.0),
                                                         pytest.approx(50.0))
    assert (row.inference_j, row.baseline_inference_j) == (pytest.approx(2e-3), 0.0)
    assert (row.n, row.verdict) == (None, NEVER)
    (line,) = rep.answer.lines
    assert line.ratio is None and line.reason == (
        "the cheapest conventional configuration, mlp on cpu, has a system-level figure of 0 J: "
        "no ratio")
    assert rep.answer.sentences[1] == (
        "At system level there is no pair: the cheapest conventional configuration, mlp on cpu, "
        "has a system-level figure of 0 J: no ratio.")


def test_the_report_carries_the_training_sparsity_and_aspect_views():
    # Threshold 98%, test-set sizes unknown (samples 0: no Wilson interval), so a run reaches it
    # only by its accuracy, within the report's 1e-9 tolerance.
    # Training (J): mlp 100, mlp-big 40 at 98% - 5e-10 (reaches within the tolerance), low 10 at
    # 90% (does not), snn-a 200, snn-b 300 at 97% (does not). The baseline is the cheapest
    # backprop run that reaches it, mlp-big: ratios 100 / 40 = 2.5, 1, -, 200 / 40 = 5, -.
    # (Without the tolerance the baseline would be mlp, 100 J; with every run reaching, low.)
    def run(name, model, kind, acc, joules, train_j, penalty=0.0):
        c = cfg(name, "loihi" if kind == "snn" else "cpu", kind, acc,
                [est("chip" if kind == "snn" else "system", {"synops" if kind == "snn" else
                                                             "macs": joules})],
                samples=0, train_j=train_j)
        c.model, c.rate_penalty = model, penalty
        return c

    configs = [run("mlp", "mlp", "ann", 0.98, 4e-3, 100.0),
               run("mlp-big", "mlp", "ann", 0.98 - 5e-10, 5e-3, 40.0),
               run("low", "mlp", "ann", 0.90, 1e-3, 10.0),
               run("snn-a", "snn-mlp", "snn", 0.98, 2e-6, 200.0),
               run("snn-b", "snn-mlp", "snn", 0.97, 1e-6, 300.0, penalty=0.1)]
    rep = build(configs, 0.98)
    choices = {t.run: (t.reaches, t.baseline_run, t.ratio) for t in rep.training_choice}
    assert choices == {"mlp": (True, "mlp-big", pytest.approx(2.5)),
                       "mlp-big": (True, "mlp-big", pytest.approx(1.0)),
                       "low": (False, "mlp-big", None),
                       "snn-a": (True, "mlp-big", pytest.approx(5.0)),
                       "snn-b": (False, "mlp-big", None)}
    # snn-mlp runs at penalties 0 and 0.1: two sparsity points, by rising penalty.
    assert [(p.run, p.rate_penalty, p.energy_j) for p in rep.sparsity] == [
        ("snn-a", 0.0, pytest.approx(2e-6)), ("snn-b", 0.1, pytest.approx(1e-6))]
    # The rate penalty is an aspect: snn-b against snn-a on loihi, 1 µJ / 2 µJ = 0.5 at chip
    # level, accuracy 97% - 98% = -1 point.
    (aspect,) = rep.aspects
    assert (aspect.aspect, aspect.setting, aspect.run, aspect.plain_run) == (
        "sparse activity", "rate penalty 0.1", "snn-b", "snn-a")
    assert aspect.ratios == {"chip": pytest.approx(0.5)}
    assert aspect.accuracy_diff == pytest.approx(-0.01)


def test_the_wilson_upper_bound_is_cut_at_1():
    # p = 1 on 16 images: centre + half = (1 + z²/2n + z²/2n) / (1 + z²/n) = 1 exactly, but in
    # floating point it comes to 1.0000000000000002; the interval stays within [0, 1].
    low, high = wilson_interval(1.0, 16)
    assert high == 1.0
    # low = centre - half = 1 / (1 + z²/16) = 1 / 1.240091 = 0.806392.
    assert low == pytest.approx(0.806392, abs=2e-6)
