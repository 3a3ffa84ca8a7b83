"""The report's choices, on rows built so that a wrong choice gives a different, hand-computed
answer: Pareto fronts with ties, the level a term is costed at, break-even arithmetic, which of
equal figures is kept, and the spike-tie and Wilson arithmetic on asymmetric inputs."""

import importlib
import pkgutil

import pytest

import neuropipe.targets
from neuropipe.pipeline.sweep.pareto import front_indices
from neuropipe.reports.comparison import (
    ALWAYS,
    IS_BASELINE,
    NEVER,
    OVERTAKEN,
    PAYS_BACK,
    Comparison,
    ConfigRow,
    EstimateRow,
    LayerRow,
    TrainingRow,
    break_even_n,
    build_report,
    cheapest,
    conventional_baseline,
    reaches,
)
from neuropipe.reports.spike_ties import FIXED_EXCEEDS, NO_SPIKE_TERM, TIES, is_spike_term, tie
from neuropipe.reports.uncertainty import wilson_interval, within_interval
from neuropipe.targets.costs import CostModel
from neuropipe.targets.records import EnergyEstimate, EnergyTerm


def est(level, terms, model=None, default=True, static=0.0, off=None):
    """An estimate of ``terms`` at ``level``; ``off``: terms at another level (name -> J)."""
    off = off or {}
    spike = sum(j for n, j in terms.items() if is_spike_term(n))
    total = sum(terms.values()) + static + sum(off.values())
    return EstimateRow(cost_model=model or f"{level}-model", level=level, default=default,
                       total_j=total, device_j=total - sum(off.values()), static_j=static,
                       term_levels=[level] + (["system"] if off else []), spike_j=spike,
                       off_level_j=sum(off.values()), off_level_terms=list(off),
                       terms={**terms, **({"static": static} if static else {})})


def cfg(run, target, network, acc, estimates, synops=0.0, synapses=0, samples=10**6,
        layers=None, train_kwh=1e-3):
    return ConfigRow(run=run, model=run, kind=network, dataset="mnist", target=target,
                     accuracy=acc, samples=samples, synops=synops, network=network,
                     estimates=estimates,
                     layers=layers or [LayerRow(name="dense 1", synapses=synapses,
                                                synops=synops)],
                     training=TrainingRow(kwh_pue=train_kwh))


def build(configs, threshold=None, level=None):
    runs = list(dict.fromkeys(c.run for c in configs))
    return build_report(Comparison(dataset="mnist", runs=runs, configs=configs), threshold,
                        level=level)


# Pareto front ------------------------------------------------------------------------------------

def test_pareto_front_with_ties_on_accuracy_and_on_energy():
    # The sweep's front (the only Pareto front the project draws), objectives minimised:
    # (-accuracy, energy). Equal accuracy 97% at 1 and 2: 98% at the same energy 1 beats both;
    # 98% at 3 ties 99% at 3 on energy and loses on accuracy. Sorting by energy alone would keep
    # (97, 1) or (98, 3); comparing accuracy alone would drop (98, 1).
    points = [(-97.0, 2.0), (-97.0, 1.0), (-98.0, 1.0), (-98.0, 3.0), (-99.0, 3.0)]
    assert front_indices(points) == [2, 4]
    # A tie on both: neither beats the other, both stay.
    assert front_indices([(-97.0, 1.0), (-97.0, 1.0)]) == [0, 1]
    assert front_indices([]) == []


# Levels of terms ---------------------------------------------------------------------------------

def _cost_models():
    for info in pkgutil.walk_packages(neuropipe.targets.__path__, "neuropipe.targets."):
        if info.name.endswith("costs"):
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if isinstance(value, CostModel):
                    yield value


def test_a_host_term_is_never_labelled_chip():
    models = list(_cost_models())
    # loihi, spinnaker (3 models), host (several), asic: at least 6 models are found.
    assert len(models) >= 6
    hosts = [(m.name, e.name, e.level) for m in models for e in m.entries if e.kind == "host"]
    assert hosts, "no host term found: the walk over the cost models is broken"
    assert all(level == "system" for _, _, level in hosts), hosts


def test_the_report_row_keeps_another_levels_terms_apart():
    from neuropipe.pipeline.stages.energy_report import estimate_row

    def term(name, joules, kind, level):
        return EnergyTerm(name=name, joules_per_inference=joules, kind=kind, level=level,
                          cost_model="m")

    estimate = EnergyEstimate.of(
        [term("synops", 2e-7, "dynamic", "chip"), term("neuron_updates", 1e-7, "dynamic", "chip"),
         term("host_input_layer", 5e-6, "host", "system"),
         term("idle", None, "static", "chip")], "m", "chip", [], [], [], default=True)
    row = estimate_row(estimate)
    assert row.total_j == pytest.approx(5.3e-6)
    # The chip figure is 0.3 µJ; the 5 µJ host term is off level, never in the figure.
    assert row.figure_j == pytest.approx(3e-7)
    assert row.off_level_j == pytest.approx(5e-6) and row.off_level_terms == ["host_input_layer"]
    assert row.term_levels == ["chip", "system"]
    assert row.level_label == "chip + system-level terms"
    assert row.spike_j == pytest.approx(2e-7)
    assert row.terms == pytest.approx({"synops": 2e-7, "neuron_updates": 1e-7})
    assert row.not_estimated == ["idle"] and row.estimated
    assert row.host_j == pytest.approx(5e-6) and row.device_j == pytest.approx(3e-7)


def test_a_chip_figure_with_a_host_first_layer_is_flagged_and_compared_without_it():
    host_layers = [LayerRow(name="dense 1", synapses=500, on="host"),
                   LayerRow(name="dense 2", synapses=100, synops=50.0)]
    snn = cfg("snn", "loihi", "snn", 0.98,
              [est("chip", {"synops": 1e-7, "neuron_updates": 2e-7}, off={"host_input_layer":
                                                                          4e-6})],
              synops=50.0, layers=host_layers)
    ann = cfg("mlp", "asic", "ann", 0.98, [est("chip", {"macs": 6e-7})])
    rep = build([snn, ann])
    s = next(r for r in rep.selection if r.target == "loihi")
    # 0.3 µJ against 0.6 µJ: 0.5 (with the host term it would be 4.3 / 0.6 = 7.17).
    assert s.energy_j == pytest.approx(3e-7) and s.ratio == pytest.approx(0.5)
    assert s.host_j == pytest.approx(4e-6) and not s.whole_on_device
    assert s.comment == ("first layer on the host: 4 µJ at system level (host_input_layer) not "
                         "in this chip-level figure; not the whole inference on the chip")
    # The answer leaves it out at chip level: no bio-inspired inference runs wholly on a chip.
    (line,) = rep.answer.lines
    assert line.excluded == ["snn on loihi"] and line.bio == "" and line.ratio is None
    assert line.reason == ("no bio-inspired inference runs wholly on a chip (snn on loihi: "
                           "300 nJ on the chip, 4 µJ for its first layer on the host)")
    (t,) = rep.spike_ties
    assert not t.whole_on_device and t.energy_j == pytest.approx(3e-7)


# Choices among equal and unequal figures ---------------------------------------------------------

def test_cheapest_keeps_the_first_of_equal_figures_and_compares_figures_not_totals():
    a = cfg("a", "loihi", "snn", 0.98, [est("chip", {"synops": 2e-7})])
    b = cfg("b", "loihi", "snn", 0.98, [est("chip", {"synops": 2e-7})])
    # c's total (5.1 µJ) is the highest, its chip figure (0.1 µJ) the lowest.
    c = cfg("c", "loihi", "snn", 0.98, [est("chip", {"synops": 1e-7}, off={"host": 5e-6})])
    assert cheapest([a, b], "chip")[0] is a and cheapest([b, a], "chip")[0] is b
    assert cheapest([a, b, c], "chip")[0] is c
    assert cheapest([a], "system") is None and cheapest([], "chip") is None


def test_the_baseline_is_the_same_targets_ann_even_when_another_is_cheaper():
    configs = [cfg("mlp", "loihi", "ann", 0.98, [est("chip", {"graded_events": 8e-7})]),
               cfg("mlp", "asic", "ann", 0.98, [est("chip", {"macs": 2e-7})]),
               cfg("cnn", "asic", "ann", 0.90, [est("chip", {"macs": 1e-8})]),
               cfg("snn", "loihi", "snn", 0.98, [est("chip", {"synops": 4e-7})])]
    base = conventional_baseline(configs, "loihi", "chip", 0.97)
    assert (base[0].run, base[0].target, base[2]) == ("mlp", "loihi", "the ANN on loihi")
    # spinnaker has no ANN: the cheapest that reaches 97% (not the 90% cnn at 0.01 µJ).
    base = conventional_baseline(configs, "spinnaker", "chip", 0.97)
    assert (base[0].run, base[0].target) == ("mlp", "asic")
    assert base[2] == "cheapest conventional chip-level figure (on asic)"
    assert conventional_baseline(configs, "loihi", "system", 0.97) is None
    rep = build(configs, 0.97)
    s = next(r for r in rep.selection if (r.target, r.side) == ("loihi", "bio-inspired"))
    assert s.ratio == pytest.approx(0.5)
    own = next(r for r in rep.selection if (r.target, r.side) == ("loihi", "conventional"))
    assert own.comment == "this is the baseline" and own.ratio == pytest.approx(1.0)


def test_reaching_the_threshold_exactly_within_the_interval_or_not():
    # 0.95 on 1,000 images: Wilson interval 0.93469-0.96187 (by hand below).
    c = cfg("a", "cpu", "ann", 0.95, [], samples=1000)
    assert reaches(c, 0.95) and reaches(c, 0.9618) and not reaches(c, 0.9620)
    assert within_interval(0.95, 1000, 0.9618) and not within_interval(0.95, 1000, 0.9620)
    c.samples = 0  # unknown: only the measured accuracy counts
    assert reaches(c, 0.95) and not reaches(c, 0.9500001)


def test_wilson_interval_at_the_edges_and_asymmetric():
    # p = 0.95, n = 1000: z²/n = 0.0038415; centre = (0.95 + 0.0019207) / 1.0038415 = 0.948278;
    # half = 1.959964 / 1.0038415 × sqrt(4.75e-5 + 9.604e-7) = 1.952464 × 0.0069613 = 0.013592.
    low, high = wilson_interval(0.95, 1000)
    assert low == pytest.approx(0.934686, abs=2e-6) and high == pytest.approx(0.961870, abs=2e-6)
    # p = 1 on 10 images: the interval reaches 1 exactly and starts at 10 / (10 + z²) = 0.72247.
    low, high = wilson_interval(1.0, 10)
    assert high == pytest.approx(1.0) and low == pytest.approx(0.722467, abs=2e-6)
    # p = 0 on 10: mirrored.
    low, high = wilson_interval(0.0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.277533, abs=2e-6)
    # z = 1 is taken when given: p = 0.5, n = 4: centre 0.5, half = 1/1.25 × sqrt(1/16 + 1/64).
    low, high = wilson_interval(0.5, 4, z=1.0)
    half = 0.8 * 0.078125 ** 0.5  # 0.2236068
    assert (low, high) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))


# Break-even --------------------------------------------------------------------------------------

def test_break_even_n_by_hand_in_every_case():
    # Costs 300 J more to train, saves 2 J per inference: pays back after 150 inferences.
    assert break_even_n(400.0, 1.0, 100.0, 3.0) == (pytest.approx(150.0), PAYS_BACK)
    # Costs 60 J less to train, 4 J more per inference: overtaken after 15.
    assert break_even_n(40.0, 7.0, 100.0, 3.0) == (pytest.approx(15.0), OVERTAKEN)
    assert break_even_n(100.0, 3.0, 100.0, 3.0) == (None, ALWAYS)
    assert break_even_n(99.0, 2.0, 100.0, 3.0) == (None, ALWAYS)
    assert break_even_n(100.0, 4.0, 100.0, 3.0) == (None, NEVER)
    assert break_even_n(101.0, 3.0, 100.0, 3.0) == (None, NEVER)


def test_break_even_rows_use_training_with_pue_and_the_selected_figures():
    # snn: 2 kWh (7.2 MJ) to train, 1 mJ per inference; mlp: 1 kWh (3.6 MJ), 4 mJ:
    # N = 3.6e6 / 3e-3 = 1.2e9 inferences.
    configs = [cfg("mlp", "cpu", "ann", 0.98, [est("system", {"macs": 4e-3})], train_kwh=1.0),
               cfg("snn", "loihi", "snn", 0.98, [est("system", {"synops": 1e-3})],
                   train_kwh=2.0)]
    rows = {(b.run, b.target): b for b in build(configs).break_even}
    snn = rows[("snn", "loihi")]
    assert snn.training_j == pytest.approx(7.2e6) and snn.baseline_training_j == 3.6e6
    assert snn.inference_j == pytest.approx(1e-3) and snn.baseline_inference_j == 4e-3
    assert (snn.n, snn.verdict) == (pytest.approx(1.2e9), PAYS_BACK)
    assert snn.total_j(1.2e9) == pytest.approx(3.6e6 + 1.2e9 * 4e-3)
    assert rows[("mlp", "cpu")].verdict == IS_BASELINE and rows[("mlp", "cpu")].n is None


# Spike ties --------------------------------------------------------------------------------------

def test_spike_tie_on_asymmetric_terms():
    # Fixed 3 µJ (updates), spike-driven 1 µJ at 400 events on 160 synapses (2.5 per synapse);
    # baseline 5 µJ: x* = 400 × (5 − 3) / 1 = 800 events, 800 / 160 = 5 per synapse.
    c = cfg("snn", "loihi", "snn", 0.98, [est("chip", {"synops": 1e-6,
                                                       "neuron_updates": 3e-6})],
            synops=400.0, synapses=160)
    t = tie(c, c.estimates[0], 5e-6)
    assert t.verdict == TIES and t.rate == pytest.approx(2.5)
    assert (t.fixed_j, t.spike_j) == (pytest.approx(3e-6), pytest.approx(1e-6))
    assert t.tie_synops == pytest.approx(800.0) and t.tie_rate == pytest.approx(5.0)
    assert t.energy_at(5.0) == pytest.approx(5e-6) and t.energy_at(0.0) == pytest.approx(3e-6)
    assert t.energy_at(1.0) == pytest.approx(3.4e-6)
    # Equal fixed terms and baseline: no rate ties (fixed terms already reach it).
    assert tie(c, c.estimates[0], 3e-6).verdict == FIXED_EXCEEDS
    # No spike term: nothing scales.
    d = cfg("snn", "loihi", "snn", 0.98, [est("chip", {"neuron_updates": 3e-6})], synops=400.0,
            synapses=160)
    row = tie(d, d.estimates[0], 5e-6)
    assert row.verdict == NO_SPIKE_TERM and row.tie_rate is None
    assert row.energy_at(9.0) == pytest.approx(3e-6)
    # Synapses unknown: a tie in events, no rate.
    e = cfg("snn", "loihi", "snn", 0.98, c.estimates, synops=400.0, synapses=0)
    row = tie(e, e.estimates[0], 5e-6)
    assert row.tie_synops == pytest.approx(800.0) and row.tie_rate is None and row.rate is None
    assert row.energy_at(3.0) == pytest.approx(4e-6)


def test_spike_terms_by_name():
    spiking = ("synops", "synops_binary", "spike_queue", "spike_queue_reads", "router_packets",
               "router_traversals", "packets")
    fixed = ("neuron_updates", "graded_events", "host_input_layer", "synopsis", "packets2",
             "macs", "static", "idle_chips")
    assert all(is_spike_term(n) for n in spiking)
    assert not any(is_spike_term(n) for n in fixed)


# The answer's wording follows its numbers -------------------------------------------------------

def test_no_pair_reasons_in_every_case():
    configs = [cfg("snn", "loihi", "snn", 0.90, [est("chip", {"synops": 1e-7})]),
               cfg("mlp", "cpu", "ann", 0.90, [est("system", {"macs": 1e-3})]),
               cfg("big", "cpu", "ann", 0.99, [est("arithmetic", {"macs": 1e-9})]),
               cfg("big", "spinnaker", "snn", 0.99, [est("arithmetic", {"synops": 1e-9})])]
    rep = build(configs, 0.98)
    lines = {ln.level: ln for ln in rep.answer.lines}
    assert lines["arithmetic"].ratio == pytest.approx(1.0)
    # chip: the spiking run has a chip figure but misses 98%; no ANN has a chip figure (hint).
    assert lines["chip"].reason == (
        "no bio-inspired configuration with a chip-level figure reaches equal accuracy; and no "
        "conventional configuration has a chip-level figure (deploy the ANN on asic, or on "
        "loihi with --encoding sdnn)")
    # system: no spiking run has one; the ANN has one but misses 98% (no hint off chip level).
    assert lines["system"].reason == (
        "no bio-inspired configuration has a system-level figure; and no conventional "
        "configuration with a system-level figure reaches equal accuracy")
    assert rep.answer.sentences[-1] == ("So, at equal accuracy, the bio-inspired network is "
                                        "not cheaper at arithmetic level.")
    assert "1×, the same;" in rep.answer.sentences[1]
    # Only the conventional side missing, at system level: no hint.
    only = build([cfg("snn", "spinnaker", "snn", 0.99, [est("system", {"synops": 1e-3})])])
    assert only.answer.lines[0].reason == ("no conventional configuration has a system-level "
                                           "figure")


def test_the_closing_sentence_lists_levels_in_order():
    configs = [cfg("mlp", "cpu", "ann", 0.98, [est("arithmetic", {"macs": 4e-9}, "a"),
                                              est("system", {"macs": 4e-3}, "s", default=False)]),
               cfg("mlp", "asic", "ann", 0.98, [est("chip", {"macs": 1e-7})]),
               cfg("snn", "loihi", "snn", 0.98, [est("arithmetic", {"synops": 1e-9}, "a"),
                                                 est("chip", {"synops": 3e-7}, "c", False),
                                                 est("system", {"synops": 1e-3}, "s", False)])]
    rep = build(configs)
    assert [ln.ratio for ln in rep.answer.lines] == [pytest.approx(0.25), pytest.approx(3.0),
                                                     pytest.approx(0.25)]
    assert rep.answer.sentences[-1] == ("So, at equal accuracy, the bio-inspired network is "
                                        "cheaper at arithmetic and system levels; not cheaper "
                                        "at chip level.")
    from neuropipe.reports.answer import _levels

    assert _levels(["arithmetic", "chip", "system"]) == "arithmetic, chip and system levels"
    assert _levels(["chip"]) == "chip level"


def test_the_deciding_fact_in_every_case():
    from neuropipe.reports.answer import decisive_fact

    def one(terms, static=0.0, synops=400.0, synapses=160):
        c = cfg("snn", "loihi", "snn", 0.98, [est("chip", terms, static=static)],
                synops=synops, synapses=synapses)
        return c, c.estimates[0]

    # Static power at exactly half the figure decides it.
    assert decisive_fact(*one({"synops": 1e-6}, static=1e-6), 9e-6) == (
        "static power is 50% of its figure, whatever it computes")
    # Below half: the spike rate. 2.5 per synapse below the tie at 5 (see the spike-tie test).
    assert decisive_fact(*one({"synops": 1e-6, "neuron_updates": 3e-6}), 5e-6) == (
        "it fires 2.5 spikes per synapse per inference, below the break-even rate of 5")
    # No spike term: its largest term's share (by value, not by name); 3 of 4 µJ.
    assert decisive_fact(*one({"neuron_updates": 1e-6, "graded_events": 3e-6}), 9e-6) == (
        "graded_events is 75% of its figure")
    # Synapses unknown: a tie but no rate, so the largest term instead.
    assert decisive_fact(*one({"synops": 1e-6, "neuron_updates": 3e-6}, synapses=0), 5e-6) == (
        "neuron_updates is 75% of its figure")
    # Exactly at the break-even rate (binary-exact joules): 0.25 fixed + 0.5 spike-driven
    # against 0.75 ties at the measured 2.5 per synapse: "above" (not below).
    assert decisive_fact(*one({"synops": 0.5, "neuron_updates": 0.25}), 0.75) == (
        "it fires 2.5 spikes per synapse per inference, above the break-even rate of 2.5")
    # A figure of 0 with terms of 0: no share to give.
    assert decisive_fact(*one({"neuron_updates": 0.0}), 1e-6) == (
        "no breakdown of its figure is recorded")
    # Fixed terms of 0 against a baseline of 0: no share either.
    assert decisive_fact(*one({"synops": 1e-6, "neuron_updates": 0.0}), 0.0) == (
        "its terms that do not scale with spikes already cost 0 pJ, more than the "
        "conventional 0 pJ: no spike rate would tie")
    # No breakdown recorded (an older record) but a figure over the baseline: no term named.
    c, e = one({})
    e.total_j = 4e-6
    assert decisive_fact(c, e, 2e-6) == ("its terms that do not scale with spikes already cost "
                                         "4 µJ, more than the conventional 2 µJ: no spike rate "
                                         "would tie")
    # Nothing recorded.
    assert decisive_fact(*one({}), 9e-6) == "no breakdown of its figure is recorded"
    # Fixed terms over the baseline, the largest named: graded events 3 of 4 µJ fixed.
    assert decisive_fact(*one({"synops": 1e-6, "neuron_updates": 1e-6,
                               "graded_events": 3e-6}), 2e-6) == (
        "its terms that do not scale with spikes already cost 4 µJ (graded events: 75% of "
        "them), more than the conventional 2 µJ: no spike rate would tie")


# Edges the mutation run found unpinned -----------------------------------------------------------

def test_wilson_interval_on_one_image_and_out_of_range_accuracies():
    # n = 1, p = 1: denominator 1 + z²; centre (1 + z²/2) / (1 + z²); half z² / (2 (1 + z²)).
    z2 = 1.959963984540054 ** 2
    low, high = wilson_interval(1.0, 1)
    assert low == pytest.approx(1 / (1 + z2))  # centre − half = 1 / (1 + z²) = 0.206549
    assert low == pytest.approx(0.206549, abs=2e-6) and high == pytest.approx(1.0)
    # An accuracy outside [0, 1] is clipped before the interval is taken.
    assert wilson_interval(1.2, 10) == wilson_interval(1.0, 10)
    assert wilson_interval(-0.1, 10) == wilson_interval(0.0, 10)
    # A threshold exactly at the top of the interval is within it.
    top = wilson_interval(0.95, 1000)[1]
    assert within_interval(0.95, 1000, top) and not within_interval(0.95, 1000, top + 1e-12)


def test_range_of_figures_at_a_level():
    c = cfg("snn", "loihi", "snn", 0.98, [
        est("chip", {"synops": 3e-7}, "a"), est("chip", {"synops": 1e-7}, "b", default=False),
        est("chip", {"synops": 2e-7}, "c", default=False),
        est("system", {"synops": 9e-3}, "d", default=False)])
    c.estimates.append(EstimateRow(cost_model="none", level="chip", estimated=False,
                                   total_j=0.0))
    assert c.range_at("chip") == (pytest.approx(1e-7), pytest.approx(3e-7), 3)
    assert c.range_at("system") == (pytest.approx(9e-3), pytest.approx(9e-3), 1)
    low, high, count = c.range_at("arithmetic")
    assert count == 0 and low != low and high != high  # NaN: no figure


@pytest.mark.parametrize("value", [0, 0.0, -0.5, 1.0000001, 2, "0.9", None])
def test_a_threshold_outside_0_1_is_refused(value):
    from neuropipe.core.errors import InputError
    from neuropipe.reports.comparison import check_threshold

    with pytest.raises(InputError, match=r"^--accuracy must be a fraction in \(0, 1\], got "):
        check_threshold(value)


@pytest.mark.parametrize("value", [1, 1.0, 1e-9, 0.5])
def test_a_threshold_in_0_1_is_taken(value):
    from neuropipe.reports.comparison import check_threshold

    check_threshold(value)


def test_why_a_selection_has_no_baseline():
    snn = cfg("snn", "loihi", "snn", 0.98, [est("chip", {"synops": 1e-7})])

    def comment(configs):
        return next(s for s in build(configs, 0.97).selection if s.run == "snn").comment

    assert comment([snn]) == "no conventional baseline: no ANN is deployed on any target"
    assert comment([snn, cfg("mlp", "cpu", "ann", 0.99, [est("system", {"macs": 1e-3})])]) == (
        "no conventional configuration has a chip-level figure (deploy an ANN on a target with "
        "figures at this level)")
    assert comment([snn, cfg("mlp", "asic", "ann", 0.5, [est("chip", {"macs": 1e-7})])]) == (
        "no conventional configuration with a chip-level figure reaches 97.00%")


def test_joules_text_picks_the_unit_at_its_boundary():
    from neuropipe.reports.comparison import joules_text

    cases = {2e3: "2 kJ", 1e3: "1 kJ", 999.0: "999 J", 1.0: "1 J", 2.5e-3: "2.5 mJ",
             1e-3: "1 mJ", 1e-6: "1 µJ", 3e-9: "3 nJ", 4e-12: "4 pJ", 0.0: "0 pJ",
             -2e-3: "-2 mJ"}
    assert {v: joules_text(v) for v in cases} == cases


def test_every_host_first_layer_is_named_when_none_runs_wholly_on_a_chip():
    host = [LayerRow(name="dense 1", synapses=500, on="host"),
            LayerRow(name="dense 2", synapses=100, synops=50.0)]
    configs = [cfg("a", "loihi", "snn", 0.98, [est("chip", {"synops": 1e-7},
                                                   off={"host_input_layer": 4e-6})],
                   synops=50.0, layers=host),
               cfg("b", "spinnaker", "snn", 0.98, [est("chip", {"synops": 2e-7},
                                                       off={"host_input_layer": 5e-6})],
                   synops=50.0, layers=host),
               cfg("mlp", "asic", "ann", 0.98, [est("chip", {"macs": 6e-7})])]
    (line,) = build(configs).answer.lines
    assert line.reason == ("no bio-inspired inference runs wholly on a chip (a on loihi: 100 nJ "
                           "on the chip, 4 µJ for its first layer on the host; b on spinnaker: "
                           "200 nJ on the chip, 5 µJ for its first layer on the host)")


def test_the_answer_sentences_word_for_word():
    from neuropipe.reports.uncertainty import TEST

    configs = [cfg("mlp", "cpu", "ann", 0.98, [est("arithmetic", {"macs": 2e-9}, "a"),
                                              est("system", {"macs": 4e-3}, "s", False)]),
               cfg("snn", "loihi", "snn", 0.962, [est("arithmetic", {"synops": 3e-9}, "a"),
                                                  est("chip", {"synops": 3e-7}, "c", False),
                                                  est("system", {"synops": 1e-3}, "s", False)],
                   samples=2000)]
    answer = build(configs, 0.9625).answer
    assert (answer.threshold, answer.test) == (0.9625, TEST)
    assert answer.sentences == [
        "Equal accuracy means at least 96.25% on the test images, or short of it by less than "
        "the Wilson 95% interval of the accuracy (admitted so: snn on loihi (96.20% on 2,000 "
        "images, 95% interval 95.27%–96.95%)).",
        # 3 / 2 = 1.5: dearer.
        "At arithmetic level the cheapest bio-inspired configuration, snn on loihi (96.20%), "
        "uses 3 nJ per inference against 2 nJ for the cheapest conventional one, mlp on cpu "
        "(98.00%): 1.5×, dearer; synops is 100% of its figure.",
        "At chip level there is no pair: no conventional configuration has a chip-level figure "
        "(deploy the ANN on asic, or on loihi with --encoding sdnn).",
        "At system level the cheapest bio-inspired configuration, snn on loihi (96.20%), uses "
        "1 mJ per inference against 4 mJ for the cheapest conventional one, mlp on cpu "
        "(98.00%): 0.25×, cheaper; synops is 100% of its figure.",
        "So, at equal accuracy, the bio-inspired network is cheaper at system level; not "
        "cheaper at arithmetic level."]
    # Nobody admitted within the interval: the first sentence says so.
    configs[1].accuracy = 0.97
    assert build(configs, 0.9625).answer.sentences[0].endswith(
        "of the accuracy (no configuration needed that margin).")


def test_only_host_first_layers_are_excluded_at_chip_level_and_a_zero_baseline_has_no_ratio():
    host = [LayerRow(name="dense 1", synapses=500, on="host"),
            LayerRow(name="dense 2", synapses=100, synops=50.0)]
    configs = [cfg("a", "loihi", "snn", 0.98, [est("chip", {"synops": 1e-7},
                                                   off={"host_input_layer": 4e-6})],
                   synops=50.0, layers=host),
               cfg("b", "spinnaker", "snn", 0.98, [est("chip", {"synops": 2e-7})], synops=50.0,
                   synapses=100),
               cfg("mlp", "asic", "ann", 0.98, [est("chip", {"macs": 0.0})])]
    (line,) = build(configs).answer.lines
    assert line.excluded == ["a on loihi"] and line.bio == "b on spinnaker"
    # The conventional figure is 0 J: no ratio, and the reason says so (it was "", which left
    # the sentence "At chip level there is no pair: .").
    assert line.ratio is None and line.conventional == "mlp on asic"
    assert line.reason == ("the cheapest conventional configuration, mlp on asic, has a "
                           "chip-level figure of 0 J: no ratio")


def test_break_even_at_the_edges():
    # Equal training energy, cheaper per inference: always cheaper (not 'pays back after 0').
    assert break_even_n(100.0, 1.0, 100.0, 3.0) == (None, ALWAYS)
    # Half a joule more to train, 2 J less per inference: pays back after 0.25.
    assert break_even_n(100.5, 1.0, 100.0, 3.0) == (pytest.approx(0.25), PAYS_BACK)
    # Cheaper to train, equal per inference: always cheaper.
    assert break_even_n(40.0, 3.0, 100.0, 3.0) == (None, ALWAYS)
    # Cheaper to train by 60 J, half a joule dearer per inference: overtaken after 120.
    assert break_even_n(40.0, 3.5, 100.0, 3.0) == (pytest.approx(120.0), OVERTAKEN)


def test_spike_tie_records_what_it_compares():
    c = cfg("snn", "loihi", "snn", 0.97, [est("chip", {"synops": 1e-6,
                                                       "neuron_updates": 3e-6}, "m")],
            synops=400.0, synapses=160)
    t = tie(c, c.estimates[0], 5e-6)
    assert (t.run, t.target, t.level, t.cost_model, t.accuracy) == ("snn", "loihi", "chip", "m",
                                                                    0.97)
    assert (t.synapses, t.synops, t.baseline_j, t.energy_j) == (160, 400.0, 5e-6,
                                                                pytest.approx(4e-6))
    assert t.whole_on_device
    # A host first layer with no off-level term, or an off-level term without a host first
    # layer, still compares the whole inference.
    c.layers.append(LayerRow(name="host", synapses=10, on="host"))
    assert c.host_first_layer and tie(c, c.estimates[0], 5e-6).whole_on_device
    d = cfg("snn", "loihi", "snn", 0.97, [est("chip", {"synops": 1e-6}, off={"x": 1e-6})],
            synops=400.0, synapses=160)
    assert not d.host_first_layer and tie(d, d.estimates[0], 5e-6).whole_on_device
    # No synaptic event measured: nothing to scale, however large the spike terms.
    c = cfg("snn", "loihi", "snn", 0.97, [est("chip", {"synops": 1e-6})], synops=0.0,
            synapses=160)
    assert tie(c, c.estimates[0], 5e-6).verdict == NO_SPIKE_TERM
    # Half an event per inference is enough to scale: 0.5 x (5 - 0) / 1 = 2.5 events.
    c.synops = 0.5
    row = tie(c, c.estimates[0], 5e-6)
    assert row.verdict == TIES and row.tie_synops == pytest.approx(2.5)


def test_admitted_configurations_are_listed_in_order_and_the_tolerance_is_1e_9():
    from neuropipe.reports.comparison import reaches_exactly

    configs = [cfg("mlp", "cpu", "ann", 0.98, [est("system", {"macs": 4e-3})]),
               cfg("a", "loihi", "snn", 0.962, [est("system", {"synops": 1e-3})], samples=2000),
               cfg("b", "spinnaker", "snn", 0.961, [est("system", {"synops": 2e-3})],
                   samples=2000)]
    assert "(admitted so: a on loihi (96.20% on 2,000 images, 95% interval 95.27%–96.95%); b on " \
           "spinnaker (96.10%" in build(configs, 0.9625).answer.sentences[0]
    # Accuracies within 1e-9 of the threshold reach it exactly; 1.5e-9 short does not.
    c = cfg("a", "cpu", "ann", 0.9, [], samples=0)
    assert reaches_exactly(c, 0.9 + 0.5e-9) and not reaches_exactly(c, 0.9 + 1.5e-9)
    assert not reaches(c, 0.9 + 1.5e-9)


def test_the_report_record_holds_what_it_was_built_from():
    from neuropipe.core.errors import InputError
    from neuropipe.reports.comparison import (
        ACCURACY_TOLERANCE,
        baseline_target,
        reaches_exactly,
    )
    from neuropipe.reports.learning_views import sparsity_points, training_choices
    from neuropipe.reports.uncertainty import TEST

    configs = [cfg("mlp", "cpu", "ann", 0.98, [est("system", {"macs": 4e-3}, "s")]),
               cfg("snn", "loihi", "snn", 0.96, [est("system", {"synops": 1e-3}, "s"),
                                                 est("chip", {"synops": 1e-7}, "c", False)]),
               cfg("cnn", "asic", "ann", 0.97, [est("chip", {"macs": 2e-7}, "c")]),
               cfg("cnn", "loihi", "snn", 0.5, [est("chip", {"synops": 1e-9}, "c")])]
    comparison = Comparison(dataset="mnist", runs=["mlp", "snn", "cnn"], configs=configs)
    rep = build_report(comparison, None, created="2026-12-06T23:00", level="system")
    # Best per run: mlp 98%, snn 96%, cnn 97%: every run reaches 96%.
    assert rep.threshold == 0.96 and rep.threshold_source == (
        "default: 96.00% is the highest accuracy every compared run reaches on some target")
    assert rep.created == "2026-12-06T23:00" and rep.levels == ["system"]
    assert rep.baseline_target == "cpu" and rep.accuracy_test == TEST
    assert rep.comparison is comparison
    # Only system-level rows: the chip figures are left out of the selection.
    assert {s.level for s in rep.selection} == {"system"}
    assert {(s.target, s.level) for s in rep.selection} == {("cpu", "system"),
                                                            ("loihi", "system")}
    assert rep.sparsity == sparsity_points(configs)
    assert rep.training_choice == training_choices(configs, 0.96, ACCURACY_TOLERANCE)
    # The selection rows that miss the threshold say so; a loihi row at chip level too.
    rep = build_report(comparison, 0.97)
    assert rep.threshold_source == "given with --accuracy"
    loihi_chip = next(s for s in rep.selection if (s.target, s.level) == ("loihi", "chip"))
    assert loihi_chip.comment == "no bio-inspired configuration on loihi reaches 97.00%"
    # Break-even rows carry the level and cost model of their figures, and every selection.
    rows = {(b.run, b.target, b.level): b for b in rep.break_even}
    assert set(rows) == {("mlp", "cpu", "system"), ("cnn", "asic", "chip")}
    assert rows[("cnn", "asic", "chip")].cost_model == "c"
    assert baseline_target([configs[2]]) == "asic" and baseline_target([configs[1]]) is None
    with pytest.raises(InputError, match="^no deployments to compare$"):
        build_report(Comparison(dataset="mnist"), None)
    c = cfg("a", "cpu", "ann", 0.9, [], samples=0)
    assert reaches_exactly(c, 0.9 + ACCURACY_TOLERANCE)


def test_a_selected_figure_and_comment_with_two_off_level_terms():
    host = [LayerRow(name="dense 1", synapses=500, on="host"),
            LayerRow(name="dense 2", synapses=100, synops=50.0)]
    e = est("chip", {"synops": 1e-7}, off={"host_input_layer": 4e-6, "host_readout": 1e-6})
    configs = [cfg("snn", "loihi", "snn", 0.98, [e], synops=50.0, layers=host)]
    (s,) = build(configs).selection
    assert s.comment == (
        "first layer on the host: 5 µJ at system level (host_input_layer, host_readout) not in "
        "this chip-level figure; not the whole inference on the chip; no conventional baseline: "
        "no ANN is deployed on any target")
    e.term_levels = ["chip", "arithmetic", "system"]  # two other levels, joined by "/"
    (s,) = build(configs).selection
    assert s.comment.startswith("first layer on the host: 5 µJ at arithmetic/system level "
                                "(host_input_layer, host_readout) not in this chip-level figure")
    e.term_levels = ["chip"]  # levels not recorded: 'another' level
    (s,) = build(configs).selection
    assert s.comment.startswith("first layer on the host: 5 µJ at another level")


def test_remaining_edges_of_the_report():
    from neuropipe.core.errors import InputError

    assert is_spike_term("spike_queues") and is_spike_term("spike_queue")
    configs = [cfg("mlp", "cpu", "ann", 0.98, [est("system", {"macs": 4e-3}, "s")]),
               cfg("mlp", "asic", "ann", 0.98, [est("chip", {"macs": 4e-7}, "c")]),
               cfg("snn", "loihi", "snn", 0.98, [est("chip", {"synops": 1e-7}, "c"),
                                                 est("system", {"synops": 1e-3}, "s", False)],
                   synops=10.0, synapses=10)]
    comparison = Comparison(dataset="mnist", runs=["mlp", "snn"], configs=configs)
    rep = build_report(comparison, None, level="system")
    # Spike ties only at the levels shown (chip comes first and is skipped, system kept).
    assert [(t.target, t.level) for t in rep.spike_ties] == [("loihi", "system")]
    assert [ln.level for ln in rep.answer.lines] == ["system"]
    assert build_report(comparison).created == ""
    # Only cheaper: the closing sentence names no 'not cheaper' part.
    assert rep.answer.sentences[-1] == ("So, at equal accuracy, the bio-inspired network is "
                                        "cheaper at system level.")
    # No level at all.
    empty = Comparison(dataset="mnist", runs=["x"], configs=[cfg("x", "cpu", "ann", 0.9, [])])
    with pytest.raises(InputError, match="levels available: none$"):
        build_report(empty, None, level="chip")
    # A row without a selected run, before rows with one, leaves their break-even in place.
    configs.insert(0, cfg("bad", "cpu", "snn", 0.1, [est("system", {"synops": 1e-4}, "s")]))
    rows = build_report(Comparison(dataset="mnist", runs=["bad", "mlp", "snn"],
                                   configs=configs), 0.97).break_even
    assert [(b.run, b.target, b.level) for b in rows] == [
        ("mlp", "cpu", "system"), ("mlp", "asic", "chip"), ("snn", "loihi", "chip"),
        ("snn", "loihi", "system")]
    # A baseline with a host term of its own: both comments, joined.
    ann = cfg("mlp", "asic", "ann", 0.98, [est("chip", {"macs": 4e-7}, off={"host": 1e-6})])
    (s,) = build([ann]).selection
    assert s.comment.endswith("not the whole inference on the chip; this is the baseline")
