"""The sweep's chip-level objective follows the report's rule on terms of another level.

Two Loihi deployments, hand-computed: A computes its first layer on the host (a system-level
term of 5 uJ inside its chip estimate), B runs wholly on the chip. A's chip-level figure is its
chip terms only (2 + 1 = 3 uJ, the host term named apart) and A is left off the chip-level
front, as the report leaves it out of its chip-level answer; B (4.5 uJ) is the front.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from neuropipe.pipeline.sweep.spec import SweepSpec, TargetSpec
from neuropipe.pipeline.sweep.trial import TrialParams, TrialResult, outcome_of
from neuropipe.targets.records import (
    Counts,
    DeploymentRecord,
    EnergyEstimate,
    EnergyTerm,
    LayerReport,
)

LOIHI = TargetSpec(name="loihi", level="chip")


def deployment(accuracy: float, synops_j: float, updates_j: float, host_j: float,
               host_macs: float) -> DeploymentRecord:
    terms = [EnergyTerm(name="synops", joules_per_inference=synops_j, level="chip"),
             EnergyTerm(name="neuron_updates", joules_per_inference=updates_j, level="chip"),
             EnergyTerm(name="host_input_layer", joules_per_inference=host_j, level="system",
                        kind="host")]
    on = "host" if host_macs else "chip"
    return DeploymentRecord(
        target="loihi", accuracy=accuracy, samples=100, counts=Counts(host_macs=host_macs),
        estimates=[EnergyEstimate.of(terms, "loihi1", "chip", [], [], [], default=True)],
        layers=[LayerReport(name="fc1", kind="dense", synapses_on=on,
                            host_macs_per_inference=host_macs),
                LayerReport(name="fc2", kind="dense")])


HOST_FIRST = deployment(0.95, 2e-6, 1e-6, 5e-6, host_macs=1000.0)  # A
ON_CHIP = deployment(0.93, 3e-6, 1.5e-6, 0.0, host_macs=0.0)  # B


def test_a_host_first_layer_is_named_apart_and_flagged() -> None:
    a = outcome_of(HOST_FIRST, LOIHI, Path("a.json"))
    assert HOST_FIRST.estimates[0].total_j == pytest.approx(8e-6, rel=1e-12)  # the old objective
    assert a.energy_j == pytest.approx(3e-6, rel=1e-12)
    assert a.off_level_j == pytest.approx(5e-6, rel=1e-12)
    assert a.off_level_terms == ["host_input_layer"] and a.whole is False
    b = outcome_of(ON_CHIP, LOIHI, Path("b.json"))
    assert b.energy_j == pytest.approx(4.5e-6, rel=1e-12)
    assert (b.off_level_j, b.off_level_terms, b.whole) == (0.0, [], True)


def test_the_chip_front_leaves_the_host_first_layer_out_and_the_table_says_so() -> None:
    from neuropipe.pipeline.sweep.output import trials_csv
    from neuropipe.pipeline.sweep.pareto import fronts, left_off

    spec = SweepSpec(name="s", targets=[LOIHI])
    results = [TrialResult(trial=name, run=f"/x/{name}", params=TrialParams(model="snn-mlp"),
                           targets={"loihi": outcome_of(record, LOIHI, Path(f"{name}.json"))})
               for name, record in (("a", HOST_FIRST), ("b", ON_CHIP))]
    # A alone would beat B (more accurate, 3 uJ < 4.5 uJ); it is not compared at chip level.
    assert [r.trial for r in fronts(results, spec)["loihi"]] == ["b"]
    assert [r.trial for r in left_off(results, "loihi")] == ["a"]
    rows = {r["trial"]: r for r in csv.DictReader(io.StringIO(
        trials_csv(spec, results, fronts(results, spec))))}
    assert (rows["a"]["front_loihi"], rows["a"]["whole_loihi"]) == ("0", "0")
    assert float(rows["a"]["energy_loihi_j"]) == pytest.approx(3e-6, rel=1e-12)
    assert float(rows["a"]["off_level_loihi_j"]) == pytest.approx(5e-6, rel=1e-12)
    assert rows["a"]["off_level_terms_loihi"] == "host_input_layer"
    assert (rows["b"]["front_loihi"], rows["b"]["whole_loihi"]) == ("1", "1")


def test_the_same_rule_as_the_report(tmp_path: Path) -> None:
    """The report's rows of the same deployment give the same figure and the same exclusion."""
    from neuropipe.pipeline.stages.energy_report import estimate_row, layer_rows
    from neuropipe.reports.rows import ConfigRow

    row = estimate_row(HOST_FIRST.estimates[0])
    config = ConfigRow(target="loihi", host_macs=1000.0, layers=layer_rows(HOST_FIRST))
    a = outcome_of(HOST_FIRST, LOIHI, tmp_path / "a.json")
    assert (a.energy_j, a.whole) == (row.figure_j, config.whole_at("chip"))


def test_an_old_trial_record_reads_as_whole() -> None:
    from neuropipe.pipeline.sweep.trial import TargetOutcome

    old = {k: v for k, v in outcome_of(ON_CHIP, LOIHI, Path("b.json")).to_dict().items()
           if k not in ("off_level_j", "off_level_terms", "whole")}
    back = TargetOutcome.from_dict(old)
    assert (back.off_level_j, back.off_level_terms, back.whole) == (0.0, [], True)


def test_the_summary_names_the_trials_left_off() -> None:
    from types import SimpleNamespace

    from neuropipe.pipeline.sweep.pareto import fronts
    from neuropipe.pipeline.sweep.run import summary

    spec = SweepSpec(name="s", targets=[LOIHI])
    results = [TrialResult(trial=n, run=f"/x/{n}", params=TrialParams(model="snn-mlp"),
                           targets={"loihi": outcome_of(r, LOIHI, Path(f"{n}.json"))})
               for n, r in (("a", HOST_FIRST), ("b", ON_CHIP))]
    outcome = SimpleNamespace(results=results, expected=2, errors=[])
    written = SimpleNamespace(fronts=fronts(results, spec), files=[], report_note="-")
    lines = summary(spec, Path("/x"), outcome, written, 1.0, None)
    left = [x for x in lines if "left off" in x]
    assert len(left) == 1 and "1 trial(s) with a first layer on the host" in left[0]
    assert "whole_loihi 0" in left[0]
