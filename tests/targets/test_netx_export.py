import h5py
import numpy as np
import pytest

from neuropipe.targets.chain import to_chain
from neuropipe.targets.float_sim import poisson_spikes
from neuropipe.targets.loihi.emulator import emulate
from neuropipe.targets.loihi.netx_export import run_netx, write_netx
from neuropipe.targets.loihi.quantize import quantize_chain


@pytest.mark.parametrize("encoding", ["constant", "poisson"])
def test_netx_network_loaded_from_the_file_reproduces_the_spikes(tmp_path, rng, encoding,
                                                                 make_dense_graph):
    layers = quantize_chain(to_chain(make_dense_graph(rng, sizes=(20, 16, 6), scale=1.5)),
                            encoding)
    x = rng.random((2, 20)) * (2.0 if encoding == "constant" else 1.0)
    T = 10
    steps = T + len(layers) - 1 + (encoding == "poisson")
    if encoding == "constant":
        host_bias, spikes = layers[0].input_bias(x)[0], None
    else:
        host_bias = None
        spikes = np.zeros((steps, 2, 20), dtype=bool)
        spikes[:T] = poisson_spikes(x, T, rng)
    path = tmp_path / "model.net"
    write_netx(layers, path)
    with h5py.File(path) as f:
        assert f["layer/0/type"][0] == b"input"
        assert f["layer/1/type"][0] == b"dense"
    emulated = emulate(layers, steps, host_bias=host_bias, input_spikes=spikes)
    outs = run_netx(path, layers, steps, host_bias, spikes, 2)
    total = 0
    for k, out in enumerate(outs):
        assert np.array_equal(out, emulated.spikes[-1][:, k])
        total += out.sum()
    assert total > 0


def test_netx_file_of_a_convolutional_network(tmp_path, rng, make_conv_graph):
    layers = quantize_chain(to_chain(make_conv_graph(rng)), "constant")
    x = rng.random((2, 1, 8, 8)) * 2
    steps = 8 + len(layers) - 1
    host_bias = layers[0].input_bias(x)[0]
    path = tmp_path / "conv.net"
    write_netx(layers, path)
    emulated = emulate(layers, steps, host_bias=host_bias)
    outs = run_netx(path, layers, steps, host_bias, None, 2)
    for k, out in enumerate(outs):
        assert np.array_equal(out, emulated.spikes[-1][:, k])
    assert sum(o.sum() for o in outs) > 0
