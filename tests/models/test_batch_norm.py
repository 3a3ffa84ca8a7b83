"""snn-cnn's batch norm: trained with it, folded into the convolutions at export."""

import numpy as np
import pytest
import torch
from torch import nn

from neuropipe.models.nir_export import export_snn
from neuropipe.models.snn import build_snn_cnn, fold_batch_norm
from neuropipe.targets.chain import to_chain
from neuropipe.targets.float_sim import simulate


def trained_looking_bn_cnn(timesteps: int = 6):
    """A small snn-cnn with batch norm whose running statistics and affine maps are not 0/1."""
    torch.manual_seed(0)
    model = build_snn_cnn(timesteps, "constant", "lif", channels=(3, 4), hidden=16,
                          tau_mem=2.0, batch_norm=True)
    gen = torch.Generator().manual_seed(1)
    for m in model.net:
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.1)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 1.0)
            m.bias.data.copy_(torch.rand(m.num_features, generator=gen) * 0.5)
        elif isinstance(m, nn.Linear):
            m.weight.data.mul_(20.0)  # enough input that the later layers spike
    return model.eval()


def test_a_conv_and_its_batch_norm_fold_into_one_conv_with_the_same_outputs():
    model = trained_looking_bn_cnn()
    kinds = [type(m).__name__ for m in model.net]
    assert kinds[:3] == ["Conv2d", "BatchNorm2d", "LIFBoxCell"]
    folded = fold_batch_norm(model.net)
    assert "BatchNorm2d" not in [type(m).__name__ for m in folded]
    assert len(folded) == len(model.net) - 2
    conv, bn = model.net[0], model.net[1]
    # one channel by hand: w * gamma / sqrt(var + eps), (b - mean) * gamma / sqrt(var + eps) + beta
    s = float(bn.weight[1].detach()) / float(np.sqrt(float(bn.running_var[1]) + bn.eps))
    assert float(folded[0].weight[1, 0, 2, 3]) == pytest.approx(float(conv.weight[1, 0, 2, 3]) * s)
    assert float(folded[0].bias[1]) == pytest.approx(
        (float(conv.bias[1]) - float(bn.running_mean[1])) * s + float(bn.bias[1]))
    x = torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(folded[0](x), bn(conv(x)), rtol=1e-5, atol=1e-5)
    assert model.net[1].running_mean is not None  # the model itself is left as it was


def test_the_exported_graph_has_no_batch_norm_and_gives_the_models_spikes():
    model = trained_looking_bn_cnn()
    graph = export_snn(model)
    kinds = {type(node).__name__ for node in graph.nodes.values()}
    assert kinds == {"Input", "Conv2d", "LIF", "Flatten", "Affine", "Output"}
    x = torch.rand(30, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    counts = simulate(to_chain(graph), x.numpy(), 6)
    with torch.no_grad():
        expected = model(x).numpy()
    assert expected.sum() > 0
    assert np.array_equal(counts, expected)


def test_a_batch_norm_without_a_conv_before_it_is_refused():
    with pytest.raises(ValueError, match="must follow a Conv2d"):
        fold_batch_norm(nn.Sequential(nn.BatchNorm2d(2)))
