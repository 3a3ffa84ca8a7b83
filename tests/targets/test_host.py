"""The host targets: operations and every cost model's energy worked out by hand."""

import contextlib

import numpy as np
import pytest
import torch

from neuropipe.targets.base import Workload
from neuropipe.targets.registry import get_target

W0 = np.array([[1.0, 0.001, 0.5], [0.6, 0.0, 0.2]])
X = np.array([[1.0, 1.0, 0.0]])  # 0/1 inputs: Poisson encoding is deterministic
T = 4




def by_model(record):
    return {e.cost_model: e for e in record.estimates}


def test_a_spiking_network_on_the_cpu_by_hand(tmp_path, hand_graph):
    record = get_target("cpu").deploy(Workload(hand_graph, X, np.array([0]), timesteps=T,
                                               encoding="poisson"), tmp_path)
    l0, l1 = record.layers
    # Every step a dense pass: 6 and 4 weights (zeros included) x 4 steps, all ACs (spikes).
    assert (l0.ops, l1.ops) == ({"dense": 24, "effective": 12, "op": "AC"},
                                {"dense": 16, "effective": 6, "op": "AC"})
    # Effective: inputs 0 and 1 spike 4 times, fan-out 2 and 1 (float weights: 0.001 counts);
    # hidden n0 fires 4 times, n1 twice (0.6 per step against 0.9), identity fan-out 1.
    assert record.counts.ops == {"dense_macs": 0, "dense_acs": 40, "effective_macs": 0,
                                 "effective_acs": 18}
    assert record.counts.neuron_updates == 4 * T and record.accuracy == 1.0
    e = by_model(record)
    assert e["degnan-cpu"].default and e["degnan-cpu"].level == "system"
    assert e["degnan-cpu"].total_j == pytest.approx((40 + 16) * 8.6e-9)  # 481.6 nJ
    assert e["degnan-arm"].total_j == pytest.approx(56 * 0.9e-9)
    assert e["horowitz-fp32"].total_j == pytest.approx(40 * 0.9e-12 + 16 * 4.6e-12)  # 109.6 pJ
    assert e["horowitz-fp32-effective"].total_j == pytest.approx(18 * 0.9e-12 + 16 * 4.6e-12)
    assert e["horowitz-int8"].total_j == pytest.approx(40 * 0.03e-12 + 16 * 0.23e-12)
    assert e["horowitz-fp32"].level == "arithmetic"
    assert record.energy_per_inference_j == e["degnan-cpu"].total_j


def test_analogue_input_makes_the_first_layer_macs(tmp_path, hand_graph):
    record = get_target("cpu").deploy(Workload(hand_graph, X, np.array([0]), timesteps=T),
                                      tmp_path)
    # Two nonzero pixels on 4 steps, fan-out 2 and 1: 12 effective MACs of 24 dense.
    assert record.counts.ops == {"dense_macs": 24, "dense_acs": 16, "effective_macs": 12,
                                 "effective_acs": 6}
    assert by_model(record)["horowitz-fp32"].total_j == pytest.approx(
        24 * 4.6e-12 + 16 * 0.9e-12 + 16 * 4.6e-12)  # 198.4 pJ


class _TinyAnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc0 = torch.nn.Linear(3, 2)
        self.fc1 = torch.nn.Linear(2, 2)
        with torch.no_grad():
            self.fc0.weight.copy_(torch.tensor(W0))
            self.fc0.bias.zero_()
            self.fc1.weight.copy_(torch.eye(2))
            self.fc1.bias.zero_()

    def forward(self, x):
        return self.fc1(torch.relu(self.fc0(x)))


@pytest.fixture
def tiny_onnx(tmp_path):
    path = tmp_path / "model.onnx"
    torch.onnx.export(_TinyAnn(), (torch.zeros(1, 3),), str(path), dynamo=False,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    return path


class _FakeMeter:
    """Stands in for the meter of a machine with RAPL: 2 J over the window."""

    @contextlib.contextmanager
    def window(self, name):
        from neuropipe.reports.meter.records import ComponentEnergy, Measurement

        handle = type("H", (), {"result": None})()
        yield handle
        handle.result = Measurement(name=name, duration_s=0.5, components=[
            ComponentEnergy("cpu", 1.5, "rapl"), ComponentEnergy("dram", 0.5, "rapl")])


def test_an_ann_runs_as_its_onnx_model_by_hand(tmp_path, tiny_onnx):
    x = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]], dtype=np.float32)
    out = tmp_path / "out"
    out.mkdir()
    record = get_target("cpu").deploy(Workload(None, x, np.array([0, 0]), timesteps=1,
                                               onnx=str(tiny_onnx)), out, meter=_FakeMeter())
    # Dense: 6 + 4 MACs per image. Effective, image 1: pixels 0 and 1 (fan-out 2 and 1) = 3,
    # hidden relu(1.001, 0.6) both nonzero x 1 = 2; image 2: pixel 2 (fan-out 2) = 2, hidden
    # relu(1.0, 0.4) = 2. Mean: (5 + 4) / 2 = 4.5.
    assert record.counts.ops == {"dense_macs": 10, "dense_acs": 0, "effective_macs": 4.5,
                                 "effective_acs": 0}
    assert record.accuracy == 1.0 and (out / "model.onnx").is_file()
    e = by_model(record)
    assert e["degnan-cpu"].total_j == pytest.approx(10 * 8.6e-9)
    assert e["horowitz-fp32-effective"].total_j == pytest.approx(4.5 * 4.6e-12)
    measured = e["meter"]
    assert measured.level == "measured" and measured.total_j == pytest.approx(2.0 / 2)
    assert {t.name: t.joules_per_inference for t in measured.terms} == {"cpu": 0.75,
                                                                        "dram": 0.25}
    assert record.verification["warmup_batches"] == 1 and record.verification["batch_size"]


def test_a_gpu_missing_here_counts_and_costs_but_never_reads_zero(tmp_path, tiny_onnx):
    from neuropipe.targets.host.target import cuda_status

    if cuda_status()[0]:
        pytest.skip("a CUDA device is present: measured on it instead")
    out = tmp_path / "out"
    out.mkdir()
    record = get_target("gpu").deploy(Workload(None, X.astype(np.float32), np.array([0]),
                                               timesteps=1, onnx=str(tiny_onnx)), out,
                                      meter=_FakeMeter())
    e = by_model(record)
    assert e["degnan-gpu"].default and e["degnan-gpu"].total_j == pytest.approx(10 * 0.3e-9)
    (term,) = e["meter"].terms
    assert term.joules_per_inference is None and term.method == "not-estimated"
    assert "no CUDA device here" in term.note
    assert record.verification["measured_on_device"] is False


def test_an_onnx_operator_without_a_count_is_refused_naming_it(tmp_path):
    from neuropipe.core.errors import GraphError

    path = tmp_path / "pool.onnx"
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.MaxPool2d(2))
    torch.onnx.export(model, (torch.zeros(1, 1, 6, 6),), str(path), dynamo=False,
                      input_names=["image"])
    with pytest.raises(GraphError, match=r"ONNX node '.*' \(MaxPool\) has no operation count"):
        get_target("cpu").deploy(Workload(None, np.zeros((1, 1, 6, 6), np.float32),
                                          np.zeros(1), timesteps=1, onnx=str(path)), tmp_path)
