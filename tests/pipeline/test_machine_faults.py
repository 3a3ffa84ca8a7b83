"""Issue 22: faults a real machine has (values that are not numbers, empty files, ...)."""

import json

import pytest
import torch

from neuropipe.core.errors import ModelError, RunDirError
from neuropipe.pipeline.cli import main
from neuropipe.targets.records import DeploymentRecord


def run_cli(args, capsys):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args", [
    ["footprint", "--power-w", "inf", "--hours", "1"],
    ["footprint", "--power-w", "100", "--hours", "nan"],
    ["footprint", "--power-w", "100", "--hours", "1", "--pue", "-inf"],
    ["train", "mlp", "--lr", "inf", "--out", "never-written"],
])
def test_non_finite_flags_are_refused_in_one_line(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(args, capsys)
    assert code == 2 and "is not a finite number" in err, err
    assert len(err.strip().splitlines()) == 1 and not out
    assert not (tmp_path / "never-written").exists()


def test_finite_flags_still_work(capsys):
    code, out, _ = run_cli(["footprint", "--power-w", "100", "--hours", "1"], capsys)
    assert code == 0 and out.startswith("0.1 kWh")


@pytest.mark.parametrize("value, words", [
    ("lots", '"lots", not a finite number'),
    (None, "null, not a finite number"),
    (True, "true, not a finite number"),
    (float("inf"), "Infinity, not a finite number"),
    (float("nan"), "NaN, not a finite number"),
])
def test_records_refuse_float_fields_that_are_not_finite_numbers(tmp_path, value, words):
    data = DeploymentRecord(energy_per_inference_j=1e-3).to_dict()
    data["energy_per_inference_j"] = value
    path = tmp_path / "e.json"
    path.write_text(json.dumps(data))  # json writes NaN and Infinity, and reads them back
    with pytest.raises(RunDirError, match=words):
        DeploymentRecord.read(path)


def test_a_non_finite_number_anywhere_in_a_record_is_refused(tmp_path):
    data = DeploymentRecord(energy_per_inference_j=1e-3).to_dict()
    data["verification"] = {"spike_match": float("nan")}
    path = tmp_path / "e.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RunDirError, match="holds nan, which is not a finite number"):
        DeploymentRecord.read(path)


def test_a_diverging_training_stops_with_one_line():
    from neuropipe.models.training import train_epoch
    from neuropipe.models.zoo import build_model

    torch.manual_seed(0)
    model = build_model("mlp")
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e30)
    with pytest.raises(ModelError, match="training diverged: the loss is nan after 32 samples"):
        for _ in range(3):
            train_epoch(model, optimizer, x, y, 32, 0, torch.device("cpu"))


def test_an_empty_npz_is_a_damaged_file_not_an_interruption(capsys, monkeypatch):
    """click turns EOFError into Abort; only a real signal may say 'interrupted'."""
    from neuropipe.reports import footprint

    def empty_file(*args, **kwargs):
        raise EOFError("No data left in file")

    monkeypatch.setattr(footprint, "strubell_footprint", empty_file)
    code, _, err = run_cli(["footprint", "--power-w", "1", "--hours", "1"], capsys)
    assert code == 2 and "interrupted" not in err and "empty or truncated" in err, err


def test_sigterm_is_handled_like_ctrl_c(capsys, monkeypatch):
    import os
    import signal
    import time

    from neuropipe.reports import footprint

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # never reached: the handler raises at once

    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(footprint, "strubell_footprint", terminated)
    code, _, err = run_cli(["footprint", "--power-w", "1", "--hours", "1"], capsys)
    assert code == 130 and err.startswith("error: interrupted"), err
    assert signal.getsignal(signal.SIGTERM) is previous  # put back afterwards


def dead_pid():
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_staging_is_removed_only_when_its_process_is_gone(tmp_path):
    import os

    from neuropipe.core.staging import make_staging, remove_stale

    for name, pid in ((".loihi.dead", dead_pid()), (".loihi.live", os.getpid()),
                      (".spinnaker.dead", dead_pid())):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.net").write_bytes(b"partial")
        (tmp_path / f"{name}.pid").write_text(f"{pid}\n")
    (tmp_path / ".loihi.nomarker").mkdir()
    assert remove_stale(tmp_path, ".loihi.") == [tmp_path / ".loihi.dead"]
    new = make_staging(tmp_path, ".loihi.")
    assert (tmp_path / f"{new.name}.pid").read_text() == f"{os.getpid()}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".loihi.live", ".loihi.live.pid", ".loihi.nomarker", ".spinnaker.dead",
         ".spinnaker.dead.pid", new.name, f"{new.name}.pid"])


HOLD = """
import sys, time
from pathlib import Path
from neuropipe.core.staging import exclusive
with exclusive(Path(sys.argv[1]), "it"):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding a lock file until the test ends."""
    import subprocess
    import sys

    def hold(lock):
        child = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "held"
        children.append(child)
        return child

    children = []
    yield hold
    for child in children:
        child.kill()
        child.wait()


def test_a_lock_held_by_another_process_is_refused_naming_it(tmp_path, holder):
    from neuropipe.core.staging import exclusive

    lock = tmp_path / ".loihi.lock"
    child = holder(lock)
    with pytest.raises(RunDirError, match=f"another neuropipe \\(PID {child.pid}\\)"):
        with exclusive(lock, "the deployment"):
            pass
    child.kill()
    child.wait()
    with exclusive(lock, "the deployment"):
        assert lock.read_text() == f"{__import__('os').getpid()}\n"
    assert not lock.exists()  # removed with the lock: nothing is left in targets/


def test_two_converts_at_once_the_second_is_refused(tmp_path, idx_dir, holder, capsys):
    from tests.pipeline.test_failure_paths import small_nir

    idx_dir(tmp_path / "idx", n_train=10, n_test=6)
    small_nir(tmp_path / "m.nir")
    targets = tmp_path / "m.neuropipe" / "targets"
    targets.mkdir(parents=True)
    (targets / ".loihi.stale").mkdir()
    (targets / ".loihi.stale.pid").write_text(f"{dead_pid()}\n")
    args = ["convert", str(tmp_path / "m.nir"), "--timesteps", "3", "--verify-samples", "0",
            "--data-dir", str(tmp_path / "idx")]
    child = holder(targets / ".loihi.lock")
    code, _, err = run_cli(args, capsys)
    assert code == 2 and f"another neuropipe (PID {child.pid}) is writing" in err, err
    assert not (targets / "loihi").exists()
    child.kill()
    child.wait()
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert sorted(p.name for p in targets.iterdir()) == ["loihi"]  # the stale staging too


@pytest.mark.parametrize("args", [
    ["handoff", "RUN", "--target", "loihi", "--out", "RUN/targets/bundle"],
    ["handoff", "RUN", "--target", "loihi", "--out", "RUN/targets/loihi/b.tar.gz"],
    ["energy-report", "RUN", "--out", "RUN/targets/report"],
    ["energy-report", "RUN", "--out", "RUN/targets"],
])
def test_outputs_inside_a_runs_targets_are_refused(tmp_path, capsys, args):
    run = tmp_path / "run"
    (run / "targets" / "loihi").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    before = sorted(run.rglob("*"))
    code, _, err = run_cli([a.replace("RUN", str(run)) for a in args], capsys)
    assert code == 2 and f"is inside {run / 'targets'}" in err, err
    assert len(err.strip().splitlines()) == 1 and sorted(run.rglob("*")) == before


@pytest.fixture
def tiny_disk(tmp_path):
    """A 12 kB tmpfs (root only; the test is skipped where mounting is not permitted)."""
    import subprocess

    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12k", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("mounting a tmpfs is not permitted here")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_during_training_is_one_line_and_leaves_nothing(tiny_disk, capsys):
    code, _, err = run_cli(["train", "mlp", "--limit-train", "64", "--limit-test", "32",
                            "--out", str(tiny_disk / "run")], capsys)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and errors == [
        f"error: cannot write {tiny_disk / 'run'}: no space left on the device; no epoch was "
        "saved and the new run is removed; make room and train again"], err
    assert "Traceback" not in err and list(tiny_disk.iterdir()) == []


def test_a_full_disk_during_convert_is_one_line_and_leaves_no_file(tiny_disk, tmp_path,
                                                                   idx_dir, capsys):
    from tests.pipeline.test_failure_paths import small_nir

    idx_dir(tmp_path / "idx", n_train=10, n_test=6)
    small_nir(tmp_path / "m.nir")
    out = tiny_disk / "out"
    code, _, err = run_cli(["convert", str(tmp_path / "m.nir"), "--target", "cpu", "--timesteps",
                            "3", "--data-dir", str(tmp_path / "idx"), "--out", str(out)], capsys)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and "no space left" in err and str(out / "targets" / "cpu") in err, err
    assert len(errors) == 1 and "Traceback" not in err  # beside the progress bar
    assert [p for p in tiny_disk.rglob("*") if not p.is_dir()] == []


def test_a_write_error_names_the_destination_not_the_source(tmp_path):
    import errno

    from neuropipe.core.files import write_error

    full = OSError(errno.ENOSPC, "No space left on device", "/elsewhere/model.net")
    assert str(write_error(full, tmp_path / "bundle", "choose another --out")) == (
        f"cannot write {tmp_path / 'bundle'}: no space left on the device; choose another --out")
    inner = OSError(errno.EACCES, "Permission denied", str(tmp_path / "bundle" / "a.npz"))
    assert str(write_error(inner, tmp_path / "bundle", "fix")).startswith(
        f"cannot write {tmp_path / 'bundle' / 'a.npz'}: Permission denied")


@pytest.mark.parametrize("accuracy, samples, warned", [
    (0.19, 100, True),   # 0.1 + 3 * sqrt(0.1 * 0.9 / 100) = 0.19
    (0.20, 100, False),
    (0.108, 10000, True),  # below 0.1 + 3 * sqrt(0.1 * 0.9 / 10000) = 0.109
    (0.110, 10000, False),
    (0.9761, 10000, False),
])
def test_chance_level_is_three_standard_deviations_of_guessing(accuracy, samples, warned):
    from neuropipe.pipeline.chance import chance_warning

    warning = chance_warning(accuracy, samples)
    assert (warning is not None) == warned
    if warned:
        assert warning.startswith(f"warning: accuracy {accuracy:.4f} on {samples} images is at "
                                  "chance level (0.10 for 10 classes")


def test_an_empty_onnx_model_is_named_with_a_quoted_fix(tmp_path):
    from neuropipe.core.rundir import RunDir
    from neuropipe.pipeline.stages.convert import _check_onnx

    run = RunDir(tmp_path / "my run")
    run.root.mkdir()
    run.onnx.write_bytes(b"")
    with pytest.raises(RunDirError, match=(
            f"{run.onnx} is empty or damaged .*: export it again with 'neuropipe train mlp "
            f"--resume --out '{tmp_path}/my run''")):
        _check_onnx(run, "mlp")


def test_more_reference_inputs_than_the_test_set_says_the_cap(tmp_path, monkeypatch):
    import numpy as np

    from neuropipe.models.data import datasets
    from neuropipe.pipeline.handoff.bundle import _reference_images

    small = datasets.Dataset("mnist", np.zeros((4, 28, 28), np.uint8), np.zeros(4, np.int64),
                             np.zeros((6, 28, 28), np.uint8), np.arange(6), "test")
    monkeypatch.setattr(datasets, "load_dataset", lambda *args: small)
    x, labels, _, notes = _reference_images(tmp_path, DeploymentRecord(), 100000)
    assert len(x) == len(labels) == 6
    assert notes == ["100000 reference inputs were asked for; the test set has 6, so the bundle "
                     "holds 6"]


def test_a_truncated_zip_read_anywhere_is_one_line(capsys, monkeypatch):
    import zipfile

    from neuropipe.reports import footprint

    def truncated(*args, **kwargs):
        raise zipfile.BadZipFile("File is not a zip file")

    monkeypatch.setattr(footprint, "strubell_footprint", truncated)
    code, _, err = run_cli(["footprint", "--power-w", "1", "--hours", "1"], capsys)
    assert code == 2 and err == ("error: a file this command read is damaged (File is not a zip "
                                 "file); re-create it with the command that wrote it\n")
