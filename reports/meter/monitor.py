"""The meter: named measurement windows over whichever counters this machine has."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuropipe.core.errors import MeterError
from neuropipe.reports.meter import estimate, nvml, powercap, pyrapl_backend
from neuropipe.reports.meter.records import ComponentEnergy, Measurement


@dataclass
class _Open:
    start_s: float
    cpu: Any = None
    gpu: Any = None
    estimate: Any = None


@dataclass
class WindowHandle:
    """Returned by ``Meter.window``; ``result`` holds the measurement after the block."""

    name: str
    result: Measurement | None = field(default=None)


class Meter:
    """Measure energy over named, possibly nested windows (``begin_window``/``end_window``).

    CPU and DRAM come from RAPL (pyRAPL where it works on the real sysfs tree, otherwise the
    powercap reader, which also handles AMD zones and wrap-around); GPUs from NVML. Where no
    counter exists the CPU and DRAM are estimated from the process's usage, and every component
    says which method was used and why.

    Args:
        sysfs_root: Root of the powercap tree (injectable for tests).
        gpus: ``auto`` (use NVML if it works), ``none``, or ``require`` (raise if NVML fails).
        pid: Process to attribute CPU time to in estimates (default: this process).
        nvml_module: An object standing in for ``pynvml`` (tests).
        pyrapl_module: An object standing in for ``pyRAPL`` (tests).
        poll_interval_s: Seconds between background readings of the RAPL counters.
        children: Whether estimates include the memory of child processes (``measure``).
    """

    def __init__(self, sysfs_root: str | Path = powercap.POWERCAP_ROOT, gpus: str = "auto",
                 pid: int | None = None, nvml_module: Any = None,
                 pyrapl_module: Any = None,
                 poll_interval_s: float = powercap.POLL_INTERVAL_S,
                 children: bool = False) -> None:
        self._open: dict[str, _Open] = {}
        self.notes: list[str] = []
        root = Path(sysfs_root)
        self._rapl: powercap.CounterPoller | None = None
        self._pyrapl: pyrapl_backend.PyRaplCounter | None = None
        ok, reason = powercap.probe(root)
        self.cpu_reason = reason
        if ok:
            self._rapl = powercap.CounterPoller(powercap.PowercapCounter(root), poll_interval_s)
            if root == powercap.POWERCAP_ROOT or pyrapl_module is not None:
                try:
                    self._pyrapl = pyrapl_backend.PyRaplCounter(pyrapl_module)
                except (MeterError, ImportError):
                    self._pyrapl = None
        self._estimator = None if ok else estimate.CpuDramEstimator(pid, reason, children)
        self._gpu: nvml.NvmlCounter | None = None
        self.gpu_reason = "GPUs not measured (gpus='none')"
        if gpus != "none":
            ok_gpu, self.gpu_reason = nvml.probe(nvml_module)
            if ok_gpu:
                self._gpu = nvml.NvmlCounter(nvml_module)
            elif gpus == "require":
                raise MeterError(f"GPU energy was required but {self.gpu_reason}")

    @property
    def methods(self) -> dict[str, str]:
        """Method that will be used per component family."""
        cpu = "rapl" if self._rapl else "estimate"
        out = {"cpu": cpu, "dram": cpu}
        if self._gpu:
            for i, has in enumerate(self._gpu.has_counter):
                out[f"gpu:{i}"] = "nvml-energy" if has else "nvml-power"
        return out

    def begin_window(self, name: str) -> None:
        """Start the window ``name``.

        Raises:
            MeterError: If a window of that name is already open.
        """
        if name in self._open:
            raise MeterError(f"measurement window '{name}' is already open")
        _sync_cuda()
        state = _Open(time.perf_counter())
        if self._rapl is not None:
            self._rapl.acquire()
            pyrapl_state = self._pyrapl.begin() if self._pyrapl is not None else None
            state.cpu = (pyrapl_state, self._rapl.poll())
        if self._estimator is not None:
            state.estimate = self._estimator.begin()
        if self._gpu is not None:
            state.gpu = self._gpu.begin()
        self._open[name] = state

    def end_window(self, name: str) -> Measurement:
        """End the window ``name`` and return its measurement.

        Raises:
            MeterError: If no window of that name is open.
        """
        if name not in self._open:
            raise MeterError(f"measurement window '{name}' was never begun")
        _sync_cuda()
        state = self._open.pop(name)
        duration = time.perf_counter() - state.start_s
        components: list[ComponentEnergy] = []
        warns: list[str] = []
        if state.cpu is not None:
            components += self._rapl_components(state.cpu, warns)
        if state.estimate is not None:
            for comp, (joules, assumptions) in self._estimator.end(state.estimate).items():
                components.append(ComponentEnergy(
                    comp, joules, "estimate", assumptions,
                    f"estimate, not a measurement: no RAPL counter ({self.cpu_reason})"))
        if state.gpu is not None:
            for i, (joules, method, problem) in enumerate(self._gpu.end(state.gpu)):
                note = "NVML " + ("energy counter" if method == "nvml-energy" else
                                  "power samples, integrated")
                if problem:
                    note += f"; INCOMPLETE: {problem}"
                    warns.append(f"gpu:{i}: {problem}; its energy is incomplete")
                components.append(ComponentEnergy(f"gpu:{i}", joules, method, {}, note))
                if joules <= 0 and not problem:
                    # A present GPU draws idle power, so 0 J means a counter that did not move,
                    # whoever used the GPU (this process or the command being measured).
                    warns.append(f"gpu:{i} read {joules:g} J: the window may be shorter than "
                                 "the counter's update period, or the counter is stuck; "
                                 "measure longer work")
        for w in warns:
            warnings.warn(w, stacklevel=2)
        return Measurement(name=name, duration_s=duration, components=components, warnings=warns)

    def _rapl_components(self, cpu_state: tuple[Any, Any], warns: list[str]
                         ) -> list[ComponentEnergy]:
        pyrapl_state, (start_uj, start_wraps) = cpu_state
        assert self._rapl is not None
        try:
            end_uj, end_wraps = self._rapl.poll()
        finally:
            self._rapl.release()
        wraps = sum(end_wraps) - sum(start_wraps)
        polled = self._rapl.joules_between(start_uj, end_uj)
        joules = None
        note = ("Linux powercap RAPL counters (package and DRAM zones), read every "
                f"{self._rapl.interval_s:g} s so that every wrap-around is counted")
        if wraps:
            note += f" ({wraps} wrap(s) in this window)"
        if pyrapl_state is not None and self._pyrapl is not None:
            joules = self._pyrapl.end(pyrapl_state)
            if joules is not None and not wraps and set(joules) >= set(polled):
                note = "Intel RAPL through pyRAPL"
            else:
                joules = None  # pyRAPL sees at most one wrap, and drops a wrapped domain
        if joules is None:
            joules = polled
        if self._rapl.error:
            warns.append(f"RAPL polling stopped ({self._rapl.error}): a long window may miss "
                         "counter wraps")
        comps = [ComponentEnergy(comp, j, "rapl", {}, note) for comp, j in joules.items()]
        if all(c.energy_j == 0 for c in comps):
            warns.append("RAPL counters read 0 J: the window is shorter than their update "
                         "period (~1 ms-100 ms); measure longer work")
        return comps

    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[WindowHandle]:
        """Context manager around ``begin_window``/``end_window``."""
        handle = WindowHandle(name)
        self.begin_window(name)
        try:
            yield handle
        finally:
            handle.result = self.end_window(name)


def _cuda_used() -> bool:
    import sys

    torch = sys.modules.get("torch")
    return bool(torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized())


def _sync_cuda() -> None:
    """Wait for queued GPU work, so that window edges are where the work really is."""
    if _cuda_used():
        import torch

        torch.cuda.synchronize()
