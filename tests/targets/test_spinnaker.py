"""The SpiNNaker targets: figures worked out by hand, the board model checked against
SpiNNMachine's own energy functions, NEST agreement, and refusals."""

import ast

import nir
import numpy as np
import pytest

from neuropipe.core.errors import GraphError
from neuropipe.targets.base import Workload
from neuropipe.targets.registry import get_target
from neuropipe.targets.spinnaker import costs, pynn_network
from neuropipe.targets.spinnaker.target import SYNAPSES_PER_CORE_LIMIT, _toolchain_status

pytestmark = pytest.mark.skipif(not _toolchain_status()[0], reason=_toolchain_status()[1])

IDLE_CHIP_W, ACTIVE_CORE_W, PACKET_J = 0.35, 0.034, 1e-9  # SpiNNMachine version_spin1.py
SYNOP_J, UPDATE_J = 13.3e-9, 26e-9  # Hoeppner 2019 via KerasSpiking, SpiNNaker 1
HOST_MAC_J = 8.6e-9  # Degnan 2015, CPU




X = np.array([[1.0, 1.0, 0.0]])  # 0/1 inputs: Poisson encoding is deterministic
T = 4


def _terms(estimate):
    return {t.name: t.joules_per_inference for t in estimate.terms}


def test_poisson_input_by_hand(tmp_path, hand_graph):
    record = get_target("spinnaker").deploy(
        Workload(hand_graph, X, np.array([0]), timesteps=T, encoding="poisson"), tmp_path,
        verify_samples=1)
    assert record.verification["spike_match"] == 1.0 and record.accuracy == 1.0
    l0, l1 = record.layers
    # PyNN gets the float weights: the 0.001 weight is a synapse here (it is not on Loihi).
    assert l0.synapses == 5
    # Inputs 0 and 1 spike on 4 steps, input 2 never; fan-out 2, 1, 2.
    assert l0.synops_per_inference == 4 * 2 + 4 * 1
    # Hidden n0 gets 1.001 > 0.9 on each of the 4 arrivals; n1 0.6 fires every 2nd arrival.
    assert l0.spikes_per_inference == 4 + 2
    assert l1.synops_per_inference == 6 and l1.spikes_per_inference == 6
    steps = T + 2  # 1 ms delay on the input projection and on fc1
    assert record.resources.steps_per_sample == steps
    assert record.resources.time_per_inference_s == pytest.approx(steps * 1e-3)
    counts = record.counts
    assert counts.synops == 18 and counts.neuron_updates == 4 * steps
    assert counts.input_spikes == 8
    # Packets: the input source's 8 spikes and fc0's 6 (the output has no outgoing route),
    # each through one router: everything sits on chip (0, 0).
    assert counts.packets == 14 and counts.router_traversals == 14
    assert record.resources.cores == 3 and record.resources.chips == 1
    board, per_op = record.estimates
    t = steps * 1e-3
    assert _terms(board) == pytest.approx({
        "idle_chips": 1 * IDLE_CHIP_W * t, "active_cores": 3 * ACTIVE_CORE_W * t,
        "router_packets": 14 * PACKET_J, "host_input_layer": 0.0})
    assert board.total_j == pytest.approx(2.712014e-3) and board.default
    assert board.static_j == pytest.approx(2.1e-3) and board.level == "system"
    assert per_op.total_j == pytest.approx(18 * SYNOP_J + 24 * UPDATE_J)  # 863.4 nJ
    assert per_op.level == "chip" and not per_op.default
    assert record.energy_per_inference_j == board.total_j


def test_constant_input_by_hand(tmp_path, hand_graph):
    record = get_target("spinnaker").deploy(
        Workload(hand_graph, X, np.array([0]), timesteps=T), tmp_path, verify_samples=1)
    assert record.verification["spike_match"] == 1.0
    l0, l1 = record.layers
    assert l0.synapses_on == "host" and l0.host_macs_per_inference == 5
    # i_offset gives n0 1.001 and n1 0.6 per step over all 5 steps: 5 and 2 spikes.
    assert l0.spikes_per_inference == 7
    assert l1.synops_per_inference == 6  # n0's spike of the last step is never delivered
    # ... but it is sent: 7 packets.
    assert record.counts.neuron_updates == 4 * 5 and record.counts.packets == 7
    assert record.resources.cores == 2
    board, per_op = record.estimates
    t = 5e-3
    assert board.total_j == pytest.approx(1 * IDLE_CHIP_W * t + 2 * ACTIVE_CORE_W * t
                                          + 7 * PACKET_J + 5 * HOST_MAC_J)  # 2.09005 mJ
    assert board.total_j == pytest.approx(2.09005e-3)
    assert per_op.total_j == pytest.approx(6 * SYNOP_J + 20 * UPDATE_J + 5 * HOST_MAC_J)
    assert per_op.total_j == pytest.approx(642.8e-9)
    assert record.host_energy_per_inference_j == pytest.approx(43e-9)


def test_board_model_equals_spinnmachines_own_function(tmp_path, hand_graph):
    """Our generic cost entries reproduce SpiNNMachine's Version5.get_active_energy."""
    from spinn_machine.version.version_5 import Version5

    version = object.__new__(Version5)  # its constructor needs a running sPyNNaker's config
    assert (version.WATTS_PER_IDLE_CHIP, version.WATTS_PER_CORE_ACTIVE_OVERHEAD,
            version.JOULES_PER_PACKET) == (costs.IDLE_CHIP_W, costs.ACTIVE_CORE_W,
                                           costs.PACKET_NJ * 1e-9)
    record = get_target("spinnaker").deploy(
        Workload(hand_graph, np.array([[1.0, 0.6, 0.3]]), np.array([0]), timesteps=8,
                 encoding="poisson", seed=3), tmp_path, verify_samples=0)
    t, res, counts = record.resources.time_per_inference_s, record.resources, record.counts
    theirs = version.get_active_energy(t, 0, 0, res.chips, {(0, 0): (res.cores * t, res.cores)},
                                       {(0, 0): {"Local_Multicast_Packets": counts.packets}})
    board = record.estimates[0]
    assert board.dynamic_j + board.static_j == pytest.approx(theirs)


def test_spinnaker2_costs_by_hand(tmp_path, hand_graph):
    record = get_target("spinnaker2").deploy(
        Workload(hand_graph, X, np.array([0]), timesteps=T, encoding="poisson"), tmp_path,
        verify_samples=1)
    assert record.verification["spike_match"] == 1.0
    (estimate,) = record.estimates
    assert estimate.total_j == pytest.approx(18 * 0.45e-9 + 24 * 2.19e-9)  # 60.66 nJ
    assert record.resources.cores == 3 and record.resources.chips == 1
    assert "estimate" in record.resources.placement and record.counts.packets is None


def test_fast_path_matches_nest_with_per_neuron_values_and_resets(tmp_path, rng,
                                                                  make_dense_graph):
    graph = make_dense_graph(rng, sizes=(20, 16, 8, 4), scale=0.8)
    graph.nodes["n0"].tau = np.linspace(2, 8, 16)  # Loihi refuses this; PyNN takes it
    graph.nodes["n1"].v_reset = np.full(8, 0.2)
    graph.nodes["n2"].v_threshold = np.linspace(0.5, 1.0, 4)
    target = get_target("spinnaker")
    assert target.supports(graph) == []
    x = rng.random((6, 20))
    for encoding in ("constant", "poisson"):
        record = target.deploy(Workload(graph, x, np.zeros(6, int), timesteps=12,
                                        encoding=encoding), tmp_path / encoding,
                               verify_samples=6)
        assert record.verification["spike_match"] == 1.0, encoding
        assert record.verification["nest_prediction_agreement"] == 1.0
        assert record.verification["float_prediction_agreement"] >= 5 / 6


def test_a_layer_too_big_for_a_core_is_refused_naming_it(rng):
    fan_in = SYNAPSES_PER_CORE_LIMIT // 256 + 1
    nodes = {"input": nir.Input(input_type={"input": np.array([fan_in])}),
             "big": nir.Affine(weight=np.ones((256, fan_in), dtype=np.float32),
                               bias=np.zeros(256)),
             "n": nir.IF(r=np.ones(256), v_threshold=np.ones(256), v_reset=np.zeros(256)),
             "output": nir.Output(output_type={"output": np.array([256])})}
    order = list(nodes)
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))
    problems = get_target("spinnaker").supports(graph)
    assert problems and problems[0].startswith("node 'big' needs 1,929,216 synapses on one core")
    with pytest.raises(GraphError, match="node 'big' needs"):
        get_target("spinnaker").deploy(Workload(graph, np.zeros((1, fan_in)), np.zeros(1),
                                                timesteps=2), ".", verify_samples=0)


def test_recurrence_is_refused_naming_the_node(rng, make_dense_graph):
    graph = make_dense_graph(rng)
    graph.edges[graph.edges.index(("n1", "output"))] = ("n1", "fc0")  # a loop back
    problems = get_target("spinnaker").supports(graph)
    assert problems and "cycle through node" in problems[0]


def test_the_pynn_script_runs_without_neuropipe():
    tree = ast.parse(open(pynn_network.__file__, encoding="utf-8").read())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert "neuropipe" not in imported and imported <= {
        "__future__", "argparse", "atexit", "contextlib", "io", "json", "logging", "os",
        "shutil", "sys", "tempfile", "time", "warnings", "numpy", "pyNN",
        "spinn_front_end_common"}


def test_a_missing_toolchain_is_named(monkeypatch):
    import importlib.util

    from neuropipe.targets.spinnaker import target as module

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "spynnaker" else real(name, *a))
    ok, why = module._toolchain_status.__wrapped__()
    assert not ok and why.startswith("spynnaker not installed: run 'make venv'")


@pytest.mark.parametrize("hidden", [256, 257])
def test_spinnaker_places_256_neurons_on_one_core_and_257_on_two(hidden, tmp_path, rng,
                                                                 make_dense_graph):
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.spinnaker.network import network_file, write_network

    # 3 spike sources -> `hidden` IF -> 2 IF, mapped by sPyNNaker on its virtual board.
    chain = to_chain(make_dense_graph(rng, sizes=(3, hidden, 2), neuron="if"))
    meta, arrays = network_file(chain, 2, "poisson", 4)
    write_network(str(tmp_path / "network.npz"), meta, arrays)
    target = get_target("spinnaker")
    placement = target._place(tmp_path / "network.npz", tmp_path, None)
    atoms = [[(c["lo_atom"], c["hi_atom"]) for c in p["cores"]]
             for p in placement["populations"]]
    # At most 256 neurons a core: 256 fit on one core; the 257th needs a core of its own.
    split = [(0, 255)] + ([(256, 256)] if hidden == 257 else [])
    assert atoms == [[(0, 2)], split, [(0, 1)]]
    # Every core but the output's sends its spikes over a route of at least its own chip.
    routes = [[c["route_chips"] for c in p["cores"]] for p in placement["populations"]]
    assert all(r >= 1 for r in routes[0] + routes[1]) and routes[2] == [0]
    res = target._resources(placement, 4)
    assert res.cores == 1 + len(split) + 1 == len({(c["x"], c["y"], c["p"]) for p in
                                                   placement["populations"] for c in p["cores"]})
    assert [p["cores"] for p in res.details["populations"]] == [1, len(split), 1]
    # Spikes [1, 1, 1] in, one per hidden neuron, [5, 5] out: packets are every core's spikes
    # but the output's, so 3 + hidden (the 257th neuron on its own core included).
    packets, traversals = target._routing(
        placement, [np.ones(3), np.ones(hidden), np.full(2, 5.0)])
    assert packets == 3 + hidden
    assert traversals == sum(float(c["hi_atom"] - c["lo_atom"] + 1) * c["route_chips"]
                             for p in placement["populations"][:2] for c in p["cores"])
