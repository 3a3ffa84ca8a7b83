"""Overhead of the energy meter: the same workload with and without measurement windows.

Run: .venv/bin/python bench/meter_overhead.py
Times a fixed torch workload (matrix products, about two seconds: the short end of a training
epoch) run bare, inside a window of this machine's meter, and inside a window of a meter that
polls a fake powercap tree 100 times a second (100x the RAPL poller's real rate, so that its
cost shows even on a machine without RAPL), and bare again as a control: the control's ratio is
the noise floor of this machine, below which no overhead can be told apart. The four are
interleaved over six rounds, the order rotating, and the best time of each is compared with the
bare one. Then the fixed cost of
opening and closing one empty window. Goal: overhead below 1%.

Wall-clock ratios on a shared machine are noisy (the control shows by how much), so the bench
also measures what the meter itself costs, free of that noise: the CPU time this process uses
while it sleeps for a few seconds, bare and inside each meter's window. The difference is the
meter's own work (its sampling threads), as a share of one core.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import torch

from neuropipe.reports.meter import Meter

ROUNDS = 6


def workload(chunks: int = 200) -> None:
    a = torch.randn(384, 384)
    for _ in range(chunks):
        for _ in range(25):
            a = torch.tanh(a @ a.T / 384)


def fake_powercap(root: Path) -> Path:
    """A one-package powercap tree (its counters do not move; reading them is the cost)."""
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("1000\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    return root


def timed(meter: Meter | None) -> float:
    start = time.perf_counter()
    if meter is None:
        workload()
    else:
        with meter.window("run"):
            workload()
    return time.perf_counter() - start


SLEEP_S = 4.0


def cpu_while_sleeping(meter: Meter | None) -> float:
    """CPU seconds this process uses while sleeping ``SLEEP_S``, inside ``meter``'s window."""
    start = time.process_time()
    if meter is None:
        time.sleep(SLEEP_S)
    else:
        with meter.window("idle"):
            time.sleep(SLEEP_S)
    return time.process_time() - start


def main() -> None:
    warnings.simplefilter("ignore")  # the fake counters do not move: each window warns 0 J
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        here = Meter(gpus="none")
        polled = Meter(sysfs_root=fake_powercap(Path(tmp) / "powercap"), gpus="none",
                       poll_interval_s=0.01)
        print(f"this machine's meter: {here.methods}; second meter: fake powercap tree, "
              "polled every 0.01 s")
        workload(2)  # warm-up
        variants = {"bare": None, "metered": here, "polled": polled, "control": None}
        times: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for r in range(ROUNDS):
            for name in names[r % len(names):] + names[:r % len(names)]:
                times[name].append(timed(variants[name]))
        bare = min(times["bare"])
        print(f"bare    {bare:.3f} s (best of {ROUNDS})")
        for name in ("metered", "polled", "control"):
            t = min(times[name])
            what = "noise floor: bare vs bare" if name == "control" else "goal < 1%"
            print(f"{name:7s} {t:.3f} s (best of {ROUNDS}); ratio to bare {t / bare:.4f} "
                  f"({(t / bare - 1) * 100:+.2f}%; {what})")
        start = time.perf_counter()
        for _ in range(20):
            with here.window("empty"):
                pass
        print(f"fixed cost of one window: {(time.perf_counter() - start) / 20 * 1e3:.2f} ms")
        real_rate = Meter(sysfs_root=Path(tmp) / "powercap", gpus="none")
        idle = cpu_while_sleeping(None)
        for name, meter in (("this machine's meter", here),
                            ("fake powercap, polled every 1 s (the real rate)", real_rate),
                            ("fake powercap, polled every 0.01 s", polled)):
            used = cpu_while_sleeping(meter) - idle
            print(f"CPU used by the meter while a window is open ({name}): "
                  f"{used / SLEEP_S * 1e3:.2f} ms per second = {used / SLEEP_S * 100:.3f}% of "
                  "one core")


if __name__ == "__main__":
    main()
