"""Shared test fixtures.

The test folder is not a package (pytest runs in importlib mode), because lava-nc, lava-dl and
pyRAPL each install a top-level ``tests`` package into site-packages.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")


import pytest  # noqa: E402


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from neuropipe.pipeline.cli import main

    def run(args):
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
