import numpy as np
import pytest

from neuropipe.targets.chain import to_chain
from neuropipe.targets.float_sim import poisson_spikes
from neuropipe.targets.loihi.emulator import emulate
from neuropipe.targets.loihi.lava_runner import run_in_lava
from neuropipe.targets.loihi.quantize import quantize_chain


def run_both(graph, encoding, x, timesteps, samples, rng):
    layers = quantize_chain(to_chain(graph), encoding)
    steps = timesteps + len(layers) - 1 + (encoding == "poisson")
    if encoding == "constant":
        host_bias, spikes = layers[0].input_bias(x)[0], None
    else:
        host_bias = None
        spikes = np.zeros((steps, len(x), layers[0].layer.inputs), dtype=bool)
        spikes[:timesteps] = poisson_spikes(x, timesteps, rng)
    emulated = emulate(layers, steps, host_bias=host_bias, input_spikes=spikes)
    lava = run_in_lava(layers, steps, host_bias, spikes, samples)
    return emulated, lava


@pytest.mark.parametrize("neuron", ["lif", "if"])
@pytest.mark.parametrize("encoding", ["constant", "poisson"])
def test_emulator_matches_lava_spike_for_spike_dense(rng, neuron, encoding, make_dense_graph):
    graph = make_dense_graph(rng, neuron=neuron)
    x = rng.random((3, 20)) * (2.0 if encoding == "constant" else 1.0)
    emulated, lava = run_both(graph, encoding, x, 10, 3, rng)
    total = 0
    for k in range(3):
        for i, raster in enumerate(lava[k]):
            assert np.array_equal(emulated.spikes[i][:, k], raster), (k, i)
            total += raster.sum()
    assert total > 0  # the comparison saw spikes, not only silence


def test_emulator_matches_lava_with_convolutions(rng, make_conv_graph):
    graph = make_conv_graph(rng)
    x = rng.random((2, 1, 8, 8)) * 2
    for encoding in ("constant", "poisson"):
        emulated, lava = run_both(graph, encoding, x.clip(0, 1) if encoding == "poisson" else x,
                                  8, 2, rng)
        spikes = 0
        for k in range(2):
            for i, raster in enumerate(lava[k]):
                assert np.array_equal(emulated.spikes[i][:, k], raster), (encoding, k, i)
                spikes += raster.sum()
        assert spikes > 0


def test_quantisation_respects_loihi_ranges(rng, make_dense_graph):
    layers = quantize_chain(to_chain(make_dense_graph(rng, scale=3.0)), "poisson")
    for fx in layers:
        assert fx.weight.min() >= -256 and fx.weight.max() <= 254
        assert np.all(fx.weight % 2 == 0)
        assert 0 <= fx.dv <= 4095 and fx.du == 4095 and 0 < fx.vth < 2**17
        assert np.abs(fx.bias_mant).max() <= 4096 and 0 <= fx.bias_exp <= 7
