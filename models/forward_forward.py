"""``ff``: a stack of layers learned by Forward-Forward (Hinton 2022, arXiv 2212.13345).

Training (no backward pass through the network; each layer's objective is its own):

- The label is embedded in the image as in the paper's supervised MNIST version: the first 10
  pixels (the top row's left end, 0 in every MNIST image) are replaced by the one-hot label.
  Positive data: an image with its own label. Negative data: the same image with a wrong label:
  after the first epoch, with probability ``HARD`` the wrong label the network currently likes
  best (the readout's highest-scoring wrong class, from the features the readout was just
  solved on: a hard negative, as in the paper), otherwise one drawn at random among the 9.
- Layer ``k`` computes ``h_k = relu(W_k n_{k-1} + b_k)``: ``n_0`` is the image, and
  ``n_{k-1}`` the layer below's activity, centred and scaled to unit RMS, so that a layer can
  pass up only the shape of its activity, not its goodness (the paper's length normalisation;
  the centring is ours, see below). Only the first layer has a bias (``b_k = 0`` for
  ``k >= 2``). The goodness is the sum of squared activities, and the loss of a layer
  ``softplus(theta*H - G_pos) + softplus(G_neg - theta*H)`` for ``H`` units (threshold
  ``theta = 1`` per unit, as in Hinton's code), plus the peer normalisation of Hinton's code
  (``PEER`` times the spread of the units' running mean activities, so that no unit stays
  silent; its gradient passes the ReLU). Each layer has its own Adam on its own loss; no
  gradient crosses layers (a layer's input is detached).
- The classifier is the paper's one-pass alternative to trying every label: the image with a
  neutral label (0.1 in each of the 10 label pixels) goes up once, and a linear readout of the
  activities of every layer gives the class (the paper reads all but the first; ``READ_FIRST``).
  The readout is solved in closed form (ridge regression to one-hot targets, as ``lsm``'s) after
  every epoch on all training images: no gradient crosses from the readout into the layers.

Deployment is a plain ``Linear``/``ReLU`` stack that computes the trained classifier exactly:

- The neutral label is a constant input, so it folds into the first bias
  (``b_1' = b_1 + 0.1 * W_1[:, :10].sum(1)``, label columns set to 0: exact, the training
  classifier overwrites those pixels too).
- The normalisation is not a Linear, but it need not be deployed. Centring is the linear map
  ``P = I - 11ᵀ/H``, so ``W_k P`` is a Linear weight; the scaling is by a positive number per
  sample, and with ``b_k = 0``, ``relu(W_k P u / s) = relu(W_k P u) / s`` for any ``s > 0``. So
  the un-normalised chain ``u_1 = h_1``, ``u_k = relu(W_k P u_{k-1})`` gives every layer's
  activity up to a positive factor per sample (by induction), and normalising ``u_{k-1}`` gives
  exactly the ``n_{k-1}`` each layer was trained on. The readout is solved on the ``u_k``
  themselves (the features the deployed stack computes), so the deployed scores are the trained
  classifier's scores, not an approximation of them.
- The readout reads several layers; a plain stack carries the partial scores up: the layer
  after layer ``k`` gets 20 more units ``relu(p)`` and ``relu(-p)`` with
  ``p = R_f u_f + ... + R_k u_k`` (``f`` the first layer read; ``relu(p) - relu(-p) = p``),
  and the output layer is ``R_L u_L + relu(p) - relu(-p) + c``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from neuropipe.models.local import LocalLearner
from neuropipe.models.ridge import add_statistics

LABEL_PIXELS = 10
LAYERS = 2  # Forward-Forward layers of the registered model ``ff``
HIDDEN = 2000  # their default width (``--hidden``)
NEUTRAL = 0.1
THETA = 1.0  # goodness threshold per unit (mean squared activity)
RIDGE = 1e-3  # ridge of the closed-form readout, relative to the feature second moments
FF_LR = 0.001  # Adam's step size of every Forward-Forward layer (0.003: 94.5% after 1 epoch)
HARD = 0.5  # share of negatives that are hard (the best-liked wrong label), after epoch 1
CARRY = 2 * LABEL_PIXELS  # units that carry the readout's partial scores up the stack
EPS = 1e-6
# The readout reads the first layer too (the paper reads all but the first): 96.80% against
# 96.21% after one epoch of 3 x 1000 (docs/aspects.md).
READ_FIRST = True
PEER = 0.03  # weight of the peer normalisation (Hinton's code): every unit equally active
MOMENTUM = 0.9  # of the running mean activity of each unit the peer normalisation reads


class ForwardForward(nn.Sequential, LocalLearner):
    """784-``hidden`` x ``layers``-10: Forward-Forward layers and a closed-form linear readout.

    As an ``nn.Sequential`` of Flatten, Linear and ReLU it is the deployed classifier (see the
    module docstring); the raw Forward-Forward weights (label columns included) are the buffers
    ``ff_weight_k`` (and ``ff_bias_1``), the readout ``readout_weight``/``readout_bias``.
    """

    learning = "forward-forward"

    def __init__(self, hidden: int = 2000, layers: int = 1) -> None:
        if layers < 1:
            raise ValueError(f"layers must be at least 1, got {layers}")
        self.hidden, self.layers = hidden, layers
        first = self.read_layers()[0]
        stack: list[nn.Module] = [nn.Flatten(), nn.Linear(28 * 28, hidden), nn.ReLU()]
        for k in range(2, layers + 1):  # layer k carries the scores of read layers < k
            carry_in = CARRY if k >= first + 2 else 0
            carry_out = CARRY if k >= first + 1 else 0
            stack += [nn.Linear(hidden + carry_in, hidden + carry_out), nn.ReLU()]
        stack.append(nn.Linear(hidden + (CARRY if layers >= first + 1 else 0), 10))
        nn.Sequential.__init__(self, *stack)
        self.timesteps, self.encoding = 1, "constant"
        for k in range(1, layers + 1):
            layer = nn.Linear(28 * 28 if k == 1 else hidden, hidden)
            self.register_buffer(f"ff_weight_{k}", layer.weight.detach().clone())
        self.register_buffer("ff_bias_1", torch.zeros(hidden).uniform_(
            -1 / 28, 1 / 28))
        read = len(self.read_layers()) * hidden
        self.register_buffer("readout_weight", torch.zeros(10, read))
        self.register_buffer("readout_bias", torch.zeros(10))
        self.hard_labels: torch.Tensor | None = None
        self.epochs_done = 0
        for p in self.parameters():
            p.requires_grad_(False)
        self._fold()

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None
                ) -> torch.Tensor:
        """Class scores of images ``x`` (the deployed stack)."""
        for module in self:
            x = module(x)
        return x

    def read_layers(self) -> list[int]:
        """The layers (1-based) the readout reads: all (``READ_FIRST``), or all but the first."""
        return list(range(1 if READ_FIRST or self.layers == 1 else 2, self.layers + 1))

    def ff_weights(self) -> list[torch.Tensor]:
        """The Forward-Forward weight of every layer, bottom first."""
        return [getattr(self, f"ff_weight_{k}") for k in range(1, self.layers + 1)]

    def _fold(self) -> None:
        """Set the deployed stack from the Forward-Forward weights, neutral label and readout."""
        linears = [m for m in self if isinstance(m, nn.Linear)]
        weights = self.ff_weights()
        w1 = weights[0].clone()
        b1 = self.ff_bias_1 + NEUTRAL * w1[:, :LABEL_PIXELS].sum(1)
        w1[:, :LABEL_PIXELS] = 0.0
        linears[0].weight.copy_(w1)
        linears[0].bias.copy_(b1)
        h = self.hidden
        first = self.read_layers()[0]
        parts = self.readout_weight.split(h, dim=1)  # R_j of each read layer j
        eye = torch.eye(LABEL_PIXELS)
        for k in range(2, self.layers + 1):
            lin = linears[k - 1]
            lin.weight.zero_()
            lin.bias.zero_()
            lin.weight[:h, :h] = fold_centre(weights[k - 1])
            if k >= first + 1:  # carry p = R_first u_first + ... + R_{k-1} u_{k-1}
                r = parts[k - 1 - first]
                lin.weight[h:h + 10, :h] = r
                lin.weight[h + 10:, :h] = -r
                if k >= first + 2:  # relu(p) - relu(-p) from the layer below
                    lin.weight[h:h + 10, h:h + 10] = eye
                    lin.weight[h:h + 10, h + 10:] = -eye
                    lin.weight[h + 10:, h:h + 10] = -eye
                    lin.weight[h + 10:, h + 10:] = eye
        out = linears[-1]
        out.weight.zero_()
        out.weight[:, :h] = parts[-1]
        if self.layers >= first + 1:
            out.weight[:, h:h + 10] = eye
            out.weight[:, h + 10:] = -eye
        out.bias.copy_(self.readout_bias)

    def activities(self, flat: torch.Tensor, labels: torch.Tensor | None) -> list[torch.Tensor]:
        """Every layer's activity ``h_k`` for images ``flat`` with ``labels`` embedded.

        ``labels`` None: the neutral label. Layer ``k`` reads the layer below normalised.
        """
        x = neutral(flat) if labels is None else embed(flat, labels)
        out = []
        for k, w in enumerate(self.ff_weights(), start=1):
            h = torch.relu(x @ w.T + (self.ff_bias_1 if k == 1 else 0.0))
            out.append(h)
            x = normalise(h)
        return out

    def features(self, flat: torch.Tensor) -> torch.Tensor:
        """The un-normalised activities ``u_k`` of the read layers: what the readout reads."""
        h = torch.relu(flat @ self[1].weight.T + self[1].bias)
        us = [h]
        for w in self.ff_weights()[1:]:
            h = torch.relu(h @ fold_centre(w).T)
            us.append(h)
        return torch.cat([us[k - 1] for k in self.read_layers()], 1)

    def fit_epoch(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int,
                  on_batch: Callable[[int, float, float], None] | None = None) -> Any:
        """One Forward-Forward pass over ``(x, y)``, then the readout solved on all of ``x``."""
        from neuropipe.models.training import PassResult

        start = time.perf_counter()
        generator = torch.Generator().manual_seed(seed)
        ws = [nn.Parameter(w.clone()) for w in self.ff_weights()]
        b1 = nn.Parameter(self.ff_bias_1.clone())
        optimizers = [torch.optim.Adam([w, b1] if k == 0 else [w], lr=FF_LR)
                      for k, w in enumerate(ws)]
        order = torch.randperm(len(x), generator=generator)
        flat = x.reshape(len(x), -1)
        y = y.long()
        hard = self.hard_labels if (self.hard_labels is not None
                                    and len(self.hard_labels) == len(x)) else None
        means = [torch.full((w.shape[0],), 0.5) for w in ws]
        total = 0.0
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = flat[idx], y[idx]
            wrong = (yb + torch.randint(1, 10, yb.shape, generator=generator)) % 10
            if hard is not None:
                use = torch.rand(yb.shape, generator=generator) < HARD
                wrong = torch.where(use, hard[idx], wrong)
            inp = torch.cat([embed(xb, yb), embed(xb, wrong)])
            loss_sum = 0.0
            for k, (w, opt) in enumerate(zip(ws, optimizers, strict=True)):
                h = relu_through(inp @ w.T + (b1 if k == 0 else 0.0))
                loss = ff_loss(goodness(h[:len(idx)]), goodness(h[len(idx):]),
                               width=h.shape[1])
                if PEER:
                    means[k] = MOMENTUM * means[k] + (1 - MOMENTUM) * h[:len(idx)].mean(0)
                    loss = loss + PEER * peer_loss(means[k])
                    means[k] = means[k].detach()
                opt.zero_grad()
                loss.backward()
                opt.step()
                loss_sum += float(loss.detach())
                inp = normalise(h.detach())
            total += loss_sum / len(ws) * len(idx)
            if on_batch is not None:
                on_batch(min(i + batch_size, len(x)), loss_sum / len(ws), math.nan)
        with torch.no_grad():
            for k, w in enumerate(ws, start=1):
                getattr(self, f"ff_weight_{k}").copy_(w.detach())
            self.ff_bias_1.copy_(b1.detach())
            self._fold()
            self.hard_labels = self.solve_readout(flat, y)
            self._fold()
            accuracy = float((self(x[:5000]).argmax(1) == y[:5000]).float().mean())
        self.epochs_done += 1
        return PassResult(total / max(len(x), 1), accuracy, len(x), time.perf_counter() - start)

    def solve_readout(self, flat: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Fit the readout in closed form (ridge) on the deployed features of ``flat``.

        The sums ``AᵀA`` and ``AᵀY`` are gathered block by block (no block of features is
        kept). Returns each image's hard negative: the wrong class the new readout scores
        highest.
        """
        n_feat = self.readout_weight.shape[1]
        gram = torch.zeros(n_feat + 1, n_feat + 1, dtype=torch.float64)
        cross = torch.zeros(n_feat + 1, 10, dtype=torch.float64)
        labels = labels.long()
        for i in range(0, len(flat), 5000):
            add_statistics(gram, cross, self.features(flat[i:i + 5000]), labels[i:i + 5000])
        n = len(flat)
        gram /= n
        scale = gram.diagonal()[:-1].mean().clamp_min(EPS)
        system = gram + RIDGE * scale * torch.eye(n_feat + 1, dtype=torch.float64)
        system[-1, -1] = gram[-1, -1]  # the intercept is not shrunk
        solution = torch.linalg.solve(system, cross / n)
        self.readout_weight.copy_(solution[:-1].T.float())
        self.readout_bias.copy_(solution[-1].float())
        self._fold()
        hard = torch.empty(len(flat), dtype=torch.long)
        for i in range(0, len(flat), 5000):
            scores = self(flat[i:i + 5000])
            scores[torch.arange(len(scores)), labels[i:i + 5000]] = -math.inf
            hard[i:i + 5000] = scores.argmax(1)
        return hard

    def learner_state(self) -> dict[str, Any]:
        """The hard negatives of the next epoch and the epochs done."""
        return {"hard_labels": self.hard_labels, "epochs_done": self.epochs_done}

    def load_learner_state(self, state: dict[str, Any]) -> None:
        """Restore ``learner_state``."""
        self.hard_labels = state.get("hard_labels")
        self.epochs_done = int(state.get("epochs_done", 0))

    def learned_values(self) -> int:
        """Forward-Forward weights and first bias, and the readout's."""
        return (sum(w.numel() for w in self.ff_weights()) + self.ff_bias_1.numel()
                + self.readout_weight.numel() + self.readout_bias.numel())

    def to_nir(self) -> Any:
        """Not used: ``ff`` deploys like ``mlp`` (ONNX, or ANN-to-SNN conversion)."""
        raise NotImplementedError("ff converts like mlp")


def embed(x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Flat images with the first ``LABEL_PIXELS`` pixels replaced by the one-hot label."""
    out = x.clone()
    out[:, :LABEL_PIXELS] = nn.functional.one_hot(labels, LABEL_PIXELS).to(x.dtype)
    return out


def neutral(x: torch.Tensor) -> torch.Tensor:
    """Flat images with the neutral label (``NEUTRAL`` in every label pixel)."""
    out = x.clone()
    out[:, :LABEL_PIXELS] = NEUTRAL
    return out


def normalise(h: torch.Tensor) -> torch.Tensor:
    """Each row centred, then scaled to unit RMS; a constant row becomes zero."""
    h = h - h.mean(1, keepdim=True)
    return h / (h.pow(2).mean(1, keepdim=True).sqrt() + EPS)


def fold_centre(w: torch.Tensor) -> torch.Tensor:
    """``W P`` (``P`` the centring): each row of ``W`` minus its mean, a plain Linear weight."""
    return w - w.mean(1, keepdim=True)


def relu_through(z: torch.Tensor) -> torch.Tensor:
    """``relu(z)`` whose gradient is 1 everywhere, so that silent units can be revived."""
    return z - (z - torch.relu(z)).detach()


def peer_loss(mean_activity: torch.Tensor) -> torch.Tensor:
    """Mean squared deviation of each unit's running mean activity from the layer's mean."""
    return (mean_activity.mean() - mean_activity).pow(2).mean()


def goodness(h: torch.Tensor) -> torch.Tensor:
    """Mean squared activity per sample (Hinton 2022's goodness, per unit)."""
    return (h * h).mean(1)


def ff_loss(g_pos: torch.Tensor, g_neg: torch.Tensor, theta: float | None = None,
            width: int = 1) -> torch.Tensor:
    """Mean of ``softplus(width (theta - g_pos)) + softplus(width (g_neg - theta))``.

    With ``g`` the mean squared activity of ``width`` units, ``width (g - theta)`` is the logit
    of Hinton's code: the sum of squared activities minus a threshold (``theta`` per unit).
    """
    theta = THETA if theta is None else theta
    return (nn.functional.softplus(width * (theta - g_pos))
            + nn.functional.softplus(width * (g_neg - theta))).mean()
