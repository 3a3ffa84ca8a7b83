"""Import norse without the torch deprecation warning its import raises.

norse 1.1 decorates functions with ``torch.jit.script`` at import time, which torch 2.14 reports
as a FutureWarning on every run; it says nothing about neuropipe's use of norse.
"""

from __future__ import annotations

import warnings
from types import ModuleType


def import_norse_torch() -> ModuleType:
    """Return ``norse.torch``, imported with torch's ``jit.script`` deprecation warning silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.* is deprecated",
                                category=FutureWarning)
        import norse.torch

    return norse.torch
