"""The Loihi emulator's arithmetic by hand: the float type of a sum, weight exponents, recurrence.

Every figure is worked out in the comments from Lava's bit-accurate rules (Dense sums in integers
and does not wrap; a weight exponent shifts left when positive and right, rounding towards minus
infinity, when negative; a layer's own spikes reach it through its recurrent Dense one step
later). Inputs are asymmetric (no two rows or columns alike) so that a transposed matrix, a row
sum taken for a column sum, or a shift the wrong way gives another number. No Lava: fast.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from neuropipe.targets.chain import Layer, Neuron
from neuropipe.targets.loihi import emulator
from neuropipe.targets.loihi.emulator import F32_EXACT, exact_float, synapse
from neuropipe.targets.loihi.quantize import FixedLayer

W = np.array([[7, -3], [5, 9]], dtype=np.int64)  # 2 inputs -> 2 neurons
SPIKES = torch.tensor([[True, True], [False, True], [True, False]])  # 3 samples
# SPIKES @ W.T: sample 0 both inputs [7 - 3, 5 + 9]; sample 1 input 1 [-3, 9]; sample 2 input 0.
ACC = [[4, 14], [-3, 9], [7, 5]]


def dense(weight: np.ndarray, weight_exp: int) -> SimpleNamespace:
    layer = SimpleNamespace(kind="dense", in_shape=(weight.shape[1],))
    return SimpleNamespace(layer=layer, weight=weight, weight_exp=weight_exp)


def test_a_row_at_the_float32_bound_stays_float32_one_over_it_does_not() -> None:
    # Binary spikes (largest input 1): row 0's absolute sum is 2^23 + 2^23 = 2^24, the bound
    # itself (float32 holds every integer up to 2^24), row 1's is 1. 1 x 2^24 <= 2^24: float32.
    w = np.array([[2.0**23, -(2.0**23)], [1.0, 0.0]])
    assert exact_float(w, torch.ones(2, 2, dtype=torch.bool)) == torch.float32
    # The bound is per row, not over the whole matrix: rows of 2^24 and 1 (total 2^24 + 1).
    w = np.array([[2.0**24, 0.0], [0.0, 1.0]])
    assert exact_float(w, torch.ones(1, 2, dtype=torch.bool)) == torch.float32
    # Graded payload 4 through a row of 2^23: 2^25 > 2^24, float64 (and 4 / 2^23 is no test).
    w = np.array([[2.0**23]])
    assert exact_float(w, torch.tensor([[4], [1]])) == torch.float64


def test_one_sample_of_one_input_is_judged_like_any_other() -> None:
    # One element, payload 2^12 + 1 = 4097 through a weight of 4096: 16,781,312 > 2^24.
    assert exact_float(np.array([[4096.0]]), torch.tensor([[4097]])) == torch.float64
    assert exact_float(np.array([[4096.0]]), torch.tensor([[4096]])) == torch.float32  # 2^24


def test_no_weights_means_no_sums_whatever_the_payload() -> None:
    # A layer of no neurons (weight (0, 3)): nothing is summed, float32 even for payloads above
    # 2^24 (a fan of 1 in place of 0 would give 2^24 + 1 > 2^24).
    payload = torch.full((2, 3), F32_EXACT + 1, dtype=torch.int64)
    assert exact_float(np.zeros((0, 3)), payload) == torch.float32


def test_a_graded_sum_above_two_to_the_24_is_exact() -> None:
    # Payload 2^23 + 1 = 8,388,609 times 3 = 25,165,827: odd and above 2^24, so float32 would
    # round it to 25,165,828. Dense does not wrap its sum (only Conv does, at 24 bits).
    fixed = dense(np.array([[3, 0]], dtype=np.int64), 0)
    got = synapse(fixed, torch.tensor([[2**23 + 1, 5]], dtype=torch.int64))
    assert got.dtype == torch.int64 and got.tolist() == [[25_165_827]]


def test_a_negative_weight_exponent_shifts_right_rounding_down() -> None:
    # ACC >> 1, rounding towards minus infinity: 4 -> 2, 14 -> 7, -3 -> -2 (not -1), 9 -> 4,
    # 7 -> 3, 5 -> 2.
    assert synapse(dense(W, -1), SPIKES).tolist() == [[2, 7], [-2, 4], [3, 2]]
    # ACC >> 2: 1, 3, -1 (-0.75 rounded down), 2, 1, 1.
    assert synapse(dense(W, -2), SPIKES).tolist() == [[1, 3], [-1, 2], [1, 1]]


def test_a_positive_weight_exponent_shifts_left() -> None:
    # ACC << 2 = ACC x 4.
    assert synapse(dense(W, 2), SPIKES).tolist() == [[16, 56], [-12, 36], [28, 20]]
    assert synapse(dense(W, 0), SPIKES).tolist() == ACC


REC = np.array([[2, 5], [-3, 0]], dtype=np.int64)  # neuron 0 -> 0: 2, 1 -> 0: 5, 0 -> 1: -3


def recurrent_layer(recurrent: np.ndarray, exp: int) -> SimpleNamespace:
    return SimpleNamespace(recurrent=recurrent, recurrent_exp=exp)


def test_the_recurrent_dense_sums_columns_of_the_spiking_neurons() -> None:
    # Sample 0: neuron 0 spiked -> column 0 = [2, -3]; sample 1: neuron 1 -> column 1 = [5, 0];
    # sample 2: both -> [7, -3]. Exponent 1 doubles them.
    s = torch.tensor([[True, False], [False, True], [True, True]])
    got = emulator._recurrent(recurrent_layer(REC, 1), s)
    assert got.dtype == torch.int64 and got.tolist() == [[4, -6], [10, 0], [14, -6]]
    assert emulator._recurrent(recurrent_layer(REC, 0), s).tolist() == [[2, -3], [5, 0], [7, -3]]


def test_the_recurrent_dense_does_not_wrap_at_24_bits() -> None:
    # Lava's Dense sums in integers and sends the sum as it is (only its Conv wraps at 24
    # signed bits): 2^22 + 2^22 = 2^23 = 8,388,608 stays 2^23 (wrapped: -2^23).
    big = np.array([[2**22, 2**22], [0, -1]], dtype=np.int64)
    got = emulator._recurrent(recurrent_layer(big, 0), torch.tensor([[True, True]]))
    assert got.tolist() == [[2**23, -1]]


def test_the_batch_is_the_samples_axis() -> None:
    # Thread choice (core.threads.batched) counts samples: axis 1 of (steps, samples, inputs),
    # or the rows of a host bias (samples, neurons).
    assert emulator._batch([], 4, input_spikes=np.zeros((4, 3, 5), dtype=bool)) == 3
    assert emulator._batch([], 4, host_bias=np.zeros((2, 7), dtype=np.int64)) == 2


def recurrent_fixed() -> FixedLayer:
    """2 inputs -> 2 neurons: weights W (exponent -1), recurrent REC (exponent 1).

    ``du = 4095`` (the current decays by 4096 / 4096: none is held), ``dv = 0`` (no leak), no
    bias, ``vth = 3``: v > 3 x 64 fires. With u = a << 6 every step, v / 64 is the running sum
    of what arrived, reset to 0 on a spike.
    """
    layer = Layer("fc", "dense", W.astype(float), np.zeros(2), (2,), (2,),
                  Neuron("if", 1.0, 1.0, 0.0, 1.0), recurrent=REC.astype(float))
    return FixedLayer(layer, True, 1.0, W, -1, np.zeros(2, dtype=np.int64), 0, 0, 4095, 3, 0.0,
                      recurrent=REC, recurrent_exp=1)


def test_a_recurrent_layer_step_by_step() -> None:
    # Input x (sample 0): t0 [1, 1], t1 [0, 1], t2 [0, 0], t3 [1, 0], then nothing. Sample 1:
    # no input at all (it must stay silent whatever sample 0 does).
    # ff(x) = (x @ W.T) >> 1: [1, 1] -> [2, 7]; [0, 1] -> [-3, 9] >> 1 = [-2, 4];
    # [1, 0] -> [3, 2]. rec(s) = (s @ REC.T) << 1: [0, 1] -> [10, 0]; [1, 0] -> [4, -6];
    # [1, 1] -> [14, -6]. What step t computes arrives at step t + 1; v in units of 64:
    # t0: a = 0, v = [0, 0]. Sends ff(x0) = [2, 7].
    # t1: v = [2, 7]: neuron 1 fires (7 > 3), v = [2, 0]. Sends ff(x1) + rec([0, 1])
    #     = [-2, 4] + [10, 0] = [8, 4].
    # t2: v = [10, 4]: both fire, v = [0, 0]. Sends 0 + rec([1, 1]) = [14, -6].
    # t3: v = [14, -6]: neuron 0 fires, v = [0, -6]. Sends ff(x3) + rec([1, 0]) = [3, 2] +
    #     [4, -6] = [7, -4].
    # t4: v = [7, -10]: neuron 0 fires. Sends rec([1, 0]) = [4, -6].
    # t5: v = [4, -16]: neuron 0 fires.
    steps = 6
    x = np.zeros((steps, 2, 2), dtype=bool)
    x[0, 0] = [True, True]
    x[1, 0] = [False, True]
    x[3, 0] = [True, False]
    result = emulator.emulate([recurrent_fixed()], steps, input_spikes=x)
    (spikes,) = result.spikes
    assert spikes[:, 0, 0].astype(int).tolist() == [0, 0, 1, 1, 1, 1]
    assert spikes[:, 0, 1].astype(int).tolist() == [0, 1, 1, 0, 0, 0]
    assert not spikes[:, 1].any()
    assert result.u_wraps == [0] and result.wrapped_samples.tolist() == [False, False]
