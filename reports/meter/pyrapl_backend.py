"""Intel RAPL through pyRAPL, where it works (Intel CPUs, readable counters).

pyRAPL reads fixed sysfs paths, is Intel-only and ignores counter wrap-around; a window whose
pyRAPL delta is negative (a wrap) is reported as unusable so that the meter falls back to its own
powercap reader, which handles wrap-around and AMD zones.
"""

from __future__ import annotations

import contextlib
import io
import logging
from types import ModuleType
from typing import Any

from neuropipe.core.errors import MeterError


def _load(module: ModuleType | None) -> Any:
    if module is not None:
        return module
    # pyRAPL prints notes about optional outputs (pymongo, pandas) when imported, through the root
    # logger (whose ``logging.warning`` would also install a stderr handler for good).
    root = logging.getLogger()
    quiet = logging.NullHandler()
    root.addHandler(quiet)
    previous = root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import pyRAPL
    finally:
        logging.disable(previous)
        root.removeHandler(quiet)
    return pyRAPL


def probe(module: ModuleType | None = None) -> tuple[bool, str]:
    """Whether ``pyRAPL.setup()`` succeeds here, and why not."""
    try:
        pyrapl = _load(module)
        pyrapl.setup()
    except ImportError as e:
        return False, f"pyRAPL is not installed ({e})"
    except Exception as e:  # noqa: BLE001 - pyRAPL raises its own classes, often without text
        reason = str(e) or type(e).__name__
        return False, f"pyRAPL cannot record energy here ({reason}: no Intel RAPL counters " \
                      "readable by this user)"
    return True, "pyRAPL set up"


class PyRaplCounter:
    """CPU package and DRAM energy of one window through ``pyRAPL.Measurement``."""

    def __init__(self, module: ModuleType | None = None) -> None:
        self._pyrapl = _load(module)
        try:
            self._pyrapl.setup()
        except Exception as e:  # noqa: BLE001
            # an exception is always true: its text may be empty, then its type names it
            reason = str(e) or type(e).__name__
            raise MeterError(f"pyRAPL cannot record energy here: {reason}") from e

    def begin(self) -> Any:
        """Start a pyRAPL measurement and return it."""
        measurement = self._pyrapl.Measurement("neuropipe")
        measurement.begin()
        return measurement

    def end(self, measurement: Any) -> dict[str, float] | None:
        """Stop ``measurement``; joules per component, or None if a counter wrapped."""
        measurement.end()
        result = measurement.result
        # pyRAPL drops a domain whose every delta is negative (a wrap), leaving None: that is
        # a failed reading too, not 0 J.
        if result.pkg is None:
            return None
        pkg = list(result.pkg)
        dram = list(result.dram or [])
        if any(v < 0 for v in pkg + dram):
            return None
        out = {"cpu": sum(pkg) / 1e6}
        if dram:
            out["dram"] = sum(dram) / 1e6
        return out
