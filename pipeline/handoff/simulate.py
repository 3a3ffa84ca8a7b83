"""Runs a bundle's own script in a child process: Lava from ``model.net``, or PyNN on NEST.

Both the reference outputs (when a bundle is made) and ``handoff verify`` come from here, so the
figures a hardware team compares against are what the bundle's own files produce.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from neuropipe.core.errors import NeuropipeError

LAVA_SCRIPT = "run_lava.py"
PYNN_SCRIPT = "pynn_network.py"
TIMEOUT_S = 3600
SHORT_NAMES = {"loihi": "Lava", "spinnaker": "NEST"}


class SimulationError(NeuropipeError):
    """The bundle's network could not be simulated (its script failed)."""


def _run(args: list[str], what: str, cwd: Path) -> None:
    """Run ``python -I ARGS`` quietly in ``cwd``; a failure becomes one line.

    ``-I`` (isolated mode) keeps the script's own folder, the current folder, ``PYTHON*``
    variables and the user's site-packages off ``sys.path``: a module planted beside a
    bundle's script is never imported in place of a library.
    """
    env = {**os.environ, "PYNEST_QUIET": "1", "XDG_CONFIG_HOME": str(cwd),
           "MPLCONFIGDIR": str(cwd / "mpl"), "OMP_NUM_THREADS": "1"}
    try:
        proc = subprocess.run([sys.executable, "-I", *args], capture_output=True, text=True,
                              cwd=cwd, env=env, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        raise SimulationError(f"{what} took over {TIMEOUT_S} s") from e
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()] or ["?"]
        raise SimulationError(f"{what} failed: {lines[-1][:400]}")
    if not (cwd / "spikes.npz").is_file():
        raise SimulationError(f"{what} exited without writing its output spikes")


def output_spikes(bundle: Path, target: str, samples: int) -> np.ndarray:
    """Simulate the first ``samples`` reference inputs from the bundle's files only.

    Loihi: ``run_lava.py`` loads ``model.net`` with ``netx.hdf5.Network`` and runs it with
    ``Loihi2SimCfg(select_tag='fixed_pt')``; SpiNNaker: ``pynn_network.py`` builds
    ``network.npz`` on ``pyNN.nest``.

    Returns:
        Output spikes, bool ``(samples, steps, classes)``.

    Raises:
        SimulationError: If the script fails.
    """
    bundle = Path(bundle).resolve()
    folder = Path(tempfile.mkdtemp(prefix="neuropipe-handoff-sim-"))
    out = folder / "spikes.npz"
    try:
        if target == "loihi":
            _run([str(bundle / LAVA_SCRIPT), str(bundle / "model.net"),
                  str(bundle / "reference" / "inputs.npz"), "--samples", str(samples),
                  "--out", str(out)], "the Lava run of model.net (run_lava.py)", folder)
            with np.load(out) as data:
                return np.asarray(data["output_spikes"], dtype=bool)
        _run([str(bundle / PYNN_SCRIPT), "nest", str(bundle / "network.npz"), "--samples",
              str(samples), "--out", str(out)], "the NEST run of network.npz (pynn_network.py)",
             folder)
        with np.load(out) as data:
            last = max(int(k[1:]) for k in data.files if k.startswith("L") and k[1:].isdigit())
            return np.asarray(data[f"L{last}"], dtype=bool)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
