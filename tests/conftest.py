"""Shared test fixtures.

The test folder is not a package (pytest runs in importlib mode), because lava-nc, lava-dl and
pyRAPL each install a top-level ``tests`` package into site-packages.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")


import gzip  # noqa: E402
import shutil  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def write_idx(path, array, gz=False):
    """Write ``array`` (uint8) as an IDX file, gzipped if asked."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def make_idx_dir(directory, n_train=30, n_test=20, gz=False, seed=0):
    """A folder of random MNIST-shaped IDX files; returns the arrays by file stem."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for stem, arr in arrays.items():
        write_idx(directory / (stem + (".gz" if gz else "")), arr, gz=gz)
    return arrays


@pytest.fixture
def idx_dir():
    """``make_idx_dir``: writes a folder of IDX files."""
    return make_idx_dir


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from neuropipe.pipeline.cli import main

    def run(args):
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def read_only():
    """``read_only(folder)`` returns a read-only view of ``folder``.

    As root, permissions prove nothing: the view is a read-only bind mount (skipped where
    mounting is not permitted). Otherwise the folder and its subfolders are chmod 0o555.
    """
    mounts, chmodded = [], []

    def make(folder: Path) -> Path:
        if os.geteuid() != 0:
            for p in [folder, *folder.rglob("*")]:
                if p.is_dir():
                    p.chmod(0o555)
                    chmodded.append(p)
            return folder
        if shutil.which("mount") is None:
            pytest.skip("no mount command here")
        view = folder.with_name(folder.name + "-ro")
        view.mkdir()
        if subprocess.run(["mount", "--bind", str(folder), str(view)],
                          capture_output=True).returncode != 0:
            pytest.skip("mount --bind is not permitted here")
        mounts.append(view)
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(view)],
                          capture_output=True).returncode != 0:
            pytest.skip("remounting read-only is not permitted here")
        return view

    yield make
    for view in reversed(mounts):
        subprocess.run(["umount", str(view)], check=True)
    for p in chmodded:
        p.chmod(0o755)
