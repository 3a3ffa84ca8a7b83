"""Runs a bundle's own script in a child process, as the target's handoff hook says.

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

TIMEOUT_S = 3600


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

    The target's handoff hook names its script and arguments (Loihi: ``run_lava.py`` loads
    ``model.net`` with ``netx.hdf5.Network`` and runs it with
    ``Loihi2SimCfg(select_tag='fixed_pt')``; SpiNNaker: ``pynn_network.py`` builds
    ``network.npz`` on ``pyNN.nest``) and reads the output spikes it saved.

    Returns:
        Output spikes, bool ``(samples, steps, classes)``.

    Raises:
        SimulationError: If the script fails.
    """
    from neuropipe.targets.registry import get_handoff

    hook = get_handoff(target)
    bundle = Path(bundle).resolve()
    folder = Path(tempfile.mkdtemp(prefix="neuropipe-handoff-sim-"))
    out = folder / "spikes.npz"
    try:
        args, what = hook.simulation(bundle, samples, out)
        _run(args, what, folder)
        return hook.output_spikes(out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
