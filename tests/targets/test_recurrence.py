"""Self-recurrent synapses, host readouts and per-neuron thresholds (the NIR contract)."""

import nir
import numpy as np
import pytest

from neuropipe.core.errors import GraphError
from neuropipe.targets.chain import to_chain, unsupported
from neuropipe.targets.float_sim import predict, simulate


def hand_graph(recurrent=True, readout=True):
    """2 inputs -> 2 IF (threshold 1), W_F = 0.6 I, W_R = [[0, -1], [0.5, 0]]; a readout
    [[1, 0], [0, 1], [1, 1]] with bias [0, 0, -3.5]."""
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2])}),
        "fc": nir.Linear(weight=0.6 * np.eye(2)),
        "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
        "rec": nir.Linear(weight=np.array([[0.0, -1.0], [0.5, 0.0]])),
        "readout": nir.Affine(weight=np.array([[1.0, 0], [0, 1], [1, 1]]),
                              bias=np.array([0.0, 0, -3.5])),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }
    edges = [("input", "fc"), ("fc", "if"), ("if", "readout"), ("readout", "output")]
    if recurrent:
        edges += [("if", "rec"), ("rec", "if")]
    else:
        del nodes["rec"]
    if not readout:
        del nodes["readout"]
        edges[2:4] = [("if", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_the_reader_keeps_recurrence_readout_and_per_neuron_thresholds(rng, make_recurrent_graph):
    graph = make_recurrent_graph(rng)
    chain = to_chain(graph)
    (layer,) = chain.layers
    assert layer.recurrent_name == "rec" and layer.recurrent.shape == (5, 5)
    assert np.allclose(layer.recurrent, graph.nodes["rec"].weight)
    # The recurrent bias acts every step, like the feed-forward one: folded into it.
    assert np.allclose(layer.bias, graph.nodes["fc"].bias + 0.05)
    assert np.allclose(layer.neuron.v_threshold, np.linspace(0.8, 1.6, 5))
    assert chain.readout.name == "readout" and chain.readout.weight.shape == (3, 5)
    assert chain.readout.macs == 15
    counts = np.array([[1.0, 2, 3, 4, 5]])
    assert np.allclose(chain.scores(counts), counts @ chain.readout.weight.T
                       + chain.readout.bias)


def test_recurrence_timing_by_hand():
    """The hand-worked spike train of the docstring graph, constant input [1, 1], 6 steps.

    t0: v = [.6, .6]; t1: v = [1.2, 1.2], both spike; t2: I = [.6 - 1, .6 + .5], v = [-.4, 1.1],
    n1 spikes; t3: I = [-.4, .6], v = [-.8, .6]; t4: I = [.6, .6], v = [-.2, 1.2], n1 spikes;
    t5: I = [-.4, .6], v = [-.6, .6]. Counts [1, 3]; scores [1, 3, 0.5] -> class 1.
    Without recurrence both neurons spike on t1, t3, t5.
    """
    x = np.ones((1, 2))
    chain = to_chain(hand_graph())
    counts = simulate(chain, x, 6, readout=False)
    assert counts.tolist() == [[1.0, 3.0]]
    assert simulate(chain, x, 6) == pytest.approx(np.array([[1.0, 3.0, 0.5]]))
    assert predict(simulate(chain, x, 6)).tolist() == [1]
    assert simulate(to_chain(hand_graph(recurrent=False)), x, 6, readout=False).tolist() == [
        [3.0, 3.0]]
    fed: list = []
    simulate(chain, x, 6, recurrent_inputs=fed)
    # Spikes of t1, t2 and t4 are fed back (t1's two, one each of t2 and t4).
    assert fed[0].tolist() == [1.0, 3.0]


def test_refusals_name_the_nodes(rng, make_recurrent_graph, make_dense_graph):
    # A cycle across two populations.
    graph = make_dense_graph(rng)
    graph.nodes["back"] = nir.Linear(weight=np.zeros((16, 4)))
    graph.edges += [("n1", "back"), ("back", "n0")]
    (problem,) = unsupported(graph)
    assert problem.startswith("the graph has a cycle through node 'n0' "
                              "(n0 -> fc1 -> n1 -> back -> n0)")
    assert "not recurrence from another population" in problem
    # Two recurrent synapses on one neuron node.
    graph = make_recurrent_graph(rng)
    graph.nodes["rec2"] = nir.Linear(weight=np.eye(5))
    graph.edges += [("lif", "rec2"), ("rec2", "lif")]
    assert unsupported(graph) == ["neuron node 'lif' has 2 recurrent synapse nodes ('rec', "
                                  "'rec2'); at most one per neuron node is supported"]
    # A readout that is not last.
    graph = make_dense_graph(rng)
    graph.nodes["ro"] = nir.Linear(weight=np.ones((16, 16)))
    graph.edges.remove(("n0", "fc1"))
    graph.edges += [("n0", "ro"), ("ro", "fc1")]
    (problem,) = unsupported(graph)
    assert "node 'fc1' (Affine) follows synapse node 'ro' without neurons" in problem
    assert "readout must be the last node" in problem
    # A recurrent weight of the wrong shape, and a recurrent convolution.
    graph = make_recurrent_graph(rng)
    graph.nodes["rec"] = nir.Linear(weight=np.ones((4, 5)))
    assert unsupported(graph) == ["recurrent synapse node 'rec' (Linear) has weights (4, 5); "
                                  "neuron node 'lif' needs (5, 5)"]
    graph = make_recurrent_graph(rng)
    graph.nodes["rec"] = nir.Conv2d(input_shape=(5, 5), weight=np.ones((1, 1, 1, 1)), stride=1,
                                    padding=0, dilation=1, groups=1, bias=np.zeros(1))
    with pytest.raises(GraphError, match="recurrent synapse node 'rec' .* is a Conv2d"):
        to_chain(graph)


@pytest.mark.parametrize("name", ["cpu", "loihi", "spinnaker"])
def test_every_target_counts_the_hand_graph_alike(name, tmp_path):
    """Constant input [1, 1] for 6 steps: spikes [1, 3] (see the timing test) on every target.

    The recurrent synapse carries each spike once (its columns have one nonzero weight each):
    4 synops, or 4 effective ACs on the CPU; the readout is 4 nonzero weights, once, on the host.
    Loihi (scale 254, vth 254, weights -254 and 128, bias 2438 << 2) and SpiNNaker (no delay for
    a host first layer) spike on the same steps. The CPU's dense recurrent pass is 4 weights x 6.
    """
    from neuropipe.targets.base import Workload
    from neuropipe.targets.registry import get_target

    target = get_target(name)
    if not target.availability().available:
        pytest.skip(target.availability().reason)
    record = target.deploy(Workload(hand_graph(), np.ones((1, 2)), np.array([1]), timesteps=6),
                           tmp_path, verify_samples=1)
    layers = {r.kind: r for r in record.layers}
    assert [r.kind for r in record.layers] == ["dense", "recurrent", "readout"]
    assert record.accuracy == 1.0
    assert layers["dense"].spikes_per_inference == 4
    assert layers["readout"].host_macs_per_inference == 4 or name == "cpu"
    assert layers["readout"].synapses_on == "host"
    if name == "cpu":
        assert layers["recurrent"].ops == {"dense": 24.0, "effective": 4.0, "op": "AC"}
        assert layers["readout"].ops == {"dense": 6.0, "effective": 4.0, "op": "MAC"}
        assert record.counts.ops["dense_macs"] == 4 * 6 + 6  # fc on analogue input, readout
    else:
        assert layers["recurrent"].synops_per_inference == 4
        assert record.counts.host_macs == 2 + 4  # host first layer (2 weights) + readout
        assert record.verification["spike_match"] == 1.0
    if name == "loihi":
        q = layers["dense"].quantisation
        assert q["vth_mant"] == 254 and q["scale"] == 254.0
        assert layers["recurrent"].quantisation["max_abs_weight_error"] == pytest.approx(1 / 254)
        assert "netx_skipped" in record.verification and "netx" not in record.artifacts


def test_per_neuron_thresholds_scale_rows_to_one_loihi_threshold():
    """IF, thresholds [1, 2], W = [[1], [1]]: v_ref 2, relative scales [2, 1]; the weight limit
    gives S = 254 / 2 = 127: row scales [254, 127], vth 2 * 127 = 254 for both neurons, weights
    2 * rint(254 / 2) = 254 and 2 * rint(63.5) = 128."""
    from neuropipe.targets.chain import Layer, Neuron
    from neuropipe.targets.loihi.quantize import quantize_layer

    layer = Layer("fc", "dense", np.ones((2, 1)), np.zeros(2), (1,), (2,),
                  Neuron("if", 1.0, 1.0, 0.0, np.array([1.0, 2.0])),
                  recurrent=np.array([[0.0, -0.5], [0.25, 0.0]]), recurrent_name="rec")
    fx = quantize_layer(layer, on_chip_synapses=True)
    assert fx.scale.tolist() == [254.0, 127.0] and fx.vth == 254
    assert fx.weight.tolist() == [[254], [128]]
    # Recurrent rows with the same scales: -0.5 * 254 = -127 -> -128; 0.25 * 127 = 31.75 -> 32.
    assert fx.recurrent.tolist() == [[0, -128], [32, 0]]


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("encoding", ["constant", "poisson"])
def test_loihi_emulator_matches_lava_on_a_recurrent_graph(rng, make_recurrent_graph, hidden,
                                                          encoding):
    from neuropipe.targets.float_sim import poisson_spikes
    from neuropipe.targets.loihi.emulator import emulate
    from neuropipe.targets.loihi.lava_runner import run_in_lava
    from neuropipe.targets.loihi.quantize import quantize_chain

    layers = quantize_chain(to_chain(make_recurrent_graph(rng, hidden=hidden)), encoding)
    assert isinstance(layers[0].scale, np.ndarray)  # per-neuron thresholds, row-scaled
    timesteps, samples = 12, 3
    steps = timesteps + len(layers) - 1 + (encoding == "poisson")
    x = rng.random((samples, 6)) * (1.5 if encoding == "constant" else 1.0)
    if encoding == "constant":
        host_bias, spikes = layers[0].input_bias(x)[0], None
    else:
        host_bias = None
        spikes = np.zeros((steps, samples, 6), dtype=bool)
        spikes[:timesteps] = poisson_spikes(x, timesteps, rng)
    emulated = emulate(layers, steps, host_bias=host_bias, input_spikes=spikes)
    lava = run_in_lava(layers, steps, host_bias, spikes, samples)
    seen = 0
    for k in range(samples):
        for i, raster in enumerate(lava[k]):
            assert np.array_equal(emulated.spikes[i][:, k], raster), (k, i)
            seen += raster.sum()
    assert seen > 0


def test_netx_carries_the_recurrence(rng, make_recurrent_graph, tmp_path):
    from neuropipe.targets.float_sim import poisson_spikes
    from neuropipe.targets.loihi.emulator import emulate
    from neuropipe.targets.loihi.netx_export import netx_problems, run_netx, write_netx
    from neuropipe.targets.loihi.quantize import quantize_chain

    chain = to_chain(make_recurrent_graph(rng))
    with pytest.raises(GraphError, match="layer 'fc' has a recurrent synapse \\('rec'\\) but "
                                         "its input synapses run on the host"):
        write_netx(quantize_chain(chain, "constant"), tmp_path / "no.net")
    layers = quantize_chain(chain, "poisson")
    assert netx_problems(layers) == []
    steps, x = 13, rng.random((2, 6))
    spikes = np.zeros((steps, 2, 6), dtype=bool)
    spikes[:12] = poisson_spikes(x, 12, rng)
    write_netx(layers, tmp_path / "rec.net")
    outs = run_netx(tmp_path / "rec.net", layers, steps, None, spikes, 2)
    emulated = emulate(layers, steps, input_spikes=spikes).spikes[-1]
    assert all(np.array_equal(o, emulated[:, j]) for j, o in enumerate(outs))
    assert sum(o.sum() for o in outs) > 0


def test_spinnaker_fast_path_matches_nest_across_blocks(tmp_path, make_recurrent_graph):
    """A 300-neuron recurrent layer is two PyNN populations (256 + 44): its recurrent synapses
    are projections between every pair of blocks, and NEST agrees spike for spike."""
    from neuropipe.targets.base import Workload
    from neuropipe.targets.registry import get_target
    from neuropipe.targets.spinnaker.target import _toolchain_status

    if not _toolchain_status()[0]:
        pytest.skip(_toolchain_status()[1])
    rng = np.random.default_rng(3)
    graph = make_recurrent_graph(rng, n=300, hidden=True)
    graph.nodes["rec"].weight = graph.nodes["rec"].weight * (rng.random((300, 300)) < 0.05)
    graph.nodes["fc_out"].weight = graph.nodes["fc_out"].weight * 0.2
    x = rng.random((3, 6))
    record = get_target("spinnaker").deploy(
        Workload(graph, x, np.zeros(3, dtype=int), timesteps=10, encoding="poisson"), tmp_path,
        verify_samples=3)
    v = record.verification
    assert v["spike_match"] == 1.0 and v["samples_with_mismatch"] == 0
    assert all(c["nest"] > 0 for c in v["spikes_per_layer"])
    lif = next(p for p in record.resources.details["populations"] if p["label"] == "fc")
    assert lif["cores"] == 2


def test_loihi_takes_per_neuron_thresholds_on_dense_layers_only(rng, make_recurrent_graph,
                                                                make_conv_graph):
    from neuropipe.targets.loihi.target import LoihiTarget

    loihi = LoihiTarget()
    assert loihi.supports(make_recurrent_graph(rng)) == []
    graph = make_recurrent_graph(rng)
    graph.nodes["lif"].v_threshold = np.linspace(-1, 1, 5)
    assert loihi.supports(graph) == ["node 'lif' (LIF) has v_threshold=down to -1; Loihi's "
                                     "threshold must be positive"]
    graph = make_conv_graph(rng)
    graph.nodes["if0"].v_threshold = np.linspace(0.5, 1.5, 48).reshape(3, 4, 4)
    (problem,) = loihi.supports(graph)
    assert problem.startswith("node 'if0' (IF) has per-neuron v_threshold (from 0.5 to 1.5); "
                              "per-neuron values are supported on dense layers only")
