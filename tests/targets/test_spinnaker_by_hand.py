"""The SpiNNaker targets' figures by hand, without NEST or sPyNNaker (fast).

The IF_curr_delta mapping (``network.cell``, ``network_file``), the fast path spike by spike,
whole deployments of a few neurons and samples (SpiNNaker 2's placement is an estimate; the
SpiNNaker 1 placement is a hand-written sPyNNaker placement file), the NEST comparison against
a planted reference file, the per-core synapse limit at its boundary, and availability.
"""

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from neuropipe.core.errors import GraphError, TargetError
from neuropipe.targets.base import Workload
from neuropipe.targets.chain import Chain, Layer, Neuron, to_chain
from neuropipe.targets.registry import get_target
from neuropipe.targets.spinnaker import network, pynn_network
from neuropipe.targets.spinnaker import target as spin_target
from neuropipe.targets.spinnaker.fast_path import delay_depth, run_fast_path
from tests.targets.conftest import RecordingProgress

IF_LEAK = -math.expm1(-1 / 60_000)  # 1.6667e-5 per step: an IF neuron's tau_m of 60,000 ms
IF_P30 = 60_000 * IF_LEAK  # 0.9999917 mV per nA over 1 ms
SYNOP2_J, UPDATE2_J = 450e-12, 2.19e-9  # SpiNNaker 2, Hoeppner 2019 via KerasSpiking
SYNOP1_J, UPDATE1_J = 13.3e-9, 26e-9  # SpiNNaker 1
IDLE_CHIP_W, ACTIVE_CORE_W, PACKET_J = 0.35, 0.034, 1e-9  # SpiNNMachine version_spin1.py


def dense(w, b, neuron, recurrent=None, name="fc"):
    w = np.asarray(w, dtype=float)
    return Layer(name, "dense", w, np.asarray(b, dtype=float), (w.shape[1],), (w.shape[0],),
                 neuron, neuron_name=f"{name}_n", recurrent=recurrent,
                 recurrent_name="" if recurrent is None else f"{name}_rec")


# The IF_curr_delta mapping ------------------------------------------------------------------

def test_cell_maps_leak_onto_tau_m_and_if_onto_60000_ms():
    # LIF alpha [0.5, 1.0], r 2 (gain [1, 2]): tau_m = -1 / ln(1 - 0.5) = 1.4427 ms, and for
    # a leak of 1 the floor 1e-3 ms (e^-1000 = 0: the membrane forgets all in one step).
    # p30 = tau_m / cm (1 - e^(-1/tau_m)) = 1.4427 x 0.5 = 0.72135 and 1e-3 x 1.
    lif = dense(np.ones((2, 1)), [0.0, 0.0],
                Neuron("lif", np.array([0.5, 1.0]), 2.0, np.array([0.1, -0.2]), 0.9, -0.3))
    c = network.cell(lif)
    assert c["tau_m"] == pytest.approx([1 / math.log(2), 1e-3], rel=1e-12)
    assert c["leak"] == pytest.approx([0.5, 1.0], rel=1e-12)
    assert c["p30"] == pytest.approx([0.5 / math.log(2), 1e-3], rel=1e-12)
    assert c["gain"].tolist() == [1.0, 2.0] and c["v_rest"].tolist() == [0.1, -0.2]
    assert c["v_reset"].tolist() == [-0.3, -0.3] and c["v_thresh"].tolist() == [0.9, 0.9]
    # IF, r 3: tau_m 60,000 ms whatever the graph says, v_rest 0, gain r.
    if_ = dense(np.ones((3, 1)), np.zeros(3), Neuron("if", 1.0, 3.0, 0.7, 2.0))
    c = network.cell(if_)
    assert c["tau_m"].tolist() == [60_000.0] * 3 and c["v_rest"].tolist() == [0.0] * 3
    assert c["leak"] == pytest.approx([IF_LEAK] * 3, rel=1e-12)
    assert c["p30"] == pytest.approx([IF_P30] * 3, rel=1e-12)
    assert c["gain"].tolist() == [3.0] * 3 and c["v_thresh"].tolist() == [2.0] * 3


def _two_layer_chain():
    # L0: IF r 2 (gain 2), bias [0.1, -0.2]; L1: LIF alpha 0.5, r 1 (gain 0.5), v_leak 0.1,
    # threshold 1, reset -0.1, bias [0.3, -0.1], recurrent (post, pre) [[0, -0.3], [0.4, 0]].
    l0 = dense([[1.0, 0.0, 0.5], [0.25, -1.0, 0.0]], [0.1, -0.2],
               Neuron("if", 1.0, 2.0, 0.0, 0.9), name="fc0")
    l1 = dense([[1.0, -2.0], [0.0, 0.5]], [0.3, -0.1], Neuron("lif", 0.5, 1.0, 0.1, 1.0, -0.1),
               recurrent=np.array([[0.0, -0.3], [0.4, 0.0]]), name="fc1")
    return Chain(input_shape=(3,), layers=[l0, l1])


def test_network_file_weights_offsets_and_host_currents_by_hand():
    chain = _two_layer_chain()
    x = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.5]])
    meta, a = network.network_file(chain, 4, "constant", 6, x)
    # L0's nonzero synapses, row by row: (post 0: pre 0, 2), (post 1: pre 0, 1), x gain 2.
    assert (a["L0_pre"].tolist(), a["L0_post"].tolist()) == ([0, 2, 0, 1], [0, 0, 1, 1])
    assert a["L0_weight"].tolist() == [2.0, 1.0, 0.5, -2.0]
    # i_offset = gain b / p30: [0.2, -0.4] / 0.9999917 (IF) and 0.5 x [0.3, -0.1] / 0.72135.
    assert a["L0_i_offset"] == pytest.approx([0.2 / IF_P30, -0.4 / IF_P30], rel=1e-12)
    p30 = 0.5 / math.log(2)
    assert a["L1_i_offset"] == pytest.approx([0.15 / p30, -0.05 / p30], rel=1e-12)
    # L1 x gain 0.5: (0, 0) 1 -> 0.5, (0, 1) -2 -> -1, (1, 1) 0.5 -> 0.25.
    assert (a["L1_pre"].tolist(), a["L1_post"].tolist()) == ([0, 1, 1], [0, 0, 1])
    assert a["L1_weight"].tolist() == [0.5, -1.0, 0.25]
    # Recurrent (post, pre): 1 -> 0 (-0.3), 0 -> 1 (0.4), x gain 0.5.
    assert (a["L1_rec_pre"].tolist(), a["L1_rec_post"].tolist()) == ([1, 0], [0, 1])
    assert a["L1_rec_weight"].tolist() == [-0.15, 0.2]
    assert "L0_rec_pre" not in a
    assert a["L1_tau_m"] == pytest.approx([1 / math.log(2)] * 2)
    assert a["L1_v_rest"].tolist() == [0.1, 0.1] and a["L1_v_reset"].tolist() == [-0.1, -0.1]
    assert a["L1_v_thresh"].tolist() == [1.0, 1.0] and a["L0_v_thresh"].tolist() == [0.9, 0.9]
    # The host's first-layer current, bias left out (it is in i_offset): gain W x / p30,
    # W x = [1.5, 0.25] and [0.25, -1].
    assert a["input_current"] == pytest.approx(
        np.array([[3.0, 0.5], [0.5, -2.0]]) / IF_P30, rel=1e-12)
    assert "input_spikes" not in a
    assert {k: meta[k] for k in ("format", "version", "timesteps", "steps", "timestep_ms",
                                 "input", "input_size")} == {
        "format": "neuropipe-pynn-network", "version": 1, "timesteps": 4, "steps": 6,
        "timestep_ms": 1.0, "input": "current", "input_size": 3}
    assert meta["layers"] == [
        {"name": "fc0", "neurons": "fc0_n", "size": 2, "kind": "if"},
        {"name": "fc1", "neurons": "fc1_n", "size": 2, "kind": "lif", "recurrent": "fc1_rec"}]
    assert meta["mapping"] == network.__doc__


def test_network_file_with_spikes_or_without_samples():
    chain = _two_layer_chain()
    spikes = np.zeros((4, 2, 3), dtype=bool)  # (steps, samples, inputs) as encode_input gives
    spikes[1, 0, 2] = spikes[3, 1, 0] = True
    meta, a = network.network_file(chain, 4, "poisson", 6, None, spikes)
    assert meta["input"] == "spikes" and "input_current" not in a
    # Stored (samples, steps, inputs): sample 0's spike at step 1 on input 2.
    assert a["input_spikes"].shape == (2, 4, 3)
    assert np.argwhere(a["input_spikes"]).tolist() == [[0, 1, 2], [1, 3, 0]]
    _, a = network.network_file(chain, 4, "poisson", 6)
    assert a["input_spikes"].shape == (0, 4, 3) and a["input_spikes"].dtype == bool
    _, a = network.network_file(chain, 4, "constant", 6)
    assert a["input_current"].shape == (0, 2)


def test_write_network_round_trips_through_the_scripts_loader(tmp_path):
    meta, arrays = network.network_file(_two_layer_chain(), 4, "constant", 6,
                                        np.array([[1.0, 0.0, 1.0]]))
    path = tmp_path / "network.npz"
    network.write_network(str(path), meta, arrays)
    meta2, arrays2 = pynn_network.load(str(path))
    assert meta2 == meta and sorted(arrays2) == sorted(arrays)
    assert arrays2["L1_rec_weight"].tolist() == [-0.15, 0.2]


def test_conv_bias_is_one_per_position():
    w = np.ones((2, 1, 1, 2))
    conv = Layer("c", "conv", w, np.array([0.5, -1.0]), (1, 2, 4), (2, 2, 3),
                 Neuron("if", 1.0, 1.0, 0.0, 1.0))
    # 2 x 3 = 6 positions per channel (not 3, a row's): [0.5] x 6 then [-1] x 6, over p30.
    _, a = network.network_file(Chain(input_shape=(1, 2, 4), layers=[conv]), 2, "poisson", 3)
    assert a["L0_i_offset"] == pytest.approx(np.array([0.5] * 6 + [-1.0] * 6) / IF_P30)


# The fast path, spike by spike ----------------------------------------------------------------

def test_delay_depth_is_one_step_per_delayed_projection(hand_graph):
    chain = to_chain(hand_graph)
    assert delay_depth(chain, "constant") == 1 and delay_depth(chain, "poisson") == 2


def test_fast_path_with_constant_input_by_hand(hand_graph):
    """fc0 = [[1, 0.001, 0.5], [0.6, 0, 0.2]], IF threshold 0.9, fc1 identity, 7 steps.

    Sample (1, 1, 0): currents 1.001 and 0.6 held from step 0; L0 n0 spikes at steps 0-6 (7),
    n1 at 1, 3, 5 (3). L1 gets them a step later: n0 at 1-6 (6), n1 at 2, 4, 6 (3).
    Sample (0, 1, 1): currents 0.501 and 0.2; L0 n0 at 1, 3, 5, n1 at 4 (0.2 x 5 = 1.0 > 0.9,
    the IF leak of 1.7e-5 per step is too small to matter); L1 n0 at 2, 4, 6, n1 at 5.
    Window: the 4 steps after the delay depth 1, steps 1-4.
    """
    chain = to_chain(hand_graph)
    x = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    r = run_fast_path(chain, x, 4, 7, "constant", None, keep_rasters=True)
    assert r.counts[0].tolist() == [[7, 3], [3, 1]]
    assert r.counts[1].tolist() == [[6, 3], [3, 1]]
    assert r.window_counts.tolist() == [[4, 2], [2, 0]]
    # Fed back: every spike but the last step's (step 6: sample 0 L0 n0; L1 n0 and n1,
    # sample 1 L1 n0).
    assert r.fed_back[0].tolist() == [[6, 3], [3, 1]]
    assert r.fed_back[1].tolist() == [[5, 2], [2, 1]]
    assert np.argwhere(r.output_raster[:, 1]).tolist() == [[2, 0], [4, 0], [5, 1], [6, 0]]
    assert r.rasters[0].shape == (7, 2, 2) and r.rasters[1].tolist() == r.output_raster.tolist()
    assert np.argwhere(r.rasters[0][:, 1]).tolist() == [[1, 0], [3, 0], [4, 1], [5, 0]]
    assert run_fast_path(chain, x, 4, 7, "constant").rasters is None


def test_fast_path_with_spikes_and_a_recurrent_lif_layer_by_hand():
    """One input spiking on steps 0-2 into 2 LIF neurons (leak 0.5, gain 1, threshold 0.9):
    W = [[1], [0.5]], bias [0, 0.1], recurrent (post, pre) [[0, -0.6], [0.8, 0]].

    t0: input not yet arrived: v = [0, 0.1].  t1: I = [1, 0.6]: n0 1.0 spikes (reset 0), n1
    0.05 + 0.6 = 0.65.  t2: I = [1, 0.6] + R [1, 0] = [1, 1.4]: both spike.
    t3: I = [1, 0.6] + R [1, 1] = [0.4, 1.4]: n0 0.4, n1 1.4 spikes.
    (R transposed would give n1 -0.6 at t2: no spike.)
    """
    layer = dense([[1.0], [0.5]], [0.0, 0.1], Neuron("lif", 0.5, 2.0, 0.0, 0.9),
                  recurrent=np.array([[0.0, -0.6], [0.8, 0.0]]))
    chain = Chain(input_shape=(1,), layers=[layer])
    spikes = np.ones((3, 1, 1), dtype=bool)
    r = run_fast_path(chain, np.zeros((1, 1)), 3, 4, "poisson", spikes, keep_rasters=True)
    assert np.argwhere(r.rasters[0][:, 0]).tolist() == [[1, 0], [2, 0], [2, 1], [3, 1]]
    assert r.counts[0].tolist() == [[2, 2]] and r.fed_back[0].tolist() == [[2, 1]]
    assert r.window_counts.tolist() == [[2, 2]]  # steps 1-3


def test_fast_path_conv_by_hand():
    """Kernel [1, 0.5] over (1, 0, 1), IF threshold 0.9: position 0 sees 1.0, position 1 sees
    0.5 per arrival (steps 1 and 2): position 0 spikes twice, position 1 once (at step 2)."""
    conv = Layer("c", "conv", np.array([[[[1.0, 0.5]]]]), np.zeros(1), (1, 1, 3), (1, 1, 2),
                 Neuron("if", 1.0, 1.0, 0.0, 0.9))
    chain = Chain(input_shape=(1, 1, 3), layers=[conv])
    spikes = np.tile(np.array([1, 0, 1], dtype=bool), (2, 1, 1))
    r = run_fast_path(chain, np.zeros((1, 1, 1, 3)), 2, 3, "poisson", spikes)
    assert r.counts[0].tolist() == [[2, 1]] and r.window_counts.tolist() == [[2, 1]]


def test_fast_path_adds_a_spiking_layers_bias_every_step():
    # One IF neuron (threshold 0.9), bias 0.5, no input spike: v = 0.5, 1.0 (spike), 0.5,
    # 1.0 (spike), 0.5 over 5 steps: 2 spikes (a bias taken off would never spike).
    layer = dense([[1.0]], [0.5], Neuron("if", 1.0, 1.0, 0.0, 0.9))
    r = run_fast_path(Chain(input_shape=(1,), layers=[layer]), np.zeros((1, 1)), 4, 5,
                      "poisson", np.zeros((4, 1, 1), dtype=bool))
    assert r.counts[0].tolist() == [[2]]


def test_fast_path_conv_with_stride_padding_and_bias_over_two_samples():
    """Kernel [[0.1, 0.2], [0.4, 0.8]], stride 2, padding 1 over 3 x 3 pixels: position (i, j)
    sees rows 2i-1..2i, columns 2j-1..2j, so (0, 0) sees pixel (0, 0) through 0.8 and (1, 1)
    sees (1, 1) 0.1, (1, 2) 0.2, (2, 1) 0.4, (2, 2) 0.8. Bias 0.15, IF threshold 0.9, input
    spikes on steps 0-1 (arriving 1-2), 3 steps.
    Sample 0, pixel (2, 2): position (1, 1) gets 0.15, 1.1 (spike), 0.95 (spike): 2.
    Sample 1, pixels (0, 0), (1, 2): (0, 0) spikes twice the same way; (1, 1) 0.15 + 0.2 a
    step: 0.15, 0.5, 0.85, none. The other positions 3 x 0.15 = 0.45.
    """
    conv = Layer("c", "conv", np.array([[[[0.1, 0.2], [0.4, 0.8]]]]), np.array([0.15]),
                 (1, 3, 3), (1, 2, 2), Neuron("if", 1.0, 1.0, 0.0, 0.9), stride=(2, 2),
                 padding=(1, 1))
    pixels = np.zeros((2, 9), dtype=bool)
    pixels[0, 8] = pixels[1, 0] = pixels[1, 5] = True
    spikes = np.stack([pixels, pixels])  # (steps, samples, inputs)
    r = run_fast_path(Chain(input_shape=(1, 3, 3), layers=[conv]), np.zeros((2, 1, 3, 3)), 2, 3,
                      "poisson", spikes)
    assert r.counts[0].tolist() == [[0, 0, 0, 2], [2, 0, 0, 0]]


# Whole deployments, a few neurons and samples ---------------------------------------------------

X3 = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])  # 0/1: Poisson is exact
LABELS = np.array([0, 1, 0])


def _spinnaker2_record(tmp_path, hand_graph):
    return get_target("spinnaker2").deploy(
        Workload(hand_graph, X3, LABELS, timesteps=4, encoding="poisson"), tmp_path,
        verify_samples=0, batch_size=2)


def test_spinnaker2_deployment_over_two_batches_by_hand(tmp_path, hand_graph):
    """Poisson, T = 4, 6 steps, 3 samples in batches of 2 and 1 (no NEST: verify_samples 0).

    Sample (1, 1, 0): inputs 0, 1 spike on steps 0-3 (8 spikes); L0 n0 gets 1.001 on steps
    1-4 (4 spikes), n1 0.6 (spikes on 2 and 4); L1 n0 on 2-5, n1 on 3 and 5.
    Sample (0, 1, 1): 8 input spikes; L0 n0 0.501 (spikes on 2, 4), n1 0.2 x 4 = 0.8 (none);
    L1 n0 on 3, 5. Per inference over A, B, A: input 8, L0 spikes (4 + 2 + 0 + 4 + 2) / 3.
    Synops L0: 8 x fan-out (input 0: 2, input 1: 1 (0.001 is a synapse in float), input 2: 2)
    = 12 every sample; L1: L0's spikes before the last step, 6, 2, 6 -> 14/3.
    """
    record = _spinnaker2_record(tmp_path, hand_graph)
    l0, l1 = record.layers
    assert l0.spikes_per_inference == pytest.approx(14 / 3)
    assert l1.spikes_per_inference == pytest.approx(14 / 3)  # L1: 4 + 2, 2 + 0, 4 + 2
    assert l0.synops_per_inference == pytest.approx(12.0)
    assert l1.synops_per_inference == pytest.approx(14 / 3)
    c = record.counts
    assert c.synops == pytest.approx(12 + 14 / 3) and c.input_spikes == 8.0
    assert c.neuron_updates == 4 * 6 and c.host_macs == 0.0
    assert (c.packets, c.router_traversals) == (None, None)  # no route model on SpiNNaker 2
    # Window steps 2-5: A (4, 2) -> class 0; B (2, 0) -> class 0: labels 0, 1, 0.
    assert record.accuracy == pytest.approx(2 / 3) and record.samples == 3
    v = record.verification
    assert v["float_accuracy"] == pytest.approx(2 / 3)
    assert v["float_prediction_agreement"] == 1.0 and "nest_samples" not in v
    # 3 populations of <= 256 neurons (input 3, fc0 2, fc1 2): 3 PEs on 1 chip.
    res = record.resources
    assert (res.cores, res.chips, res.steps_per_sample) == (3, 1, 6)
    (estimate,) = record.estimates
    assert estimate.total_j == pytest.approx((12 + 14 / 3) * SYNOP2_J + 24 * UPDATE2_J)
    assert record.energy_per_inference_j == estimate.total_j
    assert json.loads((tmp_path / "placement.json").read_text())["estimate"] is True
    assert (tmp_path / "network.npz").is_file() and (tmp_path / "pynn_network.py").is_file()
    meta, arrays = pynn_network.load(str(tmp_path / "network.npz"))
    # The mapping runs the first sample only (verify_samples 0 keeps one): its 8 spikes.
    assert arrays["input_spikes"].shape == (1, 4, 3) and arrays["input_spikes"].sum() == 8
    assert meta["steps"] == 6 and record.network == "snn"


def test_spinnaker2_constant_input_delivers_all_but_the_last_steps_spikes(tmp_path, hand_graph):
    """Constant input (1, 1, 0), T = 4: the first layer's synapses on the host (5 MACs of its
    nonzero weights), one delayed projection: 5 steps. L0 n0 gets 1.001 every step (spikes on
    0-4: 5), n1 0.6 (spikes on 1 and 3): 7. L1 gets them a step later: the spike of step 4
    never arrives, so 6 synops (not 7); L1 spikes 4 + 2 = 6."""
    record = get_target("spinnaker2").deploy(
        Workload(hand_graph, X3[:1], LABELS[:1], timesteps=4), tmp_path, verify_samples=0)
    l0, l1 = record.layers
    assert l0.synapses_on == "host" and l0.host_macs_per_inference == 5
    assert l0.spikes_per_inference == 7 and l1.synops_per_inference == 6
    assert l1.spikes_per_inference == 6
    c = record.counts
    assert (c.synops, c.host_macs, c.neuron_updates, c.input_spikes) == (6, 5, 4 * 5, 0.0)
    (estimate,) = record.estimates
    assert estimate.total_j == pytest.approx(6 * SYNOP2_J + 20 * UPDATE2_J + 5 * 8.6e-9)
    meta, arrays = pynn_network.load(str(tmp_path / "network.npz"))
    assert meta["input"] == "current" and arrays["input_current"].shape == (1, 2)




def _silent_nest_run(args, what, timeout=3600):
    """Stands in for the NEST child process: every layer silent, every sample."""
    meta, _ = pynn_network.load(args[1])
    np.savez(args[5], **{f"L{i}": np.zeros((int(args[3]), meta["steps"], layer["size"]), bool)
                         for i, layer in enumerate(meta["layers"])},
             build_s=0.5, per_sample_s=0.1)


def test_a_deployment_reports_its_progress(tmp_path, hand_graph, monkeypatch):
    monkeypatch.setattr(spin_target, "run_script", _silent_nest_run)
    progress = RecordingProgress()
    get_target("spinnaker2").deploy(
        Workload(hand_graph, X3, LABELS, timesteps=4, encoding="poisson"), tmp_path,
        verify_samples=1, batch_size=2, progress=progress)
    # The fast path's task over 3 samples, advanced by each batch (2, then 1); NEST's task
    # without a total until it is done.
    assert progress.calls == [
        ("add", "spinnaker2: fast path", 3), ("update", 1, {"advance": 2}),
        ("update", 1, {"advance": 1}), ("add", "spinnaker2: NEST reference", None),
        ("update", 4, {"total": 1, "completed": 1})]


def _placement():
    def core(lo, hi, x, route):
        return {"lo_atom": lo, "hi_atom": hi, "x": x, "y": 0, "p": 1, "route_chips": route}
    return {"machine_chips": 50, "routing_entries_per_chip": {"0,0": 2}, "mapping_s": 0.5,
            "populations": [
                {"label": "input", "size": 3, "cores": [core(0, 2, 0, 2)]},
                {"label": "fc0", "size": 2, "cores": [core(0, 1, 0, 1)]},
                {"label": "if1", "size": 2, "cores": [core(0, 1, 1, 0)]}]}


def test_spinnaker_deployment_with_a_given_placement_by_hand(tmp_path, hand_graph, monkeypatch):
    """The same 3 samples on SpiNNaker 1, placed as a hand-written sPyNNaker placement: the
    input on chip 0 routing through 2 chips, fc0 on chip 0 through 1, the output on chip 1.

    Packets: input 8 + L0 14/3 = 12.667 per inference; traversals 8 x 2 + 14/3 x 1 = 20.667.
    3 cores on 2 chips; 50 chips of the machine: 2 boards of 48. 6 ms per inference.
    """
    monkeypatch.setattr(spin_target.SpiNNakerTarget, "_place",
                        lambda self, path, out, progress: _placement())
    record = get_target("spinnaker").deploy(
        Workload(hand_graph, X3, LABELS, timesteps=4, encoding="poisson"), tmp_path,
        verify_samples=0, batch_size=2)
    c = record.counts
    assert c.packets == pytest.approx(8 + 14 / 3)
    assert c.router_traversals == pytest.approx(16 + 14 / 3)
    res = record.resources
    assert (res.cores, res.chips, res.boards) == (3, 2, 2)
    board, per_op = record.estimates
    t = 6e-3
    assert {x.name: x.joules_per_inference for x in board.terms} == pytest.approx({
        "idle_chips": 2 * IDLE_CHIP_W * t, "active_cores": 3 * ACTIVE_CORE_W * t,
        "router_packets": (16 + 14 / 3) * PACKET_J, "host_input_layer": 0.0})
    assert board.default and not per_op.default
    assert per_op.total_j == pytest.approx((12 + 14 / 3) * SYNOP1_J + 24 * UPDATE1_J)
    assert record.energy_per_inference_j == board.total_j
    assert record.leaves_out == list(board.leaves_out)
    assert record.artifacts == {"network": "network.npz", "pynn_script": "pynn_network.py",
                                "placement": "placement.json"}
    assert all(r.quantisation["weights"].startswith("float64 in the PyNN network")
               for r in record.layers)
    assert record.accuracy == pytest.approx(2 / 3)


def test_spinnaker_constant_input_recurrence_and_readout_in_the_record(
        tmp_path, monkeypatch, rng, make_recurrent_graph):
    """Constant input puts the first layer on the host (no input population, no input packets);
    a recurrent layer and a readout are reported as their own layers and noted."""
    monkeypatch.setattr(spin_target.SpiNNakerTarget, "_place", lambda self, path, out, progress: {
        "machine_chips": 1, "routing_entries_per_chip": {}, "mapping_s": 0.1,
        "populations": [{"label": "lif", "size": 5, "cores": [
            {"lo_atom": 0, "hi_atom": 4, "x": 0, "y": 0, "p": 1, "route_chips": 1}]}]})
    x = rng.random((3, 6))
    record = get_target("spinnaker").deploy(
        Workload(make_recurrent_graph(rng), x, np.array([0, 1, 2]), timesteps=5), tmp_path,
        verify_samples=0)
    kinds = [r.kind for r in record.layers]
    assert kinds[-2:] == ["recurrent", "readout"]
    layer = record.layers[0]
    assert layer.synapses_on == "host"
    # The only population's spikes, once each through one router: packets = traversals =
    # the layer's spikes per inference; no input packets (constant input).
    assert record.counts.packets == pytest.approx(layer.spikes_per_inference)
    assert record.counts.router_traversals == pytest.approx(layer.spikes_per_inference)
    assert record.counts.input_spikes == 0.0
    assert record.layers[-1].quantisation == {"weights": "float64 on the host (not on the board)"}
    notes = " ".join(record.notes)
    assert "constant (analogue) input" in notes and "recurrent synapses are PyNN" in notes
    assert "host readout 'readout'" in notes
    # One layer on the chip, its synapses on the host: no delayed projection, 5 steps.
    assert "each sample runs 5 steps" in notes and record.resources.steps_per_sample == 5


# The NEST comparison, against a planted reference -----------------------------------------------

def test_nest_comparison_counts_every_differing_spike(tmp_path, monkeypatch):
    """Three layers, 3 samples of 5 steps, read-out window steps 1-2 (depth 1, T = 2).

    Middle layer: [0, 1] on steps 1 and 2 of every sample. Last layer: samples 0 and 2 spike
    [1, 0] on step 1 (class 0); sample 1 spikes [0, 1] on step 0, [1, 0] on step 3 and [1, 1]
    on step 4, outside the window (counts (0, 0): class 0; steps 0-2 would read class 1 for
    both, and agree). The 'NEST' file adds one spike to sample 1's last
    layer on step 1 (window counts (0, 1): class 1) and flips one of sample 2's first layer.
    Spikes compared: 3 layers x 3 samples x 5 steps x 2 neurons = 90, 88 equal; 2 samples with
    a mismatch; predictions agree on samples 0 and 2: 2/3. (Counting steps 1-3 instead would
    make sample 1 (1, 0) against (1, 1), a tie read as class 0: agreement 1.)
    """
    rng = np.random.default_rng(3)
    middle = np.zeros((5, 3, 2), dtype=bool)
    middle[1:3, :, 1] = True
    last = np.zeros((5, 3, 2), dtype=bool)
    last[1, [0, 2], 0] = True
    last[0, 1] = [0, 1]  # step 0, before the window
    last[3, 1] = [1, 0]
    last[4, 1] = [1, 1]
    rasters = [rng.random((5, 3, 2)) < 0.5, middle, last]  # (steps, samples, neurons)
    nest = [r.transpose(1, 0, 2).copy() for r in rasters]  # (samples, steps, neurons)
    nest[2][1, 1] = [0, 1]
    nest[0][2, 0, 0] = not nest[0][2, 0, 0]
    path = tmp_path / "n.npz"

    def fake_run(args, what, timeout=3600):
        assert args[:5] == ["nest", str(path), "--samples", "3", "--out"]
        assert what == "NEST reference run"
        np.savez(args[5], L0=nest[0], L1=nest[1], L2=nest[2], build_s=1.5, per_sample_s=0.25)

    monkeypatch.setattr(spin_target, "run_script", fake_run)
    first = {"rasters": rasters, "depth": 1, "timesteps": 2}
    v = get_target("spinnaker")._verify_in_nest(path, first, 3, None)
    assert v["nest_samples"] == 3 and v["spike_match"] == pytest.approx(88 / 90)
    assert v["samples_with_mismatch"] == 2
    assert v["nest_prediction_agreement"] == pytest.approx(2 / 3)
    assert v["spikes_per_layer"] == [
        {"fast_path": int(rasters[0].sum()), "nest": int(nest[0].sum())},
        {"fast_path": 6, "nest": 6}, {"fast_path": 6, "nest": 7}]
    assert (v["nest_build_s"], v["nest_per_sample_s"]) == (1.5, 0.25)
    assert v["nest_model"] == "iaf_psc_delta via pyNN.nest (spike_precision='on_grid')"


def test_a_deployment_checks_its_first_samples_against_nest(tmp_path, hand_graph, monkeypatch):
    """The 3 samples of the SpiNNaker 2 deployment above with verify_samples 2, against a
    'NEST' that records no spike at all: the fast path's first 2 samples have 6 + 2 spikes in
    each layer (6 steps x 2 neurons x 2 samples = 24 places a layer): 48 - 16 = 32 equal,
    2/3; both samples mismatch; both predictions are class 0 either way (NEST's empty window
    reads as class 0): agreement 1."""
    calls = []

    def fake_run(args, what, timeout=3600):
        calls.append(args[:4])
        meta, _ = pynn_network.load(args[1])
        k = int(args[3])
        np.savez(args[5], **{f"L{i}": np.zeros((k, meta["steps"], layer["size"]), bool)
                             for i, layer in enumerate(meta["layers"])},
                 build_s=0.5, per_sample_s=0.1)

    monkeypatch.setattr(spin_target, "run_script", fake_run)
    record = get_target("spinnaker2").deploy(
        Workload(hand_graph, X3, LABELS, timesteps=4, encoding="poisson",
                 reference_accuracy=0.5), tmp_path, verify_samples=2, batch_size=2)
    assert calls == [["nest", str(tmp_path / "network.npz"), "--samples", "2"]]
    assert record.reference_accuracy == 0.5
    assert record.verification["fast_path"].startswith("discrete-time float64 simulation")
    v = record.verification
    assert v["nest_samples"] == 2 and v["spike_match"] == pytest.approx(2 / 3)
    assert v["samples_with_mismatch"] == 2 and v["nest_prediction_agreement"] == 1.0
    assert v["spikes_per_layer"] == [{"fast_path": 8, "nest": 0}] * 2
    assert v["float_accuracy"] == pytest.approx(2 / 3)
    _, arrays = pynn_network.load(str(tmp_path / "network.npz"))
    assert arrays["input_spikes"].shape == (2, 4, 3) and arrays["input_spikes"].sum() == 16


def test_the_pynn_script_runs_quietly_in_its_own_folder(monkeypatch):
    import sys

    seen = {}

    def fake(cmd, **kwargs):
        seen.update(kwargs, cmd=cmd, existed=Path(kwargs["cwd"]).is_dir())
        return subprocess.CompletedProcess(cmd, seen.get("code", 0), "", seen.get("err", ""))

    monkeypatch.setattr(subprocess, "run", fake)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # the child runs in one thread whatever we use
    monkeypatch.delenv("PYNEST_QUIET", raising=False)
    assert spin_target.run_script(["nest", "n.npz"], "NEST reference run", timeout=7) is None
    folder = seen["cwd"]
    assert seen["cmd"] == [sys.executable, str(spin_target.SCRIPT), "nest", "n.npz"]
    assert seen["existed"] and Path(folder).name.startswith("neuropipe-pynn-")
    assert not Path(folder).exists()  # removed afterwards
    assert (seen["capture_output"], seen["text"], seen["timeout"]) == (True, True, 7)
    env = seen["env"]
    assert (env["PYNEST_QUIET"], env["OMP_NUM_THREADS"]) == ("1", "1")
    assert env["XDG_CONFIG_HOME"] == folder and env["MPLCONFIGDIR"] == f"{folder}/mpl"
    assert env["PATH"]  # the caller's environment is kept
    spin_target.run_script(["nest"], "x")
    assert seen["timeout"] == 3600  # the default
    # A failure: the last non-empty line of stderr, cut at 400 characters.
    seen.update(code=1, err="Traceback\n  ...\nValueError: bad\n  \n")
    with pytest.raises(TargetError, match=r"^NEST reference run failed: ValueError: bad$"):
        spin_target.run_script(["nest"], "NEST reference run")
    seen["err"] = "E" * 500
    with pytest.raises(TargetError) as e:
        spin_target.run_script(["nest"], "mapping")
    assert str(e.value) == "mapping failed: " + "E" * 400
    seen["err"] = ""
    with pytest.raises(TargetError, match=r"^mapping failed: \?$"):
        spin_target.run_script(["nest"], "mapping")


# The per-core synapse limit, at its boundary ---------------------------------------------------

def test_a_core_holds_1929215_synapses(tmp_path):
    """123,469,792 bytes / 16 cores / 4 bytes = 1,929,215 synapses a core. 256 neurons of 7,536
    inputs need 1,929,216 on the first core: refused; 7,535 (1,928,960) fit; 7,535 plus one
    recurrent synapse each: refused again; 257 neurons of 7,536 is refused for the first
    block, not for the 257th neuron alone (7,536)."""
    assert spin_target.SYNAPSES_PER_CORE_LIMIT == 1_929_215
    target = get_target("spinnaker")
    neuron = Neuron("if", 1.0, 1.0, 0.0, 1.0)

    def limits(n, inputs, recurrent=None):
        return target._limits(Chain(input_shape=(inputs,), layers=[
            dense(np.ones((n, inputs), dtype=np.float32), np.zeros(n), neuron, recurrent)]))

    (problem,) = limits(256, 7536)
    assert problem == ("node 'fc' needs 1,929,216 synapses on one core (256 neurons per core); "
                       "a core's share of a chip's SDRAM holds about 1,929,215: prune or split "
                       "the layer")
    assert limits(256, 7535) == []
    # A deployment names every layer over the limit, joined by "; ", before running anything.
    big = np.ones((256, 7536), dtype=np.float32)
    two = Chain(input_shape=(7536,), layers=[dense(big, np.zeros(256), neuron, name="a"),
                                             dense(big, np.zeros(256), neuron, name="b")])
    with pytest.raises(GraphError) as e:
        target.deploy(Workload(two, np.zeros((1, 7536)), np.zeros(1), timesteps=1), tmp_path)
    assert str(e.value) == "; ".join(problem.replace("'fc'", f"'{n}'") for n in "ab")
    assert len(limits(256, 7535, np.eye(256))) == 1
    # Cores hold neurons 0-255, 256-511: 256 heavy neurons straddling both (128-383) fit.
    w = np.zeros((512, 7536), dtype=np.float32)
    w[128:384] = 1.0
    assert target._limits(Chain(input_shape=(7536,), layers=[
        dense(w, np.zeros(512), neuron)])) == []
    assert "1,929,216" in limits(257, 7536)[0]


def test_a_conv_neuron_sees_its_channels_whole_kernel():
    """One output channel, a 64 x 64 x 64 kernel (262,144 synapses a neuron): 8 positions
    need 2,097,152 on one core (refused), 7 positions 1,835,008 (fit)."""
    target = get_target("spinnaker")
    neuron = Neuron("if", 1.0, 1.0, 0.0, 1.0)

    def conv(h, w):  # an output of h x w positions (input shapes as a valid conv would have)
        return Chain(input_shape=(64, 63 + h, 63 + w), layers=[Layer(
            "c", "conv", np.ones((1, 64, 64, 64), dtype=np.float32), np.zeros(1),
            (64, 63 + h, 63 + w), (1, h, w), neuron)])

    assert "2,097,152" in target._limits(conv(2, 4))[0]  # 2 x 4 positions, not 4
    assert target._limits(conv(7, 1)) == []


def test_supports_names_what_the_chain_reader_refuses(hand_graph):
    import nir

    target = get_target("spinnaker")
    assert target.supports(hand_graph) == []
    # A graph without an input node cannot be read as a chain: the reader's own message.
    graph = nir.NIRGraph(nodes={"a": nir.Affine(weight=np.ones((1, 1)), bias=np.zeros(1))},
                         edges=[])
    (problem,) = target.supports(graph)
    with pytest.raises(GraphError) as e:
        to_chain(graph)
    assert problem == str(e.value)
    # Too many synapses on a core: the limit's message.
    big = Chain(input_shape=(7536,), layers=[dense(np.ones((256, 7536), dtype=np.float32),
                                                   np.zeros(256), Neuron("if", 1, 1, 0, 1))])
    assert target.supports(big) == target._limits(big) != []


# Availability ------------------------------------------------------------------------------------

def test_availability_reports_the_toolchain_check(monkeypatch):
    monkeypatch.setattr(spin_target, "_toolchain_status", lambda: (False, "nest missing"))
    a = get_target("spinnaker").availability()
    assert (a.available, a.reason) == (False, "nest missing")
    monkeypatch.setattr(spin_target, "_toolchain_status", lambda: (True, "all import"))
    a = get_target("spinnaker2").availability()
    assert (a.available, a.reason) == (True, "all import")


def test_toolchain_status_names_missing_packages_and_failed_imports(monkeypatch):
    import importlib.util

    status = spin_target._toolchain_status.__wrapped__
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: None if name in ("nest", "spynnaker") else real(name))
    assert status() == (False, "nest, spynnaker not installed: run 'make venv', or pip "
                               "install -r requirements/spinnaker.txt")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    seen = {}

    def fake(cmd, **kwargs):
        seen.update(kwargs, cmd=cmd)
        return subprocess.CompletedProcess(cmd, seen.get("code", 0), "", "x\nImportError: y\n")

    monkeypatch.setattr(subprocess, "run", fake)
    assert status() == (True, "pyNN.nest (NEST) and pyNN.spiNNaker (sPyNNaker, virtual board) "
                              "import")
    assert seen["timeout"] == 300 and "import pyNN.nest, pyNN.spiNNaker" in seen["cmd"][2]
    assert not Path(seen["cwd"]).exists()  # the probe's folder is removed
    seen["code"] = 1
    assert status() == (False, "pyNN.nest / pyNN.spiNNaker do not import: ImportError: y")

    def slow(cmd, **kwargs):
        raise subprocess.TimeoutExpired(cmd, 300)

    monkeypatch.setattr(subprocess, "run", slow)
    assert status() == (False, "importing pyNN.nest and pyNN.spiNNaker took over 300 s")


def test_a_deployment_reads_the_graph_with_its_dt(tmp_path, make_fast_lif_graph):
    """LIF tau 0.75 at dt 0.5: alpha 2/3 (at dt 1 the graph is refused, dt/tau 1.33)."""
    fast_lif_graph = make_fast_lif_graph

    record = get_target("spinnaker2").deploy(
        Workload(fast_lif_graph(), np.array([[1.0, 0.5, 1.0]]), np.array([0]), timesteps=3,
                 dt=0.5), tmp_path, verify_samples=0)
    assert record.samples == 1 and record.layers[0].neurons == 2
    with pytest.raises(GraphError, match="dt/tau"):
        get_target("spinnaker2").deploy(
            Workload(fast_lif_graph(), np.array([[1.0, 0.5, 1.0]]), np.array([0]),
                     timesteps=3), tmp_path, verify_samples=0)


def test_a_deployment_checks_16_samples_against_nest_by_default(tmp_path, hand_graph,
                                                                monkeypatch):
    monkeypatch.setattr(spin_target, "run_script", _silent_nest_run)
    x = np.tile(X3[:1], (17, 1))  # 17 samples
    record = get_target("spinnaker2").deploy(
        Workload(hand_graph, x, np.zeros(17, dtype=int), timesteps=4, encoding="poisson"),
        tmp_path)
    assert record.verification["nest_samples"] == 16 and record.samples == 17


def test_conv_connections_follow_stride_and_padding():
    """Kernel [[0.1, 0.2], [0.4, 0.8]], stride 2, padding 1 over 3 x 3 pixels (positions as in
    the fast-path test): (0, 0) <- pixel 0 (0.8); (0, 1) <- 1 (0.4), 2 (0.8); (1, 0) <- 3
    (0.2), 6 (0.8); (1, 1) <- 4 (0.1), 5 (0.2), 7 (0.4), 8 (0.8): 9 connections."""
    conv = Layer("c", "conv", np.array([[[[0.1, 0.2], [0.4, 0.8]]]]), np.zeros(1), (1, 3, 3),
                 (1, 2, 2), Neuron("if", 1.0, 1.0, 0.0, 0.9), stride=(2, 2), padding=(1, 1))
    pre, post, w = network.connections(conv)
    got = sorted(zip(post.tolist(), pre.tolist(), w.tolist(), strict=True))
    assert got == [(0, 0, 0.8), (1, 1, 0.4), (1, 2, 0.8), (2, 3, 0.2), (2, 6, 0.8),
                   (3, 4, 0.1), (3, 5, 0.2), (3, 7, 0.4), (3, 8, 0.8)]


def test_spinnaker1_maps_with_the_script_and_reports_its_progress(tmp_path, hand_graph,
                                                                  monkeypatch):
    """SpiNNaker 1's own _place: the script run as 'spinnaker NETWORK --out placement.json'
    (sPyNNaker stood in for by writing the hand-written placement above), read back from the
    deployment folder; its progress task has no total until the mapping is done. NEST (1
    sample) is the silent stand-in. The placement's figures reach the record: 3 cores on 2
    chips, 50 chips -> 2 boards, packets 8 + 14/3 as in the deployment above."""
    calls = []

    def fake_run(args, what, timeout=3600):
        calls.append((args[0], what))
        if args[0] == "nest":
            return _silent_nest_run(args, what, timeout)
        assert args == ["spinnaker", str(tmp_path / "network.npz"), "--out",
                        str(tmp_path / "placement.json")]
        Path(args[3]).write_text(json.dumps(_placement()), encoding="utf-8")

    monkeypatch.setattr(spin_target, "run_script", fake_run)
    progress = RecordingProgress()
    record = get_target("spinnaker").deploy(
        Workload(hand_graph, X3, LABELS, timesteps=4, encoding="poisson"), tmp_path,
        verify_samples=1, batch_size=2, progress=progress)
    assert calls == [("nest", "NEST reference run"),
                     ("spinnaker", "sPyNNaker mapping on a virtual board")]
    assert progress.calls == [
        ("add", "spinnaker: fast path", 3), ("update", 1, {"advance": 2}),
        ("update", 1, {"advance": 1}), ("add", "spinnaker: NEST reference", None),
        ("update", 4, {"total": 1, "completed": 1}),
        ("add", "spinnaker: sPyNNaker mapping", None),
        ("update", 6, {"total": 1, "completed": 1})]
    res = record.resources
    assert (res.cores, res.chips, res.boards) == (3, 2, 2)
    assert record.counts.packets == pytest.approx(8 + 14 / 3)
    assert record.resources.details["mapping_s"] == 0.5
    assert (record.target, record.timesteps, record.samples) == ("spinnaker", 4, 3)
    # Without a progress bar the mapping reports nothing and reads the same file.
    assert get_target("spinnaker")._place(tmp_path / "network.npz", tmp_path,
                                          None) == _placement()


def test_p30_divides_by_the_membrane_capacitance(monkeypatch):
    """p30 = tau_m / cm (1 - e^(-1/tau_m)): with cm = 2 nF (the script's is 1) an IF neuron's
    p30 is 60,000 / 2 x 1.6667e-5 = 0.49999583 mV per nA, half of IF_P30; LIF alpha 0.5:
    1.4427 / 2 x 0.5 = 0.36067. The i_offset of a bias 0.3 (gain 2) is then 0.6 / p30."""
    monkeypatch.setattr(pynn_network, "CM_NF", 2.0)
    if_ = dense(np.ones((1, 1)), [0.3], Neuron("if", 1.0, 2.0, 0.0, 1.0))
    assert network.cell(if_)["p30"] == pytest.approx([IF_P30 / 2], rel=1e-12)
    lif = dense(np.ones((1, 1)), [0.0], Neuron("lif", 0.5, 1.0, 0.0, 1.0))
    assert network.cell(lif)["p30"] == pytest.approx([0.25 / math.log(2)], rel=1e-12)
    _, a = network.network_file(Chain(input_shape=(1,), layers=[if_]), 2, "poisson", 3)
    assert a["L0_i_offset"] == pytest.approx([0.6 / (IF_P30 / 2)], rel=1e-12)


def test_the_network_files_synapse_indices_are_integers():
    """pre and post are neuron indices (int64) in every list: dense, recurrent and conv."""
    meta, a = network.network_file(_two_layer_chain(), 4, "poisson", 6)
    for key in ("L0_pre", "L0_post", "L1_pre", "L1_post", "L1_rec_pre", "L1_rec_post"):
        assert a[key].dtype == np.int64, key
    conv = Layer("c", "conv", np.array([[[[0.1, 0.2], [0.4, 0.8]]]]), np.zeros(1), (1, 3, 3),
                 (1, 2, 2), Neuron("if", 1.0, 1.0, 0.0, 0.9), stride=(2, 2), padding=(1, 1))
    pre, post, _ = network.connections(conv)
    assert pre.dtype == np.int64 and post.dtype == np.int64


def test_a_core_holds_exactly_1929215_synapses_recurrent_ones_per_neuron():
    """At the limit itself: 256 x 7,536 - 1 = 1,929,215 synapses on the first core fit; so do
    256 x 7,535 = 1,928,960 plus 255 recurrent synapses, all onto neuron 0 (each neuron's own
    recurrent fan-in counts, not the matrix's 255 nonzeros once per neuron: 1,928,960 +
    256 x 255 would be refused); 256 of them are one too many."""
    target = get_target("spinnaker")
    neuron = Neuron("if", 1.0, 1.0, 0.0, 1.0)

    def limits(w, recurrent=None):
        return target._limits(Chain(input_shape=(w.shape[1],), layers=[
            dense(w, np.zeros(len(w)), neuron, recurrent)]))

    w = np.ones((256, 7536), dtype=np.float32)
    w[0, 0] = 0.0
    assert limits(w) == []
    recurrent = np.zeros((256, 256))
    recurrent[0, :255] = 0.5
    w = np.ones((256, 7535), dtype=np.float32)
    assert limits(w, recurrent) == []
    recurrent[0, 255] = 0.5
    assert "1,929,216" in limits(w, recurrent)[0]


def test_supports_reads_the_graph_at_its_dt():
    """LIF tau 1.5: dt/tau 0.67 at dt 1 (the default) and 0.33 at 0.5 run; at dt 2, 1.33 is
    refused with the chain reader's message."""
    import nir

    nodes = {"input": nir.Input(input_type={"input": np.array([2])}),
             "fc": nir.Affine(weight=np.array([[1.0, 0.5]]), bias=np.zeros(1)),
             "lif": nir.LIF(tau=np.full(1, 1.5), r=np.ones(1), v_leak=np.zeros(1),
                            v_threshold=np.ones(1), v_reset=np.zeros(1)),
             "output": nir.Output(output_type={"output": np.array([1])})}
    order = list(nodes)
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))
    target = get_target("spinnaker")
    assert target.supports(graph) == [] and target.supports(graph, 0.5) == []
    (problem,) = target.supports(graph, 2.0)
    assert "dt/tau = 1.33" in problem and "dt=2" in problem


def test_a_deployment_runs_batches_of_500_by_default(tmp_path, hand_graph):
    """501 samples: a batch of 500, then one (the fast path's progress task says so)."""
    progress = RecordingProgress()
    x = np.tile(X3[:1], (501, 1))
    get_target("spinnaker2").deploy(
        Workload(hand_graph, x, np.zeros(501, dtype=int), timesteps=2, encoding="poisson"),
        tmp_path, verify_samples=0, progress=progress)
    assert progress.calls == [("add", "spinnaker2: fast path", 501),
                              ("update", 1, {"advance": 500}), ("update", 1, {"advance": 1})]


def test_a_deployment_draws_its_poisson_input_from_the_workloads_seed(tmp_path, hand_graph):
    """Inputs 0.5, 0.25, 0.75 over 8 steps and 2 samples, seed 7: the input spikes are the
    raster numpy's generator of seed 7 draws (one batch), 48 draws; the network file keeps
    the first sample's 24 (verify_samples 0 keeps one sample for the mapping)."""
    from neuropipe.targets.float_sim import encode_input

    x = np.array([[0.5, 0.25, 0.75], [0.75, 0.5, 0.25]])
    expected = encode_input(x, 8, "poisson", np.random.default_rng(7))  # (steps, N, inputs)
    record = get_target("spinnaker2").deploy(
        Workload(hand_graph, x, np.array([0, 1]), timesteps=8, encoding="poisson", seed=7),
        tmp_path, verify_samples=0)
    assert record.counts.input_spikes == expected.sum() / 2
    meta, arrays = pynn_network.load(str(tmp_path / "network.npz"))
    assert np.array_equal(arrays["input_spikes"], expected[:, :1].transpose(1, 0, 2))
    assert (meta["timesteps"], meta["steps"]) == (8, 10)  # 8 of input + 2 delayed projections


def test_the_nest_check_reads_classes_through_the_host_readout(tmp_path, monkeypatch):
    """2 inputs -> 2 IF (identity weights, threshold 0.5) -> a host readout that swaps the two
    counts. Input (1, 0): neuron 0 spikes every step (1 > 0.5), neuron 1 never: counts (c, 0),
    scores (0, c): class 1, the label. A silent 'NEST' reads counts (0, 0), scores (0, 0):
    class 0 (a tie). Agreement 0; read without the readout both would be class 0 (agreement 1).
    """
    import nir

    nodes = {"input": nir.Input(input_type={"input": np.array([2])}),
             "fc": nir.Affine(weight=np.eye(2), bias=np.zeros(2)),
             "if": nir.IF(r=np.ones(2), v_threshold=np.full(2, 0.5), v_reset=np.zeros(2)),
             "readout": nir.Affine(weight=np.array([[0.0, 1.0], [1.0, 0.0]]), bias=np.zeros(2)),
             "output": nir.Output(output_type={"output": np.array([2])})}
    order = list(nodes)
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))
    monkeypatch.setattr(spin_target, "run_script", _silent_nest_run)
    record = get_target("spinnaker2").deploy(
        Workload(graph, np.array([[1.0, 0.0]]), np.array([1]), timesteps=3), tmp_path,
        verify_samples=1)
    assert record.accuracy == 1.0
    assert record.verification["nest_prediction_agreement"] == 0.0


def test_an_empty_nest_comparison_matches_fully(tmp_path, monkeypatch):
    """Rasters with no place to compare (0 steps, 1 sample, 2 neurons): no spike differs, so
    the match is 1.0 (not a division by zero) and no sample mismatches."""
    def fake_run(args, what, timeout=3600):
        np.savez(args[5], L0=np.zeros((1, 0, 2), bool), build_s=0.0, per_sample_s=0.0)

    monkeypatch.setattr(spin_target, "run_script", fake_run)
    first = {"rasters": [np.zeros((0, 1, 2), bool)], "depth": 0, "timesteps": 0}
    v = get_target("spinnaker")._verify_in_nest(tmp_path / "n.npz", first, 1, None)
    assert (v["spike_match"], v["samples_with_mismatch"]) == (1.0, 0)


# The full make-mutate pass's survivors (issue 23) ----------------------------------------------

def test_activity_feeds_a_recurrent_layer_what_it_fed_back():
    """fc0 (3 -> 2) then fc1 (2 -> 2, recurrent), 2 samples, Poisson. Totals over the samples:
    input [2, 0, 4]; spikes fc0 [4, 2], fc1 [6, 2]; fed back (all but the last step's) fc0
    [3, 1], fc1 [5, 0]. Per inference (/ 2): fc0 takes the input [1, 0, 2]; fc1 takes what
    fc0 delivered, [1.5, 0.5], and its recurrent synapse carries fc1's fed back [2.5, 0]
    (not x 2, not its spikes [3, 1]). Without fed-back totals: fc1 takes fc0's spikes [2, 1]."""
    chain = _two_layer_chain()
    spikes = [np.array([4.0, 2.0]), np.array([6.0, 2.0])]
    fed = [np.array([3.0, 1.0]), np.array([5.0, 0.0])]
    target = get_target("spinnaker")
    a0, a1 = target._activity(chain, "poisson", 6, spikes, np.array([2.0, 0.0, 4.0]), 2, fed)
    assert a0.input_spikes.tolist() == [1.0, 0.0, 2.0] and a0.recurrent_spikes is None
    assert a1.input_spikes.tolist() == [1.5, 0.5] and a1.output_spikes.tolist() == [3.0, 1.0]
    assert a1.recurrent_spikes.tolist() == [2.5, 0.0] and a1.steps == 6
    a0, a1 = target._activity(chain, "poisson", 6, spikes, np.array([2.0, 0.0, 4.0]), 2)
    assert a1.input_spikes.tolist() == [2.0, 1.0] and a1.recurrent_spikes is None


def test_routing_skips_only_a_core_without_routes():
    """One population on two cores: neurons 0-1 with no outgoing route (skipped), neurons 2-3
    through 2 chips: packets 3 + 4 = 7, traversals 7 x 2 = 14 (the first core's skip does
    not end the population). A placement with fewer populations than sources is refused."""
    def core(lo, hi, route):
        return {"lo_atom": lo, "hi_atom": hi, "x": 0, "y": 0, "p": 1, "route_chips": route}
    placement = {"populations": [{"label": "fc", "size": 4,
                                  "cores": [core(0, 1, 0), core(2, 3, 2)]}]}
    routing = spin_target.SpiNNakerTarget._routing
    assert routing(placement, [np.array([1.0, 2.0, 3.0, 4.0])]) == (7.0, 14.0)
    with pytest.raises(ValueError):
        routing(placement, [np.ones(4), np.ones(2)])


def test_spinnaker1_resources_read_the_placement_by_hand():
    """The hand-written placement (3 cores, on chips (0, 0) and (1, 0)) on a machine of 48
    chips: ceil(48 / 48) = 1 board (at least one, not two); the routing table sizes and the
    mapping time are kept; 6 steps of 1 ms."""
    placement = {**_placement(), "machine_chips": 48}
    res = get_target("spinnaker")._resources(placement, 6)
    assert (res.cores, res.chips, res.boards, res.steps_per_sample) == (3, 2, 1, 6)
    assert res.time_per_inference_s == pytest.approx(6e-3)
    assert res.placement == "sPyNNaker 1!7.4.1 placement on a virtual SpiNN-5 board"
    assert res.details["routing_entries_per_chip"] == {"0,0": 2}
    assert res.details["mapping_s"] == 0.5
