"""Counting synaptic operations: spikes times the fan-out of the synapses they cross."""

from __future__ import annotations

import numpy as np

from neuropipe.targets.chain import Layer


def fan_out(layer: Layer) -> np.ndarray:
    """Nonzero synapses leaving each input of ``layer`` (flattened input order).

    Dense: nonzero weights in each input's column. Conv: for each input position, the number of
    (output position, output channel) pairs whose kernel covers it with a nonzero weight, edges
    exact (a transposed convolution of the nonzero mask, as sinabs counts it).
    """
    if layer.kind == "dense":
        return (layer.weight != 0).sum(axis=0).astype(np.int64)
    import torch

    mask = torch.as_tensor((layer.weight != 0).astype(np.float64))
    ones = torch.ones((1, *layer.out_shape), dtype=torch.float64)
    fan = torch.nn.functional.conv_transpose2d(
        ones, mask, stride=layer.stride, padding=layer.padding,
        output_padding=_output_padding(layer))
    return fan.round().to(torch.int64).reshape(-1).numpy()


def _output_padding(layer: Layer) -> tuple[int, int]:
    c, h, w = layer.in_shape
    _, oh, ow = layer.out_shape
    kh, kw = layer.weight.shape[2:]
    ph = h - ((oh - 1) * layer.stride[0] - 2 * layer.padding[0] + kh)
    pw = w - ((ow - 1) * layer.stride[1] - 2 * layer.padding[1] + kw)
    return ph, pw


def synops(layer: Layer, input_spikes_per_inference: np.ndarray) -> float:
    """Synaptic operations per inference caused by mean input spike counts ``(inputs,)``."""
    return float(np.dot(input_spikes_per_inference, fan_out(layer)))


def macs(layer: Layer) -> int:
    """Multiply-accumulates of one dense-equivalent pass of the layer (nonzero weights only)."""
    return int(fan_out(layer).sum())
