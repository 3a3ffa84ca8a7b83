"""Sigma-delta deployment: hand-computed messages and events, emulator against Lava."""

import numpy as np
import pytest

from neuropipe.targets.loihi.sdnn.deploy import _events, _Tally, fan_outs
from neuropipe.targets.loihi.sdnn.emulator import emulate_sdnn
from neuropipe.targets.loihi.sdnn.network import AnnLayer
from neuropipe.targets.loihi.sdnn.quantize import SdnnLayer, quantize_sdnn, with_threshold


def hand_layer(weight, bias, relu, state_exp, vth=0):
    weight = np.asarray(weight)
    ann = AnnLayer("fc", "dense", weight.astype(float), np.asarray(bias, dtype=float),
                   (weight.shape[1],), (weight.shape[0],), relu)
    return SdnnLayer(ann, weight, 0, state_exp, np.asarray(bias), vth, 1.0, 1.0, 1.0, 1.0, 0.0)


def hand_network(vth=0):
    # Hidden: w0 . x + [0, 6], ReLU, messages act >> 1; output: w1 . m + [1, -3], identity.
    return [hand_layer([[2, 4], [-2, 2]], [0, 6], True, 1, vth),
            hand_layer([[2, 0], [4, -2]], [1, -3], False, 0)]


def events_of(layers, x, result):
    tally = _Tally(layers, len(x))
    tally.add(0, x, result)
    return _events(tally, fan_outs(layers), len(x))


def test_hand_computed_messages_and_events():
    layers, x = hand_network(), np.array([[3, 1]])
    result = emulate_sdnn(layers, x, 3)
    # Step 0: the input is sent; nothing reaches the layers yet (biases wait for the input).
    # Step 1: layer 0 gets w0 . x = [10, -4] and its bias [0, 6]: act [10, 2] -> [5, 1].
    assert result.messages[0][:, 0].tolist() == [[0, 0], [5, 1], [0, 0]]
    # Step 2: the output gets w1 . [5, 1] = [10, 18] and its bias [1, -3].
    assert result.messages[1][:, 0].tolist() == [[0, 0], [0, 0], [11, 15]]
    assert result.scores.tolist() == [[11, 15]]
    # Events: input 2 pixels x fan-out 2 = 4; layer 0: [5, 1] x fan-outs [2, 1] = 3; the
    # output goes to the host: 0; the 3 nonzero biases enter as one message each.
    assert events_of(layers, x, result) == [4.0, 3.0, 0.0, 3.0]


def test_hand_computed_delta_threshold_keeps_small_changes_as_residue():
    layers, x = hand_network(vth=3), np.array([[3, 1]])  # |delta| >= 3 << 1 = 6 is sent
    result = emulate_sdnn(layers, x, 3)
    # Step 1: delta [10, 2]: 2 stays as residue (and stays below 6 at step 2).
    assert result.messages[0][:, 0].tolist() == [[0, 0], [5, 0], [0, 0]]
    assert result.scores.tolist() == [[11, 17]]  # w1 . [5, 0] + [1, -3]
    assert events_of(layers, x, result) == [4.0, 2.0, 0.0, 3.0]


def small_ann(rng, conv):
    layers = []
    if conv:
        layers.append(AnnLayer("conv", "conv", rng.normal(0, 0.5, (2, 1, 3, 3)),
                               rng.normal(0, 0.1, 2), (1, 6, 6), (2, 3, 3), True, (2, 2), (1, 1)))
        n_in = 18
    else:
        n_in = 12
    layers.append(AnnLayer("fc1", "dense", rng.normal(0, 0.4, (8, n_in)), rng.normal(0, 0.1, 8),
                           (n_in,), (8,), True))
    layers.append(AnnLayer("fc2", "dense", rng.normal(0, 0.4, (3, 8)), rng.normal(0, 0.1, 3),
                           (8,), (3,), False))
    return layers


@pytest.mark.parametrize("conv", [False, True])
def test_emulator_matches_lava_message_for_message(conv):
    from neuropipe.targets.loihi.sdnn.lava_runner import run_sdnn_in_lava
    from neuropipe.targets.loihi.sdnn.quantize import input_messages

    rng = np.random.default_rng(3)
    ann = small_ann(rng, conv)
    shape = (1, 6, 6) if conv else (12,)
    x = rng.random((3, *shape))
    layers = with_threshold(quantize_sdnn(ann, rng.random((20, *shape))), 0.05)
    assert layers[0].vth > 0  # the residue path is exercised too
    steps = len(layers) + 1
    x_int = input_messages(x)
    emulated = emulate_sdnn(layers, x_int, steps)
    lava = run_sdnn_in_lava(layers, steps, x_int, 2)
    for k in range(2):
        for i, got in enumerate(lava[k]):
            np.testing.assert_array_equal(emulated.messages[i][:, k], got)


def test_quantised_network_tracks_the_float_ann():
    from neuropipe.targets.loihi.sdnn.network import forward
    from neuropipe.targets.loihi.sdnn.quantize import input_messages

    rng = np.random.default_rng(0)
    ann = small_ann(rng, conv=True)
    x = rng.random((200, 1, 6, 6))
    layers = quantize_sdnn(ann, x)
    scores = emulate_sdnn(layers, input_messages(x), len(layers) + 1).scores
    expected = forward(ann, x)[-1]
    assert np.max(np.abs(scores / layers[-1].act_scale - expected)) < 0.05 * np.abs(
        expected).max()


def test_events_per_inference_over_two_samples_count_nonzero_columns():
    # Sample 2, x = [4, 0]: one pixel (fan-out 2); layer 0 gets [8, -8] + [0, 6] = [8, -2],
    # ReLU [8, 0], message [4, 0]: only neuron 0 sends, through w1's column 0 (2 nonzero; its
    # row would count 1).
    layers, x = hand_network(), np.array([[3, 1], [4, 0]])
    result = emulate_sdnn(layers, x, 3)
    assert result.messages[0][:, 1].tolist() == [[0, 0], [4, 0], [0, 0]]
    # Per inference: input (4 + 2) / 2 = 3; layer 0 (3 + 2) / 2 = 2.5; biases 3 per image.
    assert events_of(layers, x, result) == [3.0, 2.5, 0.0, 3.0]
