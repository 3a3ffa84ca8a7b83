import numpy as np
import pytest
import torch
from torch import nn

from neuropipe.models.conversion import convert_ann


def test_weights_and_biases_follow_the_layerwise_normalisation():
    """Rueckauer et al. 2017: W'[l] = W[l] lam[l-1] / lam[l], b'[l] = b[l] / lam[l], lam[0] = 1."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 5, stride=2, padding=2), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 14 * 14, 16), nn.ReLU(), nn.Linear(16, 10))
    with torch.no_grad():
        for layer in (model[0], model[3], model[5]):
            layer.bias.uniform_(0.5, 2.0)  # large biases: a wrong scaling would show
    x = torch.rand(64, 1, 28, 28)
    converted = convert_ann(model, x, percentile=99.0, timesteps=8)

    # The scales, computed here independently of the module under test.
    with torch.no_grad():
        acts = [model[:2](x), model[:5](x), model(x)]
    lam = [float(np.percentile(a[a > 0].numpy(), 99.0)) for a in acts]
    assert converted.scales == pytest.approx(lam)
    nodes = converted.graph.nodes
    previous = [1.0, lam[0], lam[1]]
    for name, layer, prev, own in (("conv0", model[0], previous[0], lam[0]),
                                   ("fc1", model[3], previous[1], lam[1]),
                                   ("fc2", model[5], previous[2], lam[2])):
        w = layer.weight.detach().numpy() * prev / own
        b = layer.bias.detach().numpy() / own
        np.testing.assert_allclose(nodes[name].weight, w, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(nodes[name].bias, b, rtol=1e-5, atol=1e-7)
    assert {type(n).__name__ for n in nodes.values()} == {"Input", "Conv2d", "IF", "Flatten",
                                                        "Affine", "Output"}


def test_converted_neurons_fire_at_the_rate_their_normalised_activation_sets():
    """An IF neuron with reset to zero driven by a constant c = (Wx + b) / lam fires once every
    floor(1/c) + 1 steps: the rate the normalisation aims at, less the charge lost at reset."""
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.float_sim import simulate

    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        model[1].bias.uniform_(0.0, 0.5)
    x = torch.rand(32, 1, 28, 28)
    steps = 200
    converted = convert_ann(model, x, percentile=99.9, timesteps=steps)
    counts = np.asarray(simulate(to_chain(converted.graph), x.numpy(), steps, "constant", None))
    with torch.no_grad():
        c = model(x).numpy().astype(np.float64) / converted.scales[0]
    period = np.floor(1.0 / np.clip(c, 1e-9, None)) + 1
    expected = np.where(c > 0, np.floor(steps / period), 0)
    assert counts.sum() > 0 and np.all(np.abs(counts - expected) <= 1)
    assert np.mean(counts == expected) > 0.9
