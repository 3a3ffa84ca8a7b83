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


@pytest.mark.parametrize("name", ["cpu", "loihi", "spinnaker", "asic"])
def test_every_target_counts_the_hand_graph_alike(name, tmp_path):
    """Constant input [1, 1] for 6 steps: spikes [1, 3] (see the timing test) on every target.

    The recurrent synapse carries each spike once (its columns have one nonzero weight each):
    4 synops, or 4 effective ACs on the CPU; the readout is 4 nonzero weights, once, on the host.
    Loihi (scale 2048 = 2^17 / 64, the recurrent layer's headroom; vth 2048; recurrent mantissas
    -128 and 64 with their own weight_exp 4, i.e. -2048 and 1024, exact) and SpiNNaker (no
    delay for a host first layer) spike on the same steps. The CPU's dense recurrent pass is
    4 weights x 6.
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
        assert record.counts.host_macs == (4 if name == "asic" else 2 + 4)  # readout (+ fc)
        assert record.verification.get("spike_match") == (None if name == "asic" else 1.0)
    if name == "loihi":
        q = layers["dense"].quantisation
        assert q["vth_mant"] == 2048 and q["scale"] == 2048.0 and q["weight_exp"] == 0
        rq = layers["recurrent"].quantisation
        assert rq["weight_exp"] == 4 and rq["max_abs_weight_error"] == 0.0
        assert record.verification["current_wraps"] == 0
        assert "netx_skipped" in record.verification and "netx" not in record.artifacts


@pytest.mark.parametrize("name", ["cpu", "loihi", "spinnaker", "asic"])
def test_spikes_of_the_last_step_are_not_counted_as_recurrent_synops(name, tmp_path):
    """The hand graph for 5 steps: n1 spikes on t1, t2 and t4; t4 is the last step, so its
    spike never passes the recurrent synapse (the run ends first): 3 synops, not 4, on every
    target (the CPU's effective ACs counted them so already)."""
    from neuropipe.targets.base import Workload
    from neuropipe.targets.registry import get_target

    target = get_target(name)
    if not target.availability().available:
        pytest.skip(target.availability().reason)
    record = target.deploy(Workload(hand_graph(), np.ones((1, 2)), np.array([1]), timesteps=5),
                           tmp_path, verify_samples=1)
    layers = {r.kind: r for r in record.layers}
    assert layers["dense"].spikes_per_inference == 4
    if name == "cpu":
        assert layers["recurrent"].ops["effective"] == 3.0
    else:
        assert layers["recurrent"].synops_per_inference == 3


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
    # They fit 8 bits at exponent 0, and the headroom (vth <= 2048) does not bind: both Dense
    # processes keep weight_exp 0.
    assert fx.recurrent.tolist() == [[0, -128], [32, 0]]
    assert (fx.weight_exp, fx.recurrent_exp) == (0, 0)


def test_recurrent_weights_far_larger_than_feed_forward_get_their_own_exponent():
    """Thresholds [100, 400], W_F = [[1], [0.5]], W_R = -400 off the diagonal (Diehl & Cook).

    v_ref 400, relative scales [4, 1]. Limits: threshold 131071 / 400 = 327.7, weights
    254 / 4 = 63.5, headroom 2^17 / 64 / 400 = 5.12: S = 5.12, row scales [20.48, 5.12],
    vth 2048. Feed-forward peak 20.48 -> weight_exp -3: mantissas 2 rint(81.92) = 164 and
    2 rint(10.24) = 20. Recurrent -400 x [20.48, 5.12] = [-8192, -2048] -> weight_exp 6:
    mantissas -128 and -32, exact. With one shared exponent 0 (the old quantiser) the scale
    would be 254 / 8192 of this, and every feed-forward weight would round to 0.
    """
    from neuropipe.targets.chain import Layer, Neuron
    from neuropipe.targets.loihi.quantize import quantize_layer

    layer = Layer("fc", "dense", np.array([[1.0], [0.5]]), np.zeros(2), (1,), (2,),
                  Neuron("if", 1.0, 1.0, 0.0, np.array([100.0, 400.0])),
                  recurrent=np.array([[0.0, -400.0], [-400.0, 0.0]]), recurrent_name="rec")
    fx = quantize_layer(layer, on_chip_synapses=True)
    assert fx.scale.tolist() == pytest.approx([20.48, 5.12]) and fx.vth == 2048
    assert fx.weight_exp == -3 and fx.weight.tolist() == [[164], [20]]
    assert fx.recurrent_exp == 6 and fx.recurrent.tolist() == [[0, -128], [-32, 0]]
    assert fx.max_recurrent_error == 0.0
    assert fx.max_weight_error == pytest.approx(max(abs(164 / 8 / 20.48 - 1),
                                                    abs(20 / 8 / 5.12 - 0.5)))


def wta_graph(rng, n_in=20, n=8, classes=3):
    """Diehl & Cook in small: Poisson-friendly W_F in [0, 1], LIF (tau 32, r 32: gain 1) with
    per-neuron thresholds 30-90, lateral inhibition W_R of -50 to -200 off the diagonal
    (100-400 times the mean feed-forward weight), and a host readout."""
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "w_in": nir.Affine(weight=rng.random((n, n_in)), bias=np.zeros(n)),
        "lif": nir.LIF(tau=np.full(n, 32.0), r=np.full(n, 32.0), v_leak=np.zeros(n),
                       v_threshold=np.linspace(30.0, 90.0, n), v_reset=np.zeros(n)),
        "w_rec": nir.Linear(weight=-rng.uniform(50, 200, (n, n)) * (1 - np.eye(n))),
        "readout": nir.Affine(weight=rng.random((classes, n)), bias=np.zeros(classes)),
        "output": nir.Output(output_type={"output": np.array([classes])}),
    }
    edges = [("input", "w_in"), ("w_in", "lif"), ("lif", "w_rec"), ("w_rec", "lif"),
             ("lif", "readout"), ("readout", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


@pytest.mark.parametrize("graph", ["mixed", "hidden", "wta"])
@pytest.mark.parametrize("encoding", ["constant", "poisson"])
def test_loihi_emulator_matches_lava_on_a_recurrent_graph(rng, make_recurrent_graph, graph,
                                                          encoding):
    """Every raster identical. ``wta``: recurrent weights 100-400x the feed-forward ones, so
    the two Dense processes run with different weight exponents (with poisson input a negative
    one for the feed-forward Dense: Lava shifts its sum right)."""
    from neuropipe.targets.float_sim import poisson_spikes
    from neuropipe.targets.loihi.emulator import emulate
    from neuropipe.targets.loihi.lava_runner import run_in_lava
    from neuropipe.targets.loihi.quantize import quantize_chain

    nir_graph = (wta_graph(rng) if graph == "wta"
                 else make_recurrent_graph(rng, hidden=graph == "hidden"))
    layers = quantize_chain(to_chain(nir_graph), encoding)
    assert isinstance(layers[0].scale, np.ndarray)  # per-neuron thresholds, row-scaled
    timesteps, samples = (12, 3) if graph != "wta" else (24, 3)
    if graph == "wta":
        assert layers[0].recurrent_exp >= 5
        assert (layers[0].weight_exp < 0) == (encoding == "poisson")
    steps = timesteps + len(layers) - 1 + (encoding == "poisson")
    n_in = layers[0].layer.inputs
    x = rng.random((samples, n_in)) * (1.5 if encoding == "constant" else 1.0)
    if encoding == "constant":
        host_bias, spikes = layers[0].input_bias(x)[0], None
    else:
        host_bias = None
        spikes = np.zeros((steps, samples, n_in), dtype=bool)
        spikes[:timesteps] = poisson_spikes(x, timesteps, rng)
    emulated = emulate(layers, steps, host_bias=host_bias, input_spikes=spikes)
    lava = run_in_lava(layers, steps, host_bias, spikes, samples)
    seen = 0
    for k in range(samples):
        for i, raster in enumerate(lava[k]):
            assert np.array_equal(emulated.spikes[i][:, k], raster), (k, i)
            seen += raster.sum()
    assert seen > 0 and sum(emulated.u_wraps) == 0


def test_a_wrapped_current_is_counted_and_lava_wraps_it_alike(rng):
    """12 identical neurons spike together, then each gets 11 x 200 / 31 = 71 thresholds of
    inhibition in one step: more than the 64 a recurrent layer's headroom leaves, so the 24-bit
    current wraps round and excites. The emulator counts it, and Lava does the same, spike for
    spike; the float reference (36 spikes) is not what runs."""
    from neuropipe.targets.loihi.emulator import emulate
    from neuropipe.targets.loihi.lava_runner import run_in_lava
    from neuropipe.targets.loihi.quantize import quantize_chain

    graph = wta_graph(rng, n=12)
    graph.nodes["w_in"].weight[:] = graph.nodes["w_in"].weight[0]
    graph.nodes["lif"].v_threshold = np.linspace(30.0, 31.0, 12)
    graph.nodes["w_rec"].weight = -200.0 * (1 - np.eye(12))
    chain = to_chain(graph)
    layers = quantize_chain(chain, "constant")
    x = rng.random((2, 20)) * 1.5
    host_bias = layers[0].input_bias(x)[0]
    emulated = emulate(layers, 24, host_bias=host_bias)
    assert emulated.u_wraps[0] > 0 and emulated.wrapped_samples.tolist() == [True, True]
    assert emulated.spikes[0].sum() > 5 * simulate(chain, x, 24, readout=False).sum()
    for k, (raster,) in enumerate(run_in_lava(layers, 24, host_bias, None, 2)):
        assert np.array_equal(emulated.spikes[0][:, k], raster), k


def test_loihi_follows_the_float_reference_under_strong_lateral_inhibition(tmp_path):
    """The wta graph on 150 Poisson samples through the whole target: Lava spike for spike, no
    wrapped current, and the predictions of the float reference on nearly every sample (with one
    shared exponent every feed-forward weight quantised to 0 and no neuron ever spiked)."""
    from neuropipe.targets.base import Workload
    from neuropipe.targets.float_sim import poisson_spikes, simulate
    from neuropipe.targets.loihi.target import LoihiTarget

    rng = np.random.default_rng(1)
    graph = wta_graph(rng)
    x = rng.random((150, 20))
    chain = to_chain(graph)
    spikes = poisson_spikes(x, 32, np.random.default_rng(0))
    float_counts = simulate(chain, x, 32, "poisson", spikes, readout=False)
    assert float_counts.sum() > 0
    record = LoihiTarget().deploy(Workload(graph, x, np.zeros(150, dtype=int), timesteps=32,
                                           encoding="poisson", seed=0), tmp_path, verify_samples=2)
    v = record.verification
    assert v["spike_match"] == 1.0 and v["current_wraps"] == 0
    assert v["float_prediction_agreement"] >= 0.9
    dense, rec = record.layers[0].quantisation, record.layers[1].quantisation
    assert dense["weight_exp"] < 0 and rec["weight_exp"] >= 5
    # Only feed-forward weights below half a mantissa step (2^-1 / 8.8 here) round to 0.
    assert dense["zero_after_quantisation"] <= 3 and rec["zero_after_quantisation"] == 0
    assert record.layers[1].synops_per_inference > 0
    assert "weight exponents" in v["netx_skipped"] and "netx" not in record.artifacts


def test_netx_carries_the_recurrence(rng, make_recurrent_graph, tmp_path):
    from neuropipe.targets.float_sim import poisson_spikes
    from neuropipe.targets.loihi.emulator import emulate
    from neuropipe.targets.loihi.netx_export import netx_problems, run_netx, write_netx
    from neuropipe.targets.loihi.quantize import quantize_chain

    chain = to_chain(make_recurrent_graph(rng))
    with pytest.raises(GraphError, match="layer 'fc' has a recurrent synapse \\('rec'\\) but "
                                         "its input synapses run on the host"):
        write_netx(quantize_chain(chain, "constant"), tmp_path / "no.net")
    # Recurrent weights 100-400x the feed-forward ones need two weight exponents, which netx's
    # dense_rec (one exponent derived from [weight, weight_rec]) cannot hold: no file.
    strong = quantize_chain(to_chain(wta_graph(rng)), "poisson")
    (problem,) = netx_problems(strong)
    assert problem.startswith("layer 'w_in' runs its feed-forward and recurrent ('w_rec') "
                              "synapses with weight exponents -1 and 6")
    with pytest.raises(GraphError, match="netx's dense_rec layer derives one exponent"):
        write_netx(strong, tmp_path / "strong.net")
    assert not (tmp_path / "strong.net").exists()
    layers = quantize_chain(chain, "poisson")
    assert netx_problems(layers) == []
    assert all((fx.weight_exp, fx.recurrent_exp) == (0, 0) for fx in layers)
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
