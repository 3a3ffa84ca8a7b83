"""Overhead of the energy meter: the same workload with and without measurement windows.

Run: .venv/bin/python bench/meter_overhead.py
Prints the time of a fixed torch workload (matrix products) run bare and inside meter windows
(one window per run of about two seconds, the short end of a training epoch), interleaved over
several rounds, and their ratio; then the fixed cost of opening and closing one empty window.
Goal: overhead below 1%.
"""

from __future__ import annotations

import time

import torch

from neuropipe.reports.meter import Meter


def workload(chunks: int = 200) -> None:
    a = torch.randn(384, 384)
    for _ in range(chunks):
        for _ in range(25):
            a = torch.tanh(a @ a.T / 384)


def main() -> None:
    torch.manual_seed(0)
    meter = Meter(gpus="none")
    print(f"meter methods: {meter.methods}")
    workload(2)  # warm-up
    bare, metered = [], []
    for _ in range(3):
        start = time.perf_counter()
        workload()
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        with meter.window("run"):
            workload()
        metered.append(time.perf_counter() - start)
    b, m = min(bare), min(metered)
    print(f"bare    {b:.3f} s (best of 3)")
    print(f"metered {m:.3f} s (best of 3)")
    print(f"overhead ratio metered/bare = {m / b:.4f} ({(m / b - 1) * 100:+.2f}%; goal < 1%)")
    start = time.perf_counter()
    for _ in range(20):
        with meter.window("empty"):
            pass
    print(f"fixed cost of one window: {(time.perf_counter() - start) / 20 * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
