"""What ``neuropipe doctor`` checks: energy counters, every registered target, versions."""

from __future__ import annotations

import importlib.metadata

from neuropipe.reports.meter import estimate, nvml, powercap, pyrapl_backend

PACKAGES = ("torch", "norse", "nir", "nirtorch", "lava-nc", "lava-dl", "pynn", "nest-simulator",
            "spynnaker", "onnx", "onnxruntime",
            "numpy", "pyRAPL", "nvidia-ml-py")


def _mark(ok: bool) -> str:
    return "ok " if ok else "no "


def report() -> list[str]:
    """Lines of the doctor's report."""
    lines = ["energy counters:"]
    ok, why = powercap.probe()
    lines.append(f"  {_mark(ok)}RAPL via powercap: {why}")
    ok, why = pyrapl_backend.probe()
    lines.append(f"  {_mark(ok)}pyRAPL: {why}")
    ok, why = nvml.probe()
    lines.append(f"  {_mark(ok)}NVML: {why}")
    watts, source = estimate.watts_per_thread()
    lines.append(f"  fallback estimate: CPU {watts:.2f} W per busy thread ({source}); DRAM "
                 f"{estimate.DRAM_WATTS_PER_GB} W/GB")
    from neuropipe.targets.registry import get_target, target_names

    lines.append("targets:")
    for name in target_names():
        availability = get_target(name).availability()
        reason = f": {availability.reason}" if availability.reason else ""
        lines.append(f"  {_mark(availability.available)}{name}{reason}")
    lines.append("versions: " + ", ".join(f"{p} {_version(p)}" for p in PACKAGES))
    return lines


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "missing"
