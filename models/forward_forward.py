"""``ff``: a hidden layer learned by Forward-Forward (Hinton 2022, arXiv 2212.13345).

Training (no backward pass through the network; each layer's objective is its own):

- The label is embedded in the image as in the paper's supervised MNIST version: the first 10
  pixels (the top row's left end, 0 in every MNIST image) are replaced by the one-hot label.
  Positive data: an image with its own label; negative data: the same image with a label drawn
  at random among the 9 wrong ones (redrawn every batch).
- The layer ``h = relu(W x + b)`` has goodness ``g = mean(h^2)`` over its units; its loss is
  ``softplus(theta - g_pos) + softplus(g_neg - theta)`` (``theta = 2``): goodness up for positive
  data, down for negative. Adam on this local loss (its gradient stays inside the layer).
- The classifier is the paper's one-pass alternative to trying every label: the image with a
  neutral label (0.1 in each of the 10 label pixels) goes through the layer once, and a linear
  readout of ``h`` gives the class. The readout is solved in closed form (ridge regression to
  one-hot targets, as ``lsm``'s), after every epoch, on the features of all training images:
  no gradient crosses from the readout into the layer.

Deployment: the neutral label is a constant input, so it folds into the bias
(``b' = b + 0.1 * W[:, :10].sum(1)``, label columns set to 0, exact since those pixels are 0 in
MNIST), and the model is a plain ``Flatten, Linear, ReLU, Linear`` stack: exported to ONNX and
converted to spiking neurons exactly like ``mlp`` (network ``ann`` on host targets).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from neuropipe.models.local import LocalLearner

LABEL_PIXELS = 10
NEUTRAL = 0.1
THETA = 2.0
RIDGE = 1e-3
FF_LR = 0.01


class ForwardForward(nn.Sequential, LocalLearner):
    """784-``hidden``-10: a Forward-Forward layer and a closed-form linear readout.

    As an ``nn.Sequential`` (Flatten, Linear, ReLU, Linear) it is the deployed classifier; the
    raw Forward-Forward weights (label columns included) are the buffers ``ff_weight`` and
    ``ff_bias``.
    """

    learning = "forward-forward"

    def __init__(self, hidden: int = 2000) -> None:
        nn.Sequential.__init__(self, nn.Flatten(), nn.Linear(28 * 28, hidden), nn.ReLU(),
                               nn.Linear(hidden, 10))
        self.timesteps, self.encoding = 1, "constant"
        layer = nn.Linear(28 * 28, hidden)
        self.register_buffer("ff_weight", layer.weight.detach().clone())
        self.register_buffer("ff_bias", layer.bias.detach().clone())
        for p in self.parameters():
            p.requires_grad_(False)
        self._fold()

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None
                ) -> torch.Tensor:
        """Class scores of images ``x`` (the neutral label folded into the first bias)."""
        for module in self:
            x = module(x)
        return x

    def _fold(self) -> None:
        """Set the deployed first layer from the Forward-Forward weights and neutral label."""
        w = self.ff_weight.clone()
        b = self.ff_bias + NEUTRAL * w[:, :LABEL_PIXELS].sum(1)
        w[:, :LABEL_PIXELS] = 0.0
        self[1].weight.copy_(w)
        self[1].bias.copy_(b)

    def fit_epoch(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int,
                  on_batch: Callable[[int, float, float], None] | None = None) -> Any:
        """One Forward-Forward pass over ``(x, y)``, then the readout solved on all of ``x``."""
        from neuropipe.models.training import PassResult

        start = time.perf_counter()
        generator = torch.Generator().manual_seed(seed)
        w = nn.Parameter(self.ff_weight.clone())
        b = nn.Parameter(self.ff_bias.clone())
        optimizer = torch.optim.Adam([w, b], lr=FF_LR)
        order = torch.randperm(len(x), generator=generator)
        flat = x.reshape(len(x), -1)
        total = 0.0
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = flat[idx], y[idx].long()
            wrong = (yb + torch.randint(1, 10, yb.shape, generator=generator)) % 10
            g_pos = goodness(torch.relu(embed(xb, yb) @ w.T + b))
            g_neg = goodness(torch.relu(embed(xb, wrong) @ w.T + b))
            loss = (nn.functional.softplus(THETA - g_pos)
                    + nn.functional.softplus(g_neg - THETA)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            if on_batch is not None:
                on_batch(min(i + batch_size, len(x)), float(loss.detach()), math.nan)
        with torch.no_grad():
            self.ff_weight.copy_(w.detach())
            self.ff_bias.copy_(b.detach())
            self._fold()
            self.solve_readout(flat, y)
            accuracy = float((self(x[:5000]).argmax(1) == y[:5000]).float().mean())
        return PassResult(total / max(len(x), 1), accuracy, len(x), time.perf_counter() - start)

    def solve_readout(self, flat: torch.Tensor, labels: torch.Tensor) -> None:
        """Fit the readout in closed form (ridge) on the hidden features of ``flat``.

        The sums ``AᵀA`` and ``AᵀY`` are gathered block by block, so no block of features is
        kept (60,000 x 2,001 values in float64 would be about 1 GB).
        """
        hidden = self[1].out_features
        gram = torch.zeros(hidden + 1, hidden + 1, dtype=torch.float64)
        cross = torch.zeros(hidden + 1, 10, dtype=torch.float64)
        for i in range(0, len(flat), 5000):
            h = torch.relu(self[1](flat[i:i + 5000]))
            a = torch.cat([h, torch.ones(len(h), 1)], 1).double()
            gram += a.T @ a
            cross += a.T @ nn.functional.one_hot(labels[i:i + 5000].long(), 10).double()
        n = len(flat)
        system = gram / n + RIDGE * torch.eye(hidden + 1, dtype=torch.float64)
        solution = torch.linalg.solve(system, cross / n)
        self[3].weight.copy_(solution[:-1].T.float())
        self[3].bias.copy_(solution[-1].float())

    def learned_values(self) -> int:
        """FF layer weights and biases, and the readout's."""
        return self.ff_weight.numel() + self.ff_bias.numel() + sum(
            p.numel() for p in self[3].parameters())

    def to_nir(self) -> Any:
        """Not used: ``ff`` deploys like ``mlp`` (ONNX, or ANN-to-SNN conversion)."""
        raise NotImplementedError("ff converts like mlp")


def embed(x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Flat images with the first ``LABEL_PIXELS`` pixels replaced by the one-hot label."""
    out = x.clone()
    out[:, :LABEL_PIXELS] = nn.functional.one_hot(labels, LABEL_PIXELS).to(x.dtype)
    return out


def goodness(h: torch.Tensor) -> torch.Tensor:
    """Mean squared activity per sample (Hinton 2022's goodness, per unit)."""
    return (h * h).mean(1)
