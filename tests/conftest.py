"""Shared test fixtures.

The test folder is not a package (pytest runs in importlib mode), because lava-nc, lava-dl and
pyRAPL each install a top-level ``tests`` package into site-packages.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
