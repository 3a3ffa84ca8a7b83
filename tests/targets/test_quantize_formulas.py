"""Loihi quantisation against its formulas, on values worked out by hand (no emulator involved).

dv = round(4096 * dt / tau); vth = round(S * v_th); weights = 2 * rint(gain * W * S / 2) in
[-256, 254]; on-chip biases = rint(64 * S * (leak * v_leak + gain * b)) with exponent 6; host
layers pick the smallest bias exponent whose 13-bit mantissa holds the largest input current.
"""

import tempfile

import nir
import numpy as np
import pytest
from hypothesis import configuration, given, settings
from hypothesis import strategies as st

from neuropipe.targets.base import Workload
from neuropipe.targets.chain import Layer, Neuron
from neuropipe.targets.loihi.quantize import (
    fit_bias,
    host_input_bound,
    host_input_bounds,
    quantize_layer,
    static_bias,
)

# Hypothesis keeps a cache of the code's constants: outside the project tree.
configuration.set_hypothesis_home_dir(f"{tempfile.gettempdir()}/neuropipe-hypothesis")


def dense(w, b, neuron):
    w = np.asarray(w, dtype=float)
    return Layer("fc", "dense", w, np.asarray(b, dtype=float), (w.shape[1],), (w.shape[0],),
                 neuron)


@pytest.mark.parametrize("tau, dv", [
    (1.0, 4096), (2.0, 2048), (3.0, 1365), (4.0, 1024), (5.0, 819), (7.0, 585), (10.0, 410),
    (100.0, 41), (4096.0, 1), (10000.0, 0),
])
def test_dv_is_4096_dt_over_tau_rounded(tau, dv):
    layer = dense([[1.0]], [0.0], Neuron("lif", 1.0 / tau, 1.0, 0.0, 1.0))
    fx = quantize_layer(layer, on_chip_synapses=True)
    assert fx.dv == dv and fx.du == 4095


def test_if_neurons_do_not_decay():
    fx = quantize_layer(dense([[1.0]], [0.0], Neuron("if", 1.0, 1.0, 0.0, 1.0)), True)
    assert fx.dv == 0 and fx.du == 4095


def test_on_chip_layer_by_hand():
    # LIF, tau 4 (alpha 0.25), r 1: gain 0.25. Largest |gain * W| = 0.5, so the weight limit
    # gives S = 254 / 0.5 = 508 (the threshold allows 131071, the bias 4095*64/(64*0.1)).
    w = [[2.0, -1.0, 0.3], [0.0, 1.5, -2.0]]
    fx = quantize_layer(dense(w, [0.4, -0.2], Neuron("lif", 0.25, 1.0, 0.0, 1.0)), True)
    assert fx.scale == pytest.approx(508.0)
    assert fx.vth == 508 and fx.dv == 1024 and fx.weight_exp == 0
    # 0.25 * W * 508 / 2 = [[127, -63.5, 19.05], [0, 95.25, -127]]; rint, then x 2.
    assert fx.weight.tolist() == [[254, -128, 38], [0, 190, -254]]
    assert fx.weight.dtype == np.int64
    # Bias 64 * 508 * 0.25 * b = [3251.2, -1625.6] in units of 2^6: mantissas 51 and -25.
    assert fx.bias_exp == 6 and fx.bias_mant.tolist() == [51, -25]
    assert fx.max_weight_error == pytest.approx(1 / 127)  # -128/127 against -1


def test_v_leak_enters_the_bias():
    # IF has no leak: v_leak is ignored; LIF adds leak * v_leak = 0.5 * 0.2 = 0.1 per step.
    lif = quantize_layer(dense([[0.5]], [0.0], Neuron("lif", 0.5, 1.0, 0.2, 1.0)), True)
    # Limits: weights 254 / 0.25 = 1016, bias 4095 / 0.1 = 40950: S = 1016.
    assert lif.scale == pytest.approx(1016.0)
    assert lif.bias_mant.tolist() == [round(0.1 * 1016)]
    assert lif.vth == 1016 and lif.weight.tolist() == [[254]]
    if_ = quantize_layer(dense([[0.5]], [0.0], Neuron("if", 1.0, 1.0, 0.2, 1.0)), True)
    assert if_.bias_mant.tolist() == [0] and if_.scale == pytest.approx(508.0)


def test_threshold_and_bias_limits_bind():
    # Threshold 0.001 with tiny weights: S = 131071 / 0.001 would overflow 8-bit weights?
    # No: weight limit 254 / 1e-6 is larger, so the 17-bit threshold binds.
    fx = quantize_layer(dense([[1e-6]], [0.0], Neuron("if", 1.0, 1.0, 0.0, 0.001)), True)
    assert fx.vth == 2**17 - 1 and fx.scale == pytest.approx(131071 / 0.001)
    # A bias of 10 per step against weights of 0.01: the bias mantissa binds at 4095 << 6.
    fx = quantize_layer(dense([[0.01]], [10.0], Neuron("if", 1.0, 1.0, 0.0, 1.0)), True)
    assert fx.scale == pytest.approx(4095 / 10.0)
    assert fx.bias_mant.tolist() == [4095] and fx.vth == round(409.5)
    assert fx.weight.tolist() == [[2 * round(0.01 * 409.5 / 2)]]


def test_host_layer_bias_exponent_and_per_sample_bias():
    # Inputs in [0, 1]: the largest current is max(1 + 0.5 + 0.1, |-2 + 0.1|) = 1.9.
    layer = dense([[1.0, -2.0, 0.5]], [0.1], Neuron("if", 1.0, 1.0, 0.0, 1.0))
    fx = quantize_layer(layer, on_chip_synapses=False)
    scale = 4095 * 2**7 / (64 * 1.9)
    assert fx.scale == pytest.approx(scale)
    assert fx.bias_exp == 7  # 1.9 * S * 64 = 4095 * 128: exponent 6 would need 8190
    assert fx.vth == round(scale) and fx.weight.size == 0
    assert fx.bias_mant.tolist() == [0]
    mant, clipped = fx.input_bias(np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))
    assert clipped == 0
    assert mant[:, 0].tolist() == [round(1.6 * scale * 64 / 128), round(-1.9 * scale * 64 / 128)]
    assert mant[1, 0] == -4095
    # A batch of small currents keeps the layer's exponent (7), not the smallest that fits it.
    small, _ = fx.input_bias(np.array([[0.0, 0.0, 1.0]]))
    assert small.tolist() == [[round(0.6 * scale * 64 / 128)]]


def test_host_input_bound_by_hand():
    # LIF, gain 0.5, leak * v_leak = 0.2. Largest currents: [3.5, 0.25] (all positive weights
    # on) and [0.5, -1.25] (all negative): 3.5 * 0.5 + 0.2.
    lif = dense([[1.0, 2.0], [-1.0, 0.5]], [0.5, -0.25], Neuron("lif", 0.5, 1.0, 0.4, 1.0))
    assert host_input_bound(lif) == pytest.approx(1.95)
    # IF, gain 2: the negative side dominates, |-3 + 0.25| * 2.
    if_ = dense([[-2.0, -1.0], [0.5, -0.5]], [0.25, 0.0], Neuron("if", 1.0, 2.0, 0.0, 1.0))
    assert host_input_bound(if_) == pytest.approx(5.5)
    conv = Layer("c", "conv", np.array([[[[1.0, -2.0], [0.5, 0.0]]]]), np.array([0.1]),
                 (1, 3, 3), (1, 2, 2), Neuron("if", 1.0, 1.0, 0.0, 1.0))
    assert host_input_bound(conv) == pytest.approx(1.9)  # a position sees the whole kernel
    # Per neuron: channel 0 at its 4 positions (channel 0: 1.5 + 0.1 and |-2 + 0.1|, so 1.9;
    # channel 1: every weight 0.5, so 2 + 0.1), the channel-major order of the neurons.
    two = Layer("c", "conv", np.array([[[[1.0, -2.0], [0.5, 0.0]]], [[[0.5, 0.5], [0.5, 0.5]]]]),
                np.array([0.1, 0.1]), (1, 3, 3), (2, 2, 2), Neuron("if", 1.0, 1.0, 0.0, 1.0))
    assert host_input_bounds(two) == pytest.approx([1.9] * 4 + [2.1] * 4)
    assert host_input_bounds(lif) == pytest.approx([3.5 * 0.5 + 0.2, 1.25 * 0.5 + 0.2])


def test_conv_bias_is_repeated_per_channel():
    w = np.zeros((2, 1, 1, 1))
    w[:, 0, 0, 0] = [1.0, -0.5]
    layer = Layer("c", "conv", w, np.array([0.1, -0.2]), (1, 2, 3), (2, 2, 3),
                  Neuron("if", 1.0, 1.0, 0.0, 1.0))
    assert static_bias(layer).tolist() == pytest.approx([0.1] * 6 + [-0.2] * 6)
    fx = quantize_layer(layer, True)
    assert fx.scale == pytest.approx(254.0)
    assert fx.bias_mant.tolist() == [25] * 6 + [-51] * 6  # rint(25.4), rint(-50.8)
    assert fx.weight[:, 0, 0, 0].tolist() == [254, -128]  # rint(-63.5) = -64


@pytest.mark.parametrize("raw, exp, mant, clipped", [
    ([4095.0], 0, [4095], 0),
    ([4096.0], 1, [2048], 0),
    ([5000.0, -3.0], 1, [2500, -2], 0),  # rint(-1.5) = -2
    ([-9000.0], 2, [-2250], 0),
    ([3.0, 5.0], 0, [3, 5], 0),
    ([4095.0 * 2**7], 7, [4095], 0),
    ([4096.0 * 2**7 + 200], 7, [4095], 1),
    ([], 0, [], 0),
])
def test_fit_bias_picks_the_smallest_exponent(raw, exp, mant, clipped):
    got_mant, got_exp, got_clipped = fit_bias(np.array(raw))
    assert (got_mant.tolist(), got_exp, got_clipped) == (mant, exp, clipped)


def test_fit_bias_with_a_given_exponent_rounds_and_clips():
    mant, exp, clipped = fit_bias(np.array([3.0, 5.0, -3.0, 10**6, -10**6]), 1)
    assert exp == 1 and mant.tolist() == [2, 2, -2, 4095, -4096] and clipped == 2


@settings(max_examples=40, deadline=None, database=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 6), st.integers(1, 6),
       st.sampled_from(["if", "lif"]), st.floats(0.05, 5.0))
def test_weight_error_within_half_a_step(seed, rows, cols, kind, vth):
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1, (rows, cols))
    neuron = Neuron(kind, 0.2, 1.5, 0.0, vth)
    fx = quantize_layer(dense(w, rng.normal(0, 0.1, rows), neuron), True)
    gain = neuron.input_gain
    step = 1.0 / (fx.scale * gain)  # one integer unit in float weight units
    assert np.all(fx.weight % 2 == 0)
    assert fx.weight.min() >= -256 and fx.weight.max() <= 254
    error = np.abs(fx.weight * step - w)
    assert error.max() <= step + 1e-12  # even values: at most one unit away
    assert fx.max_weight_error == pytest.approx(error.max())
    assert abs(fx.vth - fx.scale * vth) <= 0.5
    # The scale is the largest that fits: some limit is reached.
    assert (np.abs(w).max() * gain * fx.scale == pytest.approx(254)
            or fx.vth == 2**17 - 1 or np.abs(fx.bias_mant).max() >= 4094)


def exact_graph(rng):
    # Weights k/127 with max 1: S = 254 and every weight is an even integer; v_th = 255/254.
    def if_(n):
        return nir.IF(r=np.ones(n), v_threshold=np.full(n, 255 / 254), v_reset=np.zeros(n))

    w0 = rng.integers(-127, 128, (12, 16)) / 127
    w0[0, 0] = 1.0
    w1 = rng.integers(-127, 128, (4, 12)) / 127
    w1[0, 0] = 1.0
    nodes = {
        "input": nir.Input(input_type={"input": np.array([16])}),
        "fc0": nir.Affine(weight=w0, bias=np.zeros(12)), "if0": if_(12),
        "fc1": nir.Affine(weight=w1, bias=np.zeros(4)), "if1": if_(4),
        "output": nir.Output(output_type={"output": np.array([4])}),
    }
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))


def test_exact_quantisation_predicts_as_the_float_model(tmp_path):
    from neuropipe.targets.loihi.target import LoihiTarget

    rng = np.random.default_rng(1)
    x = rng.random((60, 16))
    record = LoihiTarget().deploy(Workload(exact_graph(rng), x, np.zeros(60, dtype=int),
                                           timesteps=12, encoding="poisson"),
                                  tmp_path, verify_samples=0)
    assert record.verification["float_prediction_agreement"] == 1.0
    assert all(layer.quantisation["max_abs_weight_error"] < 1e-12 for layer in record.layers)
    assert [layer.quantisation["scale"] for layer in record.layers] == [254.0, 254.0]
    assert record.layers[1].spikes_per_inference > 0
