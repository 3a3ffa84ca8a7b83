"""Spiking models trained without backprop, and the one recurrent LIF layer they all run.

``LocalLearner`` is what the training stage needs from such a model: it learns an epoch itself
(``fit_epoch``: a closed-form readout, or STDP), keeps what a resumed run needs
(``learner_state``), says which of its values were learned (``learned_values``) and exports
itself to NIR (``to_nir``).

``run_layer`` simulates the layer exactly as the NIR contract of these graphs reads it
(``neuropipe.models.nir_export.export_recurrent``): at step ``t`` the input is
``I_t = W_in x_t + b_in + W_rec s_{t-1}`` (``s_{-1} = 0``), then
``v <- v - alpha v + alpha r I_t`` (LIF with ``v_leak = 0``, ``alpha = 1/tau``),
a spike where ``v > v_threshold``, and ``v <- 0`` there. The classes come from the spike
counts through the host readout ``W c + b``. This is also the order in which the targets'
float simulation computes a step, so a model's own evaluation is the target's semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from neuropipe.models.encoding import encode_step


class LocalLearner(nn.Module):
    """Base of spiking models that learn without backprop (all their values are buffers).

    Attributes:
        timesteps: Steps per sample.
        encoding: ``constant`` or ``poisson`` (``neuropipe.models.encoding``).
        learning: The rule, as the model registry names it (``ridge``, ``stdp``).
    """

    learning = "local"

    def __init__(self, timesteps: int = 1, encoding: str = "constant") -> None:
        super().__init__()
        self.timesteps = timesteps
        self.encoding = encoding

    def fit_epoch(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int,
                  on_batch: Callable[[int, float, float], None] | None = None) -> Any:
        """Learn from one pass over ``(x, y)``; return a ``training.PassResult``."""
        raise NotImplementedError

    def learner_state(self) -> dict[str, Any]:
        """What a resumed run needs beyond ``state_dict`` (tensors and plain values only)."""
        return {}

    def load_learner_state(self, state: dict[str, Any]) -> None:
        """Restore ``learner_state``."""

    def learned_values(self) -> int:
        """Number of values learned from data (the fixed random ones are not counted)."""
        raise NotImplementedError

    def figures(self, x: torch.Tensor) -> dict[str, float]:
        """Figures of the trained model on images ``x`` for ``metrics.json`` (none by default)."""
        return {}

    def loss_logits(self, scores: torch.Tensor) -> torch.Tensor:
        """Logits for the (reported, not optimised) cross-entropy: the class scores."""
        return scores

    def to_nir(self) -> Any:
        """The model as a NIR graph (see ``nir_export.export_recurrent``)."""
        raise NotImplementedError


def run_layer(x: torch.Tensor, timesteps: int, encoding: str, w_in: torch.Tensor,
              b_in: torch.Tensor, w_rec: torch.Tensor | None, alpha: float,
              v_threshold: torch.Tensor | float, generator: torch.Generator | None = None,
              input_gain: float | None = None) -> torch.Tensor:
    """Spike counts ``(batch, neurons)`` of the recurrent LIF layer on images ``x``.

    Args:
        x: Images in [0, 1], any shape ``(batch, ...)``; flattened.
        timesteps: Steps to run.
        encoding: Input encoding.
        w_in: Input weights ``(neurons, pixels)``.
        b_in: Input bias ``(neurons,)``.
        w_rec: Recurrent weights ``(neurons, neurons)``, dense or sparse CSR (row = target),
            or None for no recurrence.
        alpha: ``1 / tau`` of the membrane, in steps.
        v_threshold: One threshold, or one per neuron.
        generator: Random generator of Poisson input spikes.
        input_gain: Factor on the input, ``alpha * r`` (default ``alpha``: ``r = 1``).
    """
    gain = alpha if input_gain is None else input_gain
    flat = x.reshape(len(x), -1)
    constant = flat @ w_in.T + b_in if encoding == "constant" else None
    v = torch.zeros(len(x), w_in.shape[0], dtype=w_in.dtype, device=x.device)
    s = torch.zeros_like(v)
    counts = torch.zeros_like(v)
    for t in range(timesteps):
        if constant is not None:
            current = constant
        else:
            current = encode_step(flat, encoding, generator, t, timesteps) @ w_in.T + b_in
        if w_rec is not None and t > 0:
            current = current + recurrent_input(w_rec, s)
        v = v - alpha * v + gain * current
        s = (v > v_threshold).to(v.dtype)
        v = v * (1 - s)
        counts += s
    return counts


def recurrent_input(w_rec: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """``s @ w_rec.T`` for dense or sparse CSR ``w_rec`` (rows: receiving neurons)."""
    if w_rec.layout == torch.sparse_csr:
        return (w_rec @ s.T).T
    return s @ w_rec.T
