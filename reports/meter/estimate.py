"""Estimated CPU and DRAM energy where no counter exists, from the measured process's usage.

CPU: joules = busy CPU-seconds of the process (and its waited-for children) x watts per busy
hardware thread. The watts per thread come from the CPU's thermal design power divided by its
hardware threads, looked up for known models (manufacturer figures) or a documented default.
DRAM: joules = mean resident memory (GB) x watts per GB x seconds. Both are estimates, not
measurements, and say so in every record.

Busy CPU-seconds include threads that spin while they wait: OpenMP's default wait policy (torch's
intra-op threads) spins before sleeping, which on a loaded machine multiplied the estimate of the
same work (one mlp epoch of 10,000 images at load 5-11: 7.5-34 CPU-seconds instead of 0.6-1.1).
The ``neuropipe`` CLI sets ``OMP_WAIT_POLICY=PASSIVE`` before torch starts, and ``energy.json``
records the load average and threads (``machine``) so that a reader can judge a figure.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

# model-name substring -> (TDP in W, hardware threads, source)
CPU_TDP_TABLE: dict[str, tuple[float, int, str]] = {
    "EPYC 7763": (280.0, 128, "AMD EPYC 7763 product page: 280 W TDP, 64 cores / 128 threads"),
    "EPYC 7B13": (280.0, 128, "AMD EPYC 7B13 (7763 class): 280 W, 64 cores / 128 threads"),
    "Xeon(R) Platinum 8380": (270.0, 80, "Intel ark: Xeon Platinum 8380, 270 W, 40 cores / "
                                         "80 threads"),
    "i7-4960X": (130.0, 12, "Intel ark: Core i7-4960X, 130 W, 6 cores / 12 threads"),
}
# Default when the CPU model is unknown (here: a VM reporting only "AMD EPYC"): 3 W per busy
# hardware thread, between the server parts above (2.2 W for EPYC 7763, 3.4 W for Xeon 8380).
# An assumption, stated in every estimate that uses it.
DEFAULT_WATTS_PER_THREAD = 3.0
# DRAM power per GB of resident memory: 3 W per 8 GB module = 0.375 W/GB, the figure used by
# codecarbon for its RAM estimate. An assumption, stated in every estimate that uses it.
DRAM_WATTS_PER_GB = 0.375


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's processor string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def watts_per_thread(model: str | None = None) -> tuple[float, str]:
    """Watts per busy hardware thread for ``model`` and where the figure comes from."""
    model = model or cpu_model()
    for key, (tdp, threads, source) in CPU_TDP_TABLE.items():
        if key in model:
            return tdp / threads, f"TDP/threads for {key} ({source})"
    return DEFAULT_WATTS_PER_THREAD, (f"unknown CPU model '{model}': assumed "
                                      f"{DEFAULT_WATTS_PER_THREAD} W per busy thread")


def process_cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU seconds of the process and its waited-for children."""
    t = process.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class EstimateState:
    """What an estimate window remembers from its start."""

    cpu_s: float
    wall_s: float
    sampler: RssSampler


class RssSampler(threading.Thread):
    """Samples the resident memory of a process, and of its children if asked, until stopped.

    Listing children scans every process on the machine (about 2 ms here), so it is done only
    where children do the work (``neuropipe measure``).
    """

    def __init__(self, process: psutil.Process, interval_s: float = 1.0,
                 children: bool = False) -> None:
        super().__init__(daemon=True)
        self._process, self._interval, self._children = process, interval_s, children
        self._halt = threading.Event()
        self.samples: list[int] = []

    def _rss(self) -> int:
        total = 0
        try:
            total += self._process.memory_info().rss
            for child in (self._process.children(recursive=True) if self._children else []):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    continue
        except psutil.Error:
            pass
        return total

    def run(self) -> None:
        """Sample until stopped."""
        self.samples.append(self._rss())
        while not self._halt.wait(self._interval):
            self.samples.append(self._rss())

    def stop(self) -> float:
        """Stop and return the mean resident memory in GB."""
        self._halt.set()
        self.join()
        self.samples.append(self._rss())
        return sum(self.samples) / len(self.samples) / 1e9


class CpuDramEstimator:
    """Estimates CPU and DRAM joules of a window for the process ``pid`` (default: this one)."""

    def __init__(self, pid: int | None = None, reason: str = "", children: bool = False) -> None:
        self.process = psutil.Process(pid or os.getpid())
        self.children = children
        self.watts, self.watts_source = watts_per_thread()
        self.reason = reason

    def begin(self) -> EstimateState:
        """Start a window."""
        sampler = RssSampler(self.process, children=self.children)
        sampler.start()
        return EstimateState(process_cpu_seconds(self.process), time.perf_counter(), sampler)

    def end(self, state: EstimateState) -> dict[str, tuple[float, dict[str, object]]]:
        """Joules and assumptions per component (``cpu``, ``dram``)."""
        cpu_s = max(process_cpu_seconds(self.process) - state.cpu_s, 0.0)
        wall = time.perf_counter() - state.wall_s
        rss_gb = state.sampler.stop()
        return {
            "cpu": (cpu_s * self.watts, {
                "cpu_seconds": cpu_s, "watts_per_busy_thread": self.watts,
                "watts_source": self.watts_source, "cpu_model": cpu_model(),
                "mean_utilisation_threads": cpu_s / wall if wall > 0 else 0.0}),
            "dram": (rss_gb * DRAM_WATTS_PER_GB * wall, {
                "mean_resident_gb": rss_gb, "children_included": self.children,
                "watts_per_gb": DRAM_WATTS_PER_GB,
                "watts_source": "3 W per 8 GB module (0.375 W/GB), as used by codecarbon",
                "seconds": wall}),
        }
