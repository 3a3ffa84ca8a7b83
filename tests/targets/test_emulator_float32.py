"""The emulator's synapse sums in float32 only where every partial sum is an exact integer."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from neuropipe.targets.loihi.emulator import F32_EXACT, exact_float, synapse


def test_the_float_type_follows_the_bound() -> None:
    w = np.full((2, 3), 254.0)  # a row's absolute sum: 762
    spikes = torch.ones(4, 3, dtype=torch.bool)
    assert exact_float(w, spikes) == torch.float32
    payload = torch.full((4, 3), F32_EXACT // 762, dtype=torch.int64)  # 762 * 22017 <= 2^24
    assert exact_float(w, payload) == torch.float32
    assert exact_float(w, payload + 1) == torch.float64  # 762 * 22018 > 2^24
    assert exact_float(w, torch.zeros(0, 3, dtype=torch.bool)) == torch.float32


def conv_layer(weight: np.ndarray) -> SimpleNamespace:
    layer = SimpleNamespace(kind="conv", in_shape=(16, 14, 14), stride=(2, 2), padding=(2, 2))
    return SimpleNamespace(layer=layer, weight=weight, weight_exp=0)


def test_a_float32_conv_equals_the_float64_one_at_the_bound() -> None:
    """Graded payloads that bring the largest possible sum to just under 2^24: equal sums."""
    rng = np.random.default_rng(0)
    weight = rng.choice(np.arange(-256, 255, 2), size=(32, 16, 5, 5)).astype(np.float64)
    fan = np.abs(weight).reshape(32, -1).sum(axis=1).max()
    top = int(F32_EXACT // fan)
    x = rng.integers(-top, top + 1, size=(8, 16, 14, 14))
    # samples 0-3: the input under the centre output (3, 3) of the channel with the largest
    # fan carries its weights' signs, so that its sum is fan * top, just under 2^24
    c = int(np.abs(weight).reshape(32, -1).sum(axis=1).argmax())
    x[:4, :, 4:9, 4:9] = top * np.sign(weight[c])
    x = torch.as_tensor(x.reshape(8, -1), dtype=torch.int64)
    fixed = conv_layer(weight)
    assert exact_float(weight, x) == torch.float32
    exact = torch.nn.functional.conv2d(x.to(torch.float64).reshape(8, 16, 14, 14),
                                       torch.as_tensor(weight), stride=2, padding=2)
    assert exact[:4, c, 3, 3].abs().min() == fan * top > F32_EXACT - fan
    exact = torch.remainder(exact.round().to(torch.int64).reshape(8, -1) + 2**23, 2**24) - 2**23
    assert torch.equal(synapse(fixed, x), exact)


def test_decay_rounds_towards_zero_as_lava() -> None:
    """The shift form equals sign(p) * (|p| >> 12), p = x * (4096 - d), by hand and over a range."""
    from neuropipe.targets.loihi.emulator import _decay

    x = torch.tensor([-1, -5, 5, -4097, 4097, 4096, -4096], dtype=torch.int64)
    assert _decay(x, 0).tolist() == [-1, -5, 5, -4097, 4097, 4096, -4096]  # no decay
    assert _decay(x, 4095).tolist() == [0, 0, 0, -1, 1, 1, -1]
    assert _decay(x, 1).tolist() == [0, -4, 4, -4095, 4095, 4095, -4095]  # 4097 x 4095 = 2^24 - 1
    x = torch.arange(-2**16, 2**16, dtype=torch.int64)
    for d in (0, 1, 7, 2048, 4095):
        prod = x * (4096 - d)
        assert torch.equal(_decay(x, d),
                           torch.sign(prod) * torch.div(prod.abs(), 4096, rounding_mode="floor"))
