"""--modules: the band mask by hand, zeros that stay zero through training, and deployment."""

import numpy as np
import pytest
import torch

from neuropipe.core.errors import InputError
from neuropipe.models.modular import band_mask
from neuropipe.models.zoo import ModelOptions, build_model


def test_band_mask_by_hand():
    # 5 neurons in 2 modules (3 + 2), 3 rows of 2 pixels in 2 bands (rows 0-1, row 2).
    mask = band_mask(5, 2, rows=3, cols=2).numpy().astype(int)
    assert mask.tolist() == [[1, 1, 1, 1, 0, 0]] * 3 + [[0, 0, 0, 0, 1, 1]] * 2


def test_masked_weights_stay_zero_through_adam_and_export_as_zeros():
    from neuropipe.models.nir_export import export_snn

    model = build_model("snn-mlp", ModelOptions(timesteps=3, hidden=16, modules=4))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.rand(4, 1, 28, 28)).sum().backward()
        optimizer.step()
    weight = model.net[1].weight.detach().numpy()
    mask = band_mask(16, 4).numpy()
    assert np.all(weight[mask == 0] == 0) and np.count_nonzero(weight) == 16 * 784 // 4
    graph = export_snn(model)
    assert np.count_nonzero(graph.nodes["1"].weight) == 16 * 784 // 4
    assert np.count_nonzero(graph.nodes["3"].weight) == 10 * 16  # the output stays dense


def test_modules_out_of_range_are_refused():
    with pytest.raises(InputError, match="--modules must be at most 28"):
        build_model("snn-mlp", ModelOptions(modules=29))
    with pytest.raises(InputError, match="--modules must be at least 1"):
        build_model("snn-mlp", ModelOptions(modules=0))


def test_a_modular_graph_deploys_with_its_synapses_only(tmp_path):
    """Loihi counts and places the nonzero synapses: a quarter of the dense layer's."""
    from neuropipe.models.nir_export import export_snn
    from neuropipe.targets.base import Workload
    from neuropipe.targets.registry import get_target

    graphs = [export_snn(build_model("snn-mlp", ModelOptions(timesteps=4, hidden=16,
                                                             modules=k))) for k in (1, 4)]
    x = np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32)
    synapses = []
    for k, graph in zip((1, 4), graphs, strict=True):
        record = get_target("loihi").deploy(
            Workload(graph, x, np.zeros(3, dtype=int), timesteps=4, encoding="rate"),
            tmp_path / str(k), verify_samples=0)
        layer = record.layers[0]
        nonzero = np.count_nonzero(graph.nodes["1"].weight)
        assert nonzero == 16 * 784 // k
        assert layer.synapses == nonzero - layer.quantisation["zero_after_quantisation"]
        synapses.append(layer.synapses)
    assert synapses[1] < synapses[0] / 3
