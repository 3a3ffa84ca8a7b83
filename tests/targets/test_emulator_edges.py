"""The emulator against Lava where the two could part: saturation, wrap-around, rounding, axes.

Each network is built by hand as ``FixedLayer`` objects so that it can sit exactly in the regime
under test (weights and thresholds a quantiser would never produce). Lava is stepped one step
at a time and its ``u`` and ``v`` read after every step; the emulator's state is read by a spy on
its decay helper, which sees every neuron's ``u`` and ``v`` at the start of each step. Both must
agree on every neuron at every step, not only on spikes.
"""

import numpy as np
import pytest

from neuropipe.targets.chain import Layer, Neuron
from neuropipe.targets.loihi import emulator
from neuropipe.targets.loihi.lava_runner import LavaNetwork, _from_xyf, spikes_for_lava
from neuropipe.targets.loihi.quantize import FixedLayer

UV = 2**23


def dense(weight, bias_mant, bias_exp=0, dv=0, vth=100):
    weight = np.asarray(weight, dtype=np.int64)
    out, inp = weight.shape
    layer = Layer("fc", "dense", weight.astype(float), np.zeros(out), (inp,), (out,),
                  Neuron("if", 1.0, 1.0, 0.0, 1.0))
    return FixedLayer(layer, True, 1.0, weight, 0, np.asarray(bias_mant, dtype=np.int64),
                      bias_exp, dv, 4095, vth, 0.0)


def conv(weight, in_shape, stride, padding, bias_mant=0, dv=0, vth=100):
    weight = np.asarray(weight, dtype=np.int64)
    c, h, w = in_shape
    kh, kw = weight.shape[2:]
    oh = (h + 2 * padding[0] - kh) // stride[0] + 1
    ow = (w + 2 * padding[1] - kw) // stride[1] + 1
    out_shape = (weight.shape[0], oh, ow)
    layer = Layer("conv", "conv", weight.astype(float), np.zeros(weight.shape[0]), in_shape,
                  out_shape, Neuron("if", 1.0, 1.0, 0.0, 1.0), stride=stride, padding=padding)
    neurons = int(np.prod(out_shape))
    return FixedLayer(layer, True, 1.0, weight, 0, np.full(neurons, bias_mant, dtype=np.int64),
                      0, dv, 4095, vth, 0.0)


def emulated_states(layers, steps, input_spikes, monkeypatch):
    """Spikes and per-step (u, v) of sample 0, after each of ``steps`` steps."""
    seen = []
    real = emulator._decay

    def spy(x, d):
        seen.append(x[0].clone().numpy())
        return real(x, d)

    monkeypatch.setattr(emulator, "_decay", spy)
    padded = np.concatenate([input_spikes, np.zeros_like(input_spikes[:1])])
    result = emulator.emulate(layers, steps + 1, input_spikes=padded)
    monkeypatch.setattr(emulator, "_decay", real)
    per_step = len(layers) * 2  # each step decays every layer's u, then its v
    states = [[(seen[(t + 1) * per_step + 2 * i], seen[(t + 1) * per_step + 2 * i + 1])
               for i in range(len(layers))] for t in range(steps)]
    return [s[:steps, 0] for s in result.spikes], states


def lava_states(layers, steps, input_spikes):
    """Lava's spikes and its (u, v) of every layer after each step, one sample."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    net = LavaNetwork(layers, steps)
    net.source.data.init = spikes_for_lava(input_spikes[:, 0], layers[0].layer.in_shape)
    states = []

    def flat(var, fx):
        data = np.asarray(var.get())
        return _from_xyf(data, fx.layer.out_shape) if data.ndim == 3 else data.reshape(-1)

    try:
        for _ in range(steps):
            net.lifs[0].run(condition=RunSteps(num_steps=1),
                            run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
            net._started = True
            states.append([(flat(lif.u, fx), flat(lif.v, fx))
                           for lif, fx in zip(net.lifs, net.layers, strict=True)])
        spikes = []
        for fx, sink in zip(net.layers, net.sinks, strict=True):
            data = sink.data.get()
            if len(fx.layer.out_shape) == 3:
                data = _from_xyf(data, fx.layer.out_shape)
            spikes.append(np.asarray(data).T.astype(bool))
    finally:
        net.stop()
    return spikes, states


def assert_same(layers, steps, input_spikes, monkeypatch):
    mine, my_states = emulated_states(layers, steps, input_spikes, monkeypatch)
    lava, lava_st = lava_states(layers, steps, input_spikes)
    for t in range(steps):
        for i in range(len(layers)):
            assert np.array_equal(my_states[t][i][0], lava_st[t][i][0]), ("u", t, i)
            assert np.array_equal(my_states[t][i][1], lava_st[t][i][1]), ("v", t, i)
    for i, raster in enumerate(lava):
        assert np.array_equal(mine[i], raster), ("spikes", i)
    return mine, my_states


def test_wrap_saturation_and_negative_decay_match_lava(monkeypatch):
    n_in, steps = 602, 20
    w = np.zeros((5, n_in), dtype=np.int64)
    w[0, :600] = 254  # 600 x 254 x 64 = 9,753,600 > 2^23: u wraps to a negative value
    w[1, :600] = -256  # -9,830,400 <= -2^23: u wraps to a positive value
    w[2, 600] = -200  # one negative kick, then decay toward zero with an odd bias
    w[3, 601] = 150
    w[4, 601] = -2  # small negative kicks: -128 decays to -96, not -97 (toward zero)
    first = dense(w, [0, 0, -3, 5, 0], dv=1000, vth=100)
    # Second layer: a threshold no membrane can reach, driven to +-saturation by its bias.
    second = dense(np.full((2, 5), 2), [4095, -4096], bias_exp=7, dv=0, vth=2**18)
    spikes = np.zeros((steps, 1, n_in), dtype=bool)
    spikes[:3, 0, :600] = True
    spikes[0, 0, 600] = True
    spikes[[0, 2, 5], 0, 601] = True
    mine, states = assert_same([first, second], steps, spikes, monkeypatch)

    u = np.array([s[0][0] for s in states])
    v = np.array([s[0][1] for s in states])
    # The buffer delivers step t's input at step t + 1.
    assert u[1, 0] == 600 * 254 * 64 - 2 * UV and u[1, 1] == -600 * 256 * 64 + 2 * UV
    assert v.min() == -(UV - 1)  # neuron 0 saturates at the negative limit
    assert mine[0][:, 1].sum() == 3  # the wrapped-positive neuron fires on each arrival
    # Neuron 2: v = trunc(v * (4096 - 1000) / 4096) + u - 3 (truncation toward zero).
    expected = [-3]
    for t in range(1, 7):
        expected.append(-(-expected[-1] * 3096 >> 12) + (-200 * 64 if t == 1 else 0) - 3)
    assert v[:7, 2].tolist() == expected
    assert v[1:4, 4].tolist() == [-128, -96, -72 - 128]
    v2 = np.array([s[1][1] for s in states])
    assert v2[:, 0].max() == UV - 1 and v2[:, 1].min() == -(UV - 1)
    assert not mine[1].any()


def test_non_square_conv_with_unequal_stride_and_padding_matches_lava(monkeypatch):
    rng = np.random.default_rng(5)
    in_shape = (2, 7, 10)  # C, H, W
    w0 = rng.integers(-64, 64, (3, 2, 3, 4)) * 2  # non-square kernel
    first = conv(w0, in_shape, stride=(2, 1), padding=(1, 2), bias_mant=3, dv=600, vth=60)
    assert first.layer.out_shape == (3, 4, 11)
    w1 = rng.integers(-40, 100, (2, 3, 2, 3)) * 2
    second = conv(w1, first.layer.out_shape, stride=(1, 3), padding=(0, 1), vth=40)
    assert second.layer.out_shape == (2, 3, 4)
    steps = 8
    spikes = rng.random((steps, 1, 2 * 7 * 10)) < 0.4  # Poisson input into a conv
    spikes[-2:] = False
    mine, _ = assert_same([first, second], steps, spikes, monkeypatch)
    assert mine[0].sum() > 10 and mine[1].sum() > 3


def test_conv_accumulator_wraps_at_24_bits_like_lava(monkeypatch):
    # Lava's Conv keeps its accumulator in 24 signed bits: two inputs of 2^22 make -2^23.
    w = np.zeros((2, 1, 1, 2), dtype=np.int64)
    w[0, 0, 0, :] = 2**22
    w[1, 0, 0, :] = 2**21
    layer = conv(w, (1, 1, 2), stride=(1, 1), padding=(0, 0), vth=2**17 - 1)
    spikes = np.zeros((3, 1, 2), dtype=bool)
    spikes[0] = True
    _, states = assert_same([layer], 3, spikes, monkeypatch)
    u = states[1][0][0]  # after the step that received the accumulation
    assert u[0] == -(2**23) * 64 + 2 * UV  # 2^23 wrapped to -2^23, shifted, u's own wrap
    assert u[1] == 2**22 * 64 - 2 * UV


@pytest.mark.parametrize("x, d, expected", [
    (-5, 2048, -2), (5, 2048, 2), (-4097, 1, -4095), (-1, 0, -1), (-3, 4095, 0),
    (4095, 4096, 0), (-8, 1024, -6),
])
def test_decay_rounds_toward_zero(x, d, expected):
    import torch

    assert emulator._decay(torch.tensor([x]), d).item() == expected


@pytest.mark.parametrize("u, expected", [
    (UV, UV), (UV + 1, -UV + 1), (-UV, UV), (-UV + 1, -UV + 1), (3 * UV, UV), (0, 0),
])
def test_u_wraps_like_lava(u, expected):
    import torch

    assert emulator._wrap_u(torch.tensor([u])).item() == expected
