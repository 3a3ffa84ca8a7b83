import json
import math

import numpy as np
import pytest
import torch

from neuropipe.models.stdp import (
    DiehlCook,
    StdpParameters,
    StdpTrainer,
    reference_sample,
)


def test_stdp_on_a_hand_made_3_input_2_neuron_case():
    p = StdpParameters(tau=2.0, v_threshold=0.5, theta_plus=0.1, tau_theta=1e300,
                       inhibition=1.0, tau_trace=1.0, nu_pre=0.1, nu_post=0.2, norm=1.0)
    w = np.array([[0.2, 0.5], [0.3, 0.1], [0.4, 0.6]])
    trainer = StdpTrainer(w.copy(), np.zeros(2), p, timesteps=2)
    # Pixels of 1 spike at every step, pixels of 0 never: inputs 0 and 2 spike twice.
    counts = trainer.learn(np.array([1.0, 0.0, 1.0]), np.random.default_rng(0))
    e = math.exp(-1.0)
    # Step 0: currents 0.6 and 1.1 (v = 0 + I) both pass 0.5: both fire; traces
    # x_pre = (1, 0, 1), x_post = (1, 1); theta = 0.1 each.
    # Depression at the input spikes (rows 0, 2): -0.1 * x_post; potentiation of both
    # columns: +0.2 * x_pre.
    step0 = np.array([[0.2 - 0.1 + 0.2, 0.5 - 0.1 + 0.2],
                      [0.3, 0.1],
                      [0.4 - 0.1 + 0.2, 0.6 - 0.1 + 0.2]])
    # Step 1: currents (0.8, 1.3) minus inhibition 1.0 from the other neuron's spike:
    # (-0.2, 0.3), below the thresholds 0.6: nobody fires. x_post = (e, e):
    # depression -0.1 e on rows 0 and 2.
    step1 = step0 - np.array([[0.1 * e] * 2, [0.0] * 2, [0.1 * e] * 2])
    expected = step1 / step1.sum(0)  # normalised to sum 1 per neuron (no clipping needed)
    assert np.allclose(trainer.w, expected, rtol=0, atol=1e-12)
    assert np.allclose(trainer.theta, [0.1, 0.1]) and counts.tolist() == [1.0, 1.0]


def _images(n, start=0, split="train"):
    from neuropipe.models.data.datasets import load_dataset
    from neuropipe.models.training import to_tensor

    data = load_dataset("mnist", None)
    xs, ys = (data.train_x, data.train_y) if split == "train" else (data.test_x, data.test_y)
    return to_tensor(xs[start:start + n]), torch.from_numpy(ys[start:start + n]).long()


def test_vectorised_training_equals_the_plain_reference_loop():
    x, _ = _images(6)
    images = x.reshape(6, -1).double().numpy()
    p, steps = StdpParameters(), 24
    w0 = np.random.default_rng(0).random((784, 50)) * p.w_init
    fast = StdpTrainer(w0.copy(), np.zeros(50), p, steps)
    w, theta = w0.copy(), np.zeros(50)
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    spikes = 0.0
    for image in images:
        a = fast.learn(image, rng_a)
        b = reference_sample(w, theta, image, rng_b, p, steps)
        assert np.array_equal(a, b)
        spikes += a.sum()
    assert spikes > 0 and not np.allclose(w, w0)  # it did learn something
    assert np.allclose(fast.w, w, rtol=0, atol=1e-12)
    assert np.allclose(fast.theta, theta, rtol=0, atol=1e-12)


def test_labels_and_vote_readout():
    model = DiehlCook(4, "poisson", neurons=5)
    counts = torch.tensor([[3., 0, 1, 0, 0], [0, 2, 0, 0, 0], [1, 0, 4, 0, 0],
                           [0, 3, 0, 0, 0]])
    y = torch.tensor([0, 1, 0, 1])
    model.assign_labels(counts, y)
    assert model.labels.tolist() == [0, 1, 0, -1, -1]  # neurons 3, 4 never spiked
    readout = torch.zeros(10, 5)
    readout[0, [0, 2]] = 0.5
    readout[1, 1] = 1.0
    assert torch.equal(model.readout, readout)
    votes = torch.tensor([[2., 0, 2, 9, 9]]) @ model.readout.T  # mean count per group
    assert votes[0, 0] == 2 and votes[0, 1] == 0 and votes.argmax() == 0


def _simulate_graph(graph, spikes):
    """The NIR contract read independently (numpy float64), on given input spikes."""
    lif, w_in = graph.nodes["lif"], graph.nodes["w_in"]
    w_rec, readout = graph.nodes["w_rec"].weight, graph.nodes["readout"]
    n = lif.tau.shape[0]
    v, s, c = np.zeros((spikes.shape[1], n)), np.zeros((spikes.shape[1], n)), 0.0
    for x_t in spikes:
        current = x_t @ w_in.weight.T + w_in.bias + s @ w_rec.T
        v = v + (1.0 / lif.tau) * (lif.v_leak - v + lif.r * current)
        s = (v > lif.v_threshold).astype(float)
        v = np.where(s > 0, lif.v_reset, v)
        c = c + s
    return c @ readout.weight.T + readout.bias


def test_nir_export_follows_the_contract_and_reproduces_the_model(tmp_path):
    import nir

    from neuropipe.models.nir_export import export_snn, write_nir

    torch.manual_seed(0)
    model = DiehlCook(24, "poisson", neurons=40)
    x, y = _images(200)
    model.fit_epoch(x, y, batch_size=100, seed=0)
    write_nir(export_snn(model), tmp_path / "stdp.nir")
    graph = nir.read(str(tmp_path / "stdp.nir"))
    assert set(map(tuple, graph.edges)) == {
        ("input", "flatten"), ("flatten", "w_in"), ("w_in", "lif"), ("lif", "w_rec"),
        ("w_rec", "lif"), ("lif", "readout"), ("readout", "output")}
    lif = graph.nodes["lif"]
    assert np.allclose(lif.v_threshold, model.p.v_threshold + model.theta.numpy())
    assert np.all(lif.v_leak == 0) and np.all(lif.v_reset == 0)
    w_rec = graph.nodes["w_rec"].weight
    assert np.all(np.diag(w_rec) == 0)
    assert np.all(w_rec[~np.eye(40, dtype=bool)] == -model.p.inhibition)
    readout = graph.nodes["readout"].weight
    for c in range(10):
        group = model.labels.numpy() == c
        assert np.allclose(readout[c, group], 1.0 / max(group.sum(), 1))
        assert np.all(readout[c, ~group] == 0)
    assert graph.metadata["encoding"] == "poisson" and graph.metadata["timesteps"] == 24
    # Binary images make Poisson input deterministic (probability 0 or 1 per step), so the
    # model's own evaluation and the graph read independently see the same spikes.
    test_x, _ = _images(100, split="test")
    binary = (test_x > 0.5).float()
    spikes = np.repeat(binary.reshape(1, 100, -1).double().numpy(), 24, axis=0)
    scores = _simulate_graph(graph, spikes)
    with torch.no_grad():
        mine = model(binary).numpy()
    assert np.abs(scores).max() > 0
    assert (scores.argmax(1) == mine.argmax(1)).mean() >= 0.97
    assert np.allclose(scores, mine, atol=0.05 * np.abs(mine).max())


def test_train_resume_and_bad_input(tmp_path, cli):
    out = tmp_path / "stdp"
    args = ["train", "stdp", "--limit-train", "100", "--limit-test", "50", "--timesteps", "8",
            "--out", str(out)]
    code, _, err = cli(args)
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["encoding"] == "poisson" and config["timesteps"] == 8
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["kind"] == "snn" and metrics["parameters"] == 400 * 784 + 400 + 400
    first = torch.load(out / "model.pt", weights_only=True)
    assert cli(["train", "stdp", "--epochs", "2", "--out", str(out), "--resume"])[0] == 0
    second = torch.load(out / "model.pt", weights_only=True)
    assert not torch.equal(first["weight"], second["weight"])  # a second STDP pass
    assert len(json.loads((out / "metrics.json").read_text())["epochs"]) == 2
    assert set(json.loads((out / "energy.json").read_text())["per_epoch"]) == {"1", "2"}


@pytest.mark.parametrize("args, message", [
    (["train", "stdp", "--rate-penalty", "0.1"], "--rate-penalty applies to surrogate-gradient"),
    (["train", "stdp", "--encoding", "constant"], "'stdp' takes --encoding poisson"),
    (["train", "stdp", "--label-smoothing", "0.2"], "'stdp' learns by stdp"),
    (["train", "stdp", "--hidden", "100"], "--hidden sets the hidden width"),
    (["train", "stdp", "--no-such-option"], "No such option"),
])
def test_bad_options_for_stdp(args, message, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(args)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
