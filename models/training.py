"""Training and evaluation loops shared by conventional and surrogate-gradient spiking models."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from neuropipe.core.errors import ModelError
from neuropipe.models.local import LocalLearner
from neuropipe.models.snn import SpikingNet


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """Turn uint8 images ``(N, 28, 28)`` into float32 ``(N, 1, 28, 28)`` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).div_(255.0).unsqueeze(1)


def forward(model: nn.Module, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Run ``model`` on a batch; spiking models get the generator of their input spikes."""
    if isinstance(model, SpikingNet | LocalLearner):
        return model(x, generator=generator)
    return model(x)


def loss_logits(model: nn.Module, out: torch.Tensor) -> torch.Tensor:
    """The logits the loss sees: ANN outputs as they are, SNN spike counts rescaled."""
    return model.loss_logits(out) if isinstance(model, SpikingNet | LocalLearner) else out


def random_shift(x: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Images ``(N, C, H, W)`` each moved by whole pixels ``dy, dx`` drawn in ``[-shift, shift]``.

    What moves out of the frame is lost, what comes in is 0 (black). ``shift = 0`` returns
    ``x`` itself and draws nothing from ``generator``.
    """
    if shift == 0:
        return x
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (shift, shift, shift, shift))
    offsets = torch.randint(0, 2 * shift + 1, (2, n), generator=generator)
    out = torch.empty_like(x)
    for dy in range(2 * shift + 1):
        for dx in range(2 * shift + 1):
            rows = ((offsets[0] == dy) & (offsets[1] == dx)).nonzero().flatten()
            out[rows] = padded[rows, :, dy:dy + h, dx:dx + w]
    return out


@dataclass
class PassResult:
    """Loss, accuracy, samples and duration of one pass over data."""

    loss: float
    accuracy: float
    samples: int
    seconds: float


def one_cycle(optimizer: torch.optim.Optimizer, peak_lr: float, epochs: int,
              steps_per_epoch: int, steps_done: int = 0) -> torch.optim.lr_scheduler.OneCycleLR:
    """One-cycle learning-rate schedule over the whole run (Smith & Topin 2019).

    The rate is a function of the global step alone, so a resumed run continues the same curve
    by passing ``steps_done``.
    """
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", peak_lr / 25.0)
        group.setdefault("max_lr", peak_lr)
        group.setdefault("min_lr", peak_lr / 25.0 / 1e4)
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=peak_lr, total_steps=max(epochs * steps_per_epoch, 1),
        last_epoch=steps_done - 1)


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                y: torch.Tensor, batch_size: int, seed: int, device: torch.device,
                on_batch: Callable[[int, float, float], None] | None = None,
                scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                label_smoothing: float = 0.0, rate_penalty: float = 0.0, shift: int = 0
                ) -> PassResult:
    """Train one epoch with cross-entropy; shuffling and input spikes depend only on ``seed``.

    Args:
        model: The model (logits for ANNs, output spike counts for SNNs).
        optimizer: Its optimiser.
        x: Images, float in [0, 1].
        y: Labels.
        batch_size: Samples per step.
        seed: Seed of this epoch's shuffle and input spikes (same seed, same epoch).
        device: Where to compute.
        on_batch: Called after each batch with (samples done, running loss, running accuracy).
        scheduler: Learning-rate schedule stepped after every batch.
        label_smoothing: Label smoothing of the loss.
        rate_penalty: For spiking models, the loss gains ``rate_penalty`` times the mean
            spikes per hidden neuron per step (averaged over the batch); 0 leaves it out.
        shift: Augmentation: each image of a batch moved by up to ``shift`` pixels along
            each axis (``random_shift``, drawn from this epoch's seed); 0 leaves them as they are.
    """
    model.train()
    generator = torch.Generator().manual_seed(seed)
    spike_gen = torch.Generator(device=device).manual_seed(seed + 1)
    order = torch.randperm(len(x), generator=generator)
    total_loss, correct, seen = 0.0, 0, 0
    start = time.perf_counter()
    for i in range(0, len(x), batch_size):
        idx = order[i:i + batch_size]
        xb, yb = random_shift(x[idx], shift, generator).to(device), y[idx].to(device)
        rate = None
        if rate_penalty and isinstance(model, SpikingNet):
            out, rate = model.run(xb, spike_gen, hidden_rate=True)
        else:
            out = forward(model, xb, spike_gen)
        loss = nn.functional.cross_entropy(loss_logits(model, out), yb,
                                           label_smoothing=label_smoothing)
        if rate is not None:
            loss = loss + rate_penalty * rate.mean()
        value = float(loss.detach())  # one device sync per batch, used twice
        if not math.isfinite(value):
            raise ModelError(f"training diverged: the loss is {value} after "
                             f"{seen:,} samples of this epoch; lower --lr (or the rate "
                             "penalty) and train again")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += value * len(idx)
        correct += int((out.detach().argmax(1) == yb).sum())
        seen += len(idx)
        if on_batch is not None:
            on_batch(seen, total_loss / seen, correct / seen)
    return PassResult(total_loss / max(seen, 1), correct / max(seen, 1), seen,
                      time.perf_counter() - start)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int,
             device: torch.device) -> PassResult:
    """Return the accuracy of ``model`` on ``(x, y)`` (input spikes seeded by ``seed``)."""
    model.eval()
    spike_gen = torch.Generator(device=device).manual_seed(seed)
    correct, total_loss = 0, 0.0
    start = time.perf_counter()
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        out = forward(model, xb, spike_gen)
        total_loss += float(nn.functional.cross_entropy(loss_logits(model, out), yb,
                                                        reduction="sum"))
        correct += int((out.argmax(1) == yb).sum())
    n = len(x)
    return PassResult(total_loss / max(n, 1), correct / max(n, 1), n,
                      time.perf_counter() - start)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 500, seed: int = 0,
            device: torch.device | None = None) -> torch.Tensor:
    """Return the predicted class of every sample in ``x``."""
    device = device or torch.device("cpu")
    model.eval()
    spike_gen = torch.Generator(device=device).manual_seed(seed)
    preds = [forward(model, x[i:i + batch_size].to(device), spike_gen).argmax(1).cpu()
             for i in range(0, len(x), batch_size)]
    return torch.cat(preds) if preds else torch.empty(0, dtype=torch.long)


@torch.no_grad()
def hidden_spike_rate(model: SpikingNet, x: torch.Tensor, batch_size: int = 500, seed: int = 0
                      ) -> float:
    """Mean spikes per hidden neuron per step of a spiking model over the samples ``x``."""
    model.eval()
    spike_gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for i in range(0, len(x), batch_size):
        _, rate = model.run(x[i:i + batch_size], spike_gen, hidden_rate=True)
        assert rate is not None
        total += float(rate.sum())
    return total / max(len(x), 1)
