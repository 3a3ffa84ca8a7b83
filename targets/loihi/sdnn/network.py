"""The float ANN an SDNN deployment runs: its layers read from the run's ONNX model.

Each weighted ONNX node (Gemm, MatMul, Conv) becomes one ``AnnLayer`` with its weights, bias and
geometry; the layer applies a ReLU when a ``Relu`` node follows it before the next weighted node
(the last layer of a classifier has none: its outputs are the class scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuropipe.core.errors import GraphError


@dataclass
class AnnLayer:
    """One weighted layer of a conventional network, followed by ReLU or not.

    Attributes:
        name: The ONNX node name.
        kind: ``dense`` or ``conv``.
        weight: ``(out, in)`` or ``(out_ch, in_ch, kh, kw)``, float64.
        bias: ``(out,)`` or ``(out_ch,)``, float64.
        in_shape: Input shape without the batch (``(C, H, W)`` or ``(N,)``).
        out_shape: Output shape without the batch.
        relu: True if a ReLU follows the layer.
        stride: Conv stride (H, W).
        padding: Conv padding (H, W).
    """

    name: str
    kind: str
    weight: np.ndarray
    bias: np.ndarray
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    relu: bool
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)

    @property
    def neurons(self) -> int:
        """Output units."""
        return int(np.prod(self.out_shape))

    def bias_per_neuron(self) -> np.ndarray:
        """The bias of every output unit (a conv channel's bias repeated over positions)."""
        if self.kind == "conv":
            return np.repeat(self.bias, int(np.prod(self.out_shape[1:])))
        return np.asarray(self.bias, dtype=np.float64)


def read_onnx(path: str | Path, input_shape: tuple[int, ...]) -> list[AnnLayer]:
    """The weighted layers of an ONNX classifier, in order.

    Args:
        path: The ``model.onnx`` file.
        input_shape: One sample's shape (e.g. ``(1, 28, 28)``).

    Raises:
        GraphError: For an operator other than Gemm/MatMul/Conv and the shape-only ones.
    """
    import onnx
    from onnx import numpy_helper

    from neuropipe.targets.host.ops import onnx_layers

    model = onnx.load(str(path))
    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    parsed = onnx_layers(model)  # refuses operators it cannot count
    by_name = {(n.name or n.output[0]): n for n in model.graph.node}
    order = [n.name or n.output[0] for n in model.graph.node]
    positions = [order.index(p.node) for p in parsed]
    relu_after = []
    for k, pos in enumerate(positions):
        end = positions[k + 1] if k + 1 < len(positions) else len(order)
        relu_after.append(any(by_name[order[j]].op_type == "Relu" for j in range(pos + 1, end)))
    layers, shape = [], tuple(input_shape)
    for p, relu in zip(parsed, relu_after, strict=True):
        node = by_name[p.node]
        if p.kind == "dense":
            shape = (int(np.prod(shape)),)
            if p.weight.shape[1] != shape[0]:
                raise GraphError(f"ONNX node '{p.node}' takes {p.weight.shape[1]} inputs but "
                                 f"receives {shape[0]}")
        chain_layer = p.as_layer(shape)
        bias = (np.asarray(weights[node.input[2]], dtype=np.float64)
                if len(node.input) > 2 and node.input[2] in weights
                else np.zeros(p.weight.shape[0]))
        layers.append(AnnLayer(p.node, p.kind, p.weight, bias, tuple(shape),
                               tuple(chain_layer.out_shape), relu, tuple(p.stride),
                               tuple(p.padding)))
        shape = tuple(chain_layer.out_shape)
    return layers


def forward(layers: list[AnnLayer], x: np.ndarray) -> list[np.ndarray]:
    """Float activations of every layer for inputs ``x`` ``(N, ...)``, flattened ``(N, out)``."""
    import torch

    h = torch.as_tensor(np.asarray(x, dtype=np.float64))
    outs = []
    for layer in layers:
        w = torch.as_tensor(layer.weight)
        b = torch.as_tensor(layer.bias)
        if layer.kind == "dense":
            h = h.reshape(len(h), -1) @ w.T + b
        else:
            h = torch.nn.functional.conv2d(h.reshape(len(h), *layer.in_shape), w, b,
                                           stride=layer.stride, padding=layer.padding)
        if layer.relu:
            h = torch.relu(h)
        outs.append(h.reshape(len(h), -1).numpy())
    return outs
