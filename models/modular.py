"""Modular hidden layers: K modules, each seeing one horizontal band of the image.

``--modules K`` splits the hidden layer of ``snn-mlp`` into K modules of (nearly) equal size
(``numpy.array_split`` of the hidden neurons, in order) and the 28 image rows into K bands of
(nearly) equal height (``array_split`` of the rows, top to bottom): module k's neurons have
synapses from every pixel of band k (dense inside a module) and none from other bands; there are
no synapses between modules (a hidden layer has no lateral synapses). The output layer stays
dense: it reads every module. The weight matrix with its zeros is what trains (the masked
entries start at 0 and get no gradient, so Adam never moves them) and what NIR carries; every
target skips zero weights, so the synapses, the cores' synapse memory and the routes follow.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

IMAGE_ROWS, IMAGE_COLS = 28, 28
MAX_MODULES = IMAGE_ROWS  # one band of at least one row per module


def band_mask(hidden: int, modules: int, rows: int = IMAGE_ROWS, cols: int = IMAGE_COLS
              ) -> torch.Tensor:
    """The 0/1 mask ``(hidden, rows * cols)``: module k's neurons see band k's pixels only."""
    mask = torch.zeros(hidden, rows * cols)
    neuron_groups = np.array_split(np.arange(hidden), modules)
    row_bands = np.array_split(np.arange(rows), modules)
    for neurons, band in zip(neuron_groups, row_bands, strict=True):
        pixels = (band[:, None] * cols + np.arange(cols)[None]).ravel()
        mask[np.ix_(neurons, pixels)] = 1.0
    return mask


class MaskedLinear(nn.Linear):
    """A Linear layer whose weights outside ``mask`` are 0 and stay 0.

    Exports as a plain Linear (its ``weight`` holds the zeros), so NIR and every target see the
    modular matrix itself.
    """

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor) -> None:
        super().__init__(in_features, out_features)
        self.register_buffer("mask", mask)
        with torch.no_grad():
            self.weight.mul_(mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x W^T + b`` with ``W`` masked (the gradient of a masked weight is 0)."""
        return nn.functional.linear(x, self.weight * self.mask, self.bias)
