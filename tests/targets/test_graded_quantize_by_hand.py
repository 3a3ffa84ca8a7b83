"""Graded-input and recurrent quantisation against its formulas, by hand (no Lava, no emulator).

``_graded_at(layer, P)``: the scale is the smallest of four limits, threshold ``131071 / v_ref``,
held current ``131071 / bound`` (``bound`` the larger of a row's positive and negative weight
sums), bias ``4095 / peak_b`` and weights ``254 P / peak_w``; then shrunk by 0.99 until the
mantissas' largest row sum times P stays below 2**17. Weights ``2 rint(W S / P / 2)``, bias
``rint(64 S b) / 2**6``, estimated error ``(nonzero per row P**2 / 36 [+ sum w**2 per row / 12
below P = 255]) / S**2``. Each case makes one limit bind, with asymmetric weights.
"""

import dataclasses

import numpy as np
import pytest

from neuropipe.core.errors import GraphError
from neuropipe.targets.chain import Chain, Layer, Neuron
from neuropipe.targets.loihi.quantize import (
    _graded_at,
    _quantise_weights,
    graded_current_peak,
    quantize_chain,
    quantize_graded,
    quantize_layer,
    weight_exponent,
)


def dense(w, b, neuron, recurrent=None):
    w = np.asarray(w, dtype=float)
    return Layer("fc", "dense", w, np.asarray(b, dtype=float), (w.shape[1],), (w.shape[0],),
                 neuron, recurrent=recurrent)


def if_(vth=1.0):
    return Neuron("if", 1.0, 1.0, 0.0, vth)


@pytest.mark.parametrize("w, pixel_max, peak", [
    # Row sums: positive [3, 2], negative [-2, -5]: the negative side wins, 5 x 15.
    ([[3, -2, 0], [-5, 1, 1]], 15, 75),
    # Positive [6, 0], negative [-1, -4]: the positive side wins, 6 x 7.
    ([[6, -1], [0, -4]], 7, 42),
    # Only negative weights: positive sums 0, the negatives' -9 -> 9 x 3.
    ([[-4, -5], [-1, 0]], 3, 27),
    # No weight at all on: 0 (the sums' max and min start at 0, not at 1).
    ([[0, 0]], 255, 0),
])
def test_graded_current_peak_is_the_larger_signed_row_sum_times_p(w, pixel_max, peak):
    assert graded_current_peak(np.asarray(w), pixel_max) == peak


def test_graded_current_peak_reads_a_conv_kernel_per_output_channel():
    # (2 channels, 1, 1, 2): channel 0 [4, -1], channel 1 [2, 2] -> positive sums [4, 4],
    # negative [-1, 0]; 4 x 31 = 124 (summed over the whole kernel, not over one row of it).
    w = np.array([[[[4, -1]]], [[[2, 2]]]])
    assert graded_current_peak(w, 31) == 124


@pytest.mark.parametrize("peak, exp", [
    (254.0, 0),     # log2(1) = 0 exactly: 0 (not 1: the 1e-12 guards ceil against rounding)
    (255.0, 1),     # log2(255 / 254) = 0.0057 -> 1
    (508.0, 1),     # log2(2) = 1
    (127.0, -1),    # log2(1/2)
    (1.0, -7),      # log2(1/254) = -7.99 -> -7
    (0.5, -8),      # -8.99 -> -8, the range's floor
    (0.1, -8),      # -11.3 -> -11, clipped to -8
    (254.0 * 100, 7),  # log2(100) = 6.64 -> 7, the ceiling
    (254.0 * 200, 7),  # 7.64 -> 8, clipped to 7
    (0.0, 0),       # nothing to hold
    (-3.0, 0),
])
def test_weight_exponent_by_hand(peak, exp):
    assert weight_exponent(peak) == exp
    assert isinstance(weight_exponent(peak), int)


def test_graded_layer_where_the_held_current_binds_and_the_scale_shrinks():
    """IF, W = [[1, 1, 1], [0.5, -0.25, 0]], no bias, P = 255.

    bound = max(3, 0.25) = 3, peak_w = 1. Limits: threshold 131071, current 131071 / 3 =
    43690.33, weights 254 x 255 = 64770: S = 43690.33. Then 2 rint(43690.33 / 510) = 2 x 86 =
    172, and 3 x 172 x 255 = 131580 >= 2**17: shrink once, S = 43253.43, 2 rint(84.81) = 170,
    3 x 170 x 255 = 130050 fits. Row 1: 2 rint(42.41) = 84, 2 rint(-21.20) = -42.
    """
    layer = dense([[1.0, 1.0, 1.0], [0.5, -0.25, 0.0]], [0.0, 0.0], if_())
    error, fx = _graded_at(layer, 255)
    s = 131071 / 3 * 0.99
    assert fx.scale == pytest.approx(s, rel=1e-12)
    assert fx.weight.tolist() == [[170, 170, 170], [84, -42, 0]]
    assert fx.vth == 43253 and fx.graded_max == 255 and fx.input_message_bits == 8
    assert (fx.weight_exp, fx.bias_exp, fx.du, fx.dv) == (0, 6, -1, 0)
    assert fx.bias_mant.tolist() == [0, 0] and fx.on_chip_synapses
    # Error of each weight in float units: w / (S / 255) - W; the largest is 84's,
    # 84 x 255 / 43253.43 - 0.5 = 0.00478.
    assert fx.max_weight_error == pytest.approx(0.5 - 84 * 255 / s, rel=1e-9)
    # 5 nonzero weights over 2 rows: 2.5 x 255**2 / 36 = 4515.625; P = 255, no pixel term.
    assert error == pytest.approx(4515.625 / s**2, rel=1e-12)


def test_graded_lif_layer_where_the_weights_bind_at_four_bits():
    """LIF alpha 0.5, r 2 (gain 1, leak 0.5), v_leak 0.2, W = [[2, -1], [0, 0.5]],
    b = [0.1, -0.3], threshold 1, P = 15.

    Positive row sums [2, 0.5] -> 2, negative [-1, 0] -> 1: bound 2.
    static bias 0.5 x 0.2 + b = [0.2, -0.2]. Limits: 131071, 131071 / 2, 4095 / 0.2 = 20475,
    254 x 15 / 2 = 1905: S = 1905, S / P = 127. Weights 2 rint(127 W) = [[254, -128], [0, 64]]
    (-63.5 rounds to the even -64, 31.75 to 32). Bias rint(64 x 1905 x [0.2, -0.2]) / 64 =
    [381, -381].
    """
    layer = dense([[2.0, -1.0], [0.0, 0.5]], [0.1, -0.3], Neuron("lif", 0.5, 2.0, 0.2, 1.0))
    error, fx = _graded_at(layer, 15)
    assert fx.scale == 1905.0 and fx.vth == 1905
    assert fx.weight.tolist() == [[254, -128], [0, 64]]
    assert fx.bias_mant.tolist() == [381, -381] and fx.bias_exp == 6
    assert fx.bias_mant.dtype == np.int64 and fx.weight.dtype == np.int64
    assert (fx.dv, fx.du, fx.graded_max, fx.input_message_bits) == (2048, -1, 15, 4)
    assert fx.max_weight_error == pytest.approx(1 / 127, rel=1e-9)  # -128 / 127 against -1
    # 3 nonzero over 2 rows: 1.5 x 15**2 / 36 = 9.375; pixels (P < 255): sum w**2 per row
    # / 12 = (254**2 + 128**2 + 64**2) / 2 / 12 = 84996 / 24 = 3541.5; total 3550.875.
    assert error == pytest.approx(3550.875 / 1905**2, rel=1e-12)
    # Asked for 4 bits, quantize_graded returns exactly this.
    chosen = quantize_graded(layer, pixel_bits=4)
    assert chosen.graded_max == 15 and chosen.weight.tolist() == fx.weight.tolist()


def test_graded_layer_where_the_bias_binds():
    """IF, W = [[0.5, -0.25], [0.25, 0]], b = [-1, 0.5], P = 255: bias limit 4095 / 1 binds
    (current 131071 / 0.5, weights 254 x 255 / 0.5 = 129540). S / P = 16.06: weights
    2 rint([[4.01, -2.01], [2.01, 0]]) = [[8, -4], [4, 0]]; bias rint(4095 x [-1, 0.5]) =
    [-4095, 2048] (2047.5 to the even 2048)."""
    layer = dense([[0.5, -0.25], [0.25, 0.0]], [-1.0, 0.5], if_())
    error, fx = _graded_at(layer, 255)
    assert fx.scale == 4095.0 and fx.vth == 4095
    assert fx.weight.tolist() == [[8, -4], [4, 0]]
    assert fx.bias_mant.tolist() == [-4095, 2048]
    assert fx.max_weight_error == pytest.approx(0.5 - 8 * 255 / 4095, rel=1e-9)  # 0.00183
    assert error == pytest.approx(1.5 * 255**2 / 36 / 4095**2, rel=1e-12)


def test_graded_layer_where_the_threshold_binds():
    """IF threshold 4, W = [[0.01, 0.02]], P = 255: threshold 131071 / 4 = 32767.75 binds;
    S / P = 128.501, weights 2 rint([0.64, 1.29]) = [2, 2]; vth = round(4 x 32767.75) = 131071."""
    layer = dense([[0.01, 0.02]], [0.0], if_(4.0))
    error, fx = _graded_at(layer, 255)
    assert fx.scale == 32767.75 and fx.vth == 131071
    assert fx.weight.tolist() == [[2, 2]]
    assert fx.max_weight_error == pytest.approx(2 * 255 / 32767.75 - 0.01, rel=1e-9)
    assert error == pytest.approx(2 * 255**2 / 36 / 32767.75**2, rel=1e-12)


def test_graded_per_neuron_thresholds_scale_rows():
    """IF thresholds [1, 2], W = identity, P = 255: v_ref 2, relative scales [2, 1]; rows
    [[2, 0], [0, 1]], peak 2: S = 254 x 255 / 2 = 32385, row scales [64770, 32385]. Weights
    2 rint(127) = 254 and 2 rint(63.5) = 128; one threshold mantissa 2 x 32385 = 64770."""
    layer = dense(np.eye(2), [0.0, 0.0], if_(np.array([1.0, 2.0])))
    error, fx = _graded_at(layer, 255)
    assert fx.scale.tolist() == [64770.0, 32385.0] and fx.vth == 64770
    assert fx.weight.tolist() == [[254, 0], [0, 128]]
    assert fx.max_weight_error == pytest.approx(128 / 127 - 1, rel=1e-9)
    assert error == pytest.approx(255**2 / 36 / 32385**2, rel=1e-12)


def test_graded_conv_layer_repeats_its_bias_per_position():
    """Conv of 2 channels, kernel 1x2 over a 1x3 row (2 positions): channel 0 [1, -0.5],
    channel 1 [0.25, 0.25], bias [0.1, 0]. bound = max(1, 0.5) = 1; the bias limit 4095 / 0.1
    = 40950 binds (weights 64770). Weights 2 rint(80.29 W): [160, -80], [40, 40]; bias
    rint(40950 x 0.1) = 4095 at both of channel 0's positions, 0 at channel 1's."""
    w = np.array([[[[1.0, -0.5]]], [[[0.25, 0.25]]]])
    layer = Layer("c", "conv", w, np.array([0.1, 0.0]), (1, 1, 3), (2, 1, 2), if_())
    error, fx = _graded_at(layer, 255)
    assert fx.scale == pytest.approx(40950.0) and fx.vth == 40950
    assert fx.weight.tolist() == [[[[160, -80]]], [[[40, 40]]]]
    assert fx.bias_mant.tolist() == [4095, 4095, 0, 0]
    assert error == pytest.approx(2 * 255**2 / 36 / 40950**2, rel=1e-9)  # 4 nonzero / 2 rows


@pytest.mark.parametrize("k, bits", [(20, 7), (100, 6), (200, 5), (1000, 4)])
def test_the_payload_bits_with_the_smallest_error_win(k, bits):
    """Row 0 of k weights 1 (bound k), row 1 [0.5, -0.5]: the held current caps S at
    131071 / k whatever P, so a larger P only coarsens the weights (P**2 / 36 grows) while a
    smaller one rounds the pixels: k = 100 at P = 63: 2 rint(1310.71 / 126) = 20, error
    (51 x 63**2 / 36 + (100 x 20**2 + 2 x 10**2) / 2 / 12) / 1310.71**2 = 0.00425, against
    P = 31's 0.00509 and P = 127's 0.0135."""
    layer = dense([[1.0] * k, [0.5, -0.5] + [0.0] * (k - 2)], [0.0, 0.0], if_())
    fx = quantize_graded(layer)
    assert fx.graded_max == 2**bits - 1
    if k == 100:
        s = 131071 / 100
        assert fx.weight[0, 0] == 20 and fx.scale == pytest.approx(s, rel=1e-12)
        error, _ = _graded_at(layer, 63)
        assert error == pytest.approx((51 * 63**2 / 36 + (100 * 400 + 2 * 100) / 24) / s**2,
                                      rel=1e-12)


def test_graded_input_refuses_a_recurrent_layer_and_a_per_neuron_conv():
    rec = dense([[1.0]], [0.0], if_(), recurrent=np.array([[-0.5]]))
    with pytest.raises(GraphError, match="'fc' has a recurrent synapse"):
        quantize_graded(rec)
    conv = Layer("c", "conv", np.ones((2, 1, 1, 1)), np.zeros(2), (1, 1, 1), (2, 1, 1),
                 if_(np.array([1.0, 2.0])))
    with pytest.raises(GraphError, match=r"^layer 'c': per-neuron thresholds, r or v_leak on a "
                       r"convolutional layer cannot be row-scaled \(the kernel is shared\)$"):
        quantize_graded(conv)


def test_a_threshold_that_quantises_to_zero_is_refused():
    # Threshold 1e-6: 131071 / 1e-6 is no limit, but the bias 1e3 caps S at 4.095: vth
    # rint(4.1e-6) = 0.
    layer = dense([[1.0]], [1000.0], if_(1e-6))
    with pytest.raises(GraphError, match="threshold quantises to 0"):
        _graded_at(layer, 255)


def test_the_held_current_bound_takes_each_rows_own_negative_sum():
    """IF threshold 0.5, W = [[-0.3, -0.3, -0.3, 0.2], [0.25, -0.2, 0, 0.1]], P = 255.

    Positive row sums [0.2, 0.35], negative [-0.9, -0.2]: bound 0.9 (row 0's negative sum;
    not 1.1, all negatives of the layer, nor 0.7, row 0 with its positive weight, nor 1, the
    positive side floored at 1). Limits: threshold 262142, current 131071 / 0.9 = 145634.4,
    weights 64770 / 0.3 = 215900: the current binds. 2 rint(145634.4 / 510 x -0.3) =
    2 rint(-85.67) = -172: 3 x 172 x 255 = 131580 >= 2**17, so S = 145634.4 x 0.99 =
    144178.1: 2 rint(-84.81) = -170 (130050 fits), 2 rint(56.54) = 114, 2 rint(70.67) = 142,
    2 rint(-56.54) = -114, 2 rint(28.27) = 56; vth rint(0.5 x 144178.1) = 72089.
    """
    w = [[-0.3, -0.3, -0.3, 0.2], [0.25, -0.2, 0.0, 0.1]]
    error, fx = _graded_at(dense(w, [0.0, 0.0], if_(0.5)), 255)
    s = 131071 / 0.9 * 0.99
    assert fx.scale == pytest.approx(s, rel=1e-12) and fx.vth == 72089
    assert fx.weight.tolist() == [[-170, -170, -170, 114], [142, -114, 0, 56]]
    assert error == pytest.approx(3.5 * 255**2 / 36 / s**2, rel=1e-12)  # 7 nonzero / 2 rows


def test_a_positive_bound_below_one_is_not_floored():
    """IF threshold 0.5, W = [[0.3, 0.3, 0.3]]: bound 0.9 < 1, so the current limit is
    131071 / 0.9 = 145634.4 (not 131071 / 1); 2 rint(145634.4 x 0.3 / 510) = 2 rint(85.67) =
    172, 3 x 172 x 255 = 131580 too many: S x 0.99 = 144178.1, weights 170."""
    _, fx = _graded_at(dense([[0.3, 0.3, 0.3]], [0.0], if_(0.5)), 255)
    assert fx.scale == pytest.approx(131071 / 0.9 * 0.99, rel=1e-12)
    assert fx.weight.tolist() == [[170, 170, 170]]


def test_graded_payloads_are_pixels_rounded_to_p_levels():
    # P = 15: x clipped to [0, 1], then rint(15 x): 0.5 -> 7.5 -> 8 (to even), 0.7 -> 10.5 ->
    # 10 (to even), 1.3 -> 1 -> 15, -0.2 -> 0.
    _, fx = _graded_at(dense([[1.0, -1.0]], [0.0], if_()), 15)
    p = fx.graded_payload(np.array([[-0.2, 0.0, 0.5], [0.7, 1.0, 1.3]]))
    assert p.tolist() == [[0, 0, 8], [10, 15, 15]] and p.dtype == np.int32
    assert fx.graded_payload([0.2]).tolist() == [3]  # a list is read as an array
    assert dataclasses.replace(fx, graded_max=0).input_message_bits == 0
    assert dataclasses.replace(fx, graded_max=255).input_message_bits == 8


def test_a_threshold_below_one_allows_a_larger_scale():
    """IF threshold 0.25, W = [[0.01, 0.02]], P = 255: threshold limit 131071 / 0.25 = 524284
    binds (not 131071: v_ref is not floored at 1). S / 510 = 1028.0: weights 2 rint(10.28) =
    20 and 2 rint(20.56) = 42; vth = 0.25 x 524284 = 131071."""
    layer = dense([[0.01, 0.02]], [0.0], if_(0.25))
    error, fx = _graded_at(layer, 255)
    assert fx.scale == 524284.0 and fx.vth == 131071 and fx.weight.tolist() == [[20, 42]]
    assert fx.layer is layer and fx.on_chip_synapses and fx.weight_exp == 0
    assert error == pytest.approx(2 * 255**2 / 36 / 524284**2, rel=1e-12)


def test_weights_below_one_still_bind_and_one_row_counts_once():
    """IF, W = [[0.5, -0.25]] (one row), P = 15: weight limit 254 x 15 / 0.5 = 7620 binds
    (current 262142, threshold 131071). Weights 2 rint(254 W) = [254, -128]. Error per row
    (one row): 2 x 15**2 / 36 = 12.5 plus (254**2 + 128**2) / 1 / 12 = 6741.67."""
    error, fx = _graded_at(dense([[0.5, -0.25]], [0.0], if_()), 15)
    assert fx.scale == 7620.0 and fx.vth == 7620 and fx.weight.tolist() == [[254, -128]]
    assert error == pytest.approx((12.5 + (254**2 + 128**2) / 12) / 7620**2, rel=1e-12)


def test_no_weight_at_all_leaves_the_threshold_limit():
    # W = 0, threshold 2: only 131071 / 2 = 65535.5 limits S; vth 131071, no error.
    error, fx = _graded_at(dense([[0.0, 0.0]], [0.0], if_(2.0)), 255)
    assert fx.scale == 65535.5 and fx.vth == 131071 and fx.weight.tolist() == [[0, 0]]
    assert error == 0.0 and fx.max_weight_error == 0.0


def test_a_threshold_mantissa_of_one_is_kept():
    # Threshold 1, bias 4095: the bias limit 4095 / 4095 = 1 binds, vth = 1 (not refused);
    # the weight 1 / 255 rounds to 0; bias mantissa 4095 x 1 = 4095.
    _, fx = _graded_at(dense([[1.0]], [4095.0], if_()), 255)
    assert (fx.scale, fx.vth, fx.weight.tolist(), fx.bias_mant.tolist()) == (1.0, 1, [[0]],
                                                                             [4095])


def test_graded_per_neuron_thresholds_scale_the_bias_limit_by_row():
    """Thresholds [1, 2], W = 0.5 I, b = [1, 1], P = 255: relative scales [2, 1], so the
    biases in threshold units are [2, 1]: the bias limit 4095 / 2 = 2047.5 binds (row scales
    [4095, 2047.5]). Weights 2 rint(0.5 x [4095, 2047.5] / 510) = [8, 4]; bias mantissas
    rint([4095, 2047.5]) = [4095, 2048]; vth 2 x 2047.5 = 4095."""
    layer = dense(0.5 * np.eye(2), [1.0, 1.0], if_(np.array([1.0, 2.0])))
    _, fx = _graded_at(layer, 255)
    assert fx.scale.tolist() == [4095.0, 2047.5] and fx.vth == 4095
    assert fx.weight.tolist() == [[8, 0], [0, 4]] and fx.bias_mant.tolist() == [4095, 2048]


def test_quantize_layer_scales_rows_of_a_dense_layer_with_per_neuron_thresholds():
    """Thresholds [1, 2], W = [[1, 0.5], [0.25, 1]]: relative scales [2, 1], peak 2 x 1: S =
    254 / 2 = 127, row scales [254, 127]. Weights 2 rint([127, 63.5]) = [254, 128] and
    2 rint([15.875, 63.5]) = [32, 128]; one threshold mantissa 2 x 127 = 254."""
    fx = quantize_layer(dense([[1.0, 0.5], [0.25, 1.0]], [0.0, 0.0], if_(np.array([1.0, 2.0]))),
                        True)
    assert fx.scale.tolist() == [254.0, 127.0] and fx.vth == 254
    assert fx.weight.tolist() == [[254, 128], [32, 128]]


@pytest.mark.parametrize("encoding, on_chip, graded", [
    ("constant", [False, True], [0, 0]), ("poisson", [True, True], [0, 0]),
    ("graded", [True, True], [255, 0])])
def test_quantize_chain_puts_the_first_layer_where_the_encoding_says(encoding, on_chip, graded):
    # 2 layers; only the first layer's synapses depend on the encoding: host (constant), chip
    # with binary spikes (poisson), chip with graded payloads and a held current (graded).
    l0 = dense([[1.0, 0.5], [0.25, -1.0]], [0.0, 0.0], if_())
    l1 = dense([[0.5, 1.0]], [0.0], if_())
    fixed = quantize_chain(Chain(input_shape=(2,), layers=[l0, l1]), encoding)
    assert [f.layer for f in fixed] == [l0, l1]
    assert [f.on_chip_synapses for f in fixed] == on_chip
    assert [f.graded_max for f in fixed] == graded
    assert [f.du for f in fixed] == [-1 if encoding == "graded" else 4095, 4095]


def test_a_recurrent_layer_with_gain_and_per_neuron_thresholds_by_hand():
    """IF r = 2 (gain 2), thresholds [50, 200], W_F = [[1], [0.5]], W_R = [[0, -100], [-60, 0]].

    v_ref 200, relative scales [4, 1]. Limits: threshold 131071 / 200 = 655.4, headroom
    2**17 / 64 / 200 = 10.24, weights 254 / (2 x 1 x 4) = 31.75: S = 10.24, row scales
    [40.96, 10.24], vth 200 x 10.24 = 2048.
    Feed-forward peak 8 x 10.24 = 81.92 -> exponent ceil(log2(81.92 / 254)) = -1: mantissas
    2 rint(2 W S) = 2 rint([81.92, 10.24]) = [164, 20]; error |20 x 0.5 / 20.48 - 0.5| =
    0.0117. Recurrent 2 W_R x S: -8192 (row 0), -1228.8 (row 1): exponent ceil(log2(8192 /
    254)) = 6: 2 rint([-8192, -1228.8] / 128) = [-128, -20]; error |-20 x 64 / 20.48 + 60| =
    2.5 (row 0 exact).
    """
    layer = Layer("fc", "dense", np.array([[1.0], [0.5]]), np.zeros(2), (1,), (2,),
                  Neuron("if", 1.0, 2.0, 0.0, np.array([50.0, 200.0])),
                  recurrent=np.array([[0.0, -100.0], [-60.0, 0.0]]), recurrent_name="rec")
    fx = quantize_layer(layer, True)
    assert fx.scale.tolist() == pytest.approx([40.96, 10.24], rel=1e-12) and fx.vth == 2048
    assert fx.weight_exp == -1 and fx.weight.tolist() == [[164], [20]]
    assert fx.max_weight_error == pytest.approx(0.5 - 10 / 20.48, rel=1e-9)
    assert fx.recurrent_exp == 6 and fx.recurrent.tolist() == [[0, -128], [-20, 0]]
    assert fx.max_recurrent_error == pytest.approx(2.5, rel=1e-9)
    assert (fx.bias_exp, fx.dv, fx.du, fx.graded_max) == (6, 0, 4095, 0)


def test_a_plain_layer_has_no_recurrent_part_and_a_host_layer_integer_zero_biases():
    plain = quantize_layer(dense([[1.0, -0.5]], [0.0], if_()), True)
    assert (plain.recurrent, plain.max_recurrent_error, plain.recurrent_exp) == (None, 0.0, 0)
    host = quantize_layer(dense([[1.0, -0.5]], [0.25], if_()), False)
    assert host.bias_mant.tolist() == [0] and host.bias_mant.dtype == np.int64
    assert host.weight.size == 0 and host.max_weight_error == 0.0 and not host.on_chip_synapses


def test_quantize_layer_keeps_a_threshold_mantissa_of_one():
    # W = 254, threshold 1: the weight limit 254 / 254 = 1 binds; vth 1 is kept, not refused.
    fx = quantize_layer(dense([[254.0]], [0.0], if_()), True)
    assert (fx.scale, fx.vth, fx.weight.tolist()) == (1.0, 1, [[254]])


def test_per_neuron_thresholds_scale_the_on_chip_bias_limit_by_row():
    """Thresholds [1, 2], W = [[0.001], [0.001]], b = [0.4, 0.4]: relative scales [2, 1], so
    the biases in threshold units are [0.8, 0.4]: the bias limit 4095 / 0.8 = 5118.75 binds
    (threshold 65535.5, weights 127000), row scales [10237.5, 5118.75]; vth rint(2 x 5118.75)
    = 10238; bias mantissas rint(0.4 x [10237.5, 5118.75]) = [4095, 2048]; weights
    2 rint([5.12, 2.56]) = [10, 6]."""
    fx = quantize_layer(dense([[0.001], [0.001]], [0.4, 0.4], if_(np.array([1.0, 2.0]))), True)
    assert fx.scale.tolist() == [10237.5, 5118.75] and fx.vth == 10238
    assert fx.bias_mant.tolist() == [4095, 2048] and fx.weight.tolist() == [[10], [6]]


def test_the_recurrent_headroom_with_a_threshold_below_one():
    """IF threshold 0.5, W_F = 0.01, W_R = -0.5: headroom 2**17 / 64 / 0.5 = 4096 binds (not
    2048: v_ref is not floored at 1); vth 2048. Feed-forward 0.01 x 4096 = 40.96 -> exponent
    -2, mantissa 2 rint(81.92) = 164; recurrent -2048 -> exponent 4, 2 rint(-64) = -128."""
    layer = Layer("fc", "dense", np.array([[0.01]]), np.zeros(1), (1,), (1,), if_(0.5),
                  recurrent=np.array([[-0.5]]), recurrent_name="rec")
    fx = quantize_layer(layer, True)
    assert (fx.scale, fx.vth, fx.weight.tolist(), fx.weight_exp) == (4096.0, 2048, [[164]], -2)
    assert (fx.recurrent.tolist(), fx.recurrent_exp) == ([[-128]], 4)


def test_an_on_chip_layer_without_weights_takes_the_threshold_limit():
    # W = 0, threshold 2: no weight limit (not a division by zero); S = 131071 / 2.
    fx = quantize_layer(dense([[0.0, 0.0]], [0.0], if_(2.0)), True)
    assert (fx.scale, fx.vth, fx.weight.tolist()) == (65535.5, 131071, [[0, 0]])


def test_a_host_layer_whose_threshold_binds_takes_the_smallest_bias_exponent():
    """Host layer, IF threshold 100, W = 0.5: the threshold limit 131071 / 100 = 1310.71 binds
    (the input bound 0.5 allows 4095 x 128 / 64 / 0.5 = 16380). The largest per-sample bias
    0.5 x 1310.71 x 64 = 41942.7 needs exponent 4 (/16 = 2621 <= 4095; /8 = 5243 is not).
    Input x = 1 -> rint(41942.7 / 16) = 2621; x = 0.3 -> rint(786.4) = 786."""
    fx = quantize_layer(dense([[0.5]], [0.0], if_(100.0)), False)
    assert fx.scale == pytest.approx(1310.71) and fx.vth == 131071 and fx.bias_exp == 4
    mant, clipped = fx.input_bias(np.array([[1.0], [0.3]]))
    assert mant.tolist() == [[2621], [786]] and clipped == 0
    assert fx.weight.dtype == np.int64 and fx.weight.size == 0


def test_recurrent_weights_that_fit_eight_bits_keep_exponent_zero():
    # IF threshold 1, W_F = 1, W_R = 0.5: S = 254 (weights); 0.5 x 254 = 127 fits 8 bits at
    # exponent 0 (weight_exponent(127) = -1, floored at 0): mantissa 2 rint(63.5) = 128.
    layer = Layer("fc", "dense", np.array([[1.0]]), np.zeros(1), (1,), (1,), if_(),
                  recurrent=np.array([[0.5]]), recurrent_name="rec")
    fx = quantize_layer(layer, True)
    assert (fx.scale, fx.vth, fx.weight_exp) == (254.0, 254, 0)
    assert (fx.recurrent.tolist(), fx.recurrent_exp) == ([[128]], 0)


# The full make-mutate pass's survivors (issue 23) ------------------------------------------

def test_graded_input_takes_weights_too_large_for_binary_spikes():
    """IF threshold 1, W = [[1000, -3]]. With binary spikes the weight limit 254 / 1000 = 0.254
    leaves a threshold mantissa of round(0.254) = 0: refused. Graded (P = 255) divides the
    weights by P: limits 131071, current 131071 / 1000 = 131.07, weights 254 x 255 / 1000 =
    64.77: S = 64.77, vth 65, mantissas 2 rint(1000 / 255 x 64.77 / 2) = 2 x 127 = 254 and
    2 rint(-0.38) = 0. quantize_graded must not refuse it through the binary mapping."""
    layer = dense([[1000.0, -3.0]], [0.0], if_())
    with pytest.raises(GraphError, match="threshold quantises to 0"):
        quantize_layer(layer, True)
    fx = quantize_graded(layer, pixel_bits=8)
    assert (fx.scale, fx.vth, fx.weight.tolist()) == (pytest.approx(64.77), 65, [[254, 0]])
    assert graded_current_peak(fx.weight, 255) == 64770  # 254 x 255 < 2**17


def test_a_held_current_of_exactly_2_17_is_shrunk():
    """P = 1 (one-bit payloads), IF threshold 1, 516 weights of 1 and one of 8 / 254: bound
    516 + 8 / 254 = 131072 / 254, so the current limit is S = 131071 x 254 / 131072 =
    253.998; mantissas 2 rint(126.999) = 254 (x 516) and 2 rint(3.99997) = 8, summing to
    516 x 254 + 8 = 131072 = 2**17 exactly: u would wrap (2**17 << 6 = 2**23), so the scale
    shrinks once: S = 251.458, mantissas 2 rint(125.73) = 252 and 2 rint(3.96) = 8, 130040."""
    layer = dense([[1.0] * 516 + [8 / 254]], [0.0], if_())
    _, fx = _graded_at(layer, 1)
    assert fx.scale == pytest.approx(131071 * 254 / 131072 * 0.99, rel=1e-12)
    assert fx.vth == 251 and sorted(set(fx.weight.ravel().tolist())) == [8, 252]
    assert graded_current_peak(fx.weight, 1) == 130040


def test_float32_thresholds_are_row_scaled_in_float64():
    """IF thresholds [1, 0.3] held as float32, W = [[1], [1]]: v_ref 1, relative scales
    1 / 0.3000000119 = 3.33333320 in float64 (float32 division gives 3.33333325).
    On-chip binary: the weight limit 254 / 3.3333332 binds, S = 254 / rel, row scales
    [S, S x rel]. Graded, P = 15: the weight limit 254 x 15 / rel binds, row scales likewise."""
    vth = np.array([1.0, 0.3], dtype=np.float32)
    layer = dense([[1.0], [1.0]], [0.0, 0.0], if_(vth))
    rel = 1.0 / float(vth[1])
    fx = quantize_layer(layer, True)
    assert fx.scale.tolist() == [254 / rel, 254 / rel * rel]
    _, fx = _graded_at(layer, 15)
    assert fx.scale.tolist() == [254 * 15 / rel, 254 * 15 / rel * rel]


def test_layers_without_inputs_or_neurons_quantise():
    """A layer of 2 IF neurons with no input, biases [0.02, -0.01]: no weight limit (not one of
    254 / 1), the bias limit 4095 / 0.02 = 204750 is above the threshold's 131071, which binds:
    vth 131071, bias mantissas rint(131071 x [0.02, -0.01]) = [2621, -1311], no weight error
    (not 1). The same graded (P = 255: no weight limit of 254 x 255 = 64770 either).
    A layer of no neurons: no bias limit (not 4095 / 1) either, the threshold binds."""
    layer = Layer("fc", "dense", np.zeros((2, 0)), np.array([0.02, -0.01]), (0,), (2,), if_())
    fx = quantize_layer(layer, True)
    assert (fx.scale, fx.vth, fx.max_weight_error) == (131071.0, 131071, 0.0)
    assert fx.bias_mant.tolist() == [2621, -1311] and fx.weight.shape == (2, 0)
    error, fx = _graded_at(layer, 255)
    assert (fx.scale, fx.vth, fx.max_weight_error, error) == (131071.0, 131071, 0.0, 0.0)
    assert fx.bias_mant.tolist() == [2621, -1311]
    empty = Layer("fc", "dense", np.zeros((0, 3)), np.zeros(0), (3,), (0,), if_())
    fx = quantize_layer(empty, True)
    assert (fx.scale, fx.vth, fx.bias_mant.size) == (131071.0, 131071, 0)


def test_weight_mantissas_are_clipped_to_minus_256_and_254():
    # 2 rint(300 / 2) = 300 -> 254, -300 -> -256 (the 8-bit mixed-sign range), 100 kept.
    assert _quantise_weights(np.array([[300.0, -300.0, 100.0]]), 1.0).tolist() == [
        [254, -256, 100]]


def test_payloads_and_biases_of_float32_values_are_computed_in_float64():
    """The float32 nearest 155.5 / 255 is 0.60980391502, just below it: x 255 = 155.4999983,
    rint 155 in float64; a float32 product rounds to 155.5 and half-to-even gives 156.
    A bias of that value at scale 255 / 64 (x 64 = 255) likewise: mantissa 155, not 156."""
    x = np.array([[155.5 / 255]], dtype=np.float32)
    assert np.rint(x * np.float32(255)).tolist() == [[156.0]]  # the float32 trap
    fx = dataclasses.replace(quantize_layer(dense([[1.0]], [0.0], if_()), True),
                             graded_max=255, scale=255 / 64, bias_exp=0)
    assert fx.graded_payload(x).tolist() == [[155]]
    mant, exp, clipped = fx.bias_raw(x[0])
    assert (mant.tolist(), exp, clipped) == ([155], 0, 0)


def test_payload_bits_that_tie_keep_the_first_tried_eight():
    # No nonzero weight: every P from 255 down to 15 estimates an error of 0 (no weight to
    # round, no pixel term): the tie keeps the first tried, 8 bits (never compares layers).
    fx = quantize_graded(dense([[0.0, 0.0]], [0.1], if_()))
    assert (fx.graded_max, fx.input_message_bits) == (255, 8)
