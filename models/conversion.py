"""ANN-to-SNN conversion (Diehl et al. 2015; Rueckauer et al. 2017) into a NIR graph of IF neurons.

Every ReLU becomes a population of integrate-and-fire neurons (``nir.IF``, threshold 1, reset to
zero); the output layer becomes IF neurons too, and the class is the one with most output spikes.
Weights and biases are normalised with data: with ``lam[l]`` a robust maximum (a high percentile)
of layer ``l``'s positive activations on training images and ``lam[0] = 1`` for inputs in [0, 1],
``W'[l] = W[l] * lam[l-1] / lam[l]`` and ``b'[l] = b[l] / lam[l]``, so that a neuron's firing
rate approximates its ANN activation divided by ``lam[l]``. The input is analogue and constant:
the first layer receives ``x`` at every step (Rueckauer et al. 2017).

Lava's LIF can only reset to zero, which discards the charge above threshold at each spike and
makes rates slightly lower than the activations; the percentile normalisation keeps that loss
small, and the target reports the accuracy it reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from neuropipe.core.errors import ModelError


@dataclass
class Converted:
    """A converted network: its NIR graph and the normalisation applied.

    Attributes:
        graph: The NIR graph (Affine/Conv2d + IF layers).
        scales: ``lam`` of every synapse layer, in order.
        encoding: Input encoding the graph is meant for.
    """

    graph: Any
    scales: list[float] = field(default_factory=list)
    encoding: str = "constant"


def _blocks(model: nn.Sequential) -> list[tuple[nn.Module, bool]]:
    """(synapse module, followed by ReLU) for each Linear/Conv2d, checking the structure."""
    blocks: list[tuple[nn.Module, bool]] = []
    modules = list(model)
    for i, module in enumerate(modules):
        if isinstance(module, nn.Linear | nn.Conv2d):
            relu = i + 1 < len(modules) and isinstance(modules[i + 1], nn.ReLU)
            blocks.append((module, relu))
        elif not isinstance(module, nn.ReLU | nn.Flatten):
            raise ModelError(f"cannot convert layer {type(module).__name__}: only Linear, "
                             "Conv2d, ReLU and Flatten convert to IF neurons")
    if not blocks or blocks[-1][1]:
        raise ModelError("the network must end in a Linear layer without ReLU")
    return blocks


@torch.no_grad()
def activation_scales(model: nn.Sequential, x: torch.Tensor, percentile: float) -> list[float]:
    """``lam`` of each synapse layer: the ``percentile`` of its positive outputs on ``x``."""
    scales, out = [], x
    modules = list(model)
    for i, module in enumerate(modules):
        out = module(out)
        is_synapse = isinstance(module, nn.Linear | nn.Conv2d)
        relu_next = i + 1 < len(modules) and isinstance(modules[i + 1], nn.ReLU)
        if is_synapse and not relu_next:  # the output layer: logits
            pos = out[out > 0]
            scales.append(float(np.percentile(pos.numpy(), percentile)) if pos.numel() else 1.0)
        elif isinstance(module, nn.ReLU):
            pos = out[out > 0]
            scales.append(float(np.percentile(pos.numpy(), percentile)) if pos.numel() else 1.0)
    return scales


def convert_ann(model: nn.Sequential, calibration: torch.Tensor, percentile: float = 99.9,
                timesteps: int = 48, encoding: str = "constant") -> Converted:
    """Convert a trained ``mlp`` or ``cnn`` into a NIR graph of IF neurons.

    Args:
        model: The trained ANN (``torch.nn.Sequential`` of Conv2d/Linear, ReLU, Flatten).
        calibration: Training images ``(N, 1, 28, 28)`` in [0, 1] for the normalisation.
        percentile: Percentile of positive activations taken as each layer's maximum.
        timesteps: Steps the graph is meant to run (recorded in its metadata).
        encoding: ``constant`` (analogue input every step) or ``poisson``.

    Raises:
        ModelError: If the network has a layer that does not convert.
    """
    import nir

    model = model.eval()
    _blocks(model)
    scales = activation_scales(model, calibration, percentile)
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(
        calibration.shape[1:])})}
    edges: list[tuple[str, str]] = []
    prev, prev_lam, k = "input", 1.0, 0
    shape = tuple(calibration.shape[1:])
    for module in model:
        if isinstance(module, nn.Flatten):
            name = f"flatten{k}"
            nodes[name] = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0)
            shape = (int(np.prod(shape)),)
        elif isinstance(module, nn.Linear | nn.Conv2d):
            lam = scales[k]
            w = module.weight.detach().numpy().astype(np.float64) * prev_lam / lam
            b = (module.bias.detach().numpy().astype(np.float64) / lam
                 if module.bias is not None else np.zeros(w.shape[0]))
            name = f"fc{k}" if isinstance(module, nn.Linear) else f"conv{k}"
            if isinstance(module, nn.Linear):
                nodes[name] = nir.Affine(weight=w.astype(np.float32), bias=b.astype(np.float32))
                shape = (w.shape[0],)
            else:
                nodes[name] = nir.Conv2d(
                    input_shape=shape[1:], weight=w.astype(np.float32),
                    stride=module.stride, padding=module.padding, dilation=module.dilation,
                    groups=module.groups, bias=b.astype(np.float32))
                h = (shape[1] + 2 * module.padding[0] - module.kernel_size[0]) // module.stride[
                    0] + 1
                wd = (shape[2] + 2 * module.padding[1] - module.kernel_size[1]) // module.stride[
                    1] + 1
                shape = (w.shape[0], h, wd)
            edges.append((prev, name))
            prev = name
            neuron = f"if{k}"
            nodes[neuron] = nir.IF(r=np.ones(shape, dtype=np.float32),
                                   v_threshold=np.ones(shape, dtype=np.float32),
                                   v_reset=np.zeros(shape, dtype=np.float32))
            name, prev_lam, k = neuron, lam, k + 1
        else:  # ReLU: already represented by the IF neurons
            continue
        edges.append((prev, name)) if prev != name else None
        prev = name
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    edges.append((prev, "output"))
    graph = nir.NIRGraph(nodes=nodes, edges=_dedupe(edges), type_check=False)
    graph.metadata = {"dt": 1.0, "timesteps": timesteps, "encoding": encoding,
                      "producer": "neuropipe", "conversion": "ann-to-snn",
                      "percentile": percentile}
    return Converted(graph, scales, encoding)


def _dedupe(edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen, out = set(), []
    for edge in edges:
        if edge not in seen and edge[0] != edge[1]:
            seen.add(edge)
            out.append(edge)
    return out
