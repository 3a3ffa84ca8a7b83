"""Training throughput of each model on the CPU, and snn-mlp against a plain-PyTorch LIF loop.

Run: .venv/bin/python bench/train_speed.py [--samples N]
Prints samples/s for every registered model (one pass of N training images, after a warm-up
batch), and for snn-mlp and snn-cnn the ratio of their speed to the same network written as a
plain PyTorch loop (``PlainLoop``: the model's own layers and weights, the same LIF step,
surrogate and loss, stepped in time, the constant input's first layer computed once as the
models do; checked to give the model's spikes), each pair timed alternately in the same run
(goal: ratio >= 1, i.e. not slower). Figures per second of wall time and per second of the
process's CPU time (the latter less disturbed by other load).
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import torch
from torch import nn

from neuropipe.models.data.datasets import load_dataset
from neuropipe.models.snn import SpikingNet, _is_cell
from neuropipe.models.training import to_tensor, train_epoch
from neuropipe.models.zoo import MODELS, ModelOptions, build_model

ROUNDS = 4


class _SuperSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x.abs() + 1.0) ** 2  # norse 1.1's SuperSpike backward


def _lif(v: torch.Tensor, current: torch.Tensor, a: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One LIFBoxCell step (v_leak = v_reset = 0, threshold 1, decay ``a``): spikes, membrane."""
    v = v + a * (current - v)
    z = _SuperSpike.apply(v - 1.0)
    return z, v * (1 - z)


class PlainLoop(nn.Module):
    """A spiking model's network written directly in PyTorch, stepped in time as a plain loop is.

    Made from the model itself, so it follows its widths and options: a fresh copy of each
    stateless layer (Conv2d, Linear, Flatten, ...) with the model's initial weights, and each
    neuron layer as ``_lif`` with the model's decay. The constant input's layers before the
    first neurons run once, as the models do; then every step runs the rest, layer after layer.
    """

    def __init__(self, model: SpikingNet) -> None:
        super().__init__()
        modules = list(model.net)
        first = next(i for i, m in enumerate(modules) if _is_cell(m))
        self.head = nn.ModuleList(copy.deepcopy(m) for m in modules[:first])
        self.tail = nn.ModuleList(nn.Identity() if _is_cell(m) else copy.deepcopy(m)
                                  for m in modules[first:])
        self.decay = [float(m.dt * m.p.tau_mem_inv) if _is_cell(m) else None
                      for m in modules[first:]]
        self.timesteps = model.timesteps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.head:
            x = module(x)
        v = [torch.zeros(())] * len(self.tail)
        counts = torch.zeros(())
        for _ in range(self.timesteps):
            out = x
            for i, (module, decay) in enumerate(zip(self.tail, self.decay, strict=True)):
                if decay is None:
                    out = module(out)
                else:
                    out, v[i] = _lif(v[i], out, decay)
            counts = counts + out
        return counts


def throughput(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Training samples per second of wall time and per second of this process's CPU time."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, opt, x[:128], y[:128], 128, seed=0, device=torch.device("cpu"))
    start, cpu = time.perf_counter(), time.process_time()
    result = train_epoch(model, opt, x, y, 128, seed=1, device=torch.device("cpu"))
    return (result.samples / (time.perf_counter() - start),
            result.samples / (time.process_time() - cpu))


def compare(name: str, label: str, timesteps: int, x: torch.Tensor, y: torch.Tensor) -> None:
    """Model ``name`` against its plain-PyTorch loop ``PlainLoop``: alternately, best of ROUNDS.

    Alternating (and taking each one's best) lets the machine's drift (other load, clock)
    affect both alike; the CPU-time figures are less disturbed by other processes.
    """
    torch.manual_seed(0)
    model = build_model(name, ModelOptions(timesteps=timesteps))
    reference = PlainLoop(model)
    probe = torch.rand(4, *x.shape[1:])
    with torch.no_grad():  # the same network: the same spikes
        assert torch.equal(reference(probe), model(probe)), f"{label} is not {name}'s network"
    best = {"ref": (0.0, 0.0), "snn": (0.0, 0.0)}
    for round_ in range(ROUNDS):  # alternate which goes first
        pair = [(reference, "ref"), (model, "snn")][:: 1 if round_ % 2 == 0 else -1]
        for net, key in pair:
            wall, cpu = throughput(net, x, y)
            best[key] = (max(best[key][0], wall), max(best[key][1], cpu))
    (ref_wall, ref_cpu), (snn_wall, snn_cpu) = best["ref"], best["snn"]
    print(f"{label:10s} {ref_wall:9.1f} samples/s {ref_cpu:9.1f} per CPU-s  (plain PyTorch "
          f"loop of {name}'s network, T={timesteps}, best of {ROUNDS})")
    print(f"{name:10s} {snn_wall:9.1f} samples/s {snn_cpu:9.1f} per CPU-s  (best of {ROUNDS}, "
          f"alternating with {label})")
    print(f"{name} / plain-PyTorch reference: {snn_wall / ref_wall:.2f}x wall, "
          f"{snn_cpu / ref_cpu:.2f}x CPU time (>= 1 means not slower)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--timesteps", type=int, default=None,
                        help="steps of the spiking models (default: each model's own)")
    parser.add_argument("--only-ratios", action="store_true",
                        help="skip the per-model table, time only the two comparisons")
    args = parser.parse_args()
    data = load_dataset("mnist")
    x, y = to_tensor(data.train_x[:args.samples]), torch.from_numpy(data.train_y[:args.samples])
    # Same loss and batch size for every model, including the references: cross-entropy on
    # the network's output (spike counts for the spiking ones), batch 128.
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.samples} samples"
          f", load average {os.getloadavg()[0]:.1f}")

    def steps(name: str) -> int:
        return args.timesteps or MODELS[name].default_timesteps

    if not args.only_ratios:
        for name in (n for n, spec in MODELS.items() if spec.learning == "backprop"):
            torch.manual_seed(0)
            model = build_model(name, ModelOptions(timesteps=steps(name)))
            wall, cpu = throughput(model, x, y)
            print(f"{name:10s} {wall:9.1f} samples/s {cpu:9.1f} per CPU-s"
                  + (f"  (T={steps(name)})" if MODELS[name].kind == "snn" else ""))
    compare("snn-mlp", "ref-lif", steps("snn-mlp"), x, y)
    compare("snn-cnn", "ref-cnn", steps("snn-cnn"), x, y)


if __name__ == "__main__":
    main()
