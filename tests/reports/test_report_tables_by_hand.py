"""The report's tables, cell by cell, on two hand-made comparisons.

Issue 23: the table layouts of ``reports/report/text.py`` (which cell goes where, the dashes of a
missing figure, the notes under a table) and ``text.tables``' choice of tables. Every figure is
set in the rows below so that its cell can be worked out by hand.
"""

import types

import pytest

from neuropipe.reports.comparison import (
    Comparison,
    ConfigRow,
    EstimateRow,
    LayerRow,
    TrainingRow,
    build_report,
)
from neuropipe.reports.report import text
from neuropipe.reports.rows import MissingTarget

D = "—"


def est(level, terms, model, static=0.0, off=None, default=True):
    """An estimate of ``terms`` (name -> J) at ``level``; ``off``: host terms at system level."""
    off = off or {}
    spike = sum(j for n, j in terms.items() if n.startswith("synops"))
    total = sum(terms.values()) + static + sum(off.values())
    return EstimateRow(cost_model=model, level=level, default=default, total_j=total,
                       device_j=total - sum(off.values()), static_j=static,
                       term_levels=[level] + (["system"] if off else []), spike_j=spike,
                       off_level_j=sum(off.values()), off_level_terms=list(off),
                       terms={**terms, **({"static": static} if static else {})})


def cfg(run, model, target, kind, acc, estimates, train_j, synops=0.0, synapses=0, layers=None,
        samples=10**6, **kw):
    """Training: ``train_j`` J incl. PUE 1.5 (train_j / 1.5 at the plug), 1e-4 kg CO2e per J."""
    return ConfigRow(run=run, model=model, kind=kind, dataset="mnist", target=target,
                     accuracy=acc, samples=samples, synops=synops, network=kind,
                     estimates=estimates,
                     layers=layers or [LayerRow(name="dense 1", synapses=synapses,
                                                synops=synops)],
                     training=TrainingRow(kwh_pue=train_j / 3.6e6, joules=train_j / 1.5,
                                          pue=1.5, kwh=train_j / 1.5 / 3.6e6,
                                          co2e_kg=train_j * 1e-4,
                                          methods={"cpu": "measured"}), **kw)


def report_a():
    """ANNs on cpu and loihi; SNNs on loihi (plain, sparse, lsm), asic (latency), spinnaker."""
    host = [LayerRow(name="dense 1", synapses=500, on="host"),
            LayerRow(name="dense 2", synapses=100, synops=50.0)]
    configs = [
        cfg("mlp", "mlp", "cpu", "ann", 0.98, [est("system", {"macs": 4e-3}, "cpu-m")], 100.0,
            reference_accuracy=0.981, latency_s=2e-3),
        cfg("mlp", "mlp", "loihi", "ann", 0.98, [est("chip", {"graded_events": 6e-6},
                                                     "loihi-m")], 100.0),
        cfg("snn", "snn-mlp", "loihi", "snn", 0.975,
            [est("chip", {"synops": 1e-6, "neuron_updates": 2e-6}, "loihi-m")], 300.0,
            synops=500, synapses=1000, samples=2000, spikes=80.0),
        cfg("sparse", "snn-mlp", "loihi", "snn", 0.97,
            [est("chip", {"synops": 0.5e-6, "neuron_updates": 2e-6}, "loihi-m")], 400.0,
            synops=250, synapses=1000, rate_penalty=0.1, spikes=40.0),
        cfg("lat", "snn-mlp", "asic", "snn", 0.9, [est("chip", {"synops": 1e-7}, "asic-m")],
            50.0, synops=1000, synapses=1000, encoding="latency", input_spikes=120.0),
        cfg("lsm", "lsm", "loihi", "snn", 0.985, [est("chip", {"neuron_updates": 8e-6},
                                                      "loihi-m")], 20.0, learning="ridge"),
        cfg("snn", "snn-mlp", "spinnaker", "snn", 0.975,
            [est("chip", {"synops": 1e-7}, "spin-m", static=7e-6,
                 off={"host_input_layer": 4e-6})], 300.0, synops=50, layers=host, samples=2000),
    ]
    configs[0].training.leaves_out = ["idle power"]
    comparison = Comparison(dataset="mnist", runs=["mlp", "snn", "sparse", "lat", "lsm"],
                            configs=configs,
                            missing=[MissingTarget(run="lat", target="spinnaker")])
    return build_report(comparison, 0.98)


def report_b():
    """An SNN (STDP) on loihi with a system figure no ANN has, a ridge-trained CNN on asic."""
    snn = cfg("snn", "snn-mlp", "loihi", "snn", 0.99,
              [est("chip", {"synops": 1e-6}, "loihi-m"),
               est("system", {"synops": 1e-3}, "sys-m", default=False)], 300.0, synops=100,
              learning="stdp")
    snn.estimates[0].leaves_out = ["idle power", "host I/O"]
    snn.estimates[1].not_estimated = ["static"]
    cnn = cfg("cnn", "cnn", "asic", "ann", 0.99, [est("chip", {"macs": 3e-6}, "asic-m")], 500.0,
              learning="ridge")
    cnn.estimates[0].leaves_out = ["idle power"]
    return build_report(Comparison(dataset="mnist", runs=["snn", "cnn"], configs=[snn, cnn]),
                        0.98)


def test_the_equal_accuracy_table():
    t = text.selection_table(report_a())
    assert t.title == "Equal accuracy: cheapest configuration reaching 98.00%"
    assert len(t.headers) == 11 and t.intro[0].startswith("Threshold 98.00% (given with "
                                                           "--accuracy); a configuration")
    # snn on loihi: 1 + 2 = 3 µJ against the ANN on loihi, 6 µJ: 0.5; 97.5% on 2,000 images is
    # admitted (its interval reaches 98.1%). spinnaker: 0.1 + 7 = 7.1 µJ on the chip (the 4 µJ
    # host layer apart), against the cheapest chip ANN, loihi's 6 µJ: 7.1 / 6 = 1.18.
    assert t.rows == [
        ["cpu", "system", "conventional", "mlp", "98.00%", "4 mJ (cpu-m)", D,
         "mlp on cpu (the ANN on cpu)", "4 mJ (cpu-m)", "1×", "this is the baseline"],
        ["asic", "chip", "bio-inspired", D, D, D, D, D, D, D,
         "no bio-inspired configuration on asic reaches 98.00%"],
        ["loihi", "chip", "bio-inspired", "snn", "97.50% (admitted within the 95% interval)",
         "3 µJ (loihi-m)", D, "mlp on loihi (the ANN on loihi)", "6 µJ (loihi-m)", "0.5×", ""],
        ["loihi", "chip", "conventional", "mlp", "98.00%", "6 µJ (loihi-m)", D,
         "mlp on loihi (the ANN on loihi)", "6 µJ (loihi-m)", "1×", "this is the baseline"],
        ["spinnaker", "chip", "bio-inspired", "snn", "97.50% (admitted within the 95% interval)",
         "7.1 µJ (spin-m)", "4 µJ",
         "mlp on loihi (cheapest conventional chip-level figure (on loihi))", "6 µJ (loihi-m)",
         "1.18×", "first layer on the host: 4 µJ at system level (host_input_layer) not in "
                  "this chip-level figure; not the whole inference on the chip"]]
    # A level no ANN has a figure at: the baseline cells are dashes.
    assert text.selection_table(report_b()).rows[2] == [
        "loihi", "system", "bio-inspired", "snn", "99.00%", "1 mJ (sys-m)", D, D, D, D,
        "no conventional configuration has a system-level figure (deploy an ANN on a target "
        "with figures at this level)"]


def test_the_spike_table():
    t = text.spike_table(report_a())
    # Tie at x = rate × (B − fixed) / spike-driven: snn on loihi 0.5 × (6 − 2) / 1 = 2 per
    # synapse, 2,000 events on 1,000 synapses; sparse 0.25 × (6 − 2) / 0.5 = 2; lat on asic
    # 1 × (6 − 0) / 0.1 = 60. lsm's fixed 8 µJ and spinnaker's 7 µJ (static) exceed 6 µJ.
    assert t.rows == [
        ["snn on loihi", "chip", "97.50%", "1,000", "500", "0.5", "3 µJ (loihi-m)",
         "1 µJ / 2 µJ", "mlp on loihi: 6 µJ", "2 (2,000 events)"],
        ["sparse on loihi", "chip", "97.00%", "1,000", "250", "0.25", "2.5 µJ (loihi-m)",
         "500 nJ / 2 µJ", "mlp on loihi: 6 µJ", "2 (2,000 events)"],
        ["lat on asic", "chip", "90.00%", "1,000", "1,000", "1", "100 nJ (asic-m)",
         "100 nJ / 0 J", "mlp on loihi: 6 µJ", "60 (60,000 events)"],
        ["lsm on loihi", "chip", "98.50%", "not recorded", "0", "unknown", "8 µJ (loihi-m)",
         "0 J / 8 µJ", "mlp on loihi: 6 µJ",
         "none: the fixed terms alone (8 µJ) exceed the baseline"],
        ["snn on spinnaker (chip part only: first layer on the host)", "chip", "97.50%", "100",
         "50", "0.5", "7.1 µJ (spin-m)", "100 nJ / 7 µJ", "mlp on loihi: 6 µJ",
         "none: the fixed terms alone (7 µJ) exceed the baseline"]]
    # No term scales with spikes and the fixed 5 µJ stay under the baseline's 6 µJ: no tie.
    configs = [cfg("mlp", "mlp", "loihi", "ann", 0.98, [est("chip", {"graded_events": 6e-6},
                                                            "loihi-m")], 100.0),
               cfg("lsm", "lsm", "loihi", "snn", 0.98, [est("chip", {"neuron_updates": 5e-6},
                                                            "loihi-m")], 20.0)]
    rep = build_report(Comparison(dataset="mnist", runs=["mlp", "lsm"], configs=configs), 0.98)
    assert text.spike_table(rep).rows[0][-3:] == [
        "0 J / 5 µJ", "mlp on loihi: 6 µJ", "none: no term of the figure scales with spikes"]
    # No synapse count: no rate, the tie in events only, 100 × (3 − 0) / 1 = 300.
    assert text.spike_table(report_b()).rows == [
        ["snn on loihi", "chip", "99.00%", "not recorded", "100", "unknown", "1 µJ (loihi-m)",
         "1 µJ / 0 J", "cnn on asic: 3 µJ", "300 events"]]


def test_the_break_even_table():
    t = text.break_even_table(report_a())
    # snn on loihi: (300 − 100) J / (6 − 3) µJ = 6.67e7 inferences; spinnaker dearer to train
    # and per inference (7.1 > 6 µJ): never.
    assert t.rows == [
        ["mlp on cpu", "system", "100 J", "4 mJ (cpu-m)", "mlp on cpu", "100 J", "4 mJ", D,
         "the baseline"],
        ["snn on loihi", "chip", "300 J", "3 µJ (loihi-m)", "mlp on loihi", "100 J", "6 µJ",
         "6.67e+07", "costs more to train; pays back after 6.67e+07 inferences"],
        ["mlp on loihi", "chip", "100 J", "6 µJ (loihi-m)", "mlp on loihi", "100 J", "6 µJ", D,
         "the baseline"],
        ["snn on spinnaker", "chip", "300 J", "7.1 µJ (spin-m)", "mlp on loihi", "100 J",
         "6 µJ", D, "costs more to train and no less per inference: never pays back"]]
    assert t.notes == []
    t = text.break_even_table(report_b())
    assert t.rows[1:] == [
        ["snn on loihi", "chip", "300 J", "1 µJ (loihi-m)", "cnn on asic", "500 J", "3 µJ", D,
         "cheaper (or equal) to train and per inference: never costs more"],
        ["snn on loihi", "system", "300 J", "1 mJ (sys-m)", D, D, D, D,
         "no conventional baseline at this level: not compared"]]
    assert t.notes == ["Where there is no conventional baseline at a level, the lines training "
                       "+ N × inference are still drawn in the break-even plot and written to "
                       "JSON and CSV."]


def test_the_configurations_table():
    t = text.configs_table(report_a())
    assert t.headers[4:7] == ["ops / inference", "energy / inference, chip level",
                              "energy / inference, system level"]
    assert t.intro[0].startswith("7 configurations of 5 runs on mnist. ")
    # Training: 100 J incl. PUE is 100 / 1.5 = 66.7 J at the plug, 100 × 1e-4 = 0.01 kg CO2e.
    assert t.rows[0] == ["mlp (ann)", "cpu", "conventional (ANN)", "98.00% (98.10%)",
                         "0 synops + 0 host MACs; 0 neuron updates", D,
                         "4 mJ (cpu-m, default)", D, "2 ms",
                         "100 J incl. PUE (66.7 J at the plug × PUE 1.5), 0.01 kg CO2e, measured"]
    assert t.rows[4] == ["lat (snn-mlp, snn)", "asic", "bio-inspired (SNN), latency input",
                         "90.00%", "1,000 synops + 0 host MACs; 0 neuron updates",
                         "100 nJ (asic-m, default)", D, D, "unknown",
                         "50 J incl. PUE (33.3 J at the plug × PUE 1.5), 0.005 kg CO2e, "
                         "measured"]
    assert t.rows[6][5:8] == ["7.1 µJ (spin-m, default; host work apart)", D,
                              "4 µJ (host_input_layer; system level, beside spin-m)"]
    assert t.notes == ["missing: lat on spinnaker"]
    # One level only: one energy column.
    rep = report_b()
    rep.levels = ["chip"]
    t = text.configs_table(rep)
    assert len(t.headers) == 9 and t.rows[0][5:7] == ["1 µJ (loihi-m, default)", D]


def test_the_training_tables():
    rep = report_a()
    t = text.training_table(rep)
    # kWh × PUE = J / 3.6e6: 100 J is 2.78e-05, 400 J 1.11e-04.
    assert t.rows == [
        ["mlp", "mlp", "100 J", "66.7 J", "1.5", "2.78e-05", "0.01", "cpu: measured"],
        ["snn", "snn-mlp", "300 J", "200 J", "1.5", "8.33e-05", "0.03", "cpu: measured"],
        ["sparse", "snn-mlp", "400 J", "267 J", "1.5", "0.000111", "0.04", "cpu: measured"],
        ["lat", "snn-mlp", "50 J", "33.3 J", "1.5", "1.39e-05", "0.005", "cpu: measured"],
        ["lsm", "lsm", "20 J", "13.3 J", "1.5", "5.56e-06", "0.002", "cpu: measured"]]
    assert t.notes == ["Training figures leave out: idle power"]
    rep.comparison.configs[0].training.methods = {}
    assert text.training_table(rep).rows[0][-1] == "unknown"
    # Against the cheapest backprop run reaching 98%, mlp (100 J): snn 3×, lsm 20 / 100 = 0.2×.
    t = text.training_choice_table(rep)
    assert t.title == "Training energy at equal accuracy (98.00%): how each run learned"
    assert t.rows == [
        ["mlp", "mlp", "backprop", "98.00% on cpu", "yes", "100 J (measured)", "mlp", "1×"],
        ["snn", "snn-mlp", "backprop", "97.50% on loihi", "yes", "300 J (measured)", "mlp",
         "3×"],
        ["sparse", "snn-mlp", "backprop", "97.00% on loihi", "no", "400 J (measured)", "mlp",
         D],
        ["lat", "snn-mlp", "backprop", "90.00% on asic", "no", "50 J (measured)", "mlp", D],
        ["lsm", "lsm", "ridge", "98.50% on loihi", "yes", "20 J (measured)", "mlp", "0.2×"]]
    assert t.intro[0].endswith("at equal accuracy they are not in the comparison.")
    t = text.training_choice_table(report_b())
    assert [r[-2:] for r in t.rows] == [[D, D], [D, D]]
    assert t.intro[0].endswith("they are not in the comparison. No backprop run reaches the "
                               "threshold, so no ratio is given.")


def test_the_sparsity_and_aspects_tables():
    rep = report_a()
    t = text.sparsity_table(rep)
    # snn-mlp has runs at penalties 0 and 0.1: every snn-mlp configuration, by target then
    # penalty. spinnaker's energy is its whole default estimate, 7.1 + 4 = 11.1 µJ, of which
    # the device 7.1 µJ.
    assert t.rows == [
        ["snn-mlp", "asic", "lat", "0", "90.00%", "0", "1,000", "100 nJ (asic-m; chip)",
         "100 nJ"],
        ["snn-mlp", "loihi", "snn", "0", "97.50%", "80", "500", "3 µJ (loihi-m; chip)", "3 µJ"],
        ["snn-mlp", "loihi", "sparse", "0.1", "97.00%", "40", "250", "2.5 µJ (loihi-m; chip)",
         "2.5 µJ"],
        ["snn-mlp", "spinnaker", "snn", "0", "97.50%", "0", "50",
         "11.1 µJ (spin-m; chip + system-level terms)", "7.1 µJ"]]
    rep.sparsity[0].energy_j = None
    assert text.sparsity_table(rep).rows[0][7] == "n/a"
    t = text.aspects_table(rep)
    assert t.headers[7:] == ["energy ratio, chip", "note"]
    # sparse against snn on loihi: 2.5 / 3 = 0.833, 97.0 − 97.5 = −0.50 points; lsm against
    # snn: 8 / 3 = 2.67, +1.00 point. lat has no plain snn-mlp on asic.
    assert t.rows == [
        ["spike code", "latency", "lat on asic", "90.00%",
         "none: no plain counterpart (snn-mlp, constant input, no rate penalty, backprop) "
         "compared on asic", D, "120", D, ""],
        ["sparse activity", "rate penalty 0.1", "sparse on loihi", "97.00%", "snn (97.50%)",
         "-0.50 pp", "0 / 0", "0.833×", ""],
        ["recurrence", "lsm (reservoir, ridge readout)", "lsm on loihi", "98.50%",
         "snn (97.50%)", "+1.00 pp", "0 / 0", "2.67×", ""]]
    rep.aspects[1].comment = "a note"
    assert text.aspects_table(rep).rows[1][-1] == "a note"
    assert [t.title for t in text.tables(rep)] == [
        "Equal accuracy: cheapest configuration reaching 98.00%",
        "Where spikes pay: the spike rate that would tie the conventional baseline",
        "Break-even: training energy plus N inferences", "Every model on every target",
        "Training energy (from each run's energy.json)",
        "Training energy at equal accuracy (98.00%): how each run learned",
        "Sparse codes: the rate-penalty trade-off", text.ASPECTS_TITLE]
    # No sparsity points and no aspects: the six tables only.
    assert len(text.tables(report_b())) == 6


def test_the_answer_table_and_sections():
    t = text.answer_table(report_a())
    assert t.rows == [
        ["chip", "snn on loihi (97.50%)", "3 µJ (loihi-m)", "mlp on loihi (98.00%)",
         "6 µJ (loihi-m)", "0.5×",
         "it fires 0.5 spikes per synapse per inference, below the break-even rate of 2"],
        ["system", D, D, "mlp on cpu", "4 mJ", D,
         "no bio-inspired configuration has a system-level figure"]]
    assert t.intro == report_a().answer.sentences
    assert t.notes == ["Left out of the chip-level answer, since part of the inference runs on "
                       "the host (shown apart in the tables): snn on spinnaker."]
    rep = report_b()
    t = text.answer_table(rep)
    assert t.rows[1] == ["system", "snn on loihi", "1 mJ", D, D, D,
                         "no conventional configuration has a system-level figure"]
    assert t.notes == []
    # Per target and cost model, with what is named but not estimated apart.
    assert text.leaves_out_sections(rep) == [
        ("loihi, loihi-m (chip) — snn", ["idle power", "host I/O"]),
        ("loihi, sys-m: named but not estimated — snn", ["static"]),
        ("asic, asic-m (chip) — cnn", ["idle power"])]
    assert [s.split(":")[0] for s in text.levels_section(rep)] == ["chip", "system"]
    assert text.notes(rep)[-1].startswith("Latency is the device's time per inference")


@pytest.mark.parametrize(("network", "encoding", "word"), [
    ("ann", "", "conventional (ANN)"), ("snn", "", "bio-inspired (SNN)"),
    ("snn", "poisson", "bio-inspired (SNN), poisson input")])
def test_the_network_word(network, encoding, word):
    assert text.network_word(ConfigRow(network=network, kind=network, target="loihi",
                                       encoding=encoding)) == word


def test_every_table_has_its_title_headers_and_an_introduction():
    rep = report_a()
    tables = [*text.tables(rep), text.answer_table(rep)]
    assert {t.title: t.headers for t in tables} == {
        "Equal accuracy: cheapest configuration reaching 98.00%": [
            "target", "level", "side", "cheapest run", "accuracy",
            "energy / inference (this level only)", "host work apart (other level)",
            "conventional baseline (why)", "baseline energy / inference (same level)",
            "ratio to baseline", "comment"],
        "Where spikes pay: the spike rate that would tie the conventional baseline": [
            "configuration", "level", "accuracy", "deployed synapses",
            "synaptic events / inference", "spikes per synapse / inference (measured)",
            "energy / inference", "spike-driven / fixed", "conventional baseline (same level)",
            "spikes per synapse at which it ties"],
        "Break-even: training energy plus N inferences": [
            "configuration", "level", "training energy incl. PUE", "energy / inference",
            "baseline", "baseline training", "baseline energy / inference", "break-even N",
            "verdict"],
        "Every model on every target": [
            "run (model, kind)", "target", "network on the device", "accuracy (reference)",
            "ops / inference", "energy / inference, chip level",
            "energy / inference, system level", "host work apart (other level)",
            "time / inference", "training energy incl. PUE"],
        "Training energy (from each run's energy.json)": [
            "run", "model", "training energy incl. PUE", "at the plug (before PUE)", "PUE",
            "kWh × PUE", "kg CO2e", "method by component"],
        "Training energy at equal accuracy (98.00%): how each run learned": [
            "run", "model", "learning", "best accuracy (target)", "reaches threshold",
            "training energy incl. PUE (method)", "cheapest backprop run reaching it",
            "ratio to it"],
        "Sparse codes: the rate-penalty trade-off": [
            "model", "target", "run", "rate penalty", "accuracy", "spikes / inference",
            "synops / inference", "energy / inference (default estimate; level)",
            "of which the device"],
        text.ASPECTS_TITLE: [
            "aspect", "setting", "configuration", "accuracy", "plain counterpart",
            "accuracy difference", "input spikes / inference (vs plain)", "energy ratio, chip",
            "note"],
        "Answer": [
            "level", "cheapest bio-inspired", "energy / inference", "cheapest conventional",
            "energy / inference", "ratio", "what decides it"]}
    # Every table but the training table opens with a paragraph; the answer with its sentences.
    intros = {t.title: t.intro for t in tables}
    assert intros.pop("Training energy (from each run's energy.json)") == []
    assert intros.pop("Answer") == rep.answer.sentences
    assert all(len(i) == 1 and len(i[0]) > 200 for i in intros.values())
    # Nothing left out of the training figures: no note under the training table.
    assert text.training_table(report_b()).notes == []


def test_an_answer_line_without_a_pair_before_one_with_a_pair():
    rep = report_a()
    rep.answer.lines.reverse()  # system (no pair) first, then chip
    assert [r[0] for r in text.answer_table(rep).rows] == ["system", "chip"]


def test_the_levels_section_defines_each_level_shown():
    from neuropipe.core.levels import LEVEL_DEFINITIONS

    rep = report_b()
    assert text.levels_section(rep) == [f"chip: {LEVEL_DEFINITIONS['chip']}",
                                        f"system: {LEVEL_DEFINITIONS['system']}"]
    rep.levels = []  # none chosen: the comparison's levels
    assert [s.split(":")[0] for s in text.levels_section(rep)] == ["chip", "system"]
    rep.levels = ["chip", "quantum"]  # a level neuropipe does not define
    assert text.levels_section(rep)[1] == "quantum: a level this neuropipe does not define"


def test_label_boxes_overlap_and_stay_in_their_panel_by_hand():
    from matplotlib.transforms import Bbox

    from neuropipe.reports.report.headline import _inside, _overlap, _tie_name

    a = Bbox([[0.0, 0.0], [4.0, 3.0]])
    # overlap with [2, 6] x [1, 5]: (4 - 2) x (3 - 1) = 4; with one only touching it (x from
    # 4) or beside it in y alone (y from 3): 0
    assert _overlap(a, Bbox([[2.0, 1.0], [6.0, 5.0]])) == 4.0
    assert _overlap(Bbox([[2.0, 1.0], [6.0, 5.0]]), a) == 4.0
    # less than a pixel each way: 0.5 x 2 = 1 and 2 x 0.5 = 1
    assert _overlap(a, Bbox([[3.5, 1.0], [6.0, 5.0]])) == 1.0
    assert _overlap(a, Bbox([[2.0, 2.5], [6.0, 5.0]])) == 1.0
    assert _overlap(a, Bbox([[4.0, 0.0], [5.0, 3.0]])) == 0.0
    assert _overlap(a, Bbox([[1.0, 3.0], [2.0, 4.0]])) == 0.0
    assert _overlap(a, Bbox([[1.0, -5.0], [2.0, -4.0]])) == 0.0  # apart in y, not in x
    frame = Bbox([[0.0, 0.0], [10.0, 10.0]])
    assert _inside(a, frame) and _inside(frame, frame)  # edges on the frame are inside
    for out in ([[-1, 0], [4, 3]], [[0, -1], [4, 3]], [[7, 0], [11, 3]], [[0, 8], [4, 11]]):
        assert not _inside(Bbox(out), frame)
    assert _tie_name(types.SimpleNamespace(run="snn", target="loihi", whole_on_device=True)) \
        == "snn on loihi"
    assert _tie_name(types.SimpleNamespace(run="snn", target="loihi", whole_on_device=False)) \
        == "snn on loihi (chip part)"
