"""Figures on inputs too asymmetric for a plausible one-line bug to give the right answer:
rows against columns, dense against nonzero fan-out, one memory's size for another's, routes of
different lengths, a layer one neuron over a core, and a meter estimate never 'measured'."""

import json
import math

import numpy as np
import pytest

from neuropipe.targets.asic import costs as asic_costs
from neuropipe.targets.asic import ops as asic_ops
from neuropipe.targets.chain import Layer, Neuron
from neuropipe.targets.counting import fan_out, recurrent_fan_out, recurrent_report

A, B = 1.958615, 3.065908  # the SRAM fit (see test_asic)


def sram(size_bytes):
    return A + B * math.sqrt(size_bytes / 1024)


def conv_layer(kind="if"):
    """1 x 3 x 3 input, 2 channels of 2 x 3 kernels, stride 1: output 2 x 2 x 1 (4 neurons).

    Channel 0 is dense (6 weights); channel 1 has 2 nonzero weights, at (0, 0) and (1, 2).
    Memories differ: weights 12 B, potentials 4 x 4 = 16 B, biases 2 channels x 4 = 8 B,
    inputs 9 B, outputs 4 B.
    """
    w = np.zeros((2, 1, 2, 3))
    w[0, 0] = [[1, 2, 3], [4, 5, 6]]
    w[1, 0, 0, 0], w[1, 0, 1, 2] = 7, 8
    neuron = Neuron(kind=kind, alpha=0.5, r=1.0, v_leak=0.0, v_threshold=1.0)
    return Layer(name="conv", kind="conv", weight=w, bias=np.zeros(2), in_shape=(1, 3, 3),
                 out_shape=(2, 2, 1), neuron=neuron)


# Input position (i, j) is covered by output row oi in {i - 1, i} & {0, 1} at kernel offset
# (i - oi, j): channel 0 gives rows 1, 2, 1 on every column; channel 1's offsets (0, 0) and
# (1, 2) cover (0, 0), (1, 0) and (1, 2), (2, 2).
FAN = [2, 1, 1, 3, 2, 3, 1, 1, 2]
NONZERO = np.array([1.0, 0, 2, 0, 3, 0, 0, 1, 4])
# 1 x 2 + 2 x 1 + 3 x 2 + 1 x 1 + 4 x 2 = 19 (every weight, zeros included, would give 28).
EVENTS = 19


def test_conv_fan_out_counts_nonzero_weights_only():
    assert fan_out(conv_layer()).tolist() == FAN
    assert float(np.dot(NONZERO, fan_out(conv_layer()))) == EVENTS


def test_asic_snn_conv_layer_term_by_term():
    steps, spikes = 2, 3.0
    ops = asic_ops.snn_layer_ops(conv_layer("lif"), NONZERO, spikes, steps, graded=False)
    got = {o.name: (o.count, o.pj, o.memory_bytes) for o in ops}
    updates = 4 * steps
    assert got == {
        "synops_weight_read": (19, pytest.approx(sram(12)), 12),
        "synops_add": (19, 0.1, 0),
        "synops_potential_rw": (38, pytest.approx(sram(16)), 16),
        "neuron_bias_read": (updates, pytest.approx(sram(8)), 8),  # biases per channel
        "neuron_potential_rw": (2 * updates, pytest.approx(sram(16)), 16),
        "neuron_bias_add": (updates, 0.1, 0),
        "neuron_leak": (updates, pytest.approx(3.1), 0),
        "neuron_threshold": (updates, 0.1, 0),
        "spike_queue_write": (spikes, pytest.approx(sram(16)), 16),
        "spike_queue_read": (spikes, pytest.approx(sram(16)), 16),
    }


def test_asic_graded_conv_layer_term_by_term():
    # Graded: the nonzero counts are summed over 2 steps, so each pixel is read NONZERO / 2
    # times (5.5 in all) and the events are 19 / 2 = 9.5, once per sample.
    ops = asic_ops.snn_layer_ops(conv_layer("if"), NONZERO, 1.0, 2, graded=True)
    got = {o.name: (o.count, o.pj, o.memory_bytes) for o in ops}
    assert got == {
        "graded_input_read": (5.5, pytest.approx(sram(9)), 9),
        "graded_weight_read": (9.5, pytest.approx(sram(12)), 12),
        "graded_mac": (9.5, pytest.approx(0.3), 0),
        "graded_current_rw": (19.0, pytest.approx(sram(16)), 16),
        "graded_bias_read": (4, pytest.approx(sram(8)), 8),
        "graded_bias_add": (4, 0.1, 0),
        "neuron_bias_read": (8, pytest.approx(sram(16)), 16),  # the held current
        "neuron_potential_rw": (16, pytest.approx(sram(16)), 16),
        "neuron_bias_add": (8, 0.1, 0),
        "neuron_threshold": (8, 0.1, 0),  # IF: no leak
        "spike_queue_write": (1.0, pytest.approx(sram(16)), 16),
        "spike_queue_read": (1.0, pytest.approx(sram(16)), 16),
    }


@pytest.mark.parametrize("variant", ["dense", "zero-skip"])
def test_asic_ann_conv_layer_term_by_term(variant):
    ops = asic_ops.ann_layer_ops(conv_layer(), NONZERO, variant)
    got = {o.name: (o.count, o.pj, o.memory_bytes) for o in ops}
    # Dense: 12 weights at 2 output positions = 24 MACs, all 9 inputs read; zero-skip: 19 MACs,
    # the 11 nonzero input values read.
    macs, reads = (24, 9) if variant == "dense" else (19, 11)
    assert got == {
        "ann_weight_read": (macs, pytest.approx(sram(12)), 12),
        "ann_mac": (macs, pytest.approx(0.3), 0),
        "ann_input_read": (reads, pytest.approx(sram(9)), 9),
        "ann_bias_read": (4, pytest.approx(sram(8)), 8),
        "ann_bias_add": (4, 0.1, 0),
        "ann_output_write": (4, pytest.approx(sram(4)), 4),
    }
    with pytest.raises(ValueError, match="unknown ANN variant 'sparse'"):
        asic_ops.ann_layer_ops(conv_layer(), NONZERO, "sparse")


def test_asic_estimate_sums_layers_with_their_own_memories():
    ops = [asic_costs.access("synops_weight_read", "a", 10, 1024),
           asic_costs.access("synops_weight_read", "b", 30, 4096),
           asic_costs.arithmetic("synops_add", "a", 40, 0.1),
           asic_ops.readout_ops(type("R", (), {"name": "ro", "macs": 5,
                                               "weight": np.ones((2, 3))})())[1]]
    e = asic_ops.estimate(ops, "m", True, ["n"])
    terms = {t.name: t for t in e.terms}
    read = terms["synops_weight_read"]
    # 10 x (a + b) + 30 x (a + 2 b) pJ over 40 reads.
    pj = 10 * (A + B) + 30 * (A + 2 * B)
    assert read.joules_per_inference == pytest.approx(pj * 1e-12, rel=1e-6)
    assert read.quantity == 40 and read.unit_cost == pytest.approx(pj / 40, rel=1e-6)
    assert read.unit == "pJ/access" and terms["synops_add"].unit == "pJ/op"
    assert "a: 10.00 x" in read.note and "(4,096 B SRAM)" in read.note
    assert terms["readout_mac"].kind == "host" and terms["synops_add"].kind == "dynamic"
    assert terms["readout_mac"].joules_per_inference == pytest.approx(5 * 0.3e-12)
    assert e.total_j == pytest.approx((pj + 4.0 + 1.5) * 1e-12, rel=1e-6)
    assert e.host_j == pytest.approx(1.5e-12) and e.default and e.level == "chip"


def test_asic_quantise_to_8_bits_drops_weights_below_half_a_step():
    # max 1.27: scale 0.01; 0.004 rounds to 0, 0.006 to 0.01, -0.5 stays -0.5.
    w, scale = asic_ops.quantise(np.array([[1.27, 0.004, -0.5], [0.006, -0.004, 0.0]]))
    assert scale == pytest.approx(0.01)
    assert w == pytest.approx(np.array([[1.27, 0.0, -0.5], [0.01, 0.0, 0.0]]))
    assert asic_ops.quantise(np.zeros((2, 2)))[1] == 0.0


# Recurrence --------------------------------------------------------------------------------------

def recurrent_layer(recurrent):
    neuron = Neuron(kind="if", alpha=1.0, r=1.0, v_leak=0.0, v_threshold=1.0)
    return Layer(name="fc", kind="dense", weight=np.ones((3, 2)), bias=np.zeros(3),
                 in_shape=(2,), out_shape=(3,), neuron=neuron, recurrent=recurrent,
                 recurrent_name="rec")


# Recurrent weights are (post, pre): neuron 0 feeds 1 and 2, neuron 1 feeds 2, neuron 2 none.
# Fan-out (columns) 2, 1, 0; fan-in (rows) 0, 1, 2.
R = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.25, 1.0, 0.0]])


def test_recurrent_synops_count_columns_not_rows():
    layer = recurrent_layer(R)
    assert recurrent_fan_out(layer).tolist() == [2, 1, 0]
    spikes = np.array([3.0, 1.0, 5.0])
    # 3 x 2 + 1 x 1 + 5 x 0 = 7 (rows would give 3 x 0 + 1 x 1 + 5 x 2 = 11).
    assert recurrent_fan_out(layer).dtype == np.int64
    report = recurrent_report(layer, spikes)
    assert report.synops_per_inference == 7 and report.synapses == 3
    assert (report.name, report.kind, report.neurons, report.synapses_on) == (
        "rec", "recurrent", 0, "chip")
    # It emits no spikes, updates no neuron (its layer does) and does no host work.
    assert (report.spikes_per_inference, report.host_macs_per_inference,
            report.neuron_updates_per_inference, report.graded_events_per_inference) == (
        0.0, 0.0, 0.0, 0.0)
    # On the asic the recurrent events are synops with the recurrent memory (9 B).
    ops = asic_ops.snn_layer_ops(layer, np.zeros(2), 0.0, 4, graded=False, fed_back=spikes)
    rec = [o for o in ops if o.layer == "rec"]
    assert [(o.name, o.count, o.memory_bytes) for o in rec] == [
        ("synops_weight_read", 7, 9), ("synops_add", 7, 0), ("synops_potential_rw", 14, 12)]



def test_the_host_readout_is_its_nonzero_weights_as_host_macs():
    from neuropipe.targets.chain import Readout
    from neuropipe.targets.counting import readout_report

    # 2 classes x 3 neurons, 4 nonzero weights: 4 host MACs per inference, no neuron, no synop.
    readout = Readout(name="ro", weight=np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 4.0]]),
                      bias=np.ones(2))
    r = readout_report(readout)
    assert (r.name, r.kind, r.neurons, r.synapses, r.synapses_on) == ("ro", "readout", 0, 4,
                                                                      "host")
    assert (r.host_macs_per_inference, r.synops_per_inference, r.spikes_per_inference,
            r.neuron_updates_per_inference) == (4.0, 0.0, 0.0, 0.0)


def test_count_layers_puts_the_recurrent_report_after_its_layer_and_the_readout_last():
    from neuropipe.targets.chain import Readout
    from neuropipe.targets.counting import LayerActivity, count_layers

    layer = recurrent_layer(R)
    readout = Readout(name="ro", weight=np.array([[1.0, 0.0, 2.0]]), bias=np.zeros(1))
    out = np.array([1.0, 2.0, 3.0])
    # Fed back 3, 1, 5 (the last step's spikes are not): 3 x 2 + 1 x 1 + 5 x 0 = 7.
    fed = LayerActivity(layer, True, np.array([1.0, 4.0]), out, 5, recurrent_spikes=np.array(
        [3.0, 1.0, 5.0]))
    fc, rec, ro = count_layers([fed], readout)
    # fc: inputs 1, 4 x fan-out 3, 3 (every weight of 3 x 2 ones) = 15 synops; no graded input.
    assert (fc.name, fc.synops_per_inference, fc.graded_events_per_inference) == ("fc", 15.0, 0.0)
    assert (fc.spikes_per_inference, fc.neuron_updates_per_inference) == (6.0, 15.0)
    assert (rec.name, rec.synops_per_inference) == ("rec", 7.0)
    assert (ro.name, ro.kind, ro.host_macs_per_inference) == ("ro", "readout", 2.0)
    # Without fed-back counts, the layer's own spikes feed back: 1 x 2 + 2 x 1 + 3 x 0 = 4.
    own = LayerActivity(layer, True, np.array([1.0, 4.0]), out, 5)
    assert [r.synops_per_inference for r in count_layers([own])] == [15.0, 4.0]


def test_spinnaker_connections_are_pre_post_pairs_of_nonzero_weights():
    from neuropipe.targets.spinnaker.network import connections, recurrent_connections

    # Recurrent (post, pre): 0 -> 1 (0.5), 0 -> 2 (0.25), 1 -> 2 (1.0).
    pre, post, w = recurrent_connections(recurrent_layer(R))
    assert (pre.tolist(), post.tolist(), w.tolist()) == ([0, 0, 1], [1, 2, 2], [0.5, 0.25, 1.0])
    assert pre.dtype == post.dtype == np.int64
    # The conv: 8 nonzero weights at 2 output positions = 16 connections, pixel i in FAN[i] of
    # them; channel 0 feeds posts 0 and 1, channel 1 posts 2 and 3 (channel-major order).
    pre, post, w = connections(conv_layer())
    assert np.bincount(pre, minlength=9).tolist() == FAN
    assert np.bincount(post).tolist() == [6, 6, 2, 2]
    assert sorted(w[post == 2].tolist()) == [7.0, 8.0] and pre[post == 2].tolist() == [0, 5]
    assert pre[post == 3].tolist() == [3, 8]

def test_recurrent_weights_quantised_to_zero_are_no_synapse():
    from neuropipe.targets.asic.target import quantise_chain
    from neuropipe.targets.chain import Chain

    # max 1.27, scale 0.01: 0.004 (1 -> 0) quantises to 0, 0.006 (2 -> 0) to 0.01.
    rec = np.array([[0.0, 0.0, 0.0], [0.004, 0.0, 0.0], [0.006, 1.27, 0.0]])
    chain = Chain(layers=[recurrent_layer(rec)], input_shape=(2,))
    deployed, details = quantise_chain(chain)
    layer = deployed.layers[0]
    assert recurrent_fan_out(layer).tolist() == [1, 1, 0]
    assert details["rec"]["zero_after_quantisation"] == 1
    assert details["rec"]["scale"] == pytest.approx(0.01)
    assert details["fc"]["zero_after_quantisation"] == 0
    assert recurrent_report(layer, np.array([3.0, 1.0, 5.0])).synops_per_inference == 4


# SpiNNaker routes and placement ------------------------------------------------------------------

def _core(lo, hi, x, y, p, route_chips):
    return {"lo_atom": lo, "hi_atom": hi, "x": x, "y": y, "p": p, "route_chips": route_chips}


PLACEMENT = {
    "machine_chips": 49, "routing_entries_per_chip": {"0,0": 3}, "mapping_s": 1.0,
    "populations": [
        # 300 input sources on two cores of chip (0, 0), routes through 1 chip.
        {"label": "input", "size": 300, "cores": [_core(0, 255, 0, 0, 1, 1),
                                                  _core(256, 299, 0, 0, 2, 1)]},
        # 257 neurons: 256 on chip (1, 0) routing through 3 chips, 1 on (0, 1) through 2.
        {"label": "fc0", "size": 257, "cores": [_core(0, 255, 1, 0, 1, 3),
                                                _core(256, 256, 0, 1, 1, 2)]},
        # The output has no outgoing projection: route 0, its spikes are only recorded.
        {"label": "out", "size": 10, "cores": [_core(0, 9, 1, 1, 1, 0)]},
    ]}


def test_spinnaker_router_traversals_are_packets_times_chips_on_each_route():
    from neuropipe.targets.registry import get_target

    spikes = [np.ones(300), np.r_[np.ones(256), 10.0], np.full(10, 0.7)]
    packets, traversals = get_target("spinnaker")._routing(PLACEMENT, spikes)
    # Packets: 256 + 44 + 256 + 10 (the last neuron, alone on its core); the output's 7 none.
    assert packets == 566
    # Traversals: 256 x 1 + 44 x 1 + 256 x 3 + 10 x 2 = 1,088 (not 566 x 1, not 566 x 3).
    assert traversals == 1088


def test_spinnaker_resources_count_distinct_chips_and_boards():
    from neuropipe.targets.registry import get_target

    res = get_target("spinnaker")._resources(PLACEMENT, 7)
    # 5 cores on chips (0, 0), (1, 0), (0, 1), (1, 1); 49 chips of the machine = 2 boards of 48.
    assert (res.cores, res.chips, res.boards) == (5, 4, 2)
    assert res.time_per_inference_s == pytest.approx(7e-3) and res.steps_per_sample == 7
    assert res.neurons_per_core_limit == 256
    fc0 = res.details["populations"][1]
    assert fc0 == {"label": "fc0", "size": 257, "cores": 2, "chips": ["0,1", "1,0"]}


@pytest.mark.parametrize(("sizes", "pes", "chips"), [
    ((256,), [1], 1), ((257,), [2], 1), ((255, 256, 257, 512, 513), [1, 1, 2, 2, 3], 1),
    # 150 x 256 inputs on 150 PEs, then 1 and 2: 153 PEs, one over a 152-PE chip.
    ((150 * 256, 256, 257), [150, 1, 2], 2)])
def test_spinnaker2_places_ceil_neurons_over_256_per_pe(sizes, pes, chips, tmp_path,
                                                        monkeypatch):
    from neuropipe.targets.registry import get_target
    from neuropipe.targets.spinnaker import pynn_network

    meta = {"input": "spikes", "input_size": sizes[0],
            "layers": [{"name": f"fc{i}", "size": s} for i, s in enumerate(sizes[1:])]}
    monkeypatch.setattr(pynn_network, "load", lambda path: (meta, {}))
    target = get_target("spinnaker2")
    placement = target._place(tmp_path / "network.npz", tmp_path, None)
    assert [p["pes"] for p in placement["populations"]] == pes
    assert [p["size"] for p in placement["populations"]] == list(sizes)
    assert [p["label"] for p in placement["populations"]] == ["input"] + [
        f"fc{i}" for i in range(len(sizes) - 1)]
    assert placement["estimate"] is True
    assert json.loads((tmp_path / "placement.json").read_text()) == placement
    res = target._resources(placement, 5)
    assert (res.cores, res.chips, res.boards) == (sum(pes), chips, None)
    # 5 steps of 1 ms in real time; at most 256 neurons a PE; the placement kept as details.
    assert (res.steps_per_sample, res.time_per_inference_s) == (5, pytest.approx(5e-3))
    assert res.neurons_per_core_limit == 256 and "estimate" in res.placement
    assert res.details == {"populations": placement["populations"]}
    # Constant input: the first layer is driven by currents, no input population.
    meta["input"] = "currents"
    placement = target._place(tmp_path / "network.npz", tmp_path, None)
    assert [p["pes"] for p in placement["populations"]] == pes[1:]


# Labels ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("methods", "level", "model"), [
    (("rapl", "rapl"), "measured", "meter"),
    (("rapl", "estimate"), "system", "meter-estimate"),  # one estimated component: no counter
    (("estimate", "estimate"), "system", "meter-estimate")])
def test_a_meter_estimate_is_never_labelled_measured(methods, level, model):
    from neuropipe.reports.meter.records import ComponentEnergy, Measurement
    from neuropipe.targets.registry import get_target

    window = Measurement(name="w", duration_s=2.0, components=[
        ComponentEnergy("cpu", 3.0, methods[0], note="package 0"),
        ComponentEnergy("dram", 1.0, methods[1], note="no DRAM counter")])
    e = get_target("cpu")._measured_estimate(window, 4, True)
    assert (e.level, e.cost_model) == (level, model)
    assert {t.name: t.joules_per_inference for t in e.terms} == {"cpu": 0.75, "dram": 0.25}
    assert [t.method for t in e.terms] == ["measured" if m == "rapl" else "estimate"
                                           for m in methods]
    assert all(t.level == level and t.quantity == 0.5 for t in e.terms)
    assert [(t.kind, t.unit, t.cost_model, t.source, t.note) for t in e.terms] == [
        ("dynamic", "J", model, f"neuropipe meter, method {m}", c.note)
        for m, c in zip(methods, window.components, strict=True)]
    assert e.total_j == pytest.approx(1.0)
    assert any("not a measurement" in n for n in e.notes) == (level != "measured")


@pytest.mark.parametrize(("on_device", "why"), [
    (True, "no meter was given (the pipeline passes one)"), (False, None)])
def test_no_measurement_is_a_term_without_joules_never_a_zero(on_device, why):
    from neuropipe.targets.registry import get_target

    target = get_target("gpu")
    why = why or target.device_here()[1]
    e = target._measured_estimate(None, 4, on_device)
    (t,) = e.terms
    assert (t.name, t.joules_per_inference, t.kind, t.method, t.unit, t.level) == (
        "cuda", None, "dynamic", "not-estimated", "J", "measured")
    assert (t.source, t.cost_model, t.note) == ("energy counter of the device", "meter",
                                                f"not measured: {why}")
    assert (e.cost_model, e.level, e.leaves_out) == (
        "meter", "measured", ["everything: no measurement was possible"])


@pytest.mark.parametrize("encoding", ["poisson", "constant"])
def test_spinnaker_activity_is_per_inference_over_several_samples(encoding, hand_graph):
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.registry import get_target

    chain = to_chain(hand_graph)
    # Totals over n = 2 samples: inputs 4, 2, 0; layer spikes 6, 2 and 3, 1 (fed back: fewer).
    inputs, spikes = np.array([4.0, 2.0, 0.0]), [np.array([6.0, 2.0]), np.array([3.0, 1.0])]
    fed = [np.array([4.0, 2.0]), np.array([2.0, 0.0])]
    l0, l1 = get_target("spinnaker")._activity(chain, encoding, 6, spikes, inputs, 2, fed)
    if encoding == "poisson":
        assert l0.on_chip and l0.input_spikes.tolist() == [2.0, 1.0, 0.0]
    else:  # the first layer's synapses run on the host: no input spikes on the board
        assert not l0.on_chip and l0.input_spikes is None
    # The next projection delivers every step's spikes but the last one's: fed / n.
    assert l1.on_chip and l1.input_spikes.tolist() == [2.0, 1.0]
    assert l0.output_spikes.tolist() == [3.0, 1.0] and l1.output_spikes.tolist() == [1.5, 0.5]
    assert (l0.steps, l0.recurrent_spikes) == (6, None)
