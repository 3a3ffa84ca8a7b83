"""Every figure taken over a test set is the same over several batches of unequal size as over
one batch: a figure kept from the last batch only (or the first) gives another number here."""

import numpy as np
import pytest
import torch

from neuropipe.targets.base import Workload
from neuropipe.targets.registry import get_target

N = 9  # batches of 4, 4 and 1: the last batch is one sample, unlike the mean of all nine


def _ann_onnx(path, sizes=(6, 5, 3), seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(sizes[0], sizes[1]), torch.nn.ReLU(),
                                torch.nn.Linear(sizes[1], sizes[2]))
    torch.onnx.export(model, (torch.zeros(1, sizes[0]),), str(path), dynamo=False,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    return str(path)


def _inputs(features, seed=1, low=0.0):
    x = np.random.default_rng(seed).uniform(low, 1.0, (N, features))
    x[x < 0.3] = 0.0  # a varying count of zero inputs per sample
    return x


def _labels():
    return np.array([0, 1, 2, 0, 1, 2, 0, 1, 0]) % 3


def _same(one, several):
    """The figures of two records, compared; returns the one-batch record's counts."""
    assert several.counts == one.counts
    assert several.accuracy == one.accuracy
    assert [lr.to_dict() for lr in several.layers] == [lr.to_dict() for lr in one.layers]
    assert several.energy_per_inference_j == pytest.approx(one.energy_per_inference_j)
    return one.counts


def _last_batch_differs(deploy, x, labels, counts, keys):
    """The last batch alone gives other figures: the comparison above can tell them apart."""
    last = deploy(x[-1:], labels[-1:], 1).counts
    assert any(getattr(last, k) != pytest.approx(getattr(counts, k)) for k in keys) or \
        last.ops != pytest.approx(counts.ops)


def test_host_ann_over_unequal_batches(tmp_path):
    onnx = _ann_onnx(tmp_path / "ann.onnx")
    x, labels = _inputs(6, low=-1.0).astype(np.float32), _labels()

    def deploy(xs, ys, b):
        out = tmp_path / f"out{b}-{len(xs)}"
        out.mkdir()
        return get_target("cpu").deploy(Workload(None, xs, ys, timesteps=1, onnx=onnx), out,
                                        batch_size=b)

    one, several = deploy(x, labels, N), deploy(x, labels, 4)
    counts = _same(one, several)
    assert 0 < counts.ops["effective_macs"] < counts.ops["dense_macs"]
    assert 0 < one.accuracy < 1
    _last_batch_differs(deploy, x, labels, counts, ())


def test_host_snn_over_unequal_batches(tmp_path, rng, make_recurrent_graph):
    graph = make_recurrent_graph(rng)
    x, labels = _inputs(6) * 2, _labels()

    def deploy(xs, ys, b):
        return get_target("cpu").deploy(Workload(graph, xs, ys, timesteps=6), tmp_path,
                                        batch_size=b)

    counts = _same(deploy(x, labels, N), deploy(x, labels, 4))
    assert counts.spikes > 0 and counts.ops["effective_acs"] > 0
    _last_batch_differs(deploy, x, labels, counts, ("spikes",))


@pytest.mark.parametrize("encoding", ["graded", "constant"])
def test_loihi_over_unequal_batches(encoding, tmp_path, rng, make_dense_graph):
    graph = make_dense_graph(rng, sizes=(6, 5, 3))
    x, labels = _inputs(6), _labels()

    def deploy(xs, ys, b):
        return get_target("loihi").deploy(Workload(graph, xs, ys, timesteps=6,
                                                   encoding=encoding), tmp_path,
                                          verify_samples=0, batch_size=b)

    counts = _same(deploy(x, labels, N), deploy(x, labels, 4))
    key = "graded_events" if encoding == "graded" else "synops"
    assert getattr(counts, key) > 0 and counts.spikes > 0
    _last_batch_differs(deploy, x, labels, counts, (key, "spikes"))


def test_loihi_sdnn_over_unequal_batches(tmp_path):
    onnx = _ann_onnx(tmp_path / "ann.onnx", seed=2)
    x, labels = _inputs(6), _labels()

    def deploy(xs, ys, b):
        out = tmp_path / f"sdnn{b}-{len(xs)}"
        out.mkdir()
        return get_target("loihi").deploy(Workload(None, xs, ys, timesteps=1, encoding="sdnn",
                                                   onnx=onnx), out, verify_samples=0,
                                          batch_size=b, calibration=x)

    counts = _same(deploy(x, labels, N), deploy(x, labels, 4))
    assert counts.graded_events > 0
    _last_batch_differs(deploy, x, labels, counts, ("graded_events",))


def test_asic_ann_over_unequal_batches(tmp_path):
    onnx = _ann_onnx(tmp_path / "ann.onnx", seed=3)
    x, labels = _inputs(6, low=-1.0).astype(np.float32), _labels()

    def deploy(xs, ys, b):
        out = tmp_path / f"asic{b}-{len(xs)}"
        out.mkdir()
        return get_target("asic").deploy(Workload(None, xs, ys, timesteps=1, onnx=onnx), out,
                                          batch_size=b)

    one, several = deploy(x, labels, N), deploy(x, labels, 4)
    counts = _same(one, several)
    assert [e.total_j for e in several.estimates] == pytest.approx(
        [e.total_j for e in one.estimates])
    _last_batch_differs(deploy, x, labels, counts, ())
