"""A NIR graph read as a chain of (synapse, neuron) layers, the form targets run.

This reader is shared by every target and refuses only what no target here can run (node types
without a mapping, branches, cycles other than a neuron's own recurrence, shapes that do not fit,
NaN). What one backend cannot hold (per-neuron parameters, a reset other than 0...) is that
backend's ``supports`` to refuse.

Beyond a feed-forward chain it reads what the project's NIR contract for bio-inspired models
(recurrence, host readouts, per-neuron thresholds; issue 11) adds:

- A self-recurrent synapse: a Linear or Affine node ``R`` with edges ``N -> R -> N`` onto a
  neuron node ``N`` that also has its feed-forward synapse ``F``. At step ``t`` the neurons
  receive ``W_F x_t + b_F + W_R s_{t-1} + b_R`` (``s_{-1} = 0``): one step of delay. At most one
  per neuron node, dense layers only. ``b_R`` acts every step like ``b_F`` and is folded into
  the layer's bias.
- A host readout: a final Linear or Affine node whose edge goes straight to the Output node.
  Class scores are ``W c + b`` of the last layer's spike counts ``c`` over the run; targets run
  it on the host and count it as host work.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuropipe.core.errors import GraphError

SYNAPSE_NODES = ("Affine", "Linear", "Conv2d")
NEURON_NODES = ("LIF", "IF")
PASS_NODES = ("Input", "Output", "Flatten")


@dataclass
class Neuron:
    """Neuron parameters of a layer: one value each, or one per neuron (flattened order).

    Discrete-time reading with step ``dt`` (norse's LIFBox reading, time constants in steps
    when dt = 1): ``v += alpha * (v_leak - v) + alpha * r * I`` for LIF with
    ``alpha = dt / tau``; ``v += r * I`` for IF; spike when ``v > v_threshold``, then
    ``v = v_reset``.
    """

    kind: str
    alpha: float | np.ndarray
    r: float | np.ndarray
    v_leak: float | np.ndarray
    v_threshold: float | np.ndarray
    v_reset: float | np.ndarray = 0.0

    @property
    def leak(self) -> float | np.ndarray:
        """Fraction of the membrane lost per step (0 for IF)."""
        return self.alpha if self.kind == "lif" else 0.0

    @property
    def input_gain(self) -> float | np.ndarray:
        """Factor on the synaptic input: ``alpha * r`` for LIF, ``r`` for IF."""
        return self.alpha * self.r if self.kind == "lif" else self.r

    def per_neuron(self) -> list[str]:
        """Names of the parameters that differ between neurons (empty if all are shared)."""
        return [f.name for f in dataclasses.fields(self)
                if isinstance(getattr(self, f.name), np.ndarray)]


@dataclass
class Layer:
    """One synapse layer and the neurons it drives.

    Attributes:
        name: NIR name of the synapse node.
        kind: ``dense`` or ``conv``.
        weight: Dense ``(out, in)`` or conv ``(out_ch, in_ch, kh, kw)`` weights.
        bias: Per output channel (conv) or neuron (dense); zeros if the node has none.
        in_shape: Shape of the layer input (``(features,)`` or ``(C, H, W)``).
        out_shape: Shape of the layer output.
        neuron: The neuron parameters.
        neuron_name: NIR name of the neuron node.
        stride: Conv stride.
        padding: Conv padding.
        recurrent: Self-recurrent weights ``(neurons, neurons)`` (post, pre) acting on the
            layer's own spikes of the previous step, or None.
        recurrent_name: NIR name of the recurrent synapse node ("" without one).
    """

    name: str
    kind: str
    weight: np.ndarray
    bias: np.ndarray
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    neuron: Neuron
    neuron_name: str = ""
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    recurrent: np.ndarray | None = None
    recurrent_name: str = ""

    @property
    def neurons(self) -> int:
        """Number of neurons the layer drives."""
        return int(np.prod(self.out_shape))

    @property
    def inputs(self) -> int:
        """Number of inputs (presynaptic neurons or pixels)."""
        return int(np.prod(self.in_shape))


@dataclass
class Readout:
    """A host readout: class scores ``weight @ counts + bias`` of the last layer's spike counts.

    Attributes:
        name: NIR name of the readout node.
        weight: ``(classes, neurons of the last layer)``.
        bias: ``(classes,)``; zeros for a Linear node.
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray

    @property
    def classes(self) -> int:
        """Number of class scores."""
        return int(self.weight.shape[0])

    @property
    def macs(self) -> int:
        """Host multiply-accumulates of one readout (nonzero weights; biases not counted)."""
        return int(np.count_nonzero(self.weight))


@dataclass
class Chain:
    """The layers of a graph, in order, its input shape and its optional host readout."""

    input_shape: tuple[int, ...]
    layers: list[Layer] = field(default_factory=list)
    readout: Readout | None = None

    @property
    def recurrent(self) -> bool:
        """True if any layer has a self-recurrent synapse."""
        return any(layer.recurrent is not None for layer in self.layers)

    def scores(self, counts: np.ndarray) -> np.ndarray:
        """Class scores of the last layer's spike counts ``(N, neurons)``.

        Without a readout the counts themselves are the scores (argmax of the spike counts).
        """
        counts = np.asarray(counts)
        if self.readout is None:
            return counts
        return counts.astype(np.float64) @ self.readout.weight.T + self.readout.bias


def _values(node: Any, attr: str, name: str, shape: tuple[int, ...] | None,
            problems: list[str]) -> float | np.ndarray | None:
    """A neuron parameter: a float when all neurons share it, else one value per neuron."""
    value = getattr(node, attr, None)
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        problems.append(f"node '{name}' has an empty {attr}")
        return None
    if not np.all(np.isfinite(arr)):
        problems.append(f"node '{name}' ({type(node).__name__}) has NaN or infinite {attr}")
        return None
    flat = arr.ravel()
    if np.all(flat == flat[0]):
        return float(flat[0])
    if shape is None:
        return flat.copy()
    try:
        return np.broadcast_to(arr.reshape(arr.shape), shape).ravel().copy()
    except ValueError:
        problems.append(f"node '{name}' ({type(node).__name__}) has {attr} of shape {arr.shape}, "
                        f"which does not fit its {shape} neurons")
        return None


def _recurrent_synapses(graph: Any) -> dict[str, str]:
    """Self-recurrent synapse nodes ``{neuron node: synapse node}`` (``N -> R -> N``).

    Raises:
        GraphError: For a recurrent synapse that is a convolution, or a neuron node with more
            than one.
    """
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        succ.setdefault(src, []).append(dst)
        pred.setdefault(dst, []).append(src)
    found: dict[str, list[str]] = {}
    for name, node in graph.nodes.items():
        kind = type(node).__name__
        if kind not in SYNAPSE_NODES:
            continue
        ins, outs = pred.get(name, []), succ.get(name, [])
        if len(ins) == 1 and outs == ins and ins[0] in graph.nodes \
                and type(graph.nodes[ins[0]]).__name__ in NEURON_NODES:
            if kind == "Conv2d":
                raise GraphError(f"recurrent synapse node '{name}' of neuron node '{ins[0]}' is "
                                 "a Conv2d; only a Linear or Affine recurrent synapse is "
                                 "supported")
            found.setdefault(ins[0], []).append(name)
    for neuron, synapses in found.items():
        if len(synapses) > 1:
            names = ", ".join(f"'{s}'" for s in sorted(synapses, key=str))
            raise GraphError(f"neuron node '{neuron}' has {len(synapses)} recurrent synapse "
                             f"nodes ({names}); at most one per neuron node is supported")
    return {neuron: synapses[0] for neuron, synapses in found.items()}


def _find_cycle(nodes: list[str], edges: list[tuple[str, str]]) -> list[str] | None:
    """A cycle of the directed graph as a node list (first node repeated at the end), or None."""
    succ: dict[str, list[str]] = {}
    for src, dst in edges:
        succ.setdefault(src, []).append(dst)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in nodes:
        if state.get(root):
            continue
        path, stack = [root], [iter(succ.get(root, []))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(succ.get(nxt, [])))
    return None


def _order(graph: Any, skip: set[str] | None = None) -> list[str]:
    """Return node names along the single path from the input to the output.

    Args:
        graph: The NIR graph.
        skip: Nodes left out (the self-recurrent synapses), with their edges.
    """
    skip = skip or set()
    nodes = [n for n in graph.nodes if n not in skip]
    edges = [(a, b) for a, b in graph.edges if a not in skip and b not in skip]
    cycle = _find_cycle(nodes, edges)
    if cycle is not None:
        raise GraphError(f"the graph has a cycle through node '{cycle[0]}' "
                         f"({' -> '.join(map(str, cycle))}); only a self-recurrent synapse (a "
                         "Linear or Affine node from a LIF or IF node back to the same node) "
                         "is supported, not recurrence from another population")
    succ: dict[str, list[str]] = {}
    for src, dst in edges:
        succ.setdefault(src, []).append(dst)
    starts = [n for n in nodes if type(graph.nodes[n]).__name__ == "Input"]
    if len(starts) != 1:
        raise GraphError(f"the graph has {len(starts)} Input nodes; a feed-forward chain with "
                         "one Input is supported")
    order, current = [], starts[0]
    while True:
        order.append(current)
        nxt = succ.get(current, [])
        if not nxt:
            break
        if len(nxt) > 1:
            raise GraphError(f"node '{current}' feeds {len(nxt)} nodes; only a single chain "
                             "(no branches or skip connections; recurrence only as one "
                             "synapse from a neuron node back to itself) is supported")
        current = nxt[0]
    if len(order) != len(nodes):
        missing = sorted(set(nodes) - set(order), key=str)
        raise GraphError(f"nodes {missing} are not on the path from Input to Output; only a "
                         "single feed-forward chain is supported")
    return order


def unsupported(graph: Any, dt: float = 1.0) -> list[str]:
    """List what in ``graph`` cannot be read as a chain of layers (empty if all is fine)."""
    try:
        to_chain(graph, dt)
    except GraphError as e:
        return [str(e)]
    return []


def to_chain(graph: Any, dt: float = 1.0) -> Chain:
    """Read a NIR graph as a chain of layers.

    Args:
        graph: A ``nir.NIRGraph``, or a ``Chain`` already read (returned as it is: ``convert``
            reads a graph once and hands the chain to the target).
        dt: Step used to discretise continuous time constants (of a NIR graph).

    Raises:
        GraphError: Naming every node that is not supported and what is supported instead.
    """
    if isinstance(graph, Chain):
        return graph
    problems: list[str] = []
    recurrent = _recurrent_synapses(graph)
    order = _order(graph, set(recurrent.values()))
    input_node = graph.nodes[order[0]]
    shape = tuple(int(s) for s in np.asarray(input_node.input_type["input"]).ravel())
    input_shape = shape
    chain = Chain(input_shape=input_shape)
    pending: dict[str, Any] | None = None
    for name in order[1:]:
        node = graph.nodes[name]
        kind = type(node).__name__
        if kind in ("Output", "Input"):
            continue
        if kind == "Flatten":
            shape = (int(np.prod(shape)),)
            continue
        if kind in SYNAPSE_NODES:
            if pending is not None:
                problems.append(f"node '{name}' ({kind}) follows synapse node "
                                f"'{pending['name']}' without neurons in between; each synapse "
                                "layer must drive a LIF or IF population (a host readout must "
                                "be the last node before Output)")
            pending = _synapse(name, node, shape, problems)
            if pending is not None:
                shape = pending["out_shape"]
            continue
        if kind in NEURON_NODES:
            if pending is None:
                problems.append(f"neuron node '{name}' ({kind}) has no synapse layer before it")
                _neuron(name, node, dt, None, problems)
                continue
            neuron = _neuron(name, node, dt, pending["out_shape"], problems)
            if neuron is not None:
                layer = Layer(neuron=neuron, neuron_name=name, **pending)
                if name in recurrent:
                    _attach_recurrent(layer, recurrent[name], graph.nodes[recurrent[name]],
                                      problems)
                chain.layers.append(layer)
            pending = None
            continue
        hint = (" (neuropipe models: train with --neuron lif to deploy on Loihi)"
                if kind == "CubaLIF" else "")
        problems.append(f"node '{name}' is a {kind}, which has no mapping here; supported: "
                        f"{', '.join(SYNAPSE_NODES + NEURON_NODES + PASS_NODES)}{hint}")
        pending = None  # the unsupported node stands where neurons would: report it alone
    if pending is not None:
        if pending["kind"] == "dense" and chain.layers:
            chain.readout = Readout(pending["name"], pending["weight"], pending["bias"])
        else:
            problems.append(f"synapse node '{pending['name']}' drives no neurons; the last layer "
                            "must be LIF or IF neurons (the class is read from their spike "
                            "counts), or a host readout (Linear or Affine straight before "
                            "Output, after a neuron layer)")
    if not chain.layers and not problems:
        problems.append("the graph has no synapse-and-neuron layer")
    if problems:
        raise GraphError("; ".join(problems))
    return chain


def _attach_recurrent(layer: Layer, name: str, node: Any, problems: list[str]) -> None:
    """Give ``layer`` the recurrent synapse ``node`` (its bias folded into the layer's)."""
    kind = type(node).__name__
    n = layer.neurons
    if layer.kind != "dense":
        problems.append(f"recurrent synapse node '{name}' feeds neuron node "
                        f"'{layer.neuron_name}', which a convolution drives; recurrence is "
                        "supported on dense layers only")
        return
    found = _synapse(name, node, (n,), problems)
    if found is None:
        return
    if found["weight"].shape != (n, n):
        problems.append(f"recurrent synapse node '{name}' ({kind}) has weights "
                        f"{found['weight'].shape}; neuron node '{layer.neuron_name}' needs "
                        f"({n}, {n})")
        return
    layer.recurrent = found["weight"]
    layer.recurrent_name = name
    layer.bias = layer.bias + found["bias"]


def _synapse(name: str, node: Any, shape: tuple[int, ...], problems: list[str]
             ) -> dict[str, Any] | None:
    kind = type(node).__name__
    weight = np.asarray(node.weight, dtype=np.float64)
    bias_values = np.asarray(getattr(node, "bias", 0.0), dtype=np.float64)
    if not (np.all(np.isfinite(weight)) and np.all(np.isfinite(bias_values))):
        problems.append(f"node '{name}' ({kind}) has weights or biases that are NaN or infinite")
        return None
    if kind in ("Affine", "Linear"):
        if len(shape) != 1:
            shape = (int(np.prod(shape)),)
        if weight.ndim != 2 or weight.shape[1] != shape[0]:
            problems.append(f"node '{name}' ({kind}) has weights {weight.shape} but receives "
                            f"{shape[0]} inputs")
            return None
        bias = np.asarray(getattr(node, "bias", 0.0) if kind == "Affine" else 0.0,
                          dtype=np.float64)
        bias = np.broadcast_to(bias, (weight.shape[0],)).copy()
        return dict(name=name, kind="dense", weight=weight, bias=bias, in_shape=shape,
                    out_shape=(weight.shape[0],))
    # Conv2d
    if len(shape) != 3 or weight.ndim != 4 or weight.shape[1] != shape[0]:
        problems.append(f"node '{name}' (Conv2d) with weights {weight.shape} does not fit its "
                        f"input of shape {shape}")
        return None
    if int(np.asarray(node.groups)) != 1 or np.any(np.asarray(node.dilation) != 1):
        problems.append(f"node '{name}' (Conv2d) uses groups or dilation; only groups=1, "
                        "dilation=1 are supported")
        return None
    if isinstance(node.padding, str):
        problems.append(f"node '{name}' (Conv2d) has padding '{node.padding}'; give it in pixels")
        return None
    stride = tuple(int(s) for s in np.broadcast_to(np.asarray(node.stride), (2,)))
    padding = tuple(int(p) for p in np.broadcast_to(np.asarray(node.padding), (2,)))
    kh, kw = weight.shape[2:]
    h = (shape[1] + 2 * padding[0] - kh) // stride[0] + 1
    w = (shape[2] + 2 * padding[1] - kw) // stride[1] + 1
    bias = np.broadcast_to(np.asarray(node.bias, dtype=np.float64), (weight.shape[0],)).copy()
    return dict(name=name, kind="conv", weight=weight, bias=bias, in_shape=shape,
                out_shape=(weight.shape[0], h, w), stride=stride, padding=padding)


def _neuron(name: str, node: Any, dt: float, shape: tuple[int, ...] | None,
            problems: list[str]) -> Neuron | None:
    kind = type(node).__name__
    before = len(problems)
    r = _values(node, "r", name, shape, problems)
    vth = _values(node, "v_threshold", name, shape, problems)
    v_reset = _values(node, "v_reset", name, shape, problems)
    v_reset = 0.0 if v_reset is None else v_reset
    if kind == "IF":
        if len(problems) > before:
            return None
        return Neuron("if", 1.0, r, 0.0, vth, v_reset)
    tau = _values(node, "tau", name, shape, problems)
    v_leak = _values(node, "v_leak", name, shape, problems)
    if len(problems) > before:
        return None
    if tau is None or np.any(np.asarray(tau) <= 0):
        problems.append(f"node '{name}' (LIF) has tau={_show(tau)}; it must be positive")
        return None
    alpha = dt / tau
    if np.any(np.asarray(alpha) > 1):
        problems.append(f"node '{name}' (LIF) has dt/tau = {_show(alpha)} with dt={dt:g}; it must "
                        "be in (0, 1]: pass the --dt the graph was made with")
        return None
    return Neuron("lif", alpha, r, v_leak, vth, v_reset)


def _show(value: float | np.ndarray | None) -> str:
    """A parameter for a message: the value, or the range of per-neuron values."""
    if isinstance(value, np.ndarray):
        return f"{value.min():.4g}..{value.max():.4g}"
    return f"{value:g}" if value is not None else "None"
