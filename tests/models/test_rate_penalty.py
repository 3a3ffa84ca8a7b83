import torch

from neuropipe.models.training import evaluate, hidden_spike_rate, train_epoch
from neuropipe.models.zoo import ModelOptions, build_model


def _digits(n=1000):
    from neuropipe.models.data.datasets import load_dataset
    from neuropipe.models.training import to_tensor

    data = load_dataset("mnist", None)
    return to_tensor(data.train_x[:n]), torch.from_numpy(data.train_y[:n]).long()


def _trained(x, y, penalty):
    torch.manual_seed(0)
    model = build_model("snn-mlp", ModelOptions(timesteps=8, hidden=64))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    train_epoch(model, optimizer, x, y, 32, seed=0, device=torch.device("cpu"),
                rate_penalty=penalty)
    return model


def test_rate_penalty_lowers_the_hidden_spike_rate_and_still_learns():
    x, y = _digits()
    free, sparse = _trained(x, y, 0.0), _trained(x, y, 0.5)
    rate_free, rate_sparse = hidden_spike_rate(free, x[:256]), hidden_spike_rate(sparse, x[:256])
    assert rate_sparse < 0.85 * rate_free
    cpu = torch.device("cpu")
    assert evaluate(sparse, x, y, 500, 0, cpu).accuracy > 0.4  # chance: 0.1


def test_hidden_rate_counts_spikes_per_neuron_per_step():
    model = build_model("snn-mlp", ModelOptions(timesteps=4, hidden=8))
    x = torch.rand(3, 1, 28, 28) * 3
    flatten, linear, cell = model.net[0], model.net[1], model.net[2]
    current, state, spikes = linear(flatten(x)), None, []
    with torch.no_grad():
        for _ in range(4):  # norse's own cell, step by step (constant input current)
            z, state = cell(current, state)
            spikes.append(z)
        counts, rate = model.run(x, hidden_rate=True)
    expected = torch.stack(spikes).mean(dim=(0, 2))  # per sample: over steps and neurons
    assert expected.max() > 0
    assert torch.allclose(rate, expected)
    assert torch.equal(counts, model(x))
