"""``neuropipe sweep``: the spec's checks, one trial's repeatability, the Pareto front, and real
sweeps on a private local Ray (end to end; interrupted with Ctrl-C and resumed).

The Ray tests run ``neuropipe`` in a child process (as a user does) on the bundled 2-trial spec:
MNIST's first 500 training images, 100 test images per target.
"""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEUROPIPE = [sys.executable, "-m", "neuropipe.pipeline.cli"]


def write_spec(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
name = "t"
trials = 2
[data]
limit_train = 200
[[targets]]
name = "loihi"
level = "chip"
[space]
models = ["mlp"]
"""


# The spec ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "wanted"), [
    (GOOD.replace('["mlp"]', '["resnet"]'), "unknown model 'resnet'"),
    (GOOD.replace('level = "chip"', 'level = "board"'), "unknown level 'board'"),
    (GOOD.replace('level = "chip"', 'level = "measured"'),
     "loihi: its energy figures are at level chip, never 'measured'"),
    (GOOD.replace('name = "loihi"', 'name = "tpu"'), "unknown target 'tpu'"),
    (GOOD.replace("trials = 2", "trials = 0"), "trials must be a whole number >= 1"),
    (GOOD.replace("[space]", "[space]\nhidden = [64, 16]"), "low <= high"),
    (GOOD.replace("[space]", "[space]\nlr = [0.0, 0.1]"), "lr must be positive"),
    (GOOD.replace("[space]", "[space]\nrate_penalty = [0.0, 0.5]"),
     "rate_penalty applies to"),
    (GOOD.replace("[data]", "[data]\nsamples = 'all'"), "[data] samples must be"),
    (GOOD.replace("[data]", "[data]\nlimit_tran = 5"), "unknown key [data] limit_tran"),
    (GOOD.replace("[[targets]]", "[[targets]]\nname = 'cpu'\nlevel = 'system'\n[[targets]]"),
     ""),
    (GOOD + "[space.extra]\n", "unknown key [space] extra"),
    (GOOD.replace("[[targets]]\nname = \"loihi\"\nlevel = \"chip\"\n", ""),
     "needs at least one [[targets]]"),
    ("name = [", "is not valid TOML"),
])
def test_a_bad_spec_is_one_line_and_exit_2_before_any_work(tmp_path, cli, text, wanted):
    spec = write_spec(tmp_path / "spec.toml", text)
    if not wanted:  # a valid spec: load it only (no sweep)
        from neuropipe.pipeline.sweep.spec import load_spec

        assert [t.name for t in load_spec(spec).targets] == ["cpu", "loihi"]
        return
    code, out, err = cli(["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert wanted in err and str(spec) in err
    assert not (tmp_path / "out").exists()


def test_a_missing_spec_names_the_bundled_ones(tmp_path, cli):
    code, _, err = cli(["sweep", str(tmp_path / "nope.toml")])
    assert code == 2 and err.count("\n") == 1
    assert "mnist-small" in err and "mnist-tiny" in err


def test_bundled_specs_load_and_data_dir_is_relative_to_the_spec(tmp_path):
    from neuropipe.pipeline.sweep.spec import bundled_specs, load_spec

    assert {"mnist-small", "mnist-tiny"} <= set(bundled_specs())
    small = load_spec("mnist-small")
    assert small.trials == 8 and len(small.targets) >= 1
    assert load_spec("mnist-tiny", trials=3).trials == 3
    (tmp_path / "sub").mkdir()
    spec = write_spec(tmp_path / "sub" / "s.toml", GOOD.replace("[data]",
                                                                "[data]\ndata_dir = 'idx'"))
    assert load_spec(spec).data_dir == str((tmp_path / "sub" / "idx").resolve())


def test_objectives_name_accuracy_and_energy_per_target():
    from neuropipe.pipeline.sweep.spec import load_spec

    spec = load_spec("mnist-tiny")
    assert spec.objectives() == {"accuracy_loihi": "max", "energy_loihi_j": "min",
                                 "accuracy_cpu": "max", "energy_cpu_j": "min"}


# The Pareto front ----------------------------------------------------------------------------

def test_front_keeps_exactly_the_undominated_points():
    from neuropipe.pipeline.sweep.pareto import dominates, front_indices

    # (-accuracy, energy): b is beaten by a on both; c and d tie; e is the cheapest.
    points = [(-0.95, 2.0), (-0.90, 3.0), (-0.97, 5.0), (-0.97, 5.0), (-0.50, 0.1)]
    assert front_indices(points) == [0, 2, 3, 4]
    assert dominates((-0.95, 2.0), (-0.90, 3.0)) and not dominates((-0.97, 5.0), (-0.97, 5.0))
    assert front_indices([]) == []


def test_estimate_at_a_level_prefers_the_named_then_the_default(tmp_path):
    from neuropipe.core.errors import RunDirError
    from neuropipe.pipeline.sweep.spec import TargetSpec
    from neuropipe.pipeline.sweep.trial import pick_estimate
    from neuropipe.targets.records import DeploymentRecord, EnergyEstimate, EnergyTerm

    def est(name, level, joules, default=False):
        term = EnergyTerm(name="t", joules_per_inference=joules, level=level, cost_model=name)
        return EnergyEstimate.of([term], name, level, [], [], [], default=default)

    ests = DeploymentRecord(estimates=[est("a", "system", 1.0),
                                       est("b", "system", 2.0, default=True),
                                       est("meter", "system", None), est("c", "arithmetic", 3.0)])
    assert pick_estimate(ests, TargetSpec("cpu", "system")).cost_model == "b"
    assert pick_estimate(ests, TargetSpec("cpu", "system", "a")).cost_model == "a"
    assert pick_estimate(ests, TargetSpec("cpu", "arithmetic")).total_j == 3.0
    with pytest.raises(RunDirError, match="no figure for level 'chip'"):
        pick_estimate(ests, TargetSpec("cpu", "chip"))
    with pytest.raises(RunDirError, match="cost model 'meter'"):
        pick_estimate(ests, TargetSpec("cpu", "system", "meter"))


# One trial -----------------------------------------------------------------------------------

def test_a_trial_run_twice_gives_the_same_result_and_reuses_its_steps(tmp_path):
    from neuropipe.pipeline.sweep.spec import load_spec
    from neuropipe.pipeline.sweep.trial import TrialParams, run_trial

    spec = load_spec("mnist-tiny")
    params = TrialParams.from_search({"model": "mlp", "epochs": 1, "hidden": 24,
                                      "timesteps": 4, "encoding": "constant",
                                      "percentile": 99.5})
    first = run_trial(spec, params, tmp_path / "a", "a")
    again = run_trial(spec, params, tmp_path / "b", "b")  # from scratch, elsewhere
    kept = run_trial(spec, params, tmp_path / "a", "a")   # the same folder: nothing redone
    exact = {k: v for k, v in first.metrics().items() if k != "training_energy_j"}
    assert exact == {k: v for k, v in again.metrics().items() if k != "training_energy_j"}
    assert kept.metrics() == first.metrics()
    assert kept.reused == ["train", "convert loihi", "convert cpu"] and first.reused == []
    assert set(first.targets) == {"loihi", "cpu"}
    assert first.targets["loihi"].level == "chip" and first.targets["cpu"].level == "system"
    assert first.params.percentile == 99.5 and first.params.rate_penalty == 0.0
    # The run directory is an ordinary one: its own records say what the trial says.
    from neuropipe.targets.records import DeploymentRecord

    dep = DeploymentRecord.read(tmp_path / "a" / "targets" / "loihi" / "deployment.json")
    assert dep.accuracy == first.targets["loihi"].accuracy and dep.timesteps == 4
    assert dep.samples == spec.samples


def test_a_failed_trial_comes_back_as_its_own_line_and_unfinished_ones_do_not_count():
    from types import SimpleNamespace

    from neuropipe.pipeline.sweep.search import _outcome
    from neuropipe.pipeline.sweep.trial import TrialResult

    wrapped = RuntimeError("ray::ImplicitFunc.train() (pid=1)\n  File x, line 2\n"
                           "neuropipe.pipeline.sweep.search.TrialFailed: trial a (mlp): "
                           "target 'loihi' gives no figure for level 'arithmetic'\n")
    done = json.dumps(TrialResult(trial="b").to_dict())
    grid = [SimpleNamespace(error=wrapped, metrics={}),
            SimpleNamespace(error=None, metrics={"record": done, "done": True}),
            SimpleNamespace(error=None, metrics={"record": done, "done": False})]  # stopped
    outcome = _outcome(grid, 4)
    assert outcome.errors == ["trial a (mlp): target 'loihi' gives no figure for level "
                              "'arithmetic'"]
    assert [r.trial for r in outcome.results] == ["b"] and outcome.interrupted


# Without Ray, and a wrong cluster ------------------------------------------------------------

def test_without_ray_help_works_and_sweep_says_how_to_install(tmp_path):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nfor name in ('ray', 'optuna'):\n    sys.modules[name] = None\n")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    helped = subprocess.run([*NEUROPIPE, "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "sweep" in helped.stdout
    ran = subprocess.run([*NEUROPIPE, "sweep", "mnist-tiny", "--out", str(tmp_path / "s")],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith("error: neuropipe sweep needs Ray Tune")
    assert ran.stderr.count("\n") == 1 and "pip install 'neuropipe[sweep]'" in ran.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("flag", [True, False])
def test_a_cluster_that_does_not_answer_is_one_line_and_nothing_written(tmp_path, cli,
                                                                       monkeypatch, flag):
    address = f"127.0.0.1:{free_port()}"  # loopback, nothing listens there
    args = ["sweep", "mnist-tiny", "--out", str(tmp_path / "s")]
    if flag:
        args += ["--address", address]
    else:
        monkeypatch.setenv("RAY_ADDRESS", address)
    code, out, err = cli(args)
    assert code == 2 and out == ""
    assert err.startswith(f"error: no Ray cluster answers at {address}") and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_an_address_that_is_not_host_port_is_refused(tmp_path, cli):
    code, _, err = cli(["sweep", "mnist-tiny", "--address", "headnode", "--out",
                        str(tmp_path / "s")])
    assert code == 2 and "is not host:port" in err and err.count("\n") == 1


def test_resume_needs_a_sweep_and_a_new_sweep_refuses_a_used_folder(tmp_path, cli):
    code, _, err = cli(["sweep", "mnist-tiny", "--resume"])
    assert code == 2 and "--resume needs --out" in err
    code, _, err = cli(["sweep", "mnist-tiny", "--resume", "--out", str(tmp_path)])
    assert code == 2 and "holds no sweep to resume" in err
    (tmp_path / "keep.txt").write_text("mine")
    code, _, err = cli(["sweep", "mnist-tiny", "--out", str(tmp_path)])
    assert code == 2 and "already holds files" in err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_an_out_that_is_a_file_is_one_line_and_the_file_is_kept(tmp_path, cli):
    mine = tmp_path / "notes.txt"
    mine.write_text("mine")
    for out in (mine, mine / "sweep"):
        code, _, err = cli(["sweep", "mnist-tiny", "--out", str(out)])
        assert code == 2 and "is a file, not a folder" in err and "Traceback" not in err
    assert mine.read_text() == "mine"


# Real sweeps on a private local Ray ----------------------------------------------------------

MARK = f"sweep-test-{os.getpid()}"  # in the environment of every process our sweeps start


def ray_processes() -> list[str]:
    """Processes still alive that a sweep of this test started (they inherit MARK)."""
    import psutil

    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if p.environ().get("NEUROPIPE_TEST_MARK") == MARK:
                found.append(" ".join(p.info["cmdline"] or [])[:80])
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def lingering(grace_s: float = 20.0) -> list[str]:
    """This test's Ray processes still alive after ``grace_s`` (a loaded machine ends Ray's
    workers a few seconds after the driver; one that never ends is still caught)."""
    deadline = time.time() + grace_s
    left = ray_processes()
    while left and time.time() < deadline:
        time.sleep(0.5)
        left = ray_processes()
    return left


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


FRONT_COLUMNS = ("front_loihi", "front_cpu")  # a trial's front membership moves with the others


def without_front(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in FRONT_COLUMNS}


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    """The bundled tiny spec with --trials 3, one trial at a time: stopped by Ctrl-C as the
    second trial starts (so the first has finished and the third cannot have), then continued
    with --resume to the end. Two Ray start-ups serve every assertion (each costs seconds
    here), so the end-to-end checks look at the resumed sweep's outputs.
    """
    pytest.importorskip("ray.tune")
    tmp = tmp_path_factory.mktemp("sweep")
    text = (ROOT / "pipeline" / "sweep" / "specs" / "mnist-tiny.toml").read_text()
    spec = write_spec(tmp / "one-at-a-time.toml", text.replace("concurrent = 2",
                                                                "concurrent = 1"))
    out = tmp / "s"
    args = [*NEUROPIPE, "sweep", str(spec), "--out", str(out), "--trials", "3"]
    env = {**os.environ, "NEUROPIPE_TEST_MARK": MARK}
    # Like Ctrl-C in a terminal: SIGINT to the whole process group.
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, env=env)
    deadline = time.time() + 240
    while time.time() < deadline and child.poll() is None and (
            not (out / "runs").is_dir() or len(list((out / "runs").iterdir())) < 2):
        time.sleep(0.05)
    running = ray_processes()  # Ray at work: the check below can see its processes
    os.killpg(child.pid, signal.SIGINT)
    stdout, stderr = child.communicate(timeout=120)
    stopped = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    kept = rows(out / "trials.csv") if (out / "trials.csv").is_file() else []
    records = {r["trial"]: (out / "trials" / f"{r['trial']}.json").read_bytes() for r in kept}
    stamps = {t: (out / "trials" / f"{t}.json").stat().st_mtime_ns for t in records}
    left_stopped = lingering()
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=300,
                             env=env)
    left_resumed = lingering()
    return {"spec": spec, "out": out, "stopped": stopped, "kept": kept, "records": records,
            "stamps": stamps, "resumed": resumed, "running": running,
            "left": left_stopped + left_resumed}


def test_ctrl_c_stops_the_sweep_keeping_finished_trials(sweep_run):
    stopped, out = sweep_run["stopped"], sweep_run["out"]
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    last = stopped.stderr.strip().splitlines()[-1]
    kept = len(sweep_run["kept"])
    assert kept in (1, 2), stopped.stderr[-2000:]  # the first finished, the third never began
    assert last.startswith(f"error: interrupted: {kept} of 3 trials finished"), last
    assert f"--resume --out {out}" in last and "Traceback" not in stopped.stderr
    assert json.loads(next(iter(sweep_run["records"].values())))["type"] == "sweep-trial"


def test_resume_runs_the_rest_and_keeps_the_finished_trial(sweep_run):
    resumed, out = sweep_run["resumed"], sweep_run["out"]
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "3 of 3 trials finished" in resumed.stdout
    final = rows(out / "trials.csv")
    assert len(final) == 3
    for row in sweep_run["kept"]:
        assert without_front(row) in [without_front(r) for r in final]
    for trial, data in sweep_run["records"].items():  # not run again, not rewritten
        path = out / "trials" / f"{trial}.json"
        assert path.read_bytes() == data
        assert path.stat().st_mtime_ns == sweep_run["stamps"][trial]


def test_a_two_trial_sweep_runs_end_to_end_quietly_leaving_no_processes(sweep_run):
    out, done = sweep_run["out"], sweep_run["resumed"]
    for run in (sweep_run["stopped"], done):
        assert "Traceback" not in run.stderr and "WARNING" not in run.stderr, run.stderr[-2000:]
    assert any("raylet" in p for p in sweep_run["running"]), sweep_run["running"]
    assert sweep_run["left"] == [], f"Ray left processes behind: {sweep_run['left']}"
    trials = rows(out / "trials.csv")
    for row in trials:
        run = Path(row["run"])
        assert run.parent == out / "runs" and (run / "config.json").is_file()
        for target in ("loihi", "cpu"):
            dep = json.loads((run / "targets" / target / "deployment.json").read_text())
            assert float(row[f"accuracy_{target}"]) == dep["accuracy"]
            assert 0 < float(row[f"energy_{target}_j"])
        assert row["level_loihi"] == "chip" and row["level_cpu"] == "system"
        assert (out / "trials" / f"{row['trial']}.json").is_file()


def test_the_front_report_and_plot_come_from_the_trials(sweep_run):
    out, done = sweep_run["out"], sweep_run["resumed"]
    from neuropipe.pipeline.sweep.pareto import front_indices

    trials = rows(out / "trials.csv")
    front = rows(out / "front.csv")
    for target in ("loihi", "cpu"):
        compared = [r for r in trials if r[f"whole_{target}"] == "1"]  # no host first layer
        points = [(-float(r[f"accuracy_{target}"]), float(r[f"energy_{target}_j"]))
                  for r in compared]
        expected = {compared[i]["trial"] for i in front_indices(points)}
        assert {r["trial"] for r in front if r["target"] == target} == expected
        assert {r["trial"] for r in trials if r[f"front_{target}"] == "1"} == expected
        assert f"front on {target}" in done.stdout
    assert json.loads((out / "front.json").read_text()).keys() == {"loihi", "cpu"}
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report" / "report.md").read_text()
    for r in front:
        assert Path(r["run"]).name in report


def test_resume_refuses_a_changed_spec(sweep_run, tmp_path, cli):
    changed = write_spec(tmp_path / "other.toml", sweep_run["spec"].read_text().replace(
        "samples = 100", "samples = 50"))
    for spec, flags, wanted in ((changed, ["--trials", "3"], "differs in samples"),
                                (sweep_run["spec"], ["--trials", "4"], "differs in trials")):
        code, out, err = cli(["sweep", str(spec), "--out", str(sweep_run["out"]), "--resume",
                              *flags])
        assert code == 2 and wanted in err and err.count("\n") == 1, err


def test_summary_shows_training_energy_when_it_is_an_objective():
    """A front member that looks dominated must show the third objective that keeps it there."""
    from types import SimpleNamespace

    from neuropipe.pipeline.sweep.run import summary
    from neuropipe.pipeline.sweep.spec import SweepSpec, TargetSpec
    from neuropipe.pipeline.sweep.trial import TargetOutcome, TrialParams, TrialResult

    result = TrialResult(trial="t1", run="/x/runs/t1-mlp", params=TrialParams(model="mlp"),
                         training_energy_j=12.5, training_energy_method="estimate",
                         targets={"cpu": TargetOutcome(target="cpu", accuracy=0.9, energy_j=2e-3,
                                                       level="system", cost_model="degnan-cpu")})
    outcome = SimpleNamespace(results=[result], expected=1, errors=[])
    written = SimpleNamespace(fronts={"cpu": [result]}, files=["trials.csv"], report_note="-")
    spec = SweepSpec(name="s", targets=[TargetSpec(name="cpu", level="system")])
    line = next(x for x in summary(spec, Path("/x"), outcome, written, 1.0, None) if "t1-mlp" in x)
    assert "training" not in line
    spec.training_energy = True
    line = next(x for x in summary(spec, Path("/x"), outcome, written, 1.0, None) if "t1-mlp" in x)
    assert "training 12.5 J (estimate)" in line


class FakeAsic:
    """Stands in for the same-silicon target until it is registered: only its levels matter."""

    levels = ("chip",)


def test_a_spec_may_name_the_same_silicon_target_at_chip_level(tmp_path, monkeypatch):
    from neuropipe.core.errors import InputError
    from neuropipe.pipeline.sweep.spec import load_spec
    from neuropipe.targets import registry

    monkeypatch.setitem(registry.TARGETS, "asic", f"{__name__}:FakeAsic")
    spec = write_spec(tmp_path / "spec.toml", GOOD.replace('name = "loihi"', 'name = "asic"'))
    assert [(t.name, t.level) for t in load_spec(spec).targets] == [("asic", "chip")]
    bad = write_spec(tmp_path / "bad.toml", GOOD.replace('name = "loihi"', 'name = "asic"')
                     .replace('level = "chip"', 'level = "system"'))
    with pytest.raises(InputError, match="asic: its energy figures are at level chip, never "
                       "'system'"):
        load_spec(bad)
