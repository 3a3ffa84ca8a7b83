"""Training throughput of each model on the CPU, and snn-mlp against a plain-PyTorch LIF loop.

Run: .venv/bin/python bench/train_speed.py [--samples N]
Prints samples/s for every registered model (one pass of N training images, after a warm-up
batch), and for snn-mlp the ratio of its speed to a hand-written PyTorch LIF network of the same
size, step, surrogate and loss (computing the constant input's first product once, as snn-mlp
does), the two timed alternately in the same run (goal: ratio >= 1, i.e. not slower).
"""

from __future__ import annotations

import argparse
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


class ReferenceLIF(nn.Module):
    """784-512-10 LIF network written directly in PyTorch (same equations as LIFBoxCell)."""

    def __init__(self, timesteps: int, tau: float = 5.0, hidden: int = 512) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, hidden), nn.Linear(hidden, 10)
        self.hidden = hidden
        self.timesteps, self.a = timesteps, 1.0 / tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        v1 = torch.zeros(x.shape[0], self.hidden)
        v2 = torch.zeros(x.shape[0], 10)
        counts = torch.zeros(x.shape[0], 10)
        i1 = self.fc1(x)  # constant input: the first product once, as snn-mlp does
        for _ in range(self.timesteps):
            v1 = v1 + self.a * (i1 - v1)
            z1 = _SuperSpike.apply(v1 - 1.0)
            v1 = v1 * (1 - z1)
            v2 = v2 + self.a * (self.fc2(z1) - v2)
            z2 = _SuperSpike.apply(v2 - 1.0)
            v2 = v2 * (1 - z2)
            counts = counts + z2
        return counts


def throughput(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, opt, x[:128], y[:128], 128, seed=0, device=torch.device("cpu"))
    start = time.perf_counter()
    result = train_epoch(model, opt, x, y, 128, seed=1, device=torch.device("cpu"))
    return result.samples / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--timesteps", type=int, default=16)
    args = parser.parse_args()
    data = load_dataset("mnist")
    x, y = to_tensor(data.train_x[:args.samples]), torch.from_numpy(data.train_y[:args.samples])
    # Same loss and batch size for every model, including the reference: cross-entropy on
    # the network's output (spike counts for the spiking ones), batch 128.
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.samples} samples"
          f", T={args.timesteps} for spiking models")
    speeds = {}
    for name in (n for n, spec in MODELS.items() if spec.learning == "backprop"):
        torch.manual_seed(0)
        model = build_model(name, ModelOptions(timesteps=args.timesteps))
        speeds[name] = throughput(model, x, y)
        print(f"{name:10s} {speeds[name]:9.1f} samples/s")
    # The ratio: snn-mlp and the reference alternately, best of ROUNDS rounds each, so that the
    # machine's drift (other load, clock) affects both alike.
    torch.manual_seed(0)
    snn = build_model("snn-mlp", ModelOptions(timesteps=args.timesteps))
    torch.manual_seed(0)
    reference = ReferenceLIF(args.timesteps)
    snn_best, ref_best = 0.0, 0.0
    for round_ in range(ROUNDS):  # alternate which goes first
        pair = [(reference, "ref"), (snn, "snn")][:: 1 if round_ % 2 == 0 else -1]
        for model, name in pair:
            speed = throughput(model, x, y)
            if name == "ref":
                ref_best = max(ref_best, speed)
            else:
                snn_best = max(snn_best, speed)
    print(f"{'ref-lif':10s} {ref_best:9.1f} samples/s  (plain PyTorch LIF loop, 784-512-10, "
          f"best of {ROUNDS})")
    print(f"{'snn-mlp':10s} {snn_best:9.1f} samples/s  (best of {ROUNDS}, alternating with "
          "ref-lif)")
    print(f"snn-mlp / plain-PyTorch reference: {snn_best / ref_best:.2f}x "
          "(>= 1 means not slower)")


if __name__ == "__main__":
    main()
