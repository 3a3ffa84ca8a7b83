"""Import lava-dl's netx without the noise its import prints.

Importing ``lava.lib.dl.netx`` pulls in slayer, which prints a Prophesee toolbox warning to stdout
and makes torch log "No CUDA runtime is found" on machines without CUDA. Neither concerns netx.
"""

from __future__ import annotations

import contextlib
import io
import logging
from types import ModuleType


def import_netx() -> ModuleType:
    """Return ``lava.lib.dl.netx``, imported with slayer's unrelated messages suppressed."""
    cpp_logger = logging.getLogger("torch.utils.cpp_extension")
    level = cpp_logger.level
    cpp_logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from lava.lib.dl import netx
    finally:
        cpp_logger.setLevel(level)
    return netx
