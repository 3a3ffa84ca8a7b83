"""The energy report's views on hand-made rows: equal accuracy, break-even, levels, rendering."""

import csv
import io
import json

import pytest

from neuropipe.core.errors import InputError
from neuropipe.reports.comparison import (
    ALWAYS,
    IS_BASELINE,
    J_PER_KWH,
    NEVER,
    NO_BASELINE,
    OVERTAKEN,
    PAYS_BACK,
    BreakEven,
    Comparison,
    ConfigRow,
    EnergyReport,
    EstimateRow,
    LayerRow,
    MissingTarget,
    Selection,
    TrainingRow,
    break_even_n,
    build_report,
    default_threshold,
)
from neuropipe.reports.report.data import CSV_COLUMNS, render_csv, render_json
from neuropipe.reports.report.output import render_files


def est(level, total, model=None, default=False, host=0.0, estimated=True):
    """An estimate; ``host`` is a host first layer costed at system level, inside ``total``."""
    off = host if level != "system" else 0.0
    levels = [level] + (["system"] if off else [])
    return EstimateRow(cost_model=model or f"{level}-model", level=level, default=default,
                       total_j=total, device_j=total - host, host_j=host, term_levels=levels,
                       estimated=estimated, leaves_out=[f"what {level} leaves out"],
                       off_level_j=off, off_level_terms=["host_input_layer"] if off else [])


def row(run, kind, target, acc, estimates, train_j):
    model = {"ann": "mlp", "snn": "snn-mlp"}[kind]
    return ConfigRow(run=run, model=model, kind=kind, dataset="mnist", target=target,
                     accuracy=acc, samples=10**6, synops=10.0, estimates=estimates,
                     layers=[LayerRow(name="fc", synops=10.0)],
                     training=TrainingRow(joules=train_j / 1.58, kwh=train_j / 1.58 / J_PER_KWH,
                                          kwh_pue=train_j / J_PER_KWH, pue=1.58,
                                          methods={"cpu": "estimate"}))


def configs():
    # Training energies (J, with PUE): mlp 100, cnn 1000, snn 5000.
    return [
        row("mlp", "ann", "cpu", 0.98, [est("arithmetic", 4.6e-6),
                                        est("system", 8.6e-3, default=True)], 100),
        row("mlp", "ann", "loihi", 0.975, [est("chip", 1.7e-3, default=True, host=1.6e-3)], 100),
        row("cnn", "ann", "cpu", 0.99, [est("arithmetic", 1e-5),
                                        est("system", 2e-2, default=True)], 1000),
        row("cnn", "ann", "loihi", 0.985, [est("chip", 3e-5, default=True),
                                           est("system", 1e-3, "loihi-board")], 1000),
        row("snn", "snn", "cpu", 0.97, [est("system", 5e-3, default=True)], 5000),
        row("snn", "snn", "loihi", 0.976, [est("chip", 9e-7, default=True),
                                           est("system", 2e-3, "loihi-board")], 5000),
    ]


def report(threshold=None):
    rows = configs()
    return build_report(Comparison(dataset="mnist", runs=["mlp", "cnn", "snn"],
                                   sources={r: f"runs/{r}" for r in ("mlp", "cnn", "snn")},
                                   configs=rows), threshold, created="now")


def pick(rep, target, level, side=None):
    return next(s for s in rep.selection if s.target == target and s.level == level
                and side in (None, s.side))


def test_default_threshold_is_the_best_accuracy_every_run_reaches():
    # Best per run: mlp max(0.98, 0.975) = 0.98; cnn 0.99; snn max(0.97, 0.976) = 0.976.
    assert default_threshold(configs()) == pytest.approx(0.976)


def test_equal_accuracy_picks_the_cheapest_reaching_the_threshold_per_target_and_level():
    rep = report()  # threshold 0.976
    # Per target, level and side: on loihi every run is spiking (old records: an ANN run on a
    # non-host target is a converted SNN), so loihi has bio-inspired rows only.
    assert [(s.target, s.level, s.side) for s in rep.selection] == [
        ("cpu", "arithmetic", "conventional"), ("cpu", "system", "bio-inspired"),
        ("cpu", "system", "conventional"), ("loihi", "chip", "bio-inspired"),
        ("loihi", "system", "bio-inspired")]
    # cpu at 0.976: mlp (0.98) and cnn (0.99) qualify, snn (0.97) does not.
    assert pick(rep, "cpu", "arithmetic").run == "mlp"
    assert pick(rep, "cpu", "system", "conventional").run == "mlp"
    assert pick(rep, "cpu", "system", "conventional").comment == "this is the baseline"
    assert pick(rep, "cpu", "system", "bio-inspired").run is None
    # loihi: cnn (0.985) and snn (0.976) qualify, mlp (0.975) does not; chip: snn 9e-7 < 3e-5.
    chip = pick(rep, "loihi", "chip")
    assert (chip.run, chip.energy_j) == ("snn", 9e-7)
    # system: cnn 1e-3 < snn 2e-3; baseline mlp on cpu 8.6e-3 -> 1e-3 / 8.6e-3 = 0.11628.
    system = pick(rep, "loihi", "system")
    assert (system.run, system.baseline_run, system.baseline_target) == ("cnn", "mlp", "cpu")
    assert system.ratio == pytest.approx(1e-3 / 8.6e-3) == pytest.approx(0.116279, rel=1e-5)


def test_a_higher_threshold_changes_the_pick_and_the_baseline():
    rep = report(0.985)
    # cpu: only cnn (0.99) qualifies, so it is the baseline: system 2e-2.
    assert pick(rep, "cpu", "system", "conventional").run == "cnn"
    # loihi system: only cnn (0.985): 1e-3 / 2e-2 = 0.05.
    assert pick(rep, "loihi", "system").ratio == pytest.approx(0.05)
    rep = report(0.995)
    assert all(s.run is None and "reaches 99.50%" in s.comment for s in rep.selection)


def test_figures_at_different_levels_are_never_compared():
    rep = report()
    chip = pick(rep, "loihi", "chip")
    # The cpu baseline has arithmetic and system figures, none at chip level.
    assert chip.ratio is None and chip.baseline_run is None
    assert chip.comment.startswith("no conventional configuration has a chip-level figure")
    be = next(b for b in rep.break_even if b.target == "loihi" and b.level == "chip")
    assert be.verdict == NO_BASELINE and be.n is None
    for s in rep.selection:
        if s.baseline_run is not None:
            base = next(c for c in rep.comparison.configs
                        if c.run == s.baseline_run and c.target == s.baseline_target)
            assert base.at_level(s.level).total_j == s.baseline_energy_j


def test_host_work_stays_out_of_a_chip_figure_and_is_flagged():
    rows = [row("mlp", "ann", "cpu", 0.98, [est("chip", 1e-3, default=True)], 100),
            row("snn", "snn", "loihi", 0.98, [est("chip", 2.5e-3, default=True, host=2e-3)],
                100)]
    rows[1].host_macs = 1000.0
    rep = build_report(Comparison(dataset="mnist", runs=["mlp", "snn"], configs=rows))
    s = pick(rep, "loihi", "chip")
    # The chip figure is 2.5e-3 - 2e-3 = 5e-4 (not 2.5e-3): 5e-4 / 1e-3 = 0.5, host apart.
    assert s.energy_j == pytest.approx(5e-4) and s.ratio == pytest.approx(0.5)
    assert s.host_j == pytest.approx(2e-3) and not s.whole_on_device
    assert "first layer on the host: 2 mJ at system level (host_input_layer)" in s.comment
    # It is not the whole inference on the chip: left out of the chip-level answer.
    chip = rep.answer.lines[0]
    assert chip.ratio is None and chip.excluded == ["snn on loihi"]
    assert "no bio-inspired inference runs wholly on a chip" in chip.reason


def test_an_estimate_with_nothing_estimated_is_no_figure():
    rows = [row("mlp", "ann", "cpu", 0.98, [est("system", 1e-3, default=True),
                                            est("measured", 0.0, "meter", estimated=False)], 100),
            row("snn", "snn", "loihi", 0.98, [est("measured", 1e-6, default=True)], 100)]
    rep = build_report(Comparison(dataset="mnist", runs=["mlp", "snn"], configs=rows))
    measured = pick(rep, "loihi", "measured")
    assert measured.ratio is None
    assert measured.comment.startswith("no conventional configuration has a measured-level")
    assert ("cpu", "measured") not in {(s.target, s.level) for s in rep.selection}


def test_break_even_on_hand_made_numbers():
    # Costs 900 J more to train, 7.6 mJ less per inference: 900 / 7.6e-3 = 118,421.05 inferences.
    n, verdict = break_even_n(1000.0, 1e-3, 100.0, 8.6e-3)
    assert verdict == PAYS_BACK and n == pytest.approx(118421.0526)
    assert 1000.0 + n * 1e-3 == pytest.approx(100.0 + n * 8.6e-3)
    # 50 J cheaper to train, 1 mJ dearer per inference: cheaper until 50 / 1e-3 = 50,000.
    assert break_even_n(50.0, 2e-3, 100.0, 1e-3) == (pytest.approx(50000.0), OVERTAKEN)
    assert break_even_n(50.0, 1e-3, 100.0, 2e-3) == (None, ALWAYS)
    assert break_even_n(150.0, 2e-3, 100.0, 1e-3) == (None, NEVER)
    rep = report()
    be = next(b for b in rep.break_even if b.target == "loihi" and b.level == "system")
    assert (be.training_j, be.baseline_training_j) == (pytest.approx(1000), pytest.approx(100))
    assert be.verdict == PAYS_BACK and be.n == pytest.approx(900 / 7.6e-3)
    assert next(b for b in rep.break_even if b.target == "cpu" and b.level == "system"
                ).verdict == IS_BASELINE


def test_threshold_outside_zero_one_is_refused():
    for bad in (0, 1.5, -0.1):
        with pytest.raises(InputError, match=r"--accuracy must be a fraction in \(0, 1\]"):
            report(bad)
    assert report(1.0).threshold == 1.0


def test_every_report_record_round_trips(tmp_path):
    rep = report()
    rep.comparison.missing = [MissingTarget(run="snn", target="spinnaker")]
    rep.write(tmp_path / "r.json")
    again = EnergyReport.read(tmp_path / "r.json")
    assert again == rep
    assert isinstance(again.comparison.configs[0], ConfigRow)
    assert isinstance(again.comparison.configs[0].estimates[0], EstimateRow)
    assert isinstance(again.comparison.configs[0].training, TrainingRow)
    assert isinstance(again.selection[0], Selection) and isinstance(again.break_even[0], BreakEven)
    assert isinstance(again.comparison.missing[0], MissingTarget)


def test_json_and_csv_hold_the_numbers():
    rep = report()
    assert EnergyReport.from_dict(json.loads(render_json(rep))) == rep
    rows = list(csv.DictReader(io.StringIO(render_csv(rep))))
    assert tuple(rows[0]) == CSV_COLUMNS
    ratio = next(r for r in rows if r["section"] == "equal-accuracy" and r["target"] == "loihi"
                 and r["level"] == "system" and r["quantity"] == "ratio")
    assert float(ratio["value"]) == pytest.approx(1e-3 / 8.6e-3)
    n = next(r for r in rows if r["section"] == "break-even" and r["quantity"] == "n"
             and r["value"])
    assert float(n["value"]) == pytest.approx(900 / 7.6e-3)


def test_markdown_and_html_name_the_level_of_every_energy_figure():
    files = render_files(report(), ("md", "html"))
    md = files["report.md"].decode()
    assert "energy / inference, chip level" in md and "energy / inference, system level" in md
    assert "no conventional configuration has a chip-level figure" in md
    assert "(answer.png)" in md and "answer.png" in files
    # The answer and its plot come first; the levels are defined before the tables.
    assert md.index("## Answer") < md.index("(answer.png)") < md.index("## Levels") \
        < md.index("## Equal accuracy")
    html = files["report.html"].decode()
    assert html.count("data:image/png;base64,") == 5 and "<style>" in html
    assert all(files[n][:8] == b"\x89PNG\r\n\x1a\n" for n in files if n.endswith(".png"))

