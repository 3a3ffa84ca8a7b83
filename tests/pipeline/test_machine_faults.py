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
