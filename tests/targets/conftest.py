"""Small NIR graphs for target tests."""

from __future__ import annotations

import nir
import numpy as np
import pytest


def lif(n, tau=5.0, vth=1.0):
    return nir.LIF(tau=np.full(n, tau), r=np.ones(n), v_leak=np.zeros(n),
                   v_threshold=np.full(n, vth), v_reset=np.zeros(n))


def if_(shape):
    return nir.IF(r=np.ones(shape), v_threshold=np.ones(shape), v_reset=np.zeros(shape))


def dense_graph(rng, sizes=(20, 16, 4), neuron="lif", scale=0.6):
    nodes = {"input": nir.Input(input_type={"input": np.array([sizes[0]])})}
    edges, prev = [], "input"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        nodes[f"fc{i}"] = nir.Affine(weight=rng.normal(0, scale, (b, a)),
                                     bias=rng.normal(0, 0.2, b))
        nodes[f"n{i}"] = lif(b) if neuron == "lif" else if_((b,))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"n{i}")]
        prev = f"n{i}"
    nodes["output"] = nir.Output(output_type={"output": np.array([sizes[-1]])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges)


def conv_graph(rng):
    nodes = {
        "input": nir.Input(input_type={"input": np.array([1, 8, 8])}),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=rng.normal(0, 0.5, (3, 1, 3, 3)),
                           stride=2, padding=1, dilation=1, groups=1, bias=rng.normal(0, .1, 3)),
        "if0": if_((3, 4, 4)),
        "conv2": nir.Conv2d(input_shape=(4, 4), weight=rng.normal(0, 0.8, (4, 3, 3, 3)),
                            stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(4)),
        "if1": if_((4, 4, 4)),
        "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0),
        "fc": nir.Affine(weight=rng.normal(0, 0.3, (5, 64)), bias=np.zeros(5)),
        "if2": if_((5,)),
        "output": nir.Output(output_type={"output": np.array([5])}),
    }
    order = ["input", "conv", "if0", "conv2", "if1", "flat", "fc", "if2", "output"]
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def make_dense_graph():
    return dense_graph


@pytest.fixture
def make_conv_graph():
    return conv_graph


def hand_count_graph():
    """3 inputs -> 2 IF -> 2 IF (identity), threshold 0.9; one weight (0.001) that Loihi
    quantises to 0. Worked through by hand in the hand-count tests of every target."""

    def if_2():
        return nir.IF(r=np.ones(2), v_threshold=np.full(2, 0.9), v_reset=np.zeros(2))

    nodes = {
        "input": nir.Input(input_type={"input": np.array([3])}),
        "fc0": nir.Affine(weight=np.array([[1.0, 0.001, 0.5], [0.6, 0.0, 0.2]]),
                          bias=np.zeros(2)),
        "if0": if_2(),
        "fc1": nir.Affine(weight=np.eye(2), bias=np.zeros(2)),
        "if1": if_2(),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))


@pytest.fixture
def hand_graph():
    return hand_count_graph()
