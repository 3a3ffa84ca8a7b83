"""What ``neuropipe doctor`` checks: counters, Lava, targets, versions."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

from neuropipe.reports.meter import estimate, nvml, powercap, pyrapl_backend

PACKAGES = ("torch", "norse", "nir", "nirtorch", "lava-nc", "lava-dl", "onnx", "onnxruntime",
            "numpy", "pyRAPL", "nvidia-ml-py")


def _mark(ok: bool) -> str:
    return "ok " if ok else "no "


def lava_status() -> tuple[bool, str]:
    """Import Lava in a subprocess (so a broken install cannot break doctor)."""
    from neuropipe.targets import lava_setup

    path = lava_setup.var_model_path()
    if path is None:
        return False, "lava-nc is not installed (make venv installs it)"
    if lava_setup.needs_fix(path):
        return False, ("Lava lacks its Python 3.11 fix: run python -m "
                       "neuropipe.targets.lava_setup")
    proc = subprocess.run([sys.executable, "-c",
                           "import lava.proc.lif.process, lava.lib.dl.netx"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return False, f"import fails: {last}"
    return True, "lava.proc.lif and lava.lib.dl.netx import; 3.11 fix present"


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
    ok, why = lava_status()
    lines.append(f"lava: {_mark(ok)}{why}")
    from neuropipe.targets.registry import get_target, target_names

    lines.append("targets:")
    for name in target_names():
        availability = get_target(name).availability()
        lines.append(f"  {_mark(availability.available)}{name}"
                     f"{'' if availability.available else ': ' + availability.reason}")
    lines.append("versions: " + ", ".join(f"{p} {_version(p)}" for p in PACKAGES))
    return lines


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "missing"
