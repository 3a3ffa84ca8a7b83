"""Counting and costing: fan-out against brute force, per-layer counts and every unit by hand."""

import math
import tempfile

import nir
import numpy as np
import pytest
from hypothesis import configuration, given, settings
from hypothesis import strategies as st

from neuropipe.targets.chain import Layer, Neuron
from neuropipe.targets.costs import HOST_INPUT_LAYER, CostModel, OpCost, energy_terms
from neuropipe.targets.counting import (
    LayerActivity,
    count_layers,
    fan_out,
    macs,
    synops,
    totals,
)
from neuropipe.targets.records import EnergyEstimate, deployment_record

IF = Neuron("if", 1.0, 1.0, 0.0, 1.0)

# Hypothesis keeps a cache of the code's constants: outside the project tree.
configuration.set_hypothesis_home_dir(f"{tempfile.gettempdir()}/neuropipe-hypothesis")


def brute_force_fan_out(weight, in_shape, stride, padding):
    c, h, w = in_shape
    out_c, _, kh, kw = weight.shape
    oh = (h + 2 * padding[0] - kh) // stride[0] + 1
    ow = (w + 2 * padding[1] - kw) // stride[1] + 1
    fan = np.zeros(in_shape, dtype=np.int64)
    for oc in range(out_c):
        for oy in range(oh):
            for ox in range(ow):
                for ic in range(c):
                    for ky in range(kh):
                        for kx in range(kw):
                            y = oy * stride[0] - padding[0] + ky
                            x = ox * stride[1] - padding[1] + kx
                            if 0 <= y < h and 0 <= x < w and weight[oc, ic, ky, kx] != 0:
                                fan[ic, y, x] += 1
    return fan.reshape(-1), (out_c, oh, ow)


@st.composite
def conv_layers(draw):
    c, out_c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))
    h = draw(st.integers(max(1, kh - 2 * ph), 9))
    w = draw(st.integers(max(1, kw - 2 * pw), 9))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    weight = rng.normal(size=(out_c, c, kh, kw)) * (rng.random((out_c, c, kh, kw)) < 0.7)
    return weight, (c, h, w), (sh, sw), (ph, pw)


@settings(max_examples=50, deadline=None, database=None)
@given(conv_layers())
def test_conv_fan_out_equals_brute_force(case):
    weight, in_shape, stride, padding = case
    expected, out_shape = brute_force_fan_out(weight, in_shape, stride, padding)
    layer = Layer("c", "conv", weight, np.zeros(weight.shape[0]), in_shape, out_shape, IF,
                  stride=stride, padding=padding)
    assert fan_out(layer).tolist() == expected.tolist()
    assert fan_out(layer).dtype == np.int64  # counts, not floats
    assert macs(layer) == int(expected.sum())
    spikes = np.arange(expected.size, dtype=float)
    assert synops(layer, spikes) == float(spikes @ expected)


@settings(max_examples=30, deadline=None, database=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_dense_fan_out_counts_nonzero_weights_per_input(rows, cols, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(rows, cols)) * (rng.random((rows, cols)) < 0.5)
    layer = Layer("fc", "dense", w, np.zeros(rows), (cols,), (rows,), IF)
    assert fan_out(layer).tolist() == [int(np.count_nonzero(w[:, j])) for j in range(cols)]
    assert fan_out(layer).dtype == np.int64
    assert macs(layer) == int(np.count_nonzero(w))


def test_count_layers_by_hand():
    # Host layer: 3 inputs -> 4 neurons, 5 nonzero weights (not 4 neurons, not 12 weights).
    w0 = np.array([[1.0, 0, 0], [0.5, 2, 0], [0, 0, -1], [0, 0, 3]])
    # Chip layer: 4 -> 2, fan-out [1, 2, 0, 1], 4 synapses (not 2 neurons).
    w1 = np.array([[1.0, 1, 0, 0], [0, 1, 0, 2]])
    l0 = Layer("fc0", "dense", w0, np.zeros(4), (3,), (4,), IF)
    l1 = Layer("fc1", "dense", w1, np.zeros(2), (4,), (2,), IF)
    out0 = np.array([3.0, 1.0, 0.0, 2.0])
    out1 = np.array([0.5, 1.5])
    reports = count_layers([
        LayerActivity(l0, on_chip=False, input_spikes=None, output_spikes=out0, steps=7),
        LayerActivity(l1, on_chip=True, input_spikes=out0, output_spikes=out1, steps=7)])
    r0, r1 = reports
    assert (r0.synapses, r0.synapses_on, r0.synops_per_inference,
            r0.host_macs_per_inference) == (5, "host", 0.0, 5.0)
    assert r0.neuron_updates_per_inference == 4 * 7 and r0.spikes_per_inference == 6.0
    assert (r1.synapses, r1.synapses_on, r1.host_macs_per_inference) == (4, "chip", 0.0)
    assert r1.synops_per_inference == 3 * 1 + 1 * 2 + 0 * 0 + 2 * 1
    assert r1.neuron_updates_per_inference == 2 * 7 and r1.spikes_per_inference == 2.0
    assert (r0.name, r0.kind, r0.neurons, r1.neurons) == ("fc0", "dense", 4, 2)
    counts = totals(reports, input_spikes=9.0)
    assert (counts.synops, counts.neuron_updates, counts.host_macs, counts.spikes,
            counts.input_spikes) == (7.0, 42.0, 5.0, 8.0, 9.0)
    assert totals(reports).input_spikes == 0.0  # none unless the target counts them


def test_an_on_chip_first_layer_counts_synops_of_its_input_spikes():
    w = np.array([[1.0, 0, 2], [1.0, 1, 0]])
    layer = Layer("fc0", "dense", w, np.zeros(2), (3,), (2,), IF)
    (report,) = count_layers([LayerActivity(layer, True, np.array([2.0, 3.0, 4.0]),
                                            np.zeros(2), 5)])
    assert report.synops_per_inference == 2 * 2 + 3 * 1 + 4 * 1
    assert report.host_macs_per_inference == 0.0 and report.synapses == 4


@pytest.mark.parametrize("unit, joules", [
    ("pJ/synop", 1e-12), ("nJ/MAC", 1e-9), ("uJ/x", 1e-6), ("mJ/x", 1e-3), ("J/x", 1.0),
    ("W", 1.0),
])
def test_every_unit_becomes_joules(unit, joules):
    entry = OpCost("t", "n", 2.5, unit, "dynamic", "chip", "src")
    assert entry.joules(4) == pytest.approx(10 * joules, rel=1e-12)


def test_cost_entries_refuse_unknown_units_kinds_and_levels():
    with pytest.raises(ValueError, match="unknown unit 'fJ/synop'"):
        OpCost("t", "n", 1.0, "fJ/synop", "dynamic", "chip", "src")
    with pytest.raises(ValueError, match="kind 'idle'"):
        OpCost("t", "n", 1.0, "pJ/synop", "idle", "chip", "src")
    with pytest.raises(ValueError, match="level 'board'"):
        OpCost("t", "n", 1.0, "pJ/synop", "dynamic", "board", "src")


def test_energy_terms_and_estimate_by_hand():
    model = CostModel("m", "chip", (
        OpCost("synops", "synops", 23.6, "pJ/synop", "dynamic", "chip", "A"),
        OpCost("idle", "seconds", 0.5, "W", "static", "system", "B"),
        OpCost("unknown", "other", 1.0, "W", "static", "measured", "A", missing="why"),
        HOST_INPUT_LAYER), notes=("n",), leaves_out=("l",))
    assert model.sources == ["A", "B", HOST_INPUT_LAYER.source]
    terms = energy_terms({"synops": 1e6, "seconds": 2e-3, "other": None, "host_macs": 10},
                         model)
    by_name = {t.name: t for t in terms}
    assert by_name["synops"].joules_per_inference == pytest.approx(23.6e-6)
    assert by_name["idle"].joules_per_inference == pytest.approx(1e-3)
    assert by_name["host_input_layer"].joules_per_inference == pytest.approx(86e-9)
    unknown = by_name["unknown"]
    assert unknown.joules_per_inference is None and unknown.method == "not-estimated"
    assert unknown.note == "why" and unknown.quantity == 0.0
    assert by_name["synops"].method == "cost-model" and by_name["synops"].quantity == 1e6
    assert (by_name["idle"].kind, by_name["idle"].level, by_name["idle"].unit_cost,
            by_name["idle"].cost_model, by_name["idle"].source) == ("static", "system", 0.5,
                                                                   "m", "B")
    estimate = EnergyEstimate.from_terms(model, terms, default=True)
    assert estimate.total_j == pytest.approx(23.6e-6 + 1e-3 + 86e-9)
    assert (estimate.dynamic_j, estimate.static_j, estimate.host_j) == pytest.approx(
        (23.6e-6, 1e-3, 86e-9))
    assert (estimate.cost_model, estimate.level, estimate.default) == ("m", "chip", True)
    assert estimate.notes == ["n"] and estimate.leaves_out == ["l"]
    assert estimate.sources == ["A", "B", HOST_INPUT_LAYER.source]
    with pytest.raises(KeyError, match="needs count 'other'"):
        energy_terms({"synops": 1.0, "seconds": 1.0, "host_macs": 0.0}, model)
    from neuropipe.targets.records import Counts

    assert by_name["synops"].unit == "pJ/synop" and by_name["idle"].unit == "W"
    record = deployment_record("t", accuracy=0.75, reference_accuracy=0.5, samples=1,
                               timesteps=4, counts=Counts(synops=1e6, neuron_updates=3.0),
                               estimates=[estimate], notes=[])
    assert (record.target, record.accuracy, record.reference_accuracy, record.samples,
            record.timesteps, record.estimates) == ("t", 0.75, 0.5, 1, 4, [estimate])
    assert record.chip_energy_per_inference_j == pytest.approx(23.6e-6 + 1e-3)
    assert record.host_energy_per_inference_j == pytest.approx(86e-9)
    assert record.energy_per_inference_j == estimate.total_j
    assert (record.synops_per_inference, record.neuron_updates_per_inference) == (1e6, 3.0)
    assert record.energy_breakdown == terms and record.default_estimate is estimate
    changed = record.replace(notes=["x"], samples=5)
    assert (changed.notes, changed.samples, record.notes, record.samples) == (["x"], 5, [], 1)
    with pytest.raises(ValueError, match="gives 0 default estimates"):
        deployment_record("t", accuracy=1.0, reference_accuracy=None, samples=1, timesteps=1,
                          counts=Counts(), estimates=[EnergyEstimate.from_terms(model, terms)])


def test_published_constants_per_operation():
    from neuropipe.targets.loihi.costs import LOIHI_1
    from neuropipe.targets.spinnaker.costs import (
        SPINN5_BOARD,
        SPINNAKER1_PER_OP,
        SPINNAKER2_PER_OP,
    )

    def joules(model, **quantities):
        terms = energy_terms({**dict.fromkeys(e.count for e in model.entries), **quantities},
                             model)
        return {t.name: t.joules_per_inference for t in terms}

    assert joules(LOIHI_1, synops=1e6, graded_events=2e6, neuron_updates=1e6,
                  host_macs=1e6) == pytest.approx(
        {"synops": 23.6e-6, "graded_events": 47.2e-6, "neuron_updates": 81e-6,
         "host_input_layer": 8.6e-3, "static": None})
    assert joules(SPINNAKER1_PER_OP, synops=1e3, neuron_updates=1e3, host_macs=0) == \
        pytest.approx({"synops": 13.3e-6, "neuron_updates": 26e-6, "host_input_layer": 0.0})
    assert joules(SPINNAKER2_PER_OP, synops=1e3, neuron_updates=1e3, host_macs=0) == \
        pytest.approx({"synops": 450e-9, "neuron_updates": 2.19e-6, "host_input_layer": 0.0})
    assert joules(SPINN5_BOARD, chip_seconds=2.0, core_seconds=10.0, router_traversals=1e3,
                  host_macs=0) == pytest.approx({"idle_chips": 0.7, "active_cores": 0.34,
                                                 "router_packets": 1e-6,
                                                 "host_input_layer": 0.0})


def test_loihi_cores_are_the_ceiling_of_neurons_per_1024(tmp_path):
    from neuropipe.targets.base import Workload
    from neuropipe.targets.loihi.target import LoihiTarget

    def if_(n):
        return nir.IF(r=np.ones(n), v_threshold=np.ones(n), v_reset=np.zeros(n))

    nodes = {"input": nir.Input(input_type={"input": np.array([4])}),
             "fc0": nir.Affine(weight=np.ones((1024, 4)), bias=np.zeros(1024)), "if0": if_(1024),
             "fc1": nir.Affine(weight=np.ones((1025, 1024)), bias=np.zeros(1025)),
             "if1": if_(1025),
             "output": nir.Output(output_type={"output": np.array([1025])})}
    order = list(nodes)
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))
    record = LoihiTarget().deploy(Workload(graph, np.ones((1, 4)), np.zeros(1, dtype=int),
                                           timesteps=2, encoding="poisson"),
                                  tmp_path, verify_samples=0)
    assert record.resources.cores == math.ceil(1024 / 1024) + math.ceil(1025 / 1024) == 3
    assert record.resources.chips == 1
    assert record.counts.neuron_updates == (1024 + 1025) * (2 + 2)
