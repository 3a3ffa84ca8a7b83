"""The figure at a level: one rule for the deployment record, the sweep and the report."""

from pathlib import Path

from neuropipe.targets.records import DeploymentRecord, EnergyEstimate, EnergyTerm


def est(name, level, joules, default=False):
    term = EnergyTerm(name="t", joules_per_inference=joules, level=level, cost_model=name)
    return EnergyEstimate.of([term], name, level, [], [], [], default=default)


def test_the_default_first_then_the_first_never_one_that_estimated_nothing():
    record = DeploymentRecord(estimates=[est("meter", "system", None, default=True),
                                         est("a", "system", 1.0), est("b", "system", 2.0),
                                         est("c", "chip", 3.0, default=False)])
    assert not record.estimates[0].estimated and record.estimates[1].estimated
    assert record.figure_at("system").cost_model == "a"  # the default estimated nothing
    assert record.figure_at("system", "b").total_j == 2.0
    assert record.figure_at("system", "meter") is None
    assert record.figure_at("chip").cost_model == "c"
    assert record.figure_at("arithmetic") is None


def test_convert_prints_none_for_an_estimate_with_nothing_estimated():
    from neuropipe.pipeline.commands.convert import summary_lines

    record = DeploymentRecord(target="cpu", accuracy=0.5, samples=10,
                              estimates=[est("meter", "measured", None),
                                         est("a", "system", 1.5e-6, default=True)])
    lines = summary_lines(record, Path("x"))
    assert "  energy (meter, measured level): none; not estimated: t" in lines
    assert any(line.startswith("  energy (a, system level, default): 1.5 µJ") for line in lines)
