"""``neuropipe energy-report`` on synthetic run directories: outputs, refusals, atomicity."""

import csv
import json

import pytest

from neuropipe.models.records import TrainConfig, TrainMetrics
from neuropipe.reports.energy_record import EnergyRecord
from neuropipe.reports.meter.records import ComponentEnergy, Measurement
from neuropipe.targets.records import (
    Counts,
    EnergyEstimate,
    EnergyTerm,
    LayerReport,
    Provenance,
    Resources,
    deployment_record,
)


def estimate(model, level, joules, default=False):
    term = EnergyTerm(name="synops", joules_per_inference=joules, level=level, cost_model=model)
    return EnergyEstimate(cost_model=model, level=level, default=default, total_j=joules,
                          dynamic_j=joules, terms=[term], leaves_out=["static power"])


def make_run(root, name, model="mlp", kind="ann", dataset="mnist", targets=None,
             training_j=100.0):
    """A run folder with records only; targets: {name: (accuracy, [(model, level, J)...])}."""
    run = root / name
    run.mkdir(parents=True)
    TrainConfig(model=model, dataset=dataset).write(run / "config.json")
    TrainMetrics(model=model, kind=kind, dataset=dataset, test_accuracy=0.97).write(
        run / "metrics.json")
    total = Measurement(name="total", duration_s=10.0, total_j=training_j / 1.58, components=[
        ComponentEnergy(component="cpu", energy_j=training_j / 1.58, method="estimate")])
    EnergyRecord(total=total, kwh=training_j / 1.58 / 3.6e6, kwh_pue=training_j / 3.6e6,
                 co2e_kg=1e-5, constants={"pue": 1.58}, leaves_out=["idle power"]).write(
        run / "energy.json")
    for target, (acc, figures) in (targets or {}).items():
        ests = [estimate(m, lv, j, default=i == 0) for i, (m, lv, j) in enumerate(figures)]
        deployment_record(
            target, accuracy=acc, reference_accuracy=acc, samples=100, timesteps=16,
            counts=Counts(synops=1000.0, neuron_updates=500.0), estimates=ests,
            layers=[LayerReport(name="fc1", synops_per_inference=900.0),
                    LayerReport(name="fc2", synops_per_inference=100.0)],
            resources=Resources(cores=2, chips=1),
            provenance=Provenance(model=model, dataset=dataset)).write(
            run / "targets" / target / "deployment.json")
    return run


@pytest.fixture
def runs(tmp_path):
    base = tmp_path / "runs"
    mlp = make_run(base, "mlp", targets={
        "cpu": (0.98, [("degnan-cpu", "system", 8.6e-3), ("horowitz", "arithmetic", 4.6e-6)]),
        "loihi": (0.975, [("loihi1", "chip", 1e-6)])})
    snn = make_run(base, "snn-mlp", model="snn-mlp", kind="snn", training_j=5000.0, targets={
        "loihi": (0.979, [("loihi1", "chip", 9e-7)]),
        "spinnaker": (0.979, [("spinn5", "system", 1e-2), ("spinnaker1", "chip", 1.1e-2)])})
    return mlp, snn


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_writes_every_format_and_lists_a_missing_target(cli, runs, tmp_path):
    out = tmp_path / "report"
    code, stdout, stderr = cli(["energy-report", *map(str, runs), "--out", str(out)])
    assert code == 0, stderr
    assert "missing: mlp on spinnaker" in stdout and "missing: snn-mlp on cpu" in stdout
    names = set(leftovers(out))
    assert {"report.md", "report.html", "report.json", "report.csv", "break_even.png",
            "answer.png", "layer_ops.png", "training_energy.png",
            "training_vs_accuracy.png", ".energy-report.json"} == names
    data = json.loads((out / "report.json").read_text())
    assert data["type"] == "energy-report" and data["baseline_target"] == "cpu"
    # Default threshold: mlp best 0.98, snn-mlp best 0.979 -> 0.979.
    assert data["threshold"] == pytest.approx(0.979)
    rows = list(csv.DictReader((out / "report.csv").open()))
    assert {r["section"] for r in rows} >= {"configuration", "energy-per-inference", "layer",
                                            "training", "equal-accuracy", "break-even",
                                            "missing"}
    md = (out / "report.md").read_text()
    assert "missing: mlp on spinnaker" in md
    # spinnaker system vs mlp on cpu (system): 1e-2 / 8.6e-3.
    ratio = next(r for r in rows if r["section"] == "equal-accuracy" and r["quantity"] ==
                 "ratio" and r["target"] == "spinnaker" and r["level"] == "system")
    assert float(ratio["value"]) == pytest.approx(1e-2 / 8.6e-3)
    chip = next(r for r in rows if r["section"] == "equal-accuracy" and r["quantity"] ==
                "ratio" and r["target"] == "loihi")
    assert chip["value"] == ""
    assert "no conventional configuration has a chip-level figure" in chip["note"]
    # The answer comes first, in the CLI summary and in every format.
    assert "At system level the cheapest bio-inspired configuration, snn-mlp on spinnaker" in stdout
    assert md.index("## Answer") < md.index("## Levels") < md.index("## Equal accuracy")
    assert data["answer"]["sentences"][0].startswith("Equal accuracy means at least 97.90%")

    # Run again: an earlier report in --out is replaced; only some formats this time.
    code, _, stderr = cli(["energy-report", *map(str, runs), "--out", str(out),
                           "--format", "json,csv", "--accuracy", "0.97"])
    assert code == 0, stderr
    assert leftovers(out) == [".energy-report.json", "report.csv", "report.json"]
    assert json.loads((out / "report.json").read_text())["threshold"] == 0.97
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_level_restricts_the_report_and_an_absent_level_is_refused(cli, runs, tmp_path):
    out = tmp_path / "chip"
    code, stdout, stderr = cli(["energy-report", *map(str, runs), "--out", str(out),
                                "--level", "chip", "--format", "json"])
    assert code == 0, stderr
    data = json.loads((out / "report.json").read_text())
    assert data["levels"] == ["chip"] and {s["level"] for s in data["selection"]} == {"chip"}
    assert [ln["level"] for ln in data["answer"]["lines"]] == ["chip"]
    stderr = refused(cli, [*runs, "--level", "measured"], "--level measured: no compared run "
                     "has a figure at that level; levels available: arithmetic, chip, system",
                     tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_old_records_without_network_read_and_a_new_target_is_missing(cli, runs, tmp_path):
    # A deployment written after the change: the ANN itself on the same-silicon ASIC.
    from neuropipe.targets.records import DeploymentRecord

    new = make_run(tmp_path / "runs", "mlp2", targets={
        "asic": (0.98, [("asic45-ann-zero-skip", "chip", 2e-6)])})
    path = new / "targets" / "asic" / "deployment.json"
    DeploymentRecord.read(path).replace(network="ann").write(path)
    out = tmp_path / "out"
    code, stdout, stderr = cli(["energy-report", *map(str, runs), str(new), "--out", str(out),
                                "--format", "json"])
    assert code == 0, stderr
    assert "missing: mlp on asic" in stdout and "missing: snn-mlp on asic" in stdout
    data = json.loads((out / "report.json").read_text())
    nets = {(c["run"], c["target"]): c["network"] for c in data["comparison"]["configs"]}
    # Old records (network ""): an ANN run on cpu is conventional; on loihi it is spiking.
    assert nets[("mlp", "cpu")] == "ann" and nets[("mlp", "loihi")] == "snn"
    assert nets[("mlp2", "asic")] == "ann"
    chip = next(ln for ln in data["answer"]["lines"] if ln["level"] == "chip")
    # snn-mlp on loihi 9e-7 vs mlp2 on asic 2e-6: 0.45.
    assert chip["conventional"] == "mlp2 on asic" and chip["ratio"] == pytest.approx(0.45)


def test_default_out_is_energy_report_in_the_current_folder(cli, runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = cli(["energy-report", *map(str, runs), "--format", "json"])
    assert code == 0, stderr
    assert leftovers(tmp_path / "energy-report") == [".energy-report.json", "report.json"]


def refused(cli, args, match, out):
    code, stdout, stderr = cli(["energy-report", *map(str, args), "--out", str(out)])
    assert code == 2, (stdout, stderr)
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert match in stderr, stderr
    return stderr


def test_mixed_datasets_are_refused(cli, runs, tmp_path):
    other = make_run(tmp_path / "runs", "fashion", dataset="fashion-mnist",
                     targets={"cpu": (0.9, [("degnan-cpu", "system", 1e-3)])})
    out = tmp_path / "out"
    refused(cli, [*runs, other], "the runs are on different datasets", out)
    assert not out.exists()


def test_a_run_without_deployments_is_refused_naming_it(cli, runs, tmp_path):
    bare = make_run(tmp_path / "runs", "cnn", model="cnn")
    out = tmp_path / "out"
    err = refused(cli, [*runs, bare], f"run {bare} has no deployment", out)
    assert f"neuropipe convert {bare} --target" in err
    assert not out.exists()


def test_a_truncated_deployment_is_refused_naming_the_file(cli, runs, tmp_path):
    path = runs[1] / "targets" / "spinnaker" / "deployment.json"
    path.write_text(path.read_text()[:200])
    out = tmp_path / "out"
    refused(cli, runs, f"{path} is not a readable JSON record", out)
    assert not out.exists()


@pytest.mark.parametrize(("file", "drop", "field"), [
    ("targets/loihi/deployment.json", ("accuracy",), "accuracy"),
    ("targets/loihi/deployment.json", ("counts", "synops"), "synops"),
    ("energy.json", ("kwh_pue",), "kwh_pue"),
    ("metrics.json", ("kind",), "kind"),
])
def test_a_record_lacking_a_field_is_refused_not_read_as_zero(cli, runs, tmp_path, file, drop,
                                                               field):
    path = runs[1] / file
    data = json.loads(path.read_text())
    holder = data
    for key in drop[:-1]:
        holder = holder[key]
    del holder[drop[-1]]
    path.write_text(json.dumps(data))
    out = tmp_path / "out"
    err = refused(cli, runs, str(path), out)
    assert f"lacks {field}" in err
    assert not out.exists()


def test_a_field_that_is_not_a_number_is_refused(cli, runs, tmp_path):
    path = runs[0] / "targets" / "cpu" / "deployment.json"
    data = json.loads(path.read_text())
    data["estimates"][0]["total_j"] = None
    path.write_text(json.dumps(data))
    refused(cli, runs, f"{path}: 'energy-estimate' record's 'total_j' is null, not a finite "
            "number", tmp_path / "out")


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2"])
def test_accuracy_outside_zero_one_is_refused(cli, runs, tmp_path, value):
    out = tmp_path / "out"
    code, _, stderr = cli(["energy-report", *map(str, runs), "--out", str(out),
                           "--accuracy", value])
    assert code == 2 and "--accuracy must be a fraction in (0, 1]" in stderr
    assert stderr.count("\n") == 1 and not out.exists()


def test_an_unwritable_out_is_refused(cli, runs, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    refused(cli, runs, "which is a file", blocker / "sub")
    refused(cli, runs, "is a file, not a folder", blocker)
    assert blocker.read_text() == "x"


def test_a_folder_holding_other_files_is_not_overwritten(cli, runs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    refused(cli, runs, "holds files other than an earlier energy report", out)
    assert leftovers(out) == ["notes.txt"]


def test_a_markdown_only_report_is_replaced_by_the_same_command(cli, runs, tmp_path):
    # A report without report.json is still marked as a report's (docs/results.md writes the
    # example report this way, and the same command must be able to write it again).
    out = tmp_path / "md"
    for threshold in ("0.9", "0.97"):
        code, stdout, stderr = cli(["energy-report", *map(str, runs), "--out", str(out),
                                    "--format", "md", "--accuracy", threshold])
        assert code == 0, stderr
        assert ".energy-report" not in stdout  # the mark is not listed as a file written
    assert "reaching 97.00%" in (out / "report.md").read_text()
    assert json.loads((out / ".energy-report.json").read_text())["formats"] == ["md"]
    # A folder with a report.md but no mark is not taken for a report.
    other = tmp_path / "other"
    other.mkdir()
    (other / "report.md").write_text("my notes")
    refused(cli, runs, "holds files other than an earlier energy report", other)
    assert (other / "report.md").read_text() == "my notes"


def test_unknown_format_is_refused(cli, runs, tmp_path):
    refused(cli, [*runs, "--format", "md,pdf"], "unknown: pdf", tmp_path / "out")


def test_a_failure_while_writing_leaves_nothing_behind(cli, runs, tmp_path, monkeypatch):
    import neuropipe.reports.report.output as output

    def broken(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "_swap_in", broken)
    out = tmp_path / "deep" / "out"
    refused(cli, [*runs, "--format", "json"], "cannot write the report", out)
    assert not (tmp_path / "deep").exists()
    # An earlier report survives a failed replacement untouched.
    monkeypatch.undo()
    assert cli(["energy-report", *map(str, runs), "--out", str(out), "--format", "json"])[0] == 0
    before = (out / "report.json").read_bytes()
    monkeypatch.setattr(output, "_swap_in", broken)
    refused(cli, [*runs, "--format", "json"], "cannot write the report", out)
    assert (out / "report.json").read_bytes() == before
    assert leftovers(out.parent) == ["out"]


def test_demo_summary_gives_each_level_its_own_column(runs, capsys, monkeypatch):
    from neuropipe.pipeline.demo import summary

    monkeypatch.setenv("COLUMNS", "200")
    summary(runs[0].parent)
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "accuracy" in line)
    # One column per level (arithmetic, chip, system): never two levels in one column.
    assert header.index("arithmetic") < header.index("chip") < header.index("system")
    assert "one level per column (arithmetic, chip, system)" in " ".join(out.split())
    # Training energy as the report shows it: with PUE, labelled.
    assert "mlp: 100 J incl. PUE (63.3 J at the plug × PUE 1.58)" in " ".join(out.split())


def test_layer_names_are_readable_not_onnx_node_paths():
    from neuropipe.pipeline.stages.energy_report import layer_name

    assert layer_name("/1/Gemm", "dense", 0) == "dense 1"
    assert layer_name("3", "dense", 1) == "dense 2"
    assert layer_name("fc1", "dense", 0) == "fc1"
