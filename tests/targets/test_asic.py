"""The asic target: one dense ANN layer and one dense SNN layer costed term by term by hand."""

import math

import nir
import numpy as np
import pytest
import torch

from neuropipe.targets.asic import costs
from neuropipe.targets.base import Workload
from neuropipe.targets.registry import get_target

W0 = np.array([[1.0, 0.001, 0.5], [0.6, 0.0, 0.2]])
# 8-bit, scale 1/127: 1.0 -> 127, 0.001 -> 0 (no synapse), 0.5 -> 64, 0.6 -> 76, 0.2 -> 25.

# The fit, written out: a + b sqrt(KiB) by least squares through Horowitz's three points.
A, B = 1.958615, 3.065908


def sram(size_bytes):
    return A + B * math.sqrt(size_bytes / 1024)


def test_the_sram_fit_goes_through_horowitz_s_three_points():
    assert costs.SRAM_A_PJ == pytest.approx(A, abs=1e-6)
    assert costs.SRAM_B_PJ == pytest.approx(B, abs=1e-6)
    # 8 KB: 10.63 (10), 32 KB: 19.30 (20), 1 MB: 100.07 (100) pJ per 64-bit read.
    assert [round(costs.sram_pj(k * 1024), 2) for k in (8, 32, 1024)] == [10.63, 19.30, 100.07]


def terms_pj(estimate):
    return {t.name: t.joules_per_inference * 1e12 for t in estimate.terms}


def one_layer_snn(neuron="if"):
    cells = (nir.IF(r=np.ones(2), v_threshold=np.full(2, 0.9), v_reset=np.zeros(2))
             if neuron == "if" else
             nir.LIF(tau=np.full(2, 2.0), r=np.ones(2), v_leak=np.zeros(2),
                     v_threshold=np.full(2, 0.9), v_reset=np.zeros(2)))
    nodes = {"input": nir.Input(input_type={"input": np.array([3])}),
             "fc0": nir.Affine(weight=W0, bias=np.zeros(2)), "if0": cells,
             "output": nir.Output(output_type={"output": np.array([2])})}
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))


def test_one_dense_snn_layer_by_hand(tmp_path):
    # Inputs 0 and 1 spike on each of 4 steps (0/1 pixels: Poisson is deterministic), input 2
    # never. Fan-out on 8-bit weights: input 0 -> 2, input 1 -> 0 (0.001 quantised to 0).
    # Neuron 0 gets 1.0 per step (> 0.9): 4 spikes; neuron 1 gets 76/127 = 0.598: 2 spikes.
    record = get_target("asic").deploy(Workload(one_layer_snn(), np.array([[1.0, 1.0, 0.0]]),
                                                np.array([0]), timesteps=4,
                                                encoding="poisson"), tmp_path)
    assert record.network == "snn" and record.accuracy == 1.0
    assert record.counts.synops == 8 and record.counts.spikes == 6
    assert record.counts.input_spikes == 8 and record.counts.neuron_updates == 8
    assert record.layers[0].quantisation["zero_after_quantisation"] == 1
    (estimate,) = record.estimates
    assert estimate.cost_model == "asic45-snn" and estimate.level == "chip"
    # Memories: weights 6 B, potentials 8 B, biases 8 B, input queue 12 B, output queue 8 B.
    by_hand = {
        "spike_queue_write": 8 * sram(12) + 6 * sram(8),  # input spikes, then the layer's
        "spike_queue_read": 8 * sram(12) + 6 * sram(8),
        "synops_weight_read": 8 * sram(6),
        "synops_add": 8 * 0.1,
        "synops_potential_rw": 16 * sram(8),
        "neuron_bias_read": 8 * sram(8),  # 2 neurons x 4 steps
        "neuron_potential_rw": 16 * sram(8),
        "neuron_bias_add": 8 * 0.1,
        "neuron_threshold": 8 * 0.1,  # an IF neuron: no leak
    }
    assert terms_pj(estimate) == pytest.approx(by_hand)
    assert record.energy_per_inference_j == pytest.approx(sum(by_hand.values()) * 1e-12)
    assert all(t.level == "chip" and t.source for t in estimate.terms)


def test_an_analogue_first_layer_is_graded_once_per_sample(tmp_path):
    # Constant input [1, 1, 0], LIF (alpha 0.5): pixels 0 and 1 are read once; graded events
    # = fan-out 2 + 0 = 2, each a weight read, a MAC and a held-current read and write.
    record = get_target("asic").deploy(Workload(one_layer_snn("lif"),
                                                np.array([[1.0, 1.0, 0.0]]), np.array([0]),
                                                timesteps=4), tmp_path)
    assert record.counts.graded_events == 2 and record.counts.synops == 0
    assert record.counts.input_spikes == 0 and record.layers[0].ops["graded_events"] == 2
    # Neuron 0 (v += 0.5 (1.0 - v)): 0.5, 0.75, 0.875, 0.9375 > 0.9: one spike, on step 4;
    # neuron 1 (76/127 = 0.598 per step) stays below 0.9.
    spikes = 1
    assert record.counts.spikes == spikes
    pj = terms_pj(record.default_estimate)
    assert pj == pytest.approx({
        "graded_input_read": 2 * sram(3),  # 3 pixels x 1 byte
        "graded_weight_read": 2 * sram(6),
        "graded_mac": 2 * 0.3,
        "graded_current_rw": 4 * sram(8),
        "graded_bias_read": 2 * sram(8),
        "graded_bias_add": 2 * 0.1,
        "neuron_bias_read": 8 * sram(8),  # the held current, every step
        "neuron_potential_rw": 16 * sram(8),
        "neuron_bias_add": 8 * 0.1,
        "neuron_leak": 8 * 3.1,
        "neuron_threshold": 8 * 0.1,
        "spike_queue_write": spikes * sram(8),
        "spike_queue_read": spikes * sram(8),
    })


class _OneLayer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc0 = torch.nn.Linear(3, 2)
        with torch.no_grad():
            self.fc0.weight.copy_(torch.tensor(W0))
            self.fc0.bias.zero_()

    def forward(self, x):
        return self.fc0(x)


def test_one_dense_ann_layer_by_hand(tmp_path):
    path = tmp_path / "one.onnx"
    torch.onnx.export(_OneLayer(), (torch.zeros(1, 3),), str(path), dynamo=False,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    out = tmp_path / "out"
    out.mkdir()
    x = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]], dtype=np.float32)
    record = get_target("asic").deploy(Workload(None, x, np.array([0, 0]), timesteps=1,
                                                onnx=str(path)), out)
    assert record.network == "ann" and record.accuracy == 1.0
    # Dense: 6 connections per image. Zero-skip on 8-bit weights: image 1 has pixels 0 and 1
    # (fan-out 2 and 0: 0.001 quantises to 0), image 2 pixel 2 (fan-out 2): 2 per image;
    # nonzero inputs read: (2 + 1) / 2 = 1.5.
    assert record.counts.ops == {"dense_macs": 6, "dense_acs": 0, "effective_macs": 2,
                                 "effective_acs": 0}
    # Memories: weights 6 B, inputs 3 B, biases 2 x 4 B, outputs 2 B.
    shared = {"ann_bias_read": 2 * sram(8), "ann_bias_add": 2 * 0.1,
              "ann_output_write": 2 * sram(2)}
    e = {est.cost_model: est for est in record.estimates}
    assert terms_pj(e["asic45-ann-dense"]) == pytest.approx({
        "ann_weight_read": 6 * sram(6), "ann_mac": 6 * 0.3, "ann_input_read": 3 * sram(3),
        **shared})
    assert terms_pj(e["asic45-ann-zero-skip"]) == pytest.approx({
        "ann_weight_read": 2 * sram(6), "ann_mac": 2 * 0.3, "ann_input_read": 1.5 * sram(3),
        **shared})
    assert record.default_estimate.cost_model == "asic45-ann-zero-skip"
    assert (out / "model.onnx").is_file()


def test_counts_over_several_batches_equal_one_batch(tmp_path, rng, make_recurrent_graph):
    graph = make_recurrent_graph(rng)
    x = np.random.default_rng(1).random((12, 6)) * 2
    records = [get_target("asic").deploy(Workload(graph, x, np.zeros(12, int), timesteps=8),
                                         tmp_path, batch_size=b) for b in (12, 5)]
    one, several = records
    assert several.counts == one.counts
    assert several.energy_per_inference_j == pytest.approx(one.energy_per_inference_j)
    kinds = {t.name: t.kind for t in one.default_estimate.terms}
    assert kinds["readout_mac"] == "host" and kinds["synops_weight_read"] == "dynamic"
    # The recurrent synapse's events are synops with their own weight memory (25 B).
    recurrent = next(t for t in one.default_estimate.terms if t.name == "synops_weight_read")
    assert "rec:" in recurrent.note and "(25 B SRAM)" in recurrent.note
