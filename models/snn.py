"""Spiking networks built with norse and trained with surrogate gradients through time.

Time is measured in steps (``dt = 1``): a membrane time constant of 5 means 5 steps. This is the
convention neuropipe's NIR graphs carry, and it avoids norse's time-constant export bug (norse
issue 411). Each layer's neurons share one time constant and one threshold, as a Loihi LIF
process requires. The output layer spikes too; the predicted class is the one with most output
spikes, which is what a chip can read out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

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
# softmax keeps the loss from saturating (found by a sweep on MNIST; see docs/results.md).
LOGIT_RANGE = 8.0


class SpikingNet(nn.Module):
    """A feed-forward norse network run for ``timesteps`` steps; it returns output spike counts.

    The class is the output neuron with most spikes, the readout a chip can do. For the loss,
    ``loss_logits`` rescales the counts to a fixed range whatever the number of steps.

    Attributes:
        net: The per-step network (``norse.torch.SequentialState``); this is what exports to NIR.
        timesteps: Steps per sample.
        encoding: ``constant``, ``poisson``, ``rate`` or ``latency`` (``models.encoding``).
    """

    def __init__(self, net: nn.Module, timesteps: int, encoding: str) -> None:
        super().__init__()
        self.net = net
        self.timesteps = timesteps
        self.encoding = encoding
        self._cached_plan: tuple | None = None

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Run all timesteps on a batch ``x`` of images in [0, 1] and return spike counts."""
        return self.run(x, generator)[0]

    def run(self, x: torch.Tensor, generator: torch.Generator | None = None,
            hidden_rate: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Output spike counts and, if asked, the hidden layers' spike rate.

        The rate is the mean number of spikes per hidden neuron per step (all neuron layers
        but the last, pooled), per sample: shape ``(batch,)``, differentiable through the
        surrogate gradient, which is what ``--rate-penalty`` adds to the loss.

        The network is feed-forward, so it is run layer by layer rather than step by step:
        each neuron layer runs all its steps, and each stateless layer (Linear, Flatten) then
        takes all steps' spikes as one batch of ``T x batch`` samples, one large product
        instead of T small ones (a Conv2d runs step by step: see ``_stateless_over_time``).
        The operations on each sample and step are the same as a step-by-step run's (tested
        to give the same spikes). With ``constant`` input the
        layers before the first neurons give the same output at every step, so they are
        computed once.
        """
        head, tail, cells, lean = self._plan()
        last_cell = max(i for i, c in enumerate(cells) if c)
        steps, batch = self.timesteps, len(x)
        constant = self.encoding == "constant"
        if constant:
            out = x
        else:  # the steps' inputs drawn in step order, as a step-by-step run draws them
            out = torch.cat([encode_step(x, self.encoding, generator, step, steps)
                             for step in range(steps)])
        for module in head:
            out = module(out)
        hidden_spikes: torch.Tensor | None = None
        hidden_neurons = 0
        for i, module in enumerate(tail):
            if not cells[i]:
                out = _stateless_over_time(module, out, steps, constant)
                continue
            out = _cell_over_time(module, lean[i], out, steps, batch, constant)
            constant = False
            if hidden_rate and i != last_cell:
                flat = out.reshape(steps, batch, -1).sum((0, 2))
                hidden_spikes = flat if hidden_spikes is None else hidden_spikes + flat
                hidden_neurons += out[0].numel()
        counts = out.reshape(steps, batch, *out.shape[1:]).sum(0)
        if not hidden_rate:
            return counts, None
        if hidden_spikes is None:  # no hidden layer: nothing to penalise
            return counts, torch.zeros(len(counts), device=counts.device)
        return counts, hidden_spikes / (hidden_neurons * steps)

    def _plan(self) -> tuple[list, list, list[bool], list]:
        """Stateless head, the rest, which of it are cells, and the lean step of each cell.

        Worked out once (the network's layers do not change after construction), not on every
        batch.
        """
        if self._cached_plan is None:
            modules = list(self.net)
            first_cell = next(i for i, m in enumerate(modules) if _is_cell(m))
            head, tail = modules[:first_cell], modules[first_cell:]
            cells = [_is_cell(m) for m in tail]
            lean = [_lean_box_parameters(m) if c else None
                    for m, c in zip(tail, cells, strict=True)]
            self._cached_plan = (head, tail, cells, lean)
        return self._cached_plan

    def loss_logits(self, counts: torch.Tensor) -> torch.Tensor:
        """Scale spike counts to logits for the cross-entropy loss (argmax unchanged)."""
        return counts * (LOGIT_RANGE / self.timesteps)


def _stateless_over_time(module: nn.Module, out: torch.Tensor, steps: int,
                         constant: bool) -> torch.Tensor:
    """A stateless layer over all steps' spikes ``(steps x batch, ...)``.

    A convolution runs step by step (one batch per step, concatenated): on a quiet CPU its
    backward pass over ``steps`` batches of ``batch`` maps costs less than over one batch of
    ``steps x batch`` (a torch profile of snn-cnn at T = 8, batch 128: 41 against 55 ms), and
    each step's output is the one a step-by-step run computes. Other layers take all steps as
    one batch.
    """
    if constant or steps == 1 or not isinstance(module, nn.Conv2d):
        return module(out)
    return torch.cat([module(chunk) for chunk in out.chunk(steps)])


def _lean_box_parameters(module: nn.Module) -> tuple | None:
    """Parameters of the lean step if ``module`` is a LIFBoxCell it can stand in for.

    ``(decay, v_th, spike, superspike)``: ``spike`` is norse's threshold function, and
    ``superspike`` says whether it is SuperSpike, which ``LIFSteps`` computes fused.

    That is a cell with ``v_leak = 0``, reset to ``v_reset = 0`` by value: then
    ``_lean_box_step`` gives bit-identical spikes and the same gradients as norse's step.
    Returns None for any other cell.
    """
    nt = import_norse_torch()
    from norse.torch.functional.reset import reset_value

    if not isinstance(module, nt.LIFBoxCell):
        return None
    p = module.p
    if torch.any(p.v_leak != 0) or torch.any(p.v_reset != 0) or p.reset_method is not reset_value:
        return None
    decay = module.dt * torch.as_tensor(p.tau_mem_inv)
    if decay.numel() != 1 or torch.as_tensor(p.v_th).numel() != 1:
        return None
    # Python floats: float32 tensors use them as float32, the same values norse's 0-d tensors
    # hold, without the broadcasting of a tensor operand.
    if p.method == "super":  # norse's SuperSpike, without threshold()'s per-call dispatch
        alpha = torch.as_tensor(p.alpha)
        spike = _superspike_class()
        return float(decay), float(p.v_th), lambda x: spike.apply(x, alpha), True
    from norse.torch.functional.threshold import threshold

    return float(decay), float(p.v_th), lambda x: threshold(x, p.method, p.alpha), False


def _cell_over_time(module: nn.Module, lean: tuple | None, current: torch.Tensor, steps: int,
                    batch: int, constant: bool) -> torch.Tensor:
    """All ``steps`` steps of one neuron layer; returns the spikes, ``(steps x batch, ...)``.

    ``current`` is the layer's input, one ``(batch, ...)`` tensor for every step if
    ``constant``, else ``(steps x batch, ...)`` in step order.
    """
    if lean is not None and lean[3]:
        return LIFSteps.apply(current, lean[0], lean[1], steps, constant)
    outs, state = [], None
    for step in range(steps):
        now = current if constant else current[step * batch:(step + 1) * batch]
        if lean is not None:
            out, state = _lean_box_step(now, state, *lean[:3])
        else:
            out, state = module(now, state)
        outs.append(out)
    return torch.cat(outs)


class LIFSteps(torch.autograd.Function):
    """All steps of a LIFBoxCell layer (``v_leak = v_reset = 0``, SuperSpike) as one function.

    The forward pass is ``_lean_box_step``'s arithmetic, step by step, so the spikes are
    bit-identical to norse's; the backward pass is backpropagation through time written out
    (the membrane's decay, the reset's dependence on the spike, SuperSpike's derivative), so
    autograd keeps one node per layer instead of about six per step. Only ``v - v_th`` of
    each step is saved: the spikes are its sign.

    Both passes work one step at a time into buffers allocated once, with comparisons written
    as floats (``torch.gt(..., out=float_tensor)``): on the CPU, a boolean mask's
    ``masked_fill_`` and its conversion to floats each cost several times a float operation.
    """

    @staticmethod
    def forward(ctx: Any, current: torch.Tensor, decay: float, v_th: float, steps: int,
                constant: bool) -> torch.Tensor:
        """Spikes of all steps, ``(steps x batch, ...)``, in step order.

        In place, but the same float values as ``_lean_box_step``: ``v + decay * (i - v)``
        (at the first step, ``v = 0``, ``decay * i``, the same float), then ``v - v_th``, and
        the reset ``(1 - z) * v`` as ``v - v * z``: ``z`` is 0 or 1, so both are ``v`` where
        ``z = 0`` and +0 where ``z = 1`` (there ``v > v_th > 0``), whatever the rounding mode.
        """
        batch = len(current) if constant else len(current) // steps
        shape = (steps, batch, *current.shape[1:])
        above = current.new_empty(shape)
        spikes = current.new_empty(shape)
        change = current.new_empty(shape[1:])
        v = None
        for step in range(steps):
            now = current if constant else current[step * batch:(step + 1) * batch]
            if v is None:
                v = torch.mul(now, decay)
            else:
                torch.sub(now, v, out=change)
                v.add_(change.mul_(decay))
            torch.sub(v, v_th, out=above[step])
            torch.gt(above[step], 0, out=spikes[step])
            v.addcmul_(v, spikes[step], value=-1.0)
        ctx.save_for_backward(above)
        ctx.decay, ctx.v_th, ctx.constant = decay, v_th, constant
        return spikes.reshape(steps * batch, *current.shape[1:])

    @staticmethod
    def backward(ctx: Any, grad_spikes: torch.Tensor) -> tuple:
        """The gradient of the input current, through all steps (backwards in time).

        With ``u`` the membrane before the reset, ``z`` the spike, ``g`` the gradient of
        ``u``: ``g_t = s(u_t - v_th) (dz_t - (1 - decay) u_t g_{t+1}) + (1 - decay)(1 - z_t)
        g_{t+1}``, where ``s`` is SuperSpike's derivative ``1 / (|x| + 1)^2`` and ``dz`` the
        gradient arriving at the spikes; the input's gradient is ``decay * g_t`` (summed over
        the steps for a constant input).
        """
        (above,) = ctx.saved_tensors
        decay, v_th, leak = ctx.decay, ctx.v_th, 1.0 - ctx.decay
        steps = above.shape[0]
        grad_spikes = grad_spikes.reshape(above.shape)
        square, work, kept = (torch.empty_like(above[0]) for _ in range(3))
        if ctx.constant:  # two buffers, this step's g and the later one's, and their sum
            grads, total = [torch.empty_like(above[0]), torch.empty_like(above[0])], None
        else:
            grad_u = torch.empty_like(above)
        later = None
        for step in range(steps - 1, -1, -1):
            here = above[step]
            now = grads[step % 2] if ctx.constant else grad_u[step]
            torch.abs(here, out=square).add_(1.0)
            square.mul_(square)
            if later is None:
                torch.div(grad_spikes[step], square, out=now)
            else:
                torch.add(here, v_th, out=work).mul_(later)  # u_t g_{t+1}
                torch.add(grad_spikes[step], work, alpha=-leak, out=work).div_(square)
                torch.le(here, 0, out=kept).mul_(later)  # (1 - z_t) g_{t+1}
                torch.add(work, kept, alpha=leak, out=now)
            if ctx.constant:
                total = now.clone() if total is None else total.add_(now)
            elif later is not None:  # used for the last time: scale it while it is in cache
                later.mul_(decay)
            later = now
        if ctx.constant:
            return total.mul_(decay), None, None, None, None
        later.mul_(decay)
        return grad_u.reshape(steps * above.shape[1], *above.shape[2:]), None, None, None, None


def _lean_box_step(current: torch.Tensor, v: torch.Tensor | None, decay: float,
                   v_th: float, spike: Callable[[torch.Tensor], torch.Tensor]
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The step of norse's ``lif_box_feed_forward_step`` for ``v_leak = v_reset = 0``, leaner.

    norse computes ``v + dt/tau * (i + v_leak - v)``, then ``(1 - z) v + z v_reset``; with both
    constants 0 the dropped additions are exact no-ops, so spikes are bit-identical (tested),
    while training runs about a third fewer element-wise operations per step. ``spike`` is
    norse's threshold (its surrogate gradient included).
    """
    v = torch.zeros(()) if v is None else v
    v = v + decay * (current - v)
    z = spike(v - v_th)
    return z, (1 - z) * v


@functools.cache
def _superspike_class() -> type:
    """Norse's SuperSpike with its forward in the classic ``forward(ctx, ...)`` form.

    norse defines ``setup_context``, and for such functions torch binds the arguments with
    ``inspect.signature`` on every call: at 2 layers x 16 steps per batch that was about a sixth
    of snn-mlp's training time. The subclass keeps norse's ``backward`` (its surrogate gradient)
    and its Heaviside forward, and only moves the saving of the input into ``forward``.
    """
    from norse.torch.functional.heaviside import heaviside
    from norse.torch.functional.superspike import SuperSpike

    class ClassicSuperSpike(SuperSpike):
        setup_context = torch.autograd.Function.setup_context

        @staticmethod
        def forward(ctx: Any, input_tensor: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
            ctx.alpha = alpha
            ctx.save_for_backward(input_tensor)
            return heaviside(input_tensor)

    return ClassicSuperSpike


def _is_cell(module: nn.Module) -> bool:
    """True for norse's stateful neuron cells (they take and return a state)."""
    nt = import_norse_torch()

    return isinstance(module, nt.LIFBoxCell | nt.LIFCell)


def build_snn_mlp(timesteps: int, encoding: str, neuron: str, hidden: int = 512,
                  tau_mem: float = 5.0, tau_syn: float = 2.0, modules: int = 1) -> SpikingNet:
    """784-``hidden``-10 spiking MLP.

    512 hidden neurons rather than the ANN's 256: with 256 the spiking network needed more than
    three epochs to pass 97.5% on MNIST (docs/results.md has the sweep). ``modules`` > 1 splits the
    hidden layer into modules, each fed one band of image rows (``models.modular``).
    """
    from neuropipe.models.modular import MaskedLinear, band_mask

    nt = import_norse_torch()

    first = (nn.Linear(28 * 28, hidden) if modules == 1
             else MaskedLinear(28 * 28, hidden, band_mask(hidden, modules)))
    net = nt.SequentialState(
        nn.Flatten(),
        first,
        make_cell(neuron, tau_mem, tau_syn),
        nn.Linear(hidden, 10),
        make_cell(neuron, tau_mem, tau_syn),
    )
    return SpikingNet(net, timesteps, encoding)


def build_snn_cnn(timesteps: int, encoding: str, neuron: str, channels: tuple[int, int] = (16, 32),
                  hidden: int = 128, tau_mem: float = 5.0, tau_syn: float = 2.0,
                  batch_norm: bool = False) -> SpikingNet:
    """Spiking counterpart of ``cnn``: two strided convolutions and two linear layers of LIF.

    ``channels`` and ``hidden`` default to ``cnn``'s widths; twice as wide (32, 64 and 256)
    trained to the same accuracy on MNIST at twice the cost (docs/results.md). ``batch_norm``
    puts a ``BatchNorm2d`` after each convolution, which the NIR export folds into the
    convolution (``fold_batch_norm``): the deployed network has none.
    """
    nt = import_norse_torch()

    c1, c2 = channels

    def norm(c: int) -> list[nn.Module]:
        return [nn.BatchNorm2d(c)] if batch_norm else []

    net = nt.SequentialState(
        nn.Conv2d(1, c1, kernel_size=5, stride=2, padding=2),
        *norm(c1),
        make_cell(neuron, tau_mem, tau_syn),
        nn.Conv2d(c1, c2, kernel_size=5, stride=2, padding=2),
        *norm(c2),
        make_cell(neuron, tau_mem, tau_syn),
        nn.Flatten(),
        nn.Linear(c2 * 7 * 7, hidden),
        make_cell(neuron, tau_mem, tau_syn),
        nn.Linear(hidden, 10),
        make_cell(neuron, tau_mem, tau_syn),
    )
    return SpikingNet(net, timesteps, encoding)


def fold_batch_norm(net: nn.Module) -> nn.Module:
    """A copy of a ``SequentialState`` with each Conv2d + BatchNorm2d pair made one Conv2d.

    An eval-mode batch norm is a per-channel affine map, ``y = (x - mean) * s + beta`` with
    ``s = gamma / sqrt(var + eps)``, so the pair is the convolution with weight ``w * s`` and
    bias ``(b - mean) * s + beta``: the same outputs up to float rounding, and a graph that
    every target runs (convolutions and neurons only). A network without batch norm comes
    back as a copy, unchanged.
    """
    import copy

    nt = import_norse_torch()

    modules = list(copy.deepcopy(net))
    out: list[nn.Module] = []
    for module in modules:
        if isinstance(module, nn.BatchNorm2d):
            conv = out[-1] if out else None
            if not isinstance(conv, nn.Conv2d) or module.running_mean is None:
                raise ValueError("a BatchNorm2d must follow a Conv2d and keep running statistics")
            with torch.no_grad():
                scale = module.running_var.add(module.eps).rsqrt()
                if module.affine:
                    scale = scale * module.weight
                shift = module.bias if module.affine else torch.zeros_like(scale)
                bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
                folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                                   conv.stride, conv.padding, conv.dilation, conv.groups,
                                   bias=True)
                folded.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
                folded.bias.copy_((bias - module.running_mean) * scale + shift)
            out[-1] = folded
            continue
        out.append(module)
    return nt.SequentialState(*out)
