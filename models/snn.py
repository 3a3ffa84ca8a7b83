"""Spiking networks built with norse and trained with surrogate gradients through time.

Time is measured in steps (``dt = 1``): a membrane time constant of 5 means 5 steps. This is the
convention neuropipe's NIR graphs carry, and it avoids norse's time-constant export bug (norse
issue 411). Each layer's neurons share one time constant and one threshold, as a Loihi LIF
process requires. The output layer spikes too; the predicted class is the one with most output
spikes, which is what a chip can read out.
"""

from __future__ import annotations

import torch
from torch import nn

from neuropipe.models.encoding import encode_step
from neuropipe.models.norse_import import import_norse_torch

NEURONS = ("lif", "cuba")
DT = 1.0


def make_cell(neuron: str, tau_mem: float, tau_syn: float, v_th: float = 1.0) -> nn.Module:
    """Return a norse cell: ``lif`` (LIFBoxCell, NIR ``LIF``) or ``cuba`` (LIFCell, ``CubaLIF``).

    The surrogate gradient is norse's SuperSpike, whose backward pass in norse 1.1 is
    ``grad / (|v - v_th| + 1)^2`` (its ``alpha`` parameter is not used).
    """
    nt = import_norse_torch()

    if neuron == "lif":
        p = nt.LIFBoxParameters(tau_mem_inv=torch.tensor(1.0 / tau_mem), v_th=torch.tensor(v_th))
        return nt.LIFBoxCell(p, dt=DT)
    if neuron == "cuba":
        p = nt.LIFParameters(tau_mem_inv=torch.tensor(1.0 / tau_mem),
                             tau_syn_inv=torch.tensor(1.0 / tau_syn), v_th=torch.tensor(v_th))
        return nt.LIFCell(p, dt=DT)
    raise ValueError(f"unknown neuron model {neuron!r}")


# Spike counts range over 0..T; dividing them into a range of about 8 logit units before the
# softmax keeps the loss from saturating (found by a sweep on MNIST; see README).
LOGIT_RANGE = 8.0


class SpikingNet(nn.Module):
    """A feed-forward norse network run for ``timesteps`` steps; it returns output spike counts.

    The class is the output neuron with most spikes, the readout a chip can do. For the loss,
    ``loss_logits`` rescales the counts to a fixed range whatever the number of steps.

    Attributes:
        net: The per-step network (``norse.torch.SequentialState``); this is what exports to NIR.
        timesteps: Steps per sample.
        encoding: ``constant`` or ``poisson`` (see ``neuropipe.models.encoding``).
    """

    def __init__(self, net: nn.Module, timesteps: int, encoding: str) -> None:
        super().__init__()
        self.net = net
        self.timesteps = timesteps
        self.encoding = encoding

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Run all timesteps on a batch ``x`` of images in [0, 1] and return spike counts.

        With ``constant`` input the stateless layers before the first neurons (Flatten, the
        first Linear or Conv2d) give the same output at every step, so they are computed once
        and reused: the same network and the same result, without T - 1 repeated products.
        """
        modules = list(self.net)
        first_cell = next(i for i, m in enumerate(modules) if _is_cell(m))
        head, tail = modules[:first_cell], modules[first_cell:]
        constant_current = None
        if self.encoding == "constant":
            constant_current = x
            for module in head:
                constant_current = module(constant_current)
        states: list = [None] * len(tail)
        counts = None
        for _ in range(self.timesteps):
            if constant_current is not None:
                out = constant_current
            else:
                out = encode_step(x, self.encoding, generator)
                for module in head:
                    out = module(out)
            for i, module in enumerate(tail):
                if _is_cell(module):
                    out, states[i] = module(out, states[i])
                else:
                    out = module(out)
            counts = out if counts is None else counts + out
        assert counts is not None
        return counts

    def loss_logits(self, counts: torch.Tensor) -> torch.Tensor:
        """Scale spike counts to logits for the cross-entropy loss (argmax unchanged)."""
        return counts * (LOGIT_RANGE / self.timesteps)


def _is_cell(module: nn.Module) -> bool:
    """True for norse's stateful neuron cells (they take and return a state)."""
    nt = import_norse_torch()

    return isinstance(module, nt.LIFBoxCell | nt.LIFCell)


def build_snn_mlp(timesteps: int, encoding: str, neuron: str, hidden: int = 512,
                  tau_mem: float = 5.0, tau_syn: float = 2.0) -> SpikingNet:
    """784-``hidden``-10 spiking MLP.

    512 hidden neurons rather than the ANN's 256: with 256 the spiking network needed more than
    three epochs to pass 97.5% on MNIST (README has the sweep).
    """
    nt = import_norse_torch()

    net = nt.SequentialState(
        nn.Flatten(),
        nn.Linear(28 * 28, hidden),
        make_cell(neuron, tau_mem, tau_syn),
        nn.Linear(hidden, 10),
        make_cell(neuron, tau_mem, tau_syn),
    )
    return SpikingNet(net, timesteps, encoding)


def build_snn_cnn(timesteps: int, encoding: str, neuron: str, channels: tuple[int, int] = (16, 32),
                  hidden: int = 128, tau_mem: float = 5.0, tau_syn: float = 2.0) -> SpikingNet:
    """Spiking counterpart of ``cnn``: two strided convolutions and two linear layers of LIF."""
    nt = import_norse_torch()

    c1, c2 = channels
    net = nt.SequentialState(
        nn.Conv2d(1, c1, kernel_size=5, stride=2, padding=2),
        make_cell(neuron, tau_mem, tau_syn),
        nn.Conv2d(c1, c2, kernel_size=5, stride=2, padding=2),
        make_cell(neuron, tau_mem, tau_syn),
        nn.Flatten(),
        nn.Linear(c2 * 7 * 7, hidden),
        make_cell(neuron, tau_mem, tau_syn),
        nn.Linear(hidden, 10),
        make_cell(neuron, tau_mem, tau_syn),
    )
    return SpikingNet(net, timesteps, encoding)
