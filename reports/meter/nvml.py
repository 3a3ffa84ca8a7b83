"""GPU energy through NVML: the energy counter (Volta and newer) or integrated power samples."""

from __future__ import annotations

import threading
import time
from types import ModuleType
from typing import Any

from neuropipe.core.errors import MeterError


def _load(module: ModuleType | Any | None) -> Any:
    if module is not None:
        return module
    import pynvml

    return pynvml


def probe(module: Any | None = None) -> tuple[bool, str]:
    """Whether NVML initialises and sees GPUs here, and why not."""
    try:
        nvml = _load(module)
        nvml.nvmlInit()
        count = nvml.nvmlDeviceGetCount()
    except ImportError as e:
        return False, f"nvidia-ml-py is not installed ({e})"
    except Exception as e:  # noqa: BLE001 - NVMLError_* classes are generated at run time
        return False, f"NVML unavailable ({type(e).__name__}: no NVIDIA driver or GPU)"
    if count == 0:
        return False, "NVML sees no GPU"
    return True, f"{count} GPU(s)"


class PowerSampler(threading.Thread):
    """Samples one GPU's power (mW) in the background and integrates it (trapezoids).

    A failed reading stops the sampling: ``error`` says why, and ``energy_mj`` holds only what
    was integrated before, so the caller can flag the figure as incomplete.
    """

    def __init__(self, read_power_mw: Any, interval_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self._read, self._interval = read_power_mw, interval_s
        self._halt = threading.Event()
        self.energy_mj = 0.0
        self.samples = 0
        self.error: str | None = None

    def _sample(self) -> tuple[float, float] | None:
        try:
            return time.perf_counter(), float(self._read())
        except Exception as e:  # noqa: BLE001 - NVMLError_* classes are generated at run time
            self.error = f"reading GPU power failed ({type(e).__name__}: {e})"
            return None

    def run(self) -> None:
        """Sample until stopped (or a reading fails), adding trapezoids of power x time."""
        first = self._sample()
        if first is None:
            return
        last_t, last_p = first
        self.samples = 1
        stopping = False
        while not stopping:
            stopping = self._halt.wait(self._interval)
            sample = self._sample()
            if sample is None:
                return
            t, p = sample
            self.energy_mj += (p + last_p) / 2 * (t - last_t)
            last_t, last_p = t, p
            self.samples += 1

    def stop(self) -> float:
        """Stop sampling and return the integrated energy in millijoules."""
        self._halt.set()
        self.join()
        return self.energy_mj


class NvmlCounter:
    """Energy of every GPU over a window: counter deltas where present, else power sampling."""

    def __init__(self, module: Any | None = None, interval_s: float = 0.1) -> None:
        self._nvml = _load(module)
        try:
            self._nvml.nvmlInit()
            count = self._nvml.nvmlDeviceGetCount()
            self._handles = [self._nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception as e:  # noqa: BLE001
            raise MeterError(f"NVML unavailable: {type(e).__name__}") from e
        self._interval = interval_s
        self.has_counter = [self._has_counter(h) for h in self._handles]

    def _has_counter(self, handle: Any) -> bool:
        try:
            self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            return True
        except Exception:  # noqa: BLE001 - NVMLError_NotSupported on pre-Volta GPUs
            return False

    def begin(self) -> list[Any]:
        """Start a window: counter readings (mJ) or running power samplers."""
        state = []
        for handle, counter in zip(self._handles, self.has_counter, strict=True):
            if counter:
                state.append(self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
            else:
                sampler = PowerSampler(
                    lambda h=handle: self._nvml.nvmlDeviceGetPowerUsage(h), self._interval)
                sampler.start()
                state.append(sampler)
        return state

    def end(self, state: list[Any]) -> list[tuple[float, str, str | None]]:
        """Finish a window: ``(joules, method, problem)`` per GPU (``problem`` None if fine)."""
        out: list[tuple[float, str, str | None]] = []
        for handle, begin in zip(self._handles, state, strict=True):
            if isinstance(begin, PowerSampler):
                joules = begin.stop() / 1e3
                out.append((joules, "nvml-power", begin.error))
                continue
            try:
                end = self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            except Exception as e:  # noqa: BLE001
                out.append((0.0, "nvml-energy", f"reading the GPU energy counter failed "
                                                f"({type(e).__name__}: {e})"))
                continue
            out.append(((end - begin) / 1e3, "nvml-energy", None))
        return out
