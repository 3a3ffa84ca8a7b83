"""The report's cells that show a figure: units, rounding, ranges and verdicts, by hand.

Issue 23: mutants of the figure-showing functions of ``reports/report/text.py`` (the table
layouts around them are words).
"""

import pytest

from neuropipe.reports.comparison import (
    ALWAYS,
    IS_BASELINE,
    NEVER,
    NO_BASELINE,
    OVERTAKEN,
    PAYS_BACK,
    BreakEven,
    ConfigRow,
    EstimateRow,
    TrainingRow,
)
from neuropipe.reports.report.text import (
    count,
    host_cell,
    inferences,
    joules,
    level_cell,
    ops_cell,
    seconds,
    training_cell,
    training_energy,
    verdict,
)


def test_joules_counts_and_seconds():
    assert (joules(None), joules(0.0), joules(2500.0), joules(1.5e-6)) == (
        "n/a", "0 J", "2.5 kJ", "1.5 µJ")
    assert (count(None), count(1_234_567.4), count(0.0)) == ("n/a", "1,234,567", "0")
    # under a second in ms, from 1 s in s (3 significant digits)
    assert (seconds(None), seconds(0.0125), seconds(0.999), seconds(1.0), seconds(12.34)) == (
        "unknown", "12.5 ms", "999 ms", "1 s", "12.3 s")


@pytest.mark.parametrize(("n", "text"), [
    (2.1, "3"), (5.0, "5"), (0.0, "0"), (1234.5, "1,235"),  # rounded up to a whole inference
    (9_999_998.2, "9,999,999"), (9_999_999.5, "1e+07"),  # from 10^7 in 3 digits
])
def test_inferences_round_up(n, text):
    assert inferences(n) == text


def est(model, total, off=0.0, default=False, level="chip", off_terms=(), levels=None):
    return EstimateRow(cost_model=model, level=level, default=default, total_j=total,
                       off_level_j=off, off_level_terms=list(off_terms),
                       term_levels=list(levels or [level]))


def test_the_figure_at_a_level_with_its_range():
    c = ConfigRow(estimates=[est("b", 2.0), est("a", 0.75, off=0.25, default=True,
                                                 levels=["chip", "system"])])
    # the default, 0.75 - 0.25 = 0.5 J; the range is over the totals, 0.75 J to 2 J
    assert level_cell(c, "chip") == "500 mJ (a, default; host work apart; range 750 mJ–2 J " \
                                    "over 2 models)"
    assert level_cell(c, "system") == "—"
    single = ConfigRow(estimates=[est("s", 3e-3, level="system")])
    assert level_cell(single, "system") == "3 mJ (s)"


def test_operations_per_inference():
    host = ConfigRow(target="cpu", neuron_updates=89.0, ops={
        "dense_macs": 1234.0, "dense_acs": 0.0, "effective_macs": 56.0, "effective_acs": 7.0})
    assert ops_cell(host) == "dense 1,234 MACs; effective 56 MACs + 7 ACs; 89 neuron updates"
    both = ConfigRow(target="cpu", ops={"dense_macs": 1234.0, "dense_acs": 10.0})
    assert ops_cell(both) == "dense 1,234 MACs + 10 ACs; effective 0; 0 neuron updates"
    idle = ConfigRow(target="gpu", ops={"dense_macs": 0.0, "effective_acs": 0.0})
    assert ops_cell(idle) == "dense 0; effective 0; 0 neuron updates"
    chip = ConfigRow(target="loihi", synops=1234.0, host_macs=89.0, neuron_updates=10.0,
                     graded_events=5.0)
    assert ops_cell(chip) == "5 graded events + 1,234 synops + 89 host MACs; 10 neuron updates"
    chip.graded_events = 0.0
    assert ops_cell(chip) == "1,234 synops + 89 host MACs; 10 neuron updates"


def test_host_work_apart_named_once():
    off = est("a", 0.75, off=0.25, off_terms=["host_macs", "host_io"],
              levels=["chip", "system"])
    c = ConfigRow(estimates=[off, est("b", 2.0), est("a", 0.75, off=0.25,
                                                     off_terms=["host_macs", "host_io"],
                                                     levels=["chip", "system"])])
    assert host_cell(c) == "250 mJ (host_macs, host_io; system level, beside a)"
    assert host_cell(ConfigRow(estimates=[est("b", 2.0)])) == "—"
    two = ConfigRow(estimates=[
        est("a", 0.75, off=0.25, off_terms=["host_macs"], levels=["chip", "system", "measured"]),
        est("b", 3e-3, off=2e-3, off_terms=["host_io"], levels=["chip", "system"])])
    assert host_cell(two) == ("250 mJ (host_macs; system/measured level, beside a); "
                              "2 mJ (host_io; system level, beside b)")


def test_training_energy_with_pue():
    c = ConfigRow(training=TrainingRow(joules=7200.0, kwh_pue=0.003, pue=1.5, co2e_kg=0.0015,
                                       methods={"cpu": "rapl"}))
    # 0.003 kWh x 3.6e6 J/kWh = 10,800 J, from 7,200 J at the plug x 1.5
    assert training_energy(c) == "10.8 kJ incl. PUE (7.2 kJ at the plug × PUE 1.5)"
    assert training_cell(c) == ("10.8 kJ incl. PUE (7.2 kJ at the plug × PUE 1.5), "
                                "0.0015 kg CO2e, measured")


def be(kind, n=None, training=10.0, base=20.0):
    return BreakEven(run="r", training_j=training, baseline_training_j=base, n=n, verdict=kind)


def test_every_verdict_in_words():
    assert verdict(be(PAYS_BACK, 41.2)) == "costs more to train; pays back after 42 inferences"
    assert verdict(be(PAYS_BACK)) == "costs more to train; pays back after 0 inferences"
    assert verdict(be(OVERTAKEN, 7.0)) == (
        "cheaper to train but dearer per inference: cheaper for the first 7 inferences, the "
        "baseline after that")
    assert verdict(be(OVERTAKEN)).endswith("the first 0 inferences, the baseline after that")
    assert verdict(be(ALWAYS, base=10.0)) == (
        "same training energy (same run), no dearer per inference: never costs more")
    assert verdict(be(ALWAYS)) == "cheaper (or equal) to train and per inference: never costs " \
                                  "more"
    assert verdict(be(ALWAYS, base=None)) == verdict(be(ALWAYS))
    assert verdict(be(NEVER, base=10.0)) == (
        "same training energy (same run), dearer per inference: costs more from the first "
        "inference")
    assert verdict(be(NEVER)) == "costs more to train and no less per inference: never pays back"
    assert verdict(be(IS_BASELINE)) == "the baseline"
    assert verdict(be(NO_BASELINE)) == "no conventional baseline at this level: not compared"


def test_coinciding_points_of_a_panel():
    from neuropipe.reports.comparison import Comparison, EnergyReport
    from neuropipe.reports.report.headline import points

    def c(run, target, network, acc, total, off=0.0, level="chip", host_macs=0.0):
        return ConfigRow(run=run, target=target, network=network, accuracy=acc,
                         host_macs=host_macs, estimates=[est("m", total, off=off, default=True,
                                                             level=level)])

    rep = EnergyReport(comparison=Comparison(configs=[
        # 97.504% and 97.496% are 97.50 to 0.01 point; 2.00004 and 2.00001 mJ are 2 mJ to 4
        # digits: one point with mlp2, labelled per run
        c("mlp", "cpu", "ann", 0.97504, 2.00004e-3), c("mlp", "gpu", "ann", 0.97496, 2.00001e-3),
        c("mlp2", "cpu", "ann", 0.975, 2e-3),
        c("snn", "loihi", "snn", 0.975, 2e-3),  # the other side: a point of its own
        c("snn-h", "spinnaker", "snn", 0.975, 2e-3, host_macs=5.0),  # not whole on the chip
        c("snn-a", "loihi", "snn", 0.9751, 2e-3),  # 97.51%: apart
        c("snn-e", "loihi", "snn", 0.975, 2.001e-3),  # 2.001 mJ: apart
        c("zero", "loihi", "snn", 0.975, 1e-3, off=1e-3),  # a figure of 0 J: not drawn
        c("sys", "loihi", "snn", 0.975, 2e-3, level="system"),  # no chip figure
    ]))
    assert points(rep, "chip") == [
        (97.5, 2e-3, "conventional", ["mlp on cpu, gpu", "mlp2 on cpu"], True,
         {"mlp on cpu", "mlp on gpu", "mlp2 on cpu"}),
        (97.5, 2e-3, "bio-inspired", ["snn on loihi"], True, {"snn on loihi"}),
        (97.5, 2e-3, "bio-inspired", ["snn-h on spinnaker"], False, {"snn-h on spinnaker"}),
        (97.51, 2e-3, "bio-inspired", ["snn-a on loihi"], True, {"snn-a on loihi"}),
        (97.5, 2.001e-3, "bio-inspired", ["snn-e on loihi"], True, {"snn-e on loihi"}),
    ]
    # only "sys" has a figure at system level
    (point,) = points(rep, "system")
    assert point == (97.5, 2e-3, "bio-inspired", ["sys on loihi"], True, {"sys on loihi"})
