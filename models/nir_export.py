"""Export of spiking models as NIR graphs (norse's exporter plus the checked workarounds).

Convention: neuropipe's graphs count time in steps (``dt = 1``). A LIF node with ``tau`` means
``v += (1/tau) * (v_leak - v + r * I)`` per step (norse's LIFBoxCell with dt = 1), spikes when
``v > v_threshold`` and resets to 0; ``I`` is this step's output of the preceding Affine/Conv2d.
The graph's metadata records ``dt``, ``timesteps`` and ``encoding``.

norse 1.1's ``to_nir`` needs three workarounds (see the stack notes): pass ``dt=1.0`` (otherwise
time constants come out scaled by dt, norse issue 411), broadcast scalar neuron parameters to the
layer's shape (``nir.write`` rejects scalar datasets), and trace with an unbatched sample. It also
exports ``nn.Flatten`` as ``None``; those nodes are replaced by ``nir.Flatten``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuropipe.core.errors import GraphError
from neuropipe.core.files import write_bytes_atomic
from neuropipe.models.norse_import import import_norse_torch
from neuropipe.models.snn import DT, SpikingNet, fold_batch_norm

INPUT_SHAPE = (1, 28, 28)
NEURON_FIELDS = ("tau", "tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in")


def _shapes(net: torch.nn.Module, sample: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Unbatched output shape of every module of a ``SequentialState``, by index name."""
    shapes, x, state = {}, sample.unsqueeze(0), None
    with torch.no_grad():
        for i, module in enumerate(net):
            out = module(x)
            x = out[0] if isinstance(out, tuple) else out
            shapes[str(i)] = tuple(x.shape[1:])
    del state
    return shapes


def export_snn(model: Any, input_shape: tuple[int, ...] = INPUT_SHAPE) -> Any:
    """Return the NIR graph of a trained spiking model.

    Args:
        model: A ``SpikingNet`` (its ``net`` is a norse ``SequentialState``), or a
            ``LocalLearner`` (lsm, stdp), which exports itself.
        input_shape: Unbatched input shape.
    """
    from neuropipe.models.local import LocalLearner

    if isinstance(model, LocalLearner):  # lsm, stdp: their own graph (export_recurrent)
        return model.to_nir()
    import nir
    nt = import_norse_torch()

    sample = torch.zeros(input_shape)
    # norse traces one unbatched sample, for which the model's nn.Flatten() (start_dim=1) would
    # flatten the wrong dimensions after a convolution: trace a copy flattening from dim 0.
    net = fold_batch_norm(model.net)  # batch norm folded into its convolution
    traced = copy.deepcopy(net)
    for i, module in enumerate(traced):
        if isinstance(module, torch.nn.Flatten):
            traced[i] = torch.nn.Flatten(start_dim=0)
    graph = nt.to_nir(traced, sample, dt=DT)
    shapes = _shapes(net, sample)
    nodes: dict[str, Any] = {}
    prev_shape: tuple[int, ...] = tuple(input_shape)
    for name, node in graph.nodes.items():
        if node is None:
            module = net[int(name)]
            if not isinstance(module, torch.nn.Flatten):
                raise GraphError(f"norse could not export layer {name} ({type(module).__name__})")
            node = nir.Flatten(input_type={"input": np.array(prev_shape)}, start_dim=0)
        elif type(node).__name__ in ("LIF", "CubaLIF", "IF"):
            size = shapes.get(name, prev_shape)
            for field in NEURON_FIELDS:
                value = getattr(node, field, None)
                if value is not None:
                    setattr(node, field, np.broadcast_to(np.asarray(value, dtype=np.float32),
                                                         size).copy())
        elif type(node).__name__ == "Conv2d" and getattr(node, "input_shape", None) is None:
            # norse leaves the input size out; nir.write cannot store None.
            node = nir.Conv2d(input_shape=tuple(int(d) for d in prev_shape[-2:]),
                              weight=node.weight, stride=node.stride, padding=node.padding,
                              dilation=node.dilation, groups=node.groups, bias=node.bias)
        elif type(node).__name__ == "Output":
            # Traced with a (C, H, W) sample, norse's Flatten keeps a leading 1 on the output.
            node = nir.Output(output_type={"output": np.array(prev_shape)})
        for field in ("weight", "bias"):
            value = getattr(node, field, None)
            if isinstance(value, torch.Tensor):
                setattr(node, field, value.detach().cpu().numpy().astype(np.float32))
        nodes[name] = node
        if name in shapes:
            prev_shape = shapes[name]
    out = nir.NIRGraph(nodes=nodes, edges=list(graph.edges), type_check=False)
    out.metadata = {"dt": DT, "timesteps": model.timesteps, "encoding": model.encoding,
                    "producer": "neuropipe", "time_unit": "steps"}
    return out


def export_model(model: torch.nn.Module) -> Any:
    """The NIR graph of any trained spiking model of the registry."""
    from neuropipe.models.local import LocalLearner

    if isinstance(model, LocalLearner):
        return model.to_nir()
    if isinstance(model, SpikingNet):
        return export_snn(model)
    raise GraphError(f"{type(model).__name__} is not a spiking model: convert it first")


def _array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def export_recurrent(w_in: Any, b_in: Any, w_rec: Any, tau: float, v_threshold: Any,
                     readout_weight: Any, readout_bias: Any, timesteps: int, encoding: str,
                     model: str, r: float = 1.0) -> Any:
    """NIR graph of one recurrent LIF layer with a host readout (the contract of 2026-12-03).

    ``input -> flatten -> w_in (Affine) -> lif``, ``lif -> w_rec (Linear) -> lif`` (the
    recurrent input arrives one step later: ``I_t = W_in x_t + b_in + W_rec s_{t-1}``), and
    ``lif -> readout (Affine) -> output``: class scores ``W c + b`` of the spike counts ``c``
    summed over all steps, computed on the host. The LIF neurons have ``v_leak = 0``,
    ``v_reset = 0``, current-based delta synapses and no refractory period;
    ``v_threshold`` may differ per neuron.

    Args:
        w_in: Input weights ``(neurons, 784)``.
        b_in: Input bias ``(neurons,)``.
        w_rec: Dense recurrent weights ``(neurons, neurons)`` (row: receiving neuron).
        tau: Membrane time constant in steps.
        v_threshold: Threshold per neuron ``(neurons,)``.
        readout_weight: ``(classes, neurons)``.
        readout_bias: ``(classes,)``.
        timesteps: Steps per sample.
        encoding: Input encoding the model was trained and evaluated with.
        model: Model name, kept in the metadata.
        r: Input resistance (``r = tau`` makes each input spike add its weight to ``v``).
    """
    import nir

    w_in, w_rec, readout = _array(w_in), _array(w_rec), _array(readout_weight)
    n = w_in.shape[0]
    if w_rec.shape != (n, n) or readout.shape[1] != n:
        raise GraphError(f"recurrent layer of {n} neurons with recurrent weights {w_rec.shape} "
                         f"and readout {readout.shape}: the shapes do not fit")
    ones = np.ones(n, dtype=np.float32)
    nodes = {
        "input": nir.Input(input_type={"input": np.array(INPUT_SHAPE)}),
        "flatten": nir.Flatten(input_type={"input": np.array(INPUT_SHAPE)}, start_dim=0),
        "w_in": nir.Affine(weight=w_in, bias=_array(b_in)),
        "lif": nir.LIF(tau=ones * np.float32(tau), r=ones * np.float32(r),
                       v_leak=np.zeros(n, dtype=np.float32),
                       v_threshold=np.broadcast_to(_array(v_threshold), (n,)).copy(),
                       v_reset=np.zeros(n, dtype=np.float32)),
        "w_rec": nir.Linear(weight=w_rec),
        "readout": nir.Affine(weight=readout, bias=_array(readout_bias)),
        "output": nir.Output(output_type={"output": np.array([readout.shape[0]])}),
    }
    edges = [("input", "flatten"), ("flatten", "w_in"), ("w_in", "lif"), ("lif", "w_rec"),
             ("w_rec", "lif"), ("lif", "readout"), ("readout", "output")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    graph.metadata = {"dt": DT, "timesteps": timesteps, "encoding": encoding,
                      "producer": "neuropipe", "time_unit": "steps", "model": model,
                      "readout": "host: argmax of readout @ spike counts of lif"}
    return graph


def write_nir(graph: Any, path: Path) -> None:
    """Write ``graph`` to ``path`` atomically (through a temporary file).

    The HDF5 bytes are made in memory first: HDF5 writing into a full disk fails in its
    destructors (a traceback per object, then a crash), a plain write gives one ``OSError``.
    """
    import io

    import nir

    _order_edges(graph)
    buffer = io.BytesIO()
    nir.write(buffer, graph)
    write_bytes_atomic(path, buffer.getvalue())


def _order_edges(graph: Any) -> None:
    """Put the edges of ``graph`` (and of its subgraphs) in the order of their nodes, in place.

    norse collects a graph's edges in a set, so their order, and with it the file's bytes and
    ``graph_sha256``, changed from one export of the same network to the next. The nodes keep
    their insertion order, so sorting edges by the positions of their ends makes the file
    depend on the network only.
    """
    position = {name: i for i, name in enumerate(graph.nodes)}
    graph.edges = sorted(graph.edges, key=lambda edge: (
        position.get(edge[0].split(".")[0], len(position)), edge[0],
        position.get(edge[1].split(".")[0], len(position)), edge[1]))
    for node in graph.nodes.values():
        if hasattr(node, "nodes") and hasattr(node, "edges"):
            _order_edges(node)


def read_nir(path: Path) -> Any:
    """Read a NIR file.

    Raises:
        GraphError: If the file is missing or not a readable NIR graph.
    """
    import nir

    path = Path(path)
    if not path.is_file():
        raise GraphError(f"{path} does not exist: pass a run directory or a .nir file")
    try:
        return nir.read(str(path))
    except Exception as e:  # noqa: BLE001 - h5py/nir raise many kinds for a corrupt file
        first = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise GraphError(f"{path} is not a readable NIR file ({type(e).__name__}: {first}); "
                         "export it again with nir.write") from e
