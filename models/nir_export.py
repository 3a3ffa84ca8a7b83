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
from neuropipe.core.files import atomic_path
from neuropipe.models.norse_import import import_norse_torch
from neuropipe.models.snn import DT, SpikingNet

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


def export_snn(model: SpikingNet, input_shape: tuple[int, ...] = INPUT_SHAPE) -> Any:
    """Return the NIR graph of a trained spiking model.

    Args:
        model: A ``SpikingNet`` (its ``net`` is a norse ``SequentialState``).
        input_shape: Unbatched input shape.
    """
    import nir
    nt = import_norse_torch()

    sample = torch.zeros(input_shape)
    # norse traces one unbatched sample, for which the model's nn.Flatten() (start_dim=1) would
    # flatten the wrong dimensions after a convolution: trace a copy flattening from dim 0.
    traced = copy.deepcopy(model.net)
    for i, module in enumerate(traced):
        if isinstance(module, torch.nn.Flatten):
            traced[i] = torch.nn.Flatten(start_dim=0)
    graph = nt.to_nir(traced, sample, dt=DT)
    shapes = _shapes(model.net, sample)
    nodes: dict[str, Any] = {}
    prev_shape: tuple[int, ...] = tuple(input_shape)
    for name, node in graph.nodes.items():
        if node is None:
            module = model.net[int(name)]
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


def write_nir(graph: Any, path: Path) -> None:
    """Write ``graph`` to ``path`` atomically (through a temporary file)."""
    import nir

    with atomic_path(path) as tmp:
        nir.write(str(tmp), graph)


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
