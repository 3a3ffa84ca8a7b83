"""What a new user hit: unwritable outputs, flags --resume would ignore, silent cache rebuilds,
help texts and the docs' command synopses, Lava's install hint, and the machine's state in
energy.json."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from neuropipe.pipeline.stages import train as stage

SMALL = ["--limit-train", "300", "--limit-test", "50"]
REPO = Path(__file__).resolve().parents[2]


def listing(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def no_work(monkeypatch):
    """Records any data loading or training epoch the stage starts."""
    calls = []
    real_load, real_epoch = stage.load_dataset, stage.train_epoch

    def load(*a, **k):
        calls.append("load_dataset")
        return real_load(*a, **k)

    def epoch(*a, **k):
        calls.append("train_epoch")
        return real_epoch(*a, **k)

    monkeypatch.setattr(stage, "load_dataset", load)
    monkeypatch.setattr(stage, "train_epoch", epoch)
    return calls


def one_line(err):
    return len(err.strip().splitlines()) == 1 and "Traceback" not in err


# Unwritable outputs ---------------------------------------------------------------------------

def test_an_empty_read_only_folder_as_out_is_refused_before_any_work(
        tmp_path, read_only, no_work, cli):
    box = tmp_path / "box"
    (box / "empty").mkdir(parents=True)
    view = read_only(box)
    code, out, err = cli(["train", "mlp", *SMALL, "--out", str(view / "empty")])
    assert code == 2 and one_line(err), err
    assert "cannot write to" in err and "choose another --out" in err
    assert re.search("Read-only file system|Permission denied", err)
    assert no_work == [] and "epoch" not in out + err  # refused before data or training
    assert listing(box) == {"empty": None}  # nothing written, not even a probe


def test_resume_on_a_read_only_run_refuses_before_training_and_loses_nothing(
        tmp_path, read_only, cli, monkeypatch):
    runs = tmp_path / "runs"
    runs.mkdir()
    assert cli(["train", "mlp", *SMALL, "--out", str(runs / "run")])[0] == 0
    before = listing(runs)
    view = read_only(runs)
    calls = []
    monkeypatch.setattr(stage, "train_epoch", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(stage, "load_dataset", lambda *a, **k: calls.append(2))
    code, out, err = cli(["train", "mlp", "--epochs", "2", "--out", str(view / "run"),
                          "--resume"])
    assert code == 2 and one_line(err), err
    assert "cannot write to" in err and "resume the copy" in err
    assert calls == [] and "epoch" not in out + err
    assert listing(runs) == before


def test_a_write_that_fails_mid_training_is_one_line_and_keeps_the_saved_epochs(
        tmp_path, monkeypatch, cli):
    out = tmp_path / "run"
    real_save = stage.save_atomic
    saves = []

    def full_disk(obj, path):
        saves.append(path.name)
        if len(saves) > 2:  # epoch 1 saved (checkpoint, model); epoch 2's checkpoint fails
            raise OSError(28, "No space left on device", str(path))
        return real_save(obj, path)

    monkeypatch.setattr(stage, "save_atomic", full_disk)
    code, _, err = cli(["train", "mlp", *SMALL, "--epochs", "2", "--out", str(out)])
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert errors[0] == err.strip().splitlines()[-1]  # after the progress bars, the last line
    assert "no space left on the device" in err and f"--resume --out {out}" in err
    assert "1 earlier epoch(s) are saved" in err
    assert json.loads((out / "metrics.json").read_text())["epochs"][0]["epoch"] == 1
    assert not list(out.glob(".*.tmp"))
    monkeypatch.setattr(stage, "save_atomic", real_save)
    assert cli(["train", "mlp", *SMALL, "--epochs", "2", "--out", str(out), "--resume"])[0] == 0
    assert len(json.loads((out / "metrics.json").read_text())["epochs"]) == 2


# Choices that were made silently -------------------------------------------------------------

def test_resume_refuses_settings_it_would_ignore_and_accepts_the_saved_ones(tmp_path, cli):
    out = tmp_path / "run"
    assert cli(["train", "mlp", *SMALL, "--out", str(out)])[0] == 0
    before = listing(out)
    code, _, err = cli(["train", "mlp", "--limit-train", "3000", "--lr", "0.01", "--epochs", "2",
                        "--out", str(out), "--resume"])
    assert code == 2 and one_line(err), err
    assert "--lr 0.01 (saved: 0.005)" in err and "--limit-train 3000 (saved: 300)" in err
    assert "saved settings" in err and "another --out" in err
    assert "--epochs" not in err  # the one setting --resume takes: the new total
    assert listing(out) == before
    code, _, err = cli(["train", "mlp", "--limit-test", "50", "--out", str(out), "--resume",
                        "--force"])
    assert code == 2 and one_line(err) and "choose one" in err
    # The same settings again (the natural re-run of a command with --resume) are accepted.
    assert cli(["train", "mlp", *SMALL, "--epochs", "2", "--out", str(out), "--resume"])[0] == 0


def test_a_damaged_mnist_cache_is_rebuilt_with_a_note(tmp_path, monkeypatch, cli):
    from neuropipe.models.data import datasets

    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "mnist.npz").write_bytes(b"junk")
    code, _, err = cli(["train", "mlp", *SMALL, "--out", str(tmp_path / "run")])
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1
    assert "rebuilt the MNIST cache" in notes[0] and "damaged (not an npz archive)" in notes[0]
    assert datasets.load_dataset("mnist").notes == []  # the rebuilt cache reads cleanly
    cache = tmp_path / "cache" / "mnist.npz"  # damage inside an array: a CRC error
    raw = bytearray(cache.read_bytes())
    raw[len(raw) // 2:len(raw) // 2 + 16] = b"\xff" * 16  # (zeros may change nothing)
    cache.write_bytes(bytes(raw))
    notes = datasets.load_dataset("mnist").notes
    assert len(notes) == 1 and "damaged (BadZipFile: Bad CRC-32" in notes[0], notes


def test_an_unwritable_mnist_cache_is_done_without_and_said(tmp_path, monkeypatch):
    from neuropipe.models.data import datasets

    def refuse(arrays, cache):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(datasets, "write_cache", refuse)
    data = datasets.load_packaged_mnist(tmp_path / "mnist.npz")
    assert len(data.train_y) == 60000 and len(data.notes) == 1
    assert "without caching it" in data.notes[0] and datasets.CACHE_ENV in data.notes[0]


# Help texts ----------------------------------------------------------------------------------

def test_a_bare_neuropipe_prints_the_help_and_exits_0(cli):
    code, out, err = cli([])
    assert code == 0 and err == ""
    assert "Usage: neuropipe" in out and "train" in out


@pytest.mark.parametrize("command, wanted, unwanted", [
    ("train", ["MODEL", "Fashion-MNIST"], ["{model}", "on MNIST and"]),
    ("measure", ["-- CMD"], []),
    ("footprint", ["Energy and CO2e", "kWh = PUE"], ["KWh"]),
    ("doctor", ["Usage: neuropipe doctor [OPTIONS]"], []),
])
def test_help_texts(command, wanted, unwanted, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = cli([command, "--help"])
    usage = next(line for line in out.splitlines() if "Usage:" in line)
    assert code == 0 and not re.search(r"\{[a-z]", usage), usage
    for text in wanted:
        assert text in out
    for text in unwanted:
        assert text not in out


def docs_synopsis(text: str, command: str) -> str | None:
    """The first fenced block of a command's page (``docs/commands/COMMAND.md``), if any."""
    section = re.search(rf"^# `neuropipe {re.escape(command)}`[^\n]*$(.*?)(?=^#|\Z)", text,
                        re.MULTILINE | re.DOTALL)
    if section is None:
        return None
    block = re.search(r"^```[a-z]*\n(.*?)^```", section.group(1), re.MULTILINE | re.DOTALL)
    return block.group(1) if block else None


def cli_options(command: str) -> set[str]:
    import typer

    from neuropipe.pipeline.cli import app

    cmd = typer.main.get_command(app).commands[command]
    # A command group (handoff): the options of all its subcommands.
    commands = list(getattr(cmd, "commands", {}).values()) or [cmd]
    params = [p for c in commands for p in c.params]
    return {opt for p in params if p.param_type_name == "option" for opt in p.opts} - {"--help"}


@pytest.mark.parametrize("command", [
    "train",
    "convert",
    "measure",
    "footprint",
    "doctor",
    "energy-report",
    "handoff",
    "sweep",
])
def test_docs_synopsis_agrees_with_the_cli(command):
    page = REPO / "docs" / "commands" / f"{command}.md"
    synopsis = docs_synopsis(page.read_text(encoding="utf-8"), command)
    assert synopsis is not None, f"{page.name} has no synopsis block for 'neuropipe {command}'"
    assert f"neuropipe {command}" in synopsis
    in_docs = set(re.findall(r"--[a-z][a-z0-9-]*", synopsis))
    options = cli_options(command)
    assert in_docs == options, (f"only in {page.name}: {sorted(in_docs - options)}; "
                                f"only in the CLI: {sorted(options - in_docs)}")


def test_every_command_has_a_synopsis_test():
    import typer

    from neuropipe.pipeline.cli import app

    tested = {"train", "convert", "measure", "footprint", "doctor", "energy-report", "handoff",
              "sweep"}
    assert set(typer.main.get_command(app).commands) == tested


# Lava's install hint -------------------------------------------------------------------------

def test_lava_missing_gives_the_commands_that_install_it(monkeypatch, capsys):
    from neuropipe.targets import lava_setup

    monkeypatch.setattr(lava_setup, "var_model_path", lambda: None)
    assert lava_setup.main() == 1
    err = capsys.readouterr().err
    assert "--no-deps --ignore-requires-python lava-nc==0.10.0 lava-dl==0.6.0" in err
    assert "-m neuropipe.targets.lava_setup" in err and sys.executable in err
    # The same packages as the Makefile installs.
    lava_txt = (REPO / "requirements" / "lava.txt").read_text().split("\n")
    assert [r for r in lava_txt if r and not r.startswith("#")] == list(lava_setup.LAVA_PACKAGES)
    base = (REPO / "requirements" / "base.txt").read_text()
    needs = base.split("# Runtime needs of lava-nc")[1].splitlines()[1:]
    assert [r for r in needs if r and not r.startswith("#")] == list(
        lava_setup.LAVA_RUNTIME_NEEDS)


# The machine's state in energy.json ----------------------------------------------------------

def test_energy_json_records_what_the_machine_was_doing(tmp_path, cli):
    import torch

    from neuropipe.reports.energy_record import EnergyRecord

    out = tmp_path / "run"
    assert cli(["train", "mlp", *SMALL, "--epochs", "2", "--out", str(out)])[0] == 0
    raw = json.loads((out / "energy.json").read_text())
    assert raw["schema_version"] == 2
    machine = raw["machine"]
    assert machine["cpu_count"] == os.cpu_count()
    assert len(machine["load_average_start"]) == 3 and len(machine["load_average_end"]) == 3
    assert machine["threads"]["torch_intra_op"] == torch.get_num_threads()
    assert machine["threads"]["torch_inter_op"] == torch.get_num_interop_threads()
    assert "omp_wait_policy" in machine["threads"]
    assert set(machine["per_window"]) == {"1", "2"} and "load" in machine["note"]
    # A record of schema version 1 (before ``machine``) is still read, with it empty.
    old = {k: v for k, v in raw.items() if k != "machine"}
    old["schema_version"] = 1
    assert EnergyRecord.from_dict(old).machine == {}


def test_the_cli_makes_openmp_threads_sleep_but_leaves_measured_commands_alone(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    script = ("import os, sys; from neuropipe.pipeline.cli import main; "
              "main(sys.argv[1:]); print('policy', os.environ.get('OMP_WAIT_POLICY'))")
    done = subprocess.run([sys.executable, "-c", script, "footprint", "--power-w", "1",
                           "--hours", "1"], env=env, capture_output=True, text=True, timeout=60)
    assert "policy PASSIVE" in done.stdout, done.stderr
    child = "import os; print('child', os.environ.get('OMP_WAIT_POLICY'))"
    done = subprocess.run([sys.executable, "-c", script, "measure", "--", sys.executable, "-c",
                           child], env=env, capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert "child None" in done.stdout and "policy None" in done.stdout, done.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # the user's choice is kept
    done = subprocess.run([sys.executable, "-c", script, "doctor", "--help"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert "policy ACTIVE" in done.stdout, done.stderr
