"""Failure paths: interrupted or failing writes, deployments and training runs keep what existed."""

import json
import os

import nir
import numpy as np
import pytest

from neuropipe.core.errors import TargetError
from neuropipe.core.files import atomic_path, write_bytes_atomic, write_json_atomic


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_an_oserror_while_writing_leaves_nothing_behind(tmp_path, monkeypatch, where):
    (tmp_path / "keep.json").write_text("old")

    def fail(*_args):
        raise OSError(5, "Input/output error")

    if where == "fsync":
        monkeypatch.setattr(os, "fsync", fail)
    else:
        monkeypatch.setattr("builtins.open", lambda *a, **k: (_ for _ in ()).throw(
            OSError(5, "Input/output error")))
    with pytest.raises(OSError, match="Input/output error"):
        write_json_atomic(tmp_path / "keep.json", {"new": 1})
    with pytest.raises(OSError, match="Input/output error"):
        write_bytes_atomic(tmp_path / "fresh.bin", b"x")
    monkeypatch.undo()
    assert listing(tmp_path) == ["keep.json"]
    assert (tmp_path / "keep.json").read_text() == "old"


def test_an_interrupted_atomic_block_removes_its_temporary_file(tmp_path):
    seen = []
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "sub" / "model.pt") as tmp:
            tmp.write_bytes(b"half")
            seen.append(tmp)
            raise KeyboardInterrupt
    assert seen[0].parent == tmp_path / "sub" and seen[0].name.startswith(".model.pt.")
    assert listing(tmp_path) == ["sub"]
    with atomic_path(tmp_path / "sub" / "model.pt") as tmp:
        tmp.write_bytes(b"whole")
    assert listing(tmp_path) == ["sub", "sub/model.pt"]
    assert (tmp_path / "sub" / "model.pt").read_bytes() == b"whole"


def small_nir(path):
    rng = np.random.default_rng(0)
    nodes = {"input": nir.Input(input_type={"input": np.array([784])}),
             "fc": nir.Affine(weight=rng.normal(0, 0.2, (10, 784)), bias=np.zeros(10)),
             "lif": nir.LIF(tau=np.full(10, 4.0), r=np.ones(10), v_leak=np.zeros(10),
                            v_threshold=np.ones(10), v_reset=np.zeros(10)),
             "output": nir.Output(output_type={"output": np.array([10])})}
    order = list(nodes)
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:],
                                                                   strict=True))))


@pytest.fixture
def deployed(tmp_path, idx_dir, cli):
    """A bare NIR file with one finished Loihi deployment beside it."""
    idx_dir(tmp_path / "idx", n_train=10, n_test=6)
    small_nir(tmp_path / "m.nir")
    args = ["convert", str(tmp_path / "m.nir"), "--timesteps", "3", "--verify-samples", "0",
            "--data-dir", str(tmp_path / "idx")]
    code, _, err = cli(args)
    assert code == 0, err
    folder = tmp_path / "m.neuropipe" / "targets"
    return args, folder, {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_ctrl_c_during_convert_keeps_the_earlier_deployment(deployed, monkeypatch, cli):
    args, folder, before = deployed
    from neuropipe.targets.loihi.target import LoihiTarget

    def interrupted(self, workload, out_dir, **kwargs):
        (out_dir / "model.net").write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(LoihiTarget, "deploy", interrupted)
    code, _, err = cli([*args, "--force"])
    assert code == 130 and "earlier deployment" in err and "is kept" in err
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert listing(folder) == ["loihi", "loihi/deployment.json", "loihi/model.net",
                               "loihi/model.nir"]


def test_a_target_error_during_convert_keeps_the_earlier_deployment(deployed, monkeypatch,
                                                                     cli):
    args, folder, before = deployed
    from neuropipe.targets.loihi.target import LoihiTarget

    def failing(self, workload, out_dir, **kwargs):
        (out_dir / "model.net").write_bytes(b"partial")
        raise TargetError("the board went away")

    monkeypatch.setattr(LoihiTarget, "deploy", failing)
    code, _, err = cli([*args, "--force"])
    assert code == 2 and "the board went away" in err
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert [p.name for p in folder.iterdir()] == ["loihi"]


def test_a_failed_graph_write_after_deploying_keeps_the_earlier_deployment(deployed,
                                                                          monkeypatch, cli):
    args, folder, before = deployed
    import neuropipe.models.nir_export as nir_export

    def full_disk(graph, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(nir_export, "write_nir", full_disk)
    code, _, err = cli([*args, "--force"])
    assert code == 2 and "no space left on the device" in err  # one line, no traceback
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert [p.name for p in folder.iterdir()] == ["loihi"]


def test_a_failed_swap_puts_the_earlier_deployment_back(deployed, monkeypatch, cli):
    args, folder, before = deployed
    from pathlib import Path

    real_rename = Path.rename

    def rename(self, target):
        if self.name.startswith(".loihi.") and not self.name.endswith(".old"):
            raise OSError(18, "Invalid cross-device link")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    code, _, err = cli([*args, "--force"])
    assert code == 2 and "Invalid cross-device link" in err
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_a_resumed_poisson_snn_run_matches_and_keeps_every_energy_window(tmp_path,
                                                                         monkeypatch, cli):
    args = ["train", "snn-mlp", "--encoding", "poisson", "--timesteps", "4", "--limit-train",
            "256", "--limit-test", "64", "--epochs", "3", "--seed", "2"]
    assert cli([*args, "--out", str(tmp_path / "whole")])[0] == 0

    from neuropipe.pipeline.stages import train as stage

    real = stage.train_epoch
    calls = []

    def interrupted(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(stage, "train_epoch", interrupted)
    code, _, err = cli([*args, "--out", str(tmp_path / "resumed")])
    assert code == 130 and "--resume" in err
    monkeypatch.setattr(stage, "train_epoch", real)
    first = json.loads((tmp_path / "resumed" / "energy.json").read_text())
    assert set(first["per_epoch"]) == {"1"}
    assert cli([*args, "--out", str(tmp_path / "resumed"), "--resume"])[0] == 0

    def metrics(name):
        m = json.loads((tmp_path / name / "metrics.json").read_text())
        return [(e["epoch"], e["train_loss"], e["train_accuracy"], e["test_accuracy"])
                for e in m["epochs"]], m["test_accuracy"]

    assert metrics("resumed") == metrics("whole")
    energy = json.loads((tmp_path / "resumed" / "energy.json").read_text())
    assert set(energy["per_epoch"]) == {"1", "2", "3"}
    assert energy["per_epoch"]["1"] == first["per_epoch"]["1"]  # the earlier window, as saved
    windows = energy["per_epoch"].values()
    assert energy["total"]["total_j"] == pytest.approx(sum(w["total_j"] for w in windows))
    assert energy["duration_s"] == pytest.approx(sum(w["duration_s"] for w in windows))
    assert energy["kwh"] == pytest.approx(energy["total"]["total_j"] / 3.6e6)


def test_ctrl_c_outside_a_stage_is_one_line_and_exit_130(monkeypatch, cli):
    """typer turns KeyboardInterrupt into a silent Exit(130): the CLI still says what happened."""
    from neuropipe.targets import registry

    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(registry, "get_target", interrupted)
    monkeypatch.setattr("neuropipe.pipeline.stages.convert.get_target", interrupted)
    code, out, err = cli(["convert", "somewhere", "--target", "cpu"])
    assert code == 130 and out == ""
    assert err.strip() == ("error: interrupted; files already written are kept (train: re-run "
                           "with --resume)")


def test_sdnn_refused_for_a_bare_spiking_graph(tmp_path, idx_dir, cli):
    idx_dir(tmp_path / "idx", n_train=10, n_test=6)
    small_nir(tmp_path / "m.nir")
    code, _, err = cli(["convert", str(tmp_path / "m.nir"), "--encoding", "sdnn",
                        "--timesteps", "3", "--data-dir", str(tmp_path / "idx")])
    assert code == 2 and "is a spiking graph" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.neuropipe").exists()


def test_delta_threshold_needs_sdnn(tmp_path, idx_dir, cli):
    idx_dir(tmp_path / "idx", n_train=10, n_test=6)
    small_nir(tmp_path / "m.nir")
    code, _, err = cli(["convert", str(tmp_path / "m.nir"), "--delta-threshold", "0.1",
                        "--timesteps", "3", "--data-dir", str(tmp_path / "idx")])
    assert code == 2 and "--delta-threshold is for --encoding sdnn" in err
    assert not (tmp_path / "m.neuropipe").exists()
