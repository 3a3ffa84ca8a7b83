"""lca: spiking LCA dynamics by hand, the dictionary step, the NIR round trip, a short training."""

import json

import numpy as np
import pytest
import torch

from neuropipe.models.lca import TAU, SparseCoding


def _two_atoms(timesteps, lam, threshold):
    """Atoms e0 and 0.6 e0 + 0.8 e1 (unit norm, overlap 0.6) over the 784 pixels."""
    model = SparseCoding(timesteps, "constant", atoms=2, lam=lam, threshold=threshold)
    phi = torch.zeros(784, 2)
    phi[0, 0], phi[0, 1], phi[1, 1] = 1.0, 0.6, 0.8
    model.dictionary.copy_(phi)
    return model


def _image(*pixels):
    x = torch.zeros(1, 1, 28, 28)
    x.view(-1)[:len(pixels)] = torch.tensor(pixels)
    return x


def test_two_atom_raster_by_hand():
    # x = e0, lambda 0.1, theta 1: drives b - lambda = (0.9, 0.5), inhibition -0.6 each way.
    # v1: .9, 1.8* | .9, 1.8* | .3 (inhibited by n2's spike at step 3), 1.2*: spikes 1, 3, 5.
    # v2: .5, 1.0 (not > 1), .9 (n1's spike: -.6), 1.4* | -.1, .4: one spike, at step 3.
    # (The leak 1/1024 per step moves none of these across the threshold.)
    model = _two_atoms(6, lam=0.1, threshold=1.0)
    assert torch.equal(model.recurrent_weight(), torch.tensor([[0.0, -0.6], [-0.6, 0.0]]))
    assert model.features(_image(1.0)).tolist() == [[3.0, 1.0]]
    no_inhibition = torch.zeros(2, 2)  # then neuron 2 fires at steps 2 and 5
    assert model._counts(_image(1.0), no_inhibition, None).tolist() == [[3.0, 2.0]]


@pytest.mark.parametrize("pixels, expected", [
    # x = e0: atom 1 explains it; a1 = 1 - lambda, atom 2's drive 0.5 - 0.1 - 0.6 * 0.9 < 0.
    ((1.0,), (0.9, 0.0)),
    # x = e0 + e1: both active, a = b - lambda - G_off a: a1 = 0.9 - 0.6 a2, a2 = 1.3 - 0.6 a1
    # -> a = (0.1875, 1.1875); residual (0.1, 0.05), Phi^T r = (0.1, 0.1) = lambda (KKT).
    ((1.0, 1.0), (0.1875, 1.1875)),
])
def test_spike_rates_settle_at_the_lca_fixed_point(pixels, expected):
    # theta 20: a spike stands for 20 x the per-step drive, so reset to 0 (which drops what
    # v overshoots the threshold by: rate 1/ceil(theta/d), not d/theta) and the leak (1/1024
    # of v per step) pull the codes down by a few percent: 0.86 for 0.9, 1.13 for 1.1875.
    model = _two_atoms(2000, lam=0.1, threshold=20.0)
    codes = model.codes(model.features(_image(*pixels)))[0]
    assert codes.tolist() == pytest.approx(expected, abs=0.06)


def test_dictionary_step_is_the_sparse_coding_gradient():
    torch.manual_seed(0)
    model = SparseCoding(8, "constant", atoms=5, lam=0.5, threshold=2.0, eta=0.3)
    x = torch.rand(12, 1, 28, 28) * (torch.rand(12, 1, 28, 28) > 0.8)
    model.initialise(x, torch.Generator().manual_seed(0))
    assert torch.allclose(model.dictionary.norm(dim=0), torch.ones(5))
    phi = model.dictionary.double().clone()
    flat = x.reshape(12, -1).double()
    a = model.codes(model.features(x)).double()  # constant input: the order does not matter
    assert a.sum() > 0
    objective = model.learn_dictionary(x, torch.Generator().manual_seed(1))
    residual = flat - a @ phi.T
    step = phi + 0.3 * residual.T @ a / 12
    assert torch.allclose(model.dictionary.double(), step / step.norm(dim=0), atol=1e-5)
    expected = float((0.5 * (residual ** 2).sum() + 0.5 * a.sum()) / 12)
    assert objective == pytest.approx(expected, rel=1e-4)


def _simulate_graph(graph, x, timesteps):
    """The NIR contract of the recurrent layer, read independently in numpy (float64)."""
    lif, w_in, w_rec = graph.nodes["lif"], graph.nodes["w_in"], graph.nodes["w_rec"]
    flat = x.reshape(len(x), -1).astype(np.float64)
    v = np.zeros((len(x), len(lif.tau)))
    s, c = np.zeros_like(v), np.zeros_like(v)
    for _ in range(timesteps):
        current = flat @ w_in.weight.T + w_in.bias + s @ w_rec.weight.T
        v = v + (1.0 / lif.tau) * (lif.v_leak - v + lif.r * current)
        s = (v > lif.v_threshold).astype(float)
        v = np.where(s > 0, lif.v_reset, v)
        c += s
    return c


def test_nir_round_trip_runs_the_model(tmp_path):
    from neuropipe.models.data.datasets import load_dataset
    from neuropipe.models.nir_export import export_snn, read_nir, write_nir
    from neuropipe.models.training import to_tensor

    data = load_dataset("mnist", None)
    x, y = to_tensor(data.train_x[:200]), torch.from_numpy(data.train_y[:200])
    torch.manual_seed(0)
    model = SparseCoding(12, "constant", atoms=30)
    model.fit_epoch(x, y, batch_size=32, seed=0)
    write_nir(export_snn(model), tmp_path / "lca.nir")
    graph = read_nir(tmp_path / "lca.nir")
    assert graph.metadata["model"] == "lca"
    phi = model.dictionary.numpy()
    assert np.array_equal(graph.nodes["w_in"].weight, phi.T)
    assert np.all(graph.nodes["w_in"].bias == -1.0)
    w_rec = graph.nodes["w_rec"].weight
    assert np.all(np.diag(w_rec) == 0) and np.allclose(w_rec, w_rec.T)
    assert np.allclose(w_rec + np.diag(np.full(30, -4.0)), -4.0 * phi.T @ phi, atol=1e-5)
    lif = graph.nodes["lif"]
    assert np.all(lif.tau == TAU) and np.all(lif.r == TAU) and np.all(lif.v_threshold == 4.0)
    mine = model.features(x[:50]).numpy()
    theirs = _simulate_graph(graph, x[:50].numpy(), 12)
    assert (mine == theirs).mean() >= 0.99  # float32 against float64 only
    readout = graph.nodes["readout"]
    assert np.array_equal(readout.weight, model.readout_weight.numpy())


def test_short_training_states_its_sparsity_and_resumes(tmp_path, cli):
    out = tmp_path / "lca"
    args = ["train", "lca", "--limit-train", "300", "--limit-test", "100", "--timesteps", "12",
            "--hidden", "20", "--out", str(out)]
    code, _, err = cli(args)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["learning"] == "sparse-coding" and metrics["kind"] == "snn"
    assert metrics["test_accuracy"] > 0.3  # chance: 0.1
    assert metrics["parameters"] == 784 * 20 + 10 * 20 + 10
    figures = metrics["figures"]
    assert figures["dictionary_size"] == 20 and figures["timesteps"] == 12
    assert 0 < figures["active_units_per_image"] <= 20
    assert figures["active_units_per_image"] <= figures["spikes_per_inference"] <= 20 * 12
    first = torch.load(out / "model.pt", weights_only=True)
    assert torch.allclose(first["dictionary"].norm(dim=0), torch.ones(20))
    assert cli(["train", "lca", "--epochs", "2", "--out", str(out), "--resume"])[0] == 0
    second = torch.load(out / "model.pt", weights_only=True)
    assert not torch.equal(first["dictionary"], second["dictionary"])  # learned on
    assert len(json.loads((out / "metrics.json").read_text())["epochs"]) == 2


@pytest.mark.parametrize("args, message", [
    (["train", "lca", "--rate-penalty", "0.1"], "--rate-penalty applies to surrogate-gradient"),
    (["train", "lca", "--lr", "0.1"], "'lca' learns by sparse-coding"),
    (["train", "lca", "--neuron", "cuba"], "--neuron cuba would be ignored"),
    (["train", "lca", "--modules", "2"], "'lca' takes no --modules"),
    (["train", "lca", "--hidden", "0"], "--hidden must be at least 1"),
])
def test_bad_options_for_lca(args, message, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(args)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
