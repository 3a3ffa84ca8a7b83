"""Training throughput of each model on the CPU, and snn-mlp against a plain-PyTorch LIF loop.

Run: .venv/bin/python bench/train_speed.py [--samples N]
Prints samples/s for every registered model (one pass of N training images, after a warm-up
batch), and for snn-mlp and snn-cnn the ratio of their speed to a hand-written PyTorch LIF network
of the same shape, step, surrogate and loss, stepped in time as a plain loop is (computing the
constant input's first layer once, as the models do), each pair timed alternately in the same
run (goal: ratio >= 1, i.e. not slower). Figures per second of wall time and per second of the
process's CPU time (the latter less disturbed by other load).
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from neuropipe.models.data.datasets import load_dataset
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
    """One LIFBoxCell step (v_leak = v_reset = 0, threshold 1): spikes and the new membrane."""
    v = v + a * (current - v)
    z = _SuperSpike.apply(v - 1.0)
    return z, v * (1 - z)


class ReferenceLIF(nn.Module):
    """784-512-10 LIF network written directly in PyTorch (same equations as LIFBoxCell)."""

    def __init__(self, timesteps: int, tau: float = 5.0, hidden: int = 512) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, hidden), nn.Linear(hidden, 10)
        self.timesteps, self.a = timesteps, 1.0 / tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i1 = self.fc1(x.flatten(1))  # constant input: the first product once, as snn-mlp does
        v1 = v2 = counts = torch.zeros(())
        for _ in range(self.timesteps):
            z1, v1 = _lif(v1, i1, self.a)
            z2, v2 = _lif(v2, self.fc2(z1), self.a)
            counts = counts + z2
        return counts


class ReferenceCNN(nn.Module):
    """snn-cnn's network written directly in PyTorch, stepped in time as a plain loop does.

    Two strided 5x5 convolutions (1-C1-C2 channels, 28->14->7), (C2 x 7 x 7)-H-10, a LIF layer
    after each, with snn-cnn's default widths; the constant input's first convolution once, as
    snn-cnn does.
    """

    def __init__(self, timesteps: int, tau: float = 5.0) -> None:
        super().__init__()
        spec = MODELS["snn-cnn"]
        (c1, c2), hidden = spec.default_channels, spec.default_hidden
        self.conv1 = nn.Conv2d(1, c1, kernel_size=5, stride=2, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=5, stride=2, padding=2)
        self.fc1, self.fc2 = nn.Linear(c2 * 7 * 7, hidden), nn.Linear(hidden, 10)
        self.timesteps, self.a = timesteps, 1.0 / tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i1 = self.conv1(x)
        v1 = v2 = v3 = v4 = counts = torch.zeros(())
        for _ in range(self.timesteps):
            z1, v1 = _lif(v1, i1, self.a)
            z2, v2 = _lif(v2, self.conv2(z1), self.a)
            z3, v3 = _lif(v3, self.fc1(z2.flatten(1)), self.a)
            z4, v4 = _lif(v4, self.fc2(z3), self.a)
            counts = counts + z4
        return counts


def throughput(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Training samples per second of wall time and per second of this process's CPU time."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, opt, x[:128], y[:128], 128, seed=0, device=torch.device("cpu"))
    start, cpu = time.perf_counter(), time.process_time()
    result = train_epoch(model, opt, x, y, 128, seed=1, device=torch.device("cpu"))
    return (result.samples / (time.perf_counter() - start),
            result.samples / (time.process_time() - cpu))


def compare(name: str, reference: nn.Module, label: str, timesteps: int, x: torch.Tensor,
            y: torch.Tensor) -> None:
    """Model ``name`` against its plain-PyTorch ``reference``: alternately, best of ROUNDS.

    Alternating (and taking each one's best) lets the machine's drift (other load, clock)
    affect both alike; the CPU-time figures are less disturbed by other processes.
    """
    torch.manual_seed(0)
    model = build_model(name, ModelOptions(timesteps=timesteps))
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
    torch.manual_seed(0)
    compare("snn-mlp", ReferenceLIF(steps("snn-mlp")), "ref-lif", steps("snn-mlp"), x, y)
    torch.manual_seed(0)
    compare("snn-cnn", ReferenceCNN(steps("snn-cnn")), "ref-cnn", steps("snn-cnn"), x, y)


if __name__ == "__main__":
    main()
