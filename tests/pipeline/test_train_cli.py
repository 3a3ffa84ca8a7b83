import json

import pytest
import torch

SMALL = ["--limit-train", "600", "--limit-test", "300", "--batch-size", "32"]


def test_mlp_learns_and_writes_the_run(tmp_path, cli):
    out = tmp_path / "run"
    code, stdout, err = cli(["train", "mlp", *SMALL, "--epochs", "2", "--out", str(out)])
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["type"] == "train-metrics" and len(metrics["epochs"]) == 2
    assert metrics["test_accuracy"] > 0.5  # chance is 0.1
    assert metrics["samples_per_s"] > 0 and metrics["wall_time_s"] > 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "mlp" and config["epochs"] == 2
    state = torch.load(out / "model.pt", weights_only=True)
    assert set(state) == {"1.weight", "1.bias", "3.weight", "3.bias"}
    assert (out / "model.onnx").is_file()
    assert "test accuracy" in stdout
    energy = json.loads((out / "energy.json").read_text())
    assert energy["type"] == "energy" and set(energy["per_epoch"]) == {"1", "2"}
    methods = {c["method"] for c in energy["total"]["components"]}
    assert methods <= {"estimate", "rapl"}
    for comp in energy["total"]["components"]:
        if comp["method"] == "estimate":
            assert "no RAPL counter" in comp["note"] and comp["assumptions"]
    assert energy["kwh_pue"] == pytest.approx(energy["kwh"] * 1.58)


def test_snn_learns_above_chance(tmp_path, cli):
    out = tmp_path / "snn"
    code, _, err = cli(["train", "snn-mlp", "--limit-train", "2000", "--limit-test", "300",
                            "--epochs", "2", "--timesteps", "8", "--out", str(out)])
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] > 0.5  # chance: 0.1
    assert not (out / "model.onnx").exists()


def test_same_seed_same_metrics_and_resume_matches_uninterrupted(tmp_path, monkeypatch, cli):
    args = ["train", "mlp", *SMALL, "--seed", "3", "--epochs", "2"]
    assert cli([*args, "--out", str(tmp_path / "a")])[0] == 0
    assert cli([*args, "--out", str(tmp_path / "b")])[0] == 0

    # Interrupt the second epoch of a third run (Ctrl-C during training), then resume it.
    from neuropipe.pipeline.stages import train as stage

    real_train_epoch = stage.train_epoch
    calls = []

    def interrupted(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train_epoch(*a, **kw)

    monkeypatch.setattr(stage, "train_epoch", interrupted)
    code, _, err = cli([*args, "--out", str(tmp_path / "c")])
    assert code == 130 and "--resume" in err
    monkeypatch.setattr(stage, "train_epoch", real_train_epoch)
    assert json.loads((tmp_path / "c" / "metrics.json").read_text())["epochs"][0]["epoch"] == 1
    assert cli([*args, "--out", str(tmp_path / "c"), "--resume"])[0] == 0

    def accs(name):
        m = json.loads((tmp_path / name / "metrics.json").read_text())
        return [(e["train_loss"], e["test_accuracy"]) for e in m["epochs"]]

    assert accs("a") == accs("b")
    assert accs("a") == accs("c")
    assert len(accs("c")) == 2


def test_existing_run_is_not_overwritten_without_force(tmp_path, cli):
    out = tmp_path / "run"
    assert cli(["train", "mlp", *SMALL, "--out", str(out)])[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, err = cli(["train", "mlp", *SMALL, "--out", str(out)])
    assert code == 2 and "already exists" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert cli(["train", "mlp", *SMALL, "--out", str(out), "--force", "--seed", "9"])[0] == 0
    assert json.loads((out / "config.json").read_text())["seed"] == 9


@pytest.mark.parametrize("args, message", [
    (["train", "resnet"], "unknown model 'resnet': choose one of mlp, cnn, snn-mlp, snn-cnn"),
    (["train", "mlp", "--dataset", "cifar"], "unknown dataset 'cifar'"),
    (["train", "mlp", "--epochs", "0"], "--epochs must be at least 1"),
    (["train", "mlp", "--lr", "-1"], "--lr must be positive"),
    (["train", "mlp", "--device", "tpu"], "unknown device 'tpu'"),
    (["train", "mlp", "--data-dir", "/nonexistent/mnist"], "does not exist"),
    (["train", "snn-mlp", "--encoding", "morse"], "unknown encoding 'morse'"),
    (["train", "mlp", "--encoding", "latency"],
     "--encoding latency is for snn-mlp, snn-cnn, lsm, lca; 'mlp' takes --encoding constant or "
     "poisson"),
    (["train", "cnn", "--modules", "4"],
     "--modules splits the hidden layer of snn-mlp only; 'cnn' takes no --modules"),
    (["train", "mlp", "--tau-mem", "3"],
     "--tau-mem sets the membrane time constant of snn-mlp, snn-cnn; 'mlp' takes no --tau-mem"),
    (["train", "snn-cnn", "--tau-mem", "1"], "--tau-mem must be more than 1 step"),
    (["train", "cnn", "--shift", "9"], "--shift must be between 0 and 4 pixels, got 9"),
    (["train", "stdp", "--shift", "1"], "--shift would be ignored"),
    (["train", "mlp", "--resume"], "--resume needs --out"),
    (["train", "mlp", "--no-such-flag"], "No such option: --no-such-flag"),
    (["train"], "Missing argument"),
    (["trian", "mlp"], "No such command 'trian'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_resume_with_corrupt_checkpoint_is_a_clear_error(tmp_path, cli):
    out = tmp_path / "run"
    assert cli(["train", "mlp", *SMALL, "--out", str(out)])[0] == 0
    (out / "checkpoint.pt").write_bytes(b"\x00corrupt")
    model_before = (out / "model.pt").read_bytes()
    code, _, err = cli(["train", "mlp", *SMALL, "--epochs", "2", "--out", str(out),
                            "--resume"])
    assert code == 2 and "corrupt" in err and len(err.strip().splitlines()) == 1
    assert (out / "model.pt").read_bytes() == model_before


def test_force_replaces_only_runs_and_keeps_the_old_run_until_an_epoch_is_saved(
        tmp_path, monkeypatch, cli):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    code, _, err = cli(["train", "mlp", *SMALL, "--out", str(folder), "--force"])
    assert code == 2 and "not a neuropipe run" in err and (folder / "keep.txt").is_file()
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = cli(["train", "mlp", *SMALL, "--out", str(afile)])
    assert code == 2 and "is a file" in err and afile.read_text() == "x"

    out = tmp_path / "run"
    assert cli(["train", "mlp", *SMALL, "--out", str(out)])[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    from neuropipe.pipeline.stages import train as stage

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, "train_epoch", interrupted)
    code, _, err = cli(["train", "mlp", *SMALL, "--out", str(out), "--force", "--seed", "5"])
    assert code == 130 and "the earlier run is back" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old run is back
    assert not list(tmp_path.glob(".run*"))


def test_resume_reads_the_runs_own_data_and_checks_the_checkpoint(tmp_path, idx_dir, cli):
    data = tmp_path / "idx"
    idx_dir(data, n_train=200, n_test=50)
    out = tmp_path / "run"
    assert cli(["train", "mlp", "--data-dir", str(data), "--out", str(out)])[0] == 0
    assert cli(["train", "mlp", "--epochs", "2", "--out", str(out), "--resume"])[0] == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert str(data) in metrics["dataset"] and metrics["train_samples"] == 200

    torch.save({"foo": torch.zeros(1)}, out / "checkpoint.pt")
    code, _, err = cli(["train", "mlp", "--epochs", "3", "--out", str(out), "--resume"])
    assert code == 2 and "does not hold a checkpoint" in err
    assert len(err.strip().splitlines()) == 1
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "timesteps": "abc"}))
    code, _, err = cli(["train", "mlp", "--epochs", "3", "--out", str(out), "--resume"])
    assert code == 2 and "invalid settings" in err and len(err.strip().splitlines()) == 1


def test_hidden_width_is_saved_resumed_and_old_configs_still_load(tmp_path, cli):
    out = tmp_path / "run"
    assert cli(["train", "mlp", *SMALL, "--hidden", "32", "--out", str(out)])[0] == 0
    assert json.loads((out / "config.json").read_text())["hidden"] == 32
    assert torch.load(out / "model.pt", weights_only=True)["1.weight"].shape == (32, 784)
    code, _, err = cli(["train", "mlp", *SMALL, "--epochs", "2", "--hidden", "64",
                        "--out", str(out), "--resume"])
    assert code == 2 and "--hidden 64 (saved: 32)" in err and len(err.strip().splitlines()) == 1
    assert cli(["train", "mlp", "--epochs", "2", "--out", str(out), "--resume"])[0] == 0

    default = tmp_path / "default"
    assert cli(["train", "mlp", *SMALL, "--out", str(default)])[0] == 0
    config = json.loads((default / "config.json").read_text())
    assert config["hidden"] == 256 and config["rate_penalty"] == 0.0
    # A run written before the two fields existed resumes as it was, with its 256 units.
    old = {k: v for k, v in config.items() if k not in ("hidden", "rate_penalty")}
    (default / "config.json").write_text(json.dumps(old))
    assert cli(["train", "mlp", "--epochs", "2", "--hidden", "256", "--out", str(default),
                "--resume"])[0] == 0
    assert len(json.loads((default / "metrics.json").read_text())["epochs"]) == 2


def test_snn_cnn_channels_and_hidden_are_saved_and_kept_on_resume(tmp_path, cli):
    out = tmp_path / "snn-cnn"
    args = ["train", "snn-cnn", "--limit-train", "64", "--limit-test", "20", "--timesteps", "2",
            "--out", str(out)]
    assert cli([*args, "--channels", "4,6", "--hidden", "12", "--batch-norm"])[0] == 0
    config = json.loads((out / "config.json").read_text())
    assert config["channels"] == [4, 6] and config["hidden"] == 12 and config["batch_norm"]
    state = torch.load(out / "model.pt", weights_only=True)
    assert [tuple(state[k].shape) for k in ("net.0.weight", "net.1.running_var", "net.3.weight",
                                             "net.4.running_var", "net.7.weight",
                                             "net.9.weight")] == \
        [(4, 1, 5, 5), (4,), (6, 4, 5, 5), (6,), (12, 6 * 7 * 7), (10, 12)]
    code, _, err = cli([*args, "--channels", "4,8", "--epochs", "2", "--resume"])
    assert code == 2 and "--channels" in err and len(err.strip().splitlines()) == 1
    assert cli(["train", "snn-cnn", "--epochs", "2", "--out", str(out), "--resume"])[0] == 0
    assert len(json.loads((out / "metrics.json").read_text())["epochs"]) == 2


def test_rate_penalty_is_saved_and_kept_on_resume(tmp_path, cli):
    out = tmp_path / "snn"
    args = ["train", "snn-mlp", "--limit-train", "200", "--limit-test", "100", "--timesteps",
            "4", "--hidden", "32", "--out", str(out)]
    assert cli([*args, "--rate-penalty", "0.5"])[0] == 0
    assert json.loads((out / "config.json").read_text())["rate_penalty"] == 0.5
    code, _, err = cli([*args, "--rate-penalty", "0.1", "--epochs", "2", "--resume"])
    assert code == 2 and "--rate-penalty 0.1 (saved: 0.5)" in err
    assert cli(["train", "snn-mlp", "--epochs", "2", "--out", str(out), "--resume"])[0] == 0


@pytest.mark.parametrize("args, message", [
    (["train", "cnn", "--hidden", "64"], "--hidden sets the hidden width of mlp, snn-mlp, "
                                         "snn-cnn, ff, lca; model 'cnn' has no such option"),
    (["train", "cnn", "--channels", "4,8"], "--channels applies to the convolutions of "
                                            "snn-cnn; model 'cnn' has no such option"),
    (["train", "snn-mlp", "--batch-norm"], "--batch-norm applies to the convolutions of snn-cnn; "
                                           "model 'snn-mlp' has no such option"),
    (["train", "snn-cnn", "--channels", "4"], "--channels takes two whole numbers separated by "
                                              "a comma, e.g. 32,64; got '4'"),
    (["train", "snn-cnn", "--channels", "4,x"], "--channels takes two whole numbers"),
    (["train", "snn-cnn", "--channels", "0,8"], "--channels takes two channel counts of at "
                                                "least 1 (e.g. 32,64), got 0,8"),
    (["train", "mlp", "--hidden", "0"], "--hidden must be at least 1"),
    (["train", "mlp", "--rate-penalty", "0.1"], "--rate-penalty applies to surrogate-gradient"),
    (["train", "snn-mlp", "--rate-penalty", "-1"], "--rate-penalty must be 0 or more"),
])
def test_options_for_other_models_are_refused(args, message, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(args)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
