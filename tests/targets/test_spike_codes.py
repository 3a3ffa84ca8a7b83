"""Spike codes (rate, latency): rasters worked out by hand, the same in torch and numpy, and
each target fed exactly that raster (input spike counts by hand, the device's own simulator
spike for spike)."""

import numpy as np
import pytest
import torch

from neuropipe.core.spike_codes import SPIKE_ENCODINGS, spike_raster
from neuropipe.models.encoding import encode_step
from neuropipe.targets.base import Workload
from neuropipe.targets.registry import get_target, target_names

X = np.array([[0.0, 0.25, 0.5, 1.0, 1 / 255, 200 / 255]], dtype=np.float32)


def test_rate_raster_by_hand():
    r = spike_raster(X, 8, "rate")[:, 0].T.astype(int)
    assert r[0].tolist() == [0] * 8  # 0 never spikes
    assert r[1].tolist() == [0, 0, 0, 1, 0, 0, 0, 1]  # 0.25: every 4th step
    assert r[2].tolist() == [0, 1] * 4
    assert r[3].tolist() == [1] * 8
    assert r[4].sum() == 0  # floor(8 / 255) = 0
    assert r.sum(axis=1).tolist() == [int(np.floor(8 * float(x))) for x in X[0]]


def test_latency_raster_by_hand():
    r = spike_raster(X, 8, "latency")[:, 0].T.astype(int)
    assert r.sum(axis=1).tolist() == [0, 1, 1, 1, 1, 1]  # one spike per nonzero pixel
    first = [int(np.argmax(row)) for row in r[1:]]
    # floor((1 - x) * 8): 0.25 -> 6, 0.5 -> 4, 1 -> 0, 1/255 -> floor(7.97) = 7, 200/255 -> 1
    assert first == [6, 4, 0, 7, 1]


@pytest.mark.parametrize("encoding", ["rate", "latency"])
def test_torch_steps_equal_the_numpy_raster(encoding):
    x = (np.random.default_rng(1).integers(0, 256, (5, 40)) / 255).astype(np.float32)
    steps = 16
    torch_raster = np.stack([encode_step(torch.as_tensor(x), encoding, None, t, steps).numpy()
                             for t in range(steps)])
    assert np.array_equal(torch_raster.astype(bool), spike_raster(x, steps, encoding))


def test_poisson_raster_is_the_old_draw():
    x = np.random.default_rng(2).random((3, 7))
    expected = np.random.default_rng(5).random((4, 3, 7)) < x[None]
    assert np.array_equal(spike_raster(x, 4, "poisson", np.random.default_rng(5)), expected)


@pytest.mark.parametrize("encoding", ["rate", "latency"])
@pytest.mark.parametrize("name", ["loihi", "spinnaker", "cpu", "asic"])
def test_each_target_is_fed_the_code(name, encoding, rng, make_dense_graph, tmp_path):
    if name not in target_names():
        pytest.skip(f"{name} not registered")
    target = get_target(name)
    if not target.availability().available:
        pytest.skip(f"{name} unavailable here")
    assert set(SPIKE_ENCODINGS) <= set(target.encodings)
    x = (rng.integers(0, 256, (6, 20)) / 255).astype(np.float32)
    x[:, :4] = 0  # pixels at 0: no spike in either code
    T = 8
    record = target.deploy(Workload(make_dense_graph(rng, sizes=(20, 16, 4), scale=1.5), x,
                                    rng.integers(0, 4, 6), timesteps=T, encoding=encoding),
                           tmp_path, verify_samples=2 if name in ("loihi", "spinnaker") else 0)
    by_hand = (np.count_nonzero(x) if encoding == "latency"
               else np.floor(T * x.astype(np.float64)).sum()) / len(x)
    assert record.counts.input_spikes == pytest.approx(by_hand)
    if name in ("loihi", "spinnaker"):  # Lava, NEST: the same spikes as the fast path
        assert record.verification["spike_match"] == 1.0
