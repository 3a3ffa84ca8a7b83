"""``lca``: sparse coding (Olshausen & Field 1996) inferred by a spiking LCA (Rozell et al. 2008).

The code ``a >= 0`` of an image ``x`` under a dictionary ``Phi`` (``784 x atoms``, unit-norm
columns) minimises ``E(a) = 1/2 ||x - Phi a||^2 + lambda sum(a)``. The Locally Competitive
Algorithm finds it with neurons driven by ``b = Phi^T x`` and inhibiting each other through
``-(Phi^T Phi - I)``: a neuron whose atom overlaps an active one is pushed down by how much
they overlap. The spiking form (Tang, Lin & Davies 2017; the sparse-coding workload Davies et
al. 2018 ran on Loihi) makes every neuron an integrator with a constant input ``b - lambda``
and a threshold ``theta``: its spike rate ``rho`` settles where
``theta rho = max(b - lambda - (Phi^T Phi - I) theta rho, 0)``, the fixed point of
non-negative LCA, so ``a = theta rho``, read as ``theta * count / T``.

As every target already runs it (``neuropipe.models.local.run_layer``, exported by
``nir_export.export_recurrent``):

- Input drive: an Affine from the pixels, weights ``Phi^T`` and bias ``-lambda`` (on the host
  with constant input, on the chip with spike codes, as any first layer).
- Neurons: the project's LIF with ``tau = 1024`` steps and ``r = tau`` (each step adds its
  input to ``v``; over 32 steps the leak takes at most 3% of ``v``, and Loihi's 12-bit decay
  holds 1/1024 exactly), threshold ``theta``, reset to 0.
- Recurrence: a Linear from the layer to itself, ``-theta (Phi^T Phi - I)`` (diagonal 0),
  arriving one step later.
- Readout: class scores ``W c + b`` of the spike counts, solved in closed form (ridge, the
  same code as ``lsm``: ``neuropipe.models.ridge.RidgeReadout``).

Learning, per epoch (no backprop): the dictionary starts from ``atoms`` distinct training
images (unit norm); each batch of ``DICTIONARY_BATCH`` images is coded by the spiking network
and the dictionary takes one step along the sparse-coding gradient in ``Phi``,
``Phi += eta (x - Phi a) a^T / batch`` (a Hebbian product of the residual and the code),
columns renormalised to unit length. Then the readout is solved on the new codes of every
training image (its statistics start anew each epoch, since the features changed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from neuropipe.models.local import run_layer
from neuropipe.models.ridge import RidgeReadout
from neuropipe.models.training import PassResult

PIXELS = 28 * 28
TAU = 1024.0  # steps: a power of two, so 1/tau and tau * (1/tau) are exact in float32
DICTIONARY_BATCH = 250  # images per dictionary update
SIMULATION_BATCH = 500  # images simulated at once where nothing is learned per batch


class SparseCoding(RidgeReadout):
    """A learned dictionary, spiking LCA inference, and a ridge readout of the spike counts.

    Attributes:
        dictionary: ``Phi``, ``(784, atoms)``, unit-norm columns.
        initialised: 1 once the dictionary has been set from training images.
        atoms: Dictionary size (neurons).
        lam: The sparsity penalty ``lambda`` (a negative bias on every neuron).
        threshold: ``theta``: the code one spike per step stands for.
        eta: Dictionary learning rate.
    """

    learning = "sparse-coding"

    def __init__(self, timesteps: int, encoding: str, atoms: int = 400, lam: float = 1.0,
                 threshold: float = 4.0, eta: float = 0.5, ridge: float = 0.01) -> None:
        super().__init__(timesteps, encoding, atoms, ridge)
        self.atoms, self.lam, self.threshold, self.eta = atoms, lam, threshold, eta
        self.register_buffer("dictionary", _unit_columns(torch.randn(PIXELS, atoms)))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.uint8))

    # -- the network ----------------------------------------------------------------------

    def input_weight(self) -> torch.Tensor:
        """``Phi^T``, ``(atoms, 784)``: the input drive's weights."""
        return self.dictionary.T.contiguous()

    def input_bias(self) -> torch.Tensor:
        """``-lambda`` on every neuron."""
        return torch.full((self.atoms,), -self.lam, dtype=self.dictionary.dtype,
                          device=self.dictionary.device)

    def recurrent_weight(self) -> torch.Tensor:
        """Lateral inhibition ``-theta (Phi^T Phi - I)`` ``(atoms, atoms)``, diagonal 0."""
        gram = self.dictionary.T @ self.dictionary
        return (-self.threshold * gram).fill_diagonal_(0.0)

    def features(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """Spike counts ``(batch, atoms)`` of the LCA network on images ``x`` in [0, 1]."""
        return self._counts(x, self.recurrent_weight(), generator)

    def _counts(self, x: torch.Tensor, w_rec: torch.Tensor,
                generator: torch.Generator | None) -> torch.Tensor:
        return run_layer(x, self.timesteps, self.encoding, self.input_weight(),
                         self.input_bias(), w_rec, 1.0 / TAU, self.threshold, generator,
                         input_gain=(1.0 / TAU) * TAU)

    def codes(self, counts: torch.Tensor) -> torch.Tensor:
        """The sparse code ``a = theta * count / T`` that spike counts stand for."""
        return counts * (self.threshold / self.timesteps)

    # -- learning -------------------------------------------------------------------------

    def fit_epoch(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int,
                  on_batch: Callable[[int, float, float], None] | None = None) -> PassResult:
        """One dictionary pass over ``x``, then the readout solved on the new codes.

        The loss is the pass's mean sparse-coding objective ``E(a)`` (each batch coded with
        the dictionary before its update); the accuracy is the readout's on the first
        10,000 training images (``RidgeReadout.fit_epoch``).
        """
        start = time.perf_counter()
        generator = torch.Generator().manual_seed(seed)
        if not int(self.initialised):
            self.initialise(x, generator)
        objective = self.learn_dictionary(x, generator, on_batch)
        self.reset_statistics()
        readout = super().fit_epoch(x, y, batch_size, seed)
        return PassResult(objective, readout.accuracy, len(x), time.perf_counter() - start)

    def initialise(self, x: torch.Tensor, generator: torch.Generator) -> None:
        """Set the dictionary to ``atoms`` distinct training images (fewer: repeated), unit norm."""
        flat = x.reshape(len(x), -1).to(self.dictionary.dtype)
        pick = torch.randperm(len(flat), generator=generator)[:self.atoms]
        pick = pick.repeat(-(-self.atoms // max(len(pick), 1)))[:self.atoms]
        self.dictionary.copy_(_unit_columns(flat[pick].T))
        self.initialised.fill_(1)

    def learn_dictionary(self, x: torch.Tensor, generator: torch.Generator,
                         on_batch: Callable[[int, float, float], None] | None = None) -> float:
        """One pass of dictionary updates in a random order; return the mean objective."""
        flat = x.reshape(len(x), -1).to(self.dictionary.dtype)
        order = torch.randperm(len(flat), generator=generator)
        total = 0.0
        for i in range(0, len(flat), DICTIONARY_BATCH):
            batch = flat[order[i:i + DICTIONARY_BATCH]]
            a = self.codes(self._counts(batch, self.recurrent_weight(), generator))
            residual = batch - a @ self.dictionary.T
            total += float(0.5 * (residual * residual).sum() + self.lam * a.sum())
            self.dictionary.add_(self.eta * residual.T @ a / len(batch))
            self.dictionary.copy_(_unit_columns(self.dictionary))
            if on_batch is not None:
                on_batch(min(i + DICTIONARY_BATCH, len(flat)), total / (i + len(batch)),
                         float("nan"))
        return total / max(len(flat), 1)

    def learned_values(self) -> int:
        """The dictionary and the readout."""
        return self.dictionary.numel() + super().learned_values()

    def figures(self, x: torch.Tensor) -> dict[str, float]:
        """Dictionary size and sparsity on images ``x`` (for ``metrics.json``).

        ``active_units_per_image``: neurons that spike at least once, mean over ``x``;
        ``spikes_per_inference``: all spikes of the layer in the ``T`` steps, mean;
        ``relative_residual``: mean ``||x - Phi a|| / ||x||`` of the spiking codes.
        """
        w_rec = self.recurrent_weight()
        active = spikes = residual = 0.0
        for i in range(0, len(x), SIMULATION_BATCH):
            batch = x[i:i + SIMULATION_BATCH].reshape(-1, PIXELS).to(self.dictionary.dtype)
            counts = self._counts(batch, w_rec, None)
            active += float((counts > 0).sum())
            spikes += float(counts.sum())
            error = (batch - self.codes(counts) @ self.dictionary.T).norm(dim=1)
            residual += float((error / batch.norm(dim=1).clamp_min(1e-12)).sum())
        n = max(len(x), 1)
        return {"dictionary_size": float(self.atoms), "active_units_per_image": active / n,
                "spikes_per_inference": spikes / n, "relative_residual": residual / n,
                "lambda": self.lam, "threshold": self.threshold,
                "timesteps": float(self.timesteps)}

    def to_nir(self) -> Any:
        """Input -> Flatten -> Affine (Phi^T, -lambda) -> LIF (lateral inhibition) -> readout."""
        from neuropipe.models.nir_export import export_recurrent

        return export_recurrent(
            w_in=self.input_weight(), b_in=self.input_bias(), w_rec=self.recurrent_weight(),
            tau=TAU, v_threshold=np.full(self.atoms, self.threshold, dtype=np.float32),
            readout_weight=self.readout_weight, readout_bias=self.readout_bias,
            timesteps=self.timesteps, encoding=self.encoding, model="lca", r=TAU)


def _unit_columns(m: torch.Tensor) -> torch.Tensor:
    """``m`` with each column scaled to unit length (zero columns stay zero)."""
    return m / m.norm(dim=0, keepdim=True).clamp_min(1e-12)
