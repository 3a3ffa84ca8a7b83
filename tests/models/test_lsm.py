import json

import numpy as np
import pytest
import torch

from neuropipe.models.lsm import LiquidStateMachine


def _images(n, seed=0):
    from neuropipe.models.data.datasets import load_dataset
    from neuropipe.models.training import to_tensor

    data = load_dataset("mnist", None)
    return to_tensor(data.train_x[seed:seed + n]), torch.from_numpy(data.train_y[seed:seed + n])


def _small(timesteps=6, encoding="constant", neurons=60):
    torch.manual_seed(1)
    return LiquidStateMachine(timesteps, encoding, neurons=neurons, connectivity=0.1)


def test_readout_is_the_closed_form_ridge_solution():
    model = _small()
    x, y = _images(300)
    model.fit_epoch(x, y, batch_size=64, seed=0)
    counts = model.features(x).double().numpy()
    a = np.hstack([counts, np.ones((len(counts), 1))])
    onehot = np.eye(10)[y.numpy()]
    n, lam = len(a), model.ridge
    # min ||A w - Y||^2 / n + lam ||w||^2, as one least-squares problem.
    stacked = np.vstack([a / np.sqrt(n), np.sqrt(lam) * np.eye(a.shape[1])])
    target = np.vstack([onehot / np.sqrt(n), np.zeros((a.shape[1], 10))])
    w = np.linalg.lstsq(stacked, target, rcond=None)[0]
    assert np.allclose(model.readout_weight.numpy(), w[:-1].T, atol=1e-5)
    assert np.allclose(model.readout_bias.numpy(), w[-1], atol=1e-5)
    assert counts.sum() > 0 and (counts.sum(0) > 0).mean() > 0.5  # the reservoir spikes


def test_reservoir_is_scaled_to_its_spectral_radius():
    model = _small(neurons=60)
    w = model.recurrent_weight().double().numpy()
    assert np.isclose(np.abs(np.linalg.eigvals(w)).max(), 0.9, rtol=1e-4)
    assert np.all(np.diag(w) == 0) and 0 < (w != 0).mean() < 0.2


def test_larger_reservoir_is_scaled_to_its_spectral_radius():
    # Above 64 neurons; ARPACK with k=1 found a smaller eigenvalue here (radius 0.906).
    from neuropipe.models.lsm import _sparse_reservoir

    torch.manual_seed(1)
    index, value = _sparse_reservoir(500, 0.02, 0.9)
    w = np.zeros((500, 500))
    w[index[0].numpy(), index[1].numpy()] = value.double().numpy()
    assert np.isclose(np.abs(np.linalg.eigvals(w)).max(), 0.9, rtol=1e-4)


def _simulate_graph(graph, x, timesteps):
    """The NIR contract of 2026-12-03, read independently in numpy (float64)."""
    n = graph.nodes["lif"].tau.shape[0]
    w_in, b_in = graph.nodes["w_in"].weight, graph.nodes["w_in"].bias
    w_rec = graph.nodes["w_rec"].weight
    lif = graph.nodes["lif"]
    alpha = 1.0 / lif.tau
    v, s, c = np.zeros((len(x), n)), np.zeros((len(x), n)), np.zeros((len(x), n))
    flat = x.reshape(len(x), -1)
    for _ in range(timesteps):
        current = flat @ w_in.T + b_in + s @ w_rec.T
        v = v + alpha * (lif.v_leak - v + lif.r * current)
        s = (v > lif.v_threshold).astype(float)
        v = np.where(s > 0, lif.v_reset, v)
        c += s
    readout = graph.nodes["readout"]
    return c @ readout.weight.T + readout.bias


def test_nir_graph_follows_the_contract_and_reproduces_the_model(tmp_path):
    import nir

    from neuropipe.models.nir_export import export_snn, write_nir

    model = _small()
    x, y = _images(200)
    model.fit_epoch(x, y, batch_size=64, seed=0)
    write_nir(export_snn(model), tmp_path / "lsm.nir")
    graph = nir.read(str(tmp_path / "lsm.nir"))
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    assert kinds == {"input": "Input", "flatten": "Flatten", "w_in": "Affine", "lif": "LIF",
                     "w_rec": "Linear", "readout": "Affine", "output": "Output"}
    assert set(map(tuple, graph.edges)) == {
        ("input", "flatten"), ("flatten", "w_in"), ("w_in", "lif"), ("lif", "w_rec"),
        ("w_rec", "lif"), ("lif", "readout"), ("readout", "output")}
    lif = graph.nodes["lif"]
    assert np.all(lif.v_leak == 0) and np.all(lif.v_reset == 0) and lif.v_threshold.shape == (60,)
    assert graph.nodes["w_rec"].weight.shape == (60, 60)
    assert graph.nodes["readout"].weight.shape == (10, 60)
    assert graph.metadata["timesteps"] == 6 and graph.metadata["encoding"] == "constant"
    test_x, _ = _images(100, seed=1000)
    scores = _simulate_graph(graph, test_x.numpy().astype(np.float64), 6)
    with torch.no_grad():
        mine = model(test_x).numpy()
    assert (scores.argmax(1) == mine.argmax(1)).mean() >= 0.98  # float32 vs float64 only
    assert np.allclose(scores, mine, atol=1e-2 * np.abs(mine).max())


def test_train_resume_and_convertible_run(tmp_path, cli):
    out = tmp_path / "lsm"
    args = ["train", "lsm", "--limit-train", "300", "--limit-test", "100", "--timesteps", "4",
            "--out", str(out)]
    code, stdout, err = cli(args)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["kind"] == "snn" and metrics["test_accuracy"] > 0.5  # chance: 0.1
    assert metrics["learning"] == "ridge"  # the energy report sets it against backprop
    assert metrics["parameters"] == 10 * 2000 + 10  # the readout; the reservoir is fixed
    energy = json.loads((out / "energy.json").read_text())
    assert set(energy["per_epoch"]) == {"1"}
    first = torch.load(out / "model.pt", weights_only=True)
    assert cli(["train", "lsm", "--epochs", "2", "--out", str(out), "--resume"])[0] == 0
    second = torch.load(out / "model.pt", weights_only=True)
    assert torch.equal(first["rec_value"], second["rec_value"])
    # Constant input: a second pass adds the same statistics, so the same readout.
    assert torch.allclose(first["readout_weight"], second["readout_weight"], atol=1e-5)
    assert len(json.loads((out / "metrics.json").read_text())["epochs"]) == 2

    from neuropipe.core.rundir import RunDir
    from neuropipe.models.checkpoint import load_trained
    from neuropipe.models.nir_export import export_snn

    model, _ = load_trained(RunDir(out))
    graph = export_snn(model)
    assert graph.nodes["lif"].tau.shape == (2000,)


@pytest.mark.parametrize("args, message", [
    (["train", "lsm", "--rate-penalty", "0.1"], "--rate-penalty applies to surrogate-gradient"),
    (["train", "lsm", "--hidden", "100"], "--hidden sets the hidden width"),
    (["train", "lsm", "--lr", "0.1"], "'lsm' learns by ridge"),
    (["train", "lsm", "--neuron", "cuba"], "--neuron cuba would be ignored"),
])
def test_bad_options_for_lsm(args, message, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(args)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
