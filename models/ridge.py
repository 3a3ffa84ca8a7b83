"""A closed-form linear readout of spike counts (ridge regression), for models without backprop.

``RidgeReadout`` is the part of a ``LocalLearner`` that ``lsm`` and ``lca`` share: class scores
``W c + b`` of a model's features ``c`` (its spike counts, from ``features``), fitted by ridge
regression on one-hot labels, ``[W b]^T = (A^T A / n + lambda I)^-1 A^T Y / n`` with
``A = [c 1]``. Each pass adds its ``A^T A`` and ``A^T Y`` to the statistics (kept by
``learner_state``, so a resumed run continues exactly); ``reset_statistics`` starts them anew
when the features themselves change (a newly learned dictionary).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch

from neuropipe.models.local import LocalLearner
from neuropipe.models.training import PassResult

CLASSES = 10
# Training accuracy is measured on the first this many images of a pass, whose spike counts
# are kept (uint8) for it; the rest only go into the ridge statistics.
TRAIN_ACCURACY_SAMPLES = 10_000


class RidgeReadout(LocalLearner):
    """A spiking feature layer (``features``, given by the subclass) and its ridge readout.

    Attributes:
        ridge: The regularisation ``lambda``.
        readout_weight, readout_bias: The learned readout ``(10, features)``, ``(10,)``.
    """

    learning = "ridge"

    def __init__(self, timesteps: int, encoding: str, features: int, ridge: float) -> None:
        super().__init__(timesteps, encoding)
        self.ridge = ridge
        self.register_buffer("readout_weight", torch.zeros(CLASSES, features))
        self.register_buffer("readout_bias", torch.zeros(CLASSES))
        self._gram = torch.zeros(features + 1, features + 1, dtype=torch.float64)
        self._cross = torch.zeros(features + 1, CLASSES, dtype=torch.float64)
        self._seen = 0

    def features(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """Spike counts ``(batch, features)`` on images ``x`` in [0, 1]."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None
                ) -> torch.Tensor:
        """Class scores ``W c + b`` of the spike counts (the host readout)."""
        return self.features(x, generator) @ self.readout_weight.T + self.readout_bias

    def fit_epoch(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int,
                  on_batch: Callable[[int, float, float], None] | None = None) -> PassResult:
        """Add one pass over ``(x, y)`` to the ridge statistics and solve for the readout.

        ``batch_size`` only sets how many images are simulated at once (nothing is learned
        per batch). The loss is the ridge objective's mean squared error on the training
        set; the accuracy is measured on its first ``TRAIN_ACCURACY_SAMPLES`` images.
        """
        start = time.perf_counter()
        generator = torch.Generator().manual_seed(seed)
        chunk = max(batch_size, 500)  # simulation batch: larger is faster, same result
        kept: list[torch.Tensor] = []
        for i in range(0, len(x), chunk):
            counts = self.features(x[i:i + chunk], generator)
            self._accumulate(counts, y[i:i + chunk])
            if i < TRAIN_ACCURACY_SAMPLES:
                kept.append(counts[:TRAIN_ACCURACY_SAMPLES - i].to(torch.uint8))
            if on_batch is not None:
                on_batch(min(i + chunk, len(x)), math.nan, math.nan)
        self.solve()
        kept_counts = torch.cat(kept) if kept else torch.zeros(0, self.readout_weight.shape[1])
        scores = kept_counts.float() @ self.readout_weight.T + self.readout_bias
        accuracy = float((scores.argmax(1) == y[:len(kept_counts)]).float().mean()) \
            if len(kept_counts) else 0.0
        return PassResult(self.training_error(), accuracy, len(x), time.perf_counter() - start)

    def _accumulate(self, counts: torch.Tensor, labels: torch.Tensor) -> None:
        add_statistics(self._gram, self._cross, counts, labels)
        self._seen += len(counts)

    def reset_statistics(self) -> None:
        """Forget the statistics gathered so far (the features have changed)."""
        self._gram.zero_()
        self._cross.zero_()
        self._seen = 0

    def solve(self) -> None:
        """Set the readout to the ridge solution of the statistics gathered so far."""
        n = max(self._seen, 1)
        system = self._gram / n + self.ridge * torch.eye(len(self._gram), dtype=torch.float64)
        solution = torch.linalg.solve(system, self._cross / n)  # (features + 1, classes)
        self.readout_weight.copy_(solution[:-1].T.to(self.readout_weight.dtype))
        self.readout_bias.copy_(solution[-1].to(self.readout_bias.dtype))

    def training_error(self) -> float:
        """Mean squared error (summed over classes) of the readout on the data gathered."""
        if not self._seen:
            return 0.0
        w = torch.cat([self.readout_weight.T, self.readout_bias[None]]).double()
        n = self._seen
        # sum ||A w - Y||^2 = tr(Y^T Y) - 2 tr(w^T A^T Y) + tr(w^T A^T A w); tr(Y^T Y) = n.
        total = n - 2 * float((w * self._cross).sum()) + float((w * (self._gram @ w)).sum())
        return max(total, 0.0) / n

    def learner_state(self) -> dict[str, Any]:
        """The ridge statistics, so that a resumed run adds to them."""
        return {"gram": self._gram, "cross": self._cross, "seen": self._seen}

    def load_learner_state(self, state: dict[str, Any]) -> None:
        """Restore the ridge statistics of ``learner_state``."""
        self._gram = state["gram"].to(torch.float64)
        self._cross = state["cross"].to(torch.float64)
        self._seen = int(state["seen"])
        n = self.readout_weight.shape[1] + 1
        if self._gram.shape != (n, n) or self._cross.shape != (n, CLASSES):
            raise ValueError("ridge statistics of another feature size")

    def learned_values(self) -> int:
        """The readout's weights and biases."""
        return self.readout_weight.numel() + self.readout_bias.numel()


def add_statistics(gram: torch.Tensor, cross: torch.Tensor, features: torch.Tensor,
                   labels: torch.Tensor) -> None:
    """Add ``A^T A`` and ``A^T Y`` of a batch to ``gram`` and ``cross`` (float64, in place).

    ``A = [features 1]`` (a constant column for the bias), ``Y`` the one-hot labels.
    """
    a = torch.cat([features, torch.ones(len(features), 1, dtype=features.dtype)], 1).double()
    gram += a.T @ a
    cross += a.T @ torch.nn.functional.one_hot(labels.long(), CLASSES).double()
