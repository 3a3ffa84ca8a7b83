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


def recurrent_graph(rng, n_in=6, n=5, classes=3, neuron="lif", readout=True, hidden=False,
                    per_neuron_vth=True):
    """6 inputs -> 5 LIF with a self-recurrent Affine (lateral inhibition plus random
    excitation), per-neuron thresholds, and a host readout to 3 classes (the NIR contract).

    ``hidden=True`` puts the recurrent layer first and a spiking output layer of ``classes``
    neurons after it (no readout): recurrence inside the pipeline, not only at its end.
    """
    vth = np.linspace(0.8, 1.6, n) if per_neuron_vth else np.ones(n)
    recurrent = rng.normal(0, 0.4, (n, n)) - 0.5 * (1 - np.eye(n))

    def cells(size, thresholds):
        if neuron == "lif":
            return nir.LIF(tau=np.full(size, 4.0), r=np.ones(size), v_leak=np.zeros(size),
                           v_threshold=thresholds, v_reset=np.zeros(size))
        return nir.IF(r=np.ones(size), v_threshold=thresholds, v_reset=np.zeros(size))

    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc": nir.Affine(weight=rng.normal(0.5, 0.8, (n, n_in)), bias=rng.normal(0, 0.1, n)),
        "lif": cells(n, vth),
        "rec": nir.Affine(weight=recurrent, bias=np.full(n, 0.05)),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif")]
    if hidden:
        nodes["fc_out"] = nir.Affine(weight=rng.normal(0.4, 0.8, (classes, n)),
                                     bias=np.zeros(classes))
        nodes["out_cells"] = cells(classes, np.full(classes, 0.9))
        edges += [("lif", "fc_out"), ("fc_out", "out_cells"), ("out_cells", "output")]
    elif readout:
        nodes["readout"] = nir.Affine(weight=rng.normal(0, 1.0, (classes, n)),
                                      bias=rng.normal(0, 0.1, classes))
        edges += [("lif", "readout"), ("readout", "output")]
    else:
        edges += [("lif", "output")]
    size = classes if (hidden or readout) else n
    nodes["output"] = nir.Output(output_type={"output": np.array([size])})
    return nir.NIRGraph(nodes=nodes, edges=edges)


@pytest.fixture
def make_recurrent_graph():
    return recurrent_graph


def fast_lif_graph():
    """3 inputs -> 2 LIF of tau 0.75: dt/tau = 1.33 at dt = 1 (refused), 0.67 at dt = 0.5."""
    nodes = {"input": nir.Input(input_type={"input": np.array([3])}),
             "fc": nir.Affine(weight=np.array([[1.0, 0.0, 0.5], [0.0, 2.0, 0.0]]),
                              bias=np.zeros(2)),
             "lif": nir.LIF(tau=np.full(2, 0.75), r=np.ones(2), v_leak=np.zeros(2),
                            v_threshold=np.ones(2), v_reset=np.zeros(2)),
             "output": nir.Output(output_type={"output": np.array([2])})}
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))


@pytest.fixture
def make_fast_lif_graph():
    return fast_lif_graph


class RecordingProgress:
    """Records what a rich Progress is told (the targets' progress bars, by hand)."""

    def __init__(self):
        self.calls = []

    def add_task(self, label, total):
        self.calls.append(("add", label, total))
        return len(self.calls)

    def update(self, task, **kwargs):
        self.calls.append(("update", task, kwargs))


@pytest.fixture
def progress():
    return RecordingProgress()
