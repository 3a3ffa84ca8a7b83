import nir
import numpy as np
import pytest

from neuropipe.core.errors import GraphError
from neuropipe.targets.chain import Layer, Neuron, to_chain, unsupported
from neuropipe.targets.counting import fan_out, synops


def test_reads_a_dense_chain(rng, make_dense_graph):
    chain = to_chain(make_dense_graph(rng))
    assert [(lay.kind, lay.in_shape, lay.out_shape) for lay in chain.layers] == [
        ("dense", (20,), (16,)), ("dense", (16,), (4,))]
    assert chain.layers[0].neuron.alpha == pytest.approx(0.2)


def test_the_shared_reader_refuses_only_what_no_target_runs(rng, make_dense_graph):
    graph = make_dense_graph(rng)
    graph.nodes["n1"] = nir.LI(tau=np.ones(4), r=np.ones(4), v_leak=np.zeros(4))
    problems = unsupported(graph)
    assert problems and "node 'n1' is a LI" in problems[0] and "supported" in problems[0]
    graph = make_dense_graph(rng)
    graph.nodes["fc0"].weight[0, 0] = np.nan
    assert "node 'fc0' (Affine) has weights or biases that are NaN" in unsupported(graph)[0]
    graph = make_dense_graph(rng)
    graph.nodes["n0"].tau = np.full(16, np.inf)
    assert "NaN or infinite tau" in unsupported(graph)[0]
    graph = make_dense_graph(rng)
    graph.nodes["n0"].tau = np.full(16, 0.5)
    assert "dt/tau = 2 with dt=1; it must be in (0, 1]" in unsupported(graph)[0]


def test_per_neuron_values_and_resets_are_read(rng, make_dense_graph):
    graph = make_dense_graph(rng)
    graph.nodes["n0"].tau = np.linspace(2, 8, 16)
    graph.nodes["n1"].v_reset = np.full(4, 0.5)
    chain = to_chain(graph)
    assert np.allclose(chain.layers[0].neuron.alpha, 1 / np.linspace(2, 8, 16))
    assert chain.layers[0].neuron.per_neuron() == ["alpha"]
    assert chain.layers[1].neuron.v_reset == 0.5 and chain.layers[1].neuron.per_neuron() == []


def test_loihi_names_what_its_lif_processes_cannot_hold(rng, make_dense_graph):
    from neuropipe.targets.loihi.target import LoihiTarget

    loihi = LoihiTarget()
    graph = make_dense_graph(rng)
    graph.nodes["n0"].tau = np.linspace(2, 8, 16)
    assert "node 'n0' (LIF) has per-neuron tau (dt/tau from 0.125 to 0.5)" in \
        loihi.supports(graph)[0]
    graph = make_dense_graph(rng)
    graph.nodes["n1"].v_reset = np.full(4, 0.5)
    assert "resets to v_reset=0.5; Loihi's LIF can only reset to 0" in loihi.supports(graph)[0]
    graph = make_dense_graph(rng)
    graph.nodes["n1"].v_threshold = np.full(4, -1.0)
    assert "node 'n1' (LIF) has v_threshold=-1; Loihi's threshold must be positive" in \
        loihi.supports(graph)[0]
    assert loihi.supports(make_dense_graph(rng)) == []


def test_a_threshold_that_quantises_to_zero_is_refused(rng, make_dense_graph):
    from neuropipe.targets.loihi.quantize import quantize_chain

    graph = make_dense_graph(rng)
    graph.nodes["fc1"].weight = graph.nodes["fc1"].weight * 1e30
    with pytest.raises(GraphError, match="layer 'fc1'.*threshold quantises to 0"):
        quantize_chain(to_chain(graph), "constant")


def test_dense_fan_out_and_synops():
    w = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 1.0]])
    layer = Layer("fc", "dense", w, np.zeros(2), (3,), (2,), Neuron("if", 1, 1, 0, 1))
    assert fan_out(layer).tolist() == [1, 0, 2]
    assert synops(layer, np.array([3.0, 5.0, 1.0])) == 3 * 1 + 5 * 0 + 1 * 2


def test_conv_fan_out_is_exact_at_the_edges():
    # 4x4 input, 3x3 kernel, stride 2, padding 1 -> 2x2 output, 2 channels.
    layer = Layer("c", "conv", np.ones((2, 1, 3, 3)), np.zeros(2), (1, 4, 4), (2, 2, 2),
                  Neuron("if", 1, 1, 0, 1), stride=(2, 2), padding=(1, 1))
    expected = np.array([[2, 4, 2, 2], [4, 8, 4, 4], [2, 4, 2, 2], [2, 4, 2, 2]])
    assert np.array_equal(fan_out(layer).reshape(4, 4), expected)
