"""Graded input on Loihi (``--encoding graded``): worked by hand, and against Lava and netx."""

import dataclasses

import h5py
import numpy as np
import pytest

from neuropipe.core.errors import GraphError
from neuropipe.targets.base import Workload
from neuropipe.targets.chain import to_chain
from neuropipe.targets.loihi.emulator import emulate
from neuropipe.targets.loihi.lava_runner import run_in_lava
from neuropipe.targets.loihi.netx_export import run_netx, write_netx
from neuropipe.targets.loihi.quantize import quantize_chain, quantize_graded
from neuropipe.targets.loihi.target import LoihiTarget

EVENT_J = 23.6e-12  # graded events and synops: Davies et al. 2018 (graded: a stand-in)
UPDATE_J = 81e-12  # Davies et al. 2018

X = np.array([[1.0, 1.0, 0.0]])
T = 4


def test_hand_count_graded_input(tmp_path, hand_graph):
    """fc0 = [[1, 0.001, 0.5], [0.6, 0, 0.2]], IF threshold 0.9, fc1 = identity, x = (1, 1, 0).

    Quantisation (8-bit payloads win: the weights' limit 254 * 255 / 1.0 caps the scale at
    64770 < 2**17 / 1.501): weights 2 * rint(w * 254 / 2) = [[254, 0, 128], [152, 0, 50]],
    threshold rint(0.9 * 64770) = 58293. Payloads (255, 255, 0).
    """
    record = LoihiTarget().deploy(Workload(hand_graph, X, np.array([0]), timesteps=T,
                                           encoding="graded"), tmp_path, verify_samples=1)
    assert record.verification["spike_match"] == 1.0
    assert record.verification["netx_output_match"] == 1.0
    l0, l1 = record.layers
    q = l0.quantisation
    assert q["input_message_bits"] == 8 and q["du"] == -1 and q["weight_exp"] == 0
    assert q["vth_mant"] == 58293 and l0.synapses == 4 and l0.synapses_on == "chip"
    # Two nonzero payloads; deployed fan-out of input 0 is 2, of input 1 is 0 (0.001 -> 0).
    assert l0.graded_events_per_inference == 1 * 2 + 1 * 0
    assert l0.synops_per_inference == 0 and l0.host_macs_per_inference == 0
    # Held currents from step 1: n0 254 * 255 = 64770 > 58293 spikes on steps 1..5 (5);
    # n1 152 * 255 = 38760: v reaches 77520 on steps 2 and 4 (2 spikes).
    assert l0.spikes_per_inference == 5 + 2
    # Delivered spikes only: n0's spike on step 5, the run's last, never reaches fc1.
    assert l1.synops_per_inference == 6  # identity, fan-out 1
    steps = T + 2
    assert record.resources.steps_per_sample == steps
    c = record.counts
    assert (c.graded_events, c.synops, c.host_macs, c.neuron_updates) == (2, 6, 0, 4 * steps)
    assert c.input_spikes == 2
    assert record.energy_per_inference_j == pytest.approx((2 + 6) * EVENT_J + 24 * UPDATE_J)
    assert record.energy_per_inference_j == pytest.approx(2.1328e-9)
    assert record.host_energy_per_inference_j == 0.0
    assert any("stand-in" in n for n in record.notes)
    assert any(n.startswith("step convention with graded input") for n in record.notes)
    with h5py.File(tmp_path / "model.net") as f:
        assert f.attrs["input_message_bits"] == 8
        assert int(np.asarray(f["layer/1/neuron/iDecay"])) == 0  # netx: du = iDecay - 1
        assert np.array_equal(np.asarray(f["layer/1/weight"]), [[254, 0, 128], [152, 0, 50]])


def graded_inputs(layers, x, steps):
    spikes = np.zeros((steps, len(x), layers[0].layer.inputs), dtype=np.int32)
    spikes[0] = layers[0].graded_payload(x.reshape(len(x), -1))
    return spikes


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_emulator_matches_lava_and_netx_with_graded_input(rng, kind, make_dense_graph,
                                                          make_conv_graph, tmp_path):
    if kind == "dense":
        graph, x = make_dense_graph(rng, neuron="if"), rng.random((3, 20))
    else:
        graph, x = make_conv_graph(rng), rng.random((2, 1, 8, 8))
    layers = quantize_chain(to_chain(graph), "graded")
    assert layers[0].graded_max > 0 and layers[0].du == -1
    steps = 10 + len(layers)
    spikes = graded_inputs(layers, x, steps)
    emulated = emulate(layers, steps, input_spikes=spikes)
    lava = run_in_lava(layers, steps, None, spikes, len(x))
    total = 0
    for k in range(len(x)):
        for i, raster in enumerate(lava[k]):
            assert np.array_equal(emulated.spikes[i][:, k], raster), (k, i)
            total += raster.sum()
    assert total > 0
    write_netx(layers, tmp_path / "g.net")
    out = run_netx(tmp_path / "g.net", layers, steps, None, spikes, 1)
    assert np.array_equal(out[0], emulated.spikes[-1][:, 0])


def test_held_current_is_input_every_step_one_step_later(rng, make_dense_graph):
    """One graded spike at step 0 into a held current = the same payload sent every step."""
    layers = quantize_chain(to_chain(make_dense_graph(rng, neuron="if")), "graded")
    x = rng.random((4, 20))
    steps = 12
    once = emulate(layers, steps, input_spikes=graded_inputs(layers, x, steps))
    every = graded_inputs(layers, x, steps)
    every[:] = every[0]
    fresh = [dataclasses.replace(layers[0], du=4095), *layers[1:]]  # current not held
    repeated = emulate(fresh, steps, input_spikes=every)
    for a, b in zip(once.spikes, repeated.spikes, strict=True):
        assert np.array_equal(a, b)
    assert sum(s.sum() for s in once.spikes) > 0


def test_graded_current_fits_24_bits_and_8_bit_weights(rng, make_dense_graph):
    fx = quantize_graded(to_chain(make_dense_graph(rng, scale=3.0)).layers[0])
    assert fx.weight.min() >= -256 and fx.weight.max() <= 254 and fx.weight_exp == 0
    rows = fx.weight.reshape(fx.weight.shape[0], -1)
    worst = max(np.clip(rows, 0, None).sum(1).max(), -np.clip(rows, None, 0).sum(1).min())
    assert worst * fx.graded_max < 2**17  # no image in [0, 1] wraps the held current
    assert 15 <= fx.graded_max <= 255 and fx.input_message_bits == fx.graded_max.bit_length()


def test_graded_into_a_recurrent_first_layer_is_refused(rng, make_dense_graph):
    layer = to_chain(make_dense_graph(rng)).layers[0]
    layer = dataclasses.replace(layer, recurrent=np.eye(layer.neurons), recurrent_name="rec")
    with pytest.raises(GraphError, match="recurrent synapse: graded input needs a current"):
        quantize_graded(layer)


def test_layer_reports_written_before_graded_events_still_read():
    from neuropipe.targets.records import LayerReport

    report = LayerReport(name="fc0", kind="dense", neurons=2, graded_events_per_inference=3.5)
    assert LayerReport.from_dict(report.to_dict()) == report
    old = report.to_dict()
    del old["graded_events_per_inference"]
    assert LayerReport.from_dict(old).graded_events_per_inference == 0.0
