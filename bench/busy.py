"""One busy core for the benches' loaded figures, and the machine's load to print beside each.

A loaded figure is taken with one extra process spinning on a core (``one_busy_core``), in the
same run as the quiet one, so that their ratio compares like with like; the machine's load
average and the threads other processes keep runnable are printed with each (``load_text``):
on a shared machine "quiet" only means "without the bench's own busy loop".
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

from neuropipe.core.threads import busy_elsewhere

# Spins until its parent is gone (a bench killed without cleaning up leaves no busy loop behind).
SPIN = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    pass\n"


@contextlib.contextmanager
def one_busy_core() -> Iterator[None]:
    """Keep one core busy (a Python busy loop in a child process) while the block runs."""
    child = subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.5)  # let it start spinning
        yield
    finally:
        child.kill()
        child.wait()


def load_text() -> str:
    """``load 1.52/1.20/0.97, 1 other busy`` (the 1/5/15-minute averages, runnable threads now)."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}/{fifteen:.2f}, {busy_elsewhere()} other busy"


def quiet_and_loaded(run: Callable[[], float], rounds: int = 3) -> str:
    """Run ``run`` (it returns a time) quiet and with one core busy, alternately ``rounds`` times.

    Returns both medians, their ratio and the load at the end: alternating keeps a drift of the
    machine's own load out of the ratio.
    """
    quiet, loaded = [], []
    for _ in range(rounds):
        quiet.append(run())
        with one_busy_core():
            loaded.append(run())
    q, b = statistics.median(quiet), statistics.median(loaded)
    return (f"quiet {q:.3f} s, one core busy {b:.3f} s (medians of {rounds}, alternately): "
            f"{b / q:.2f}x quiet ({load_text()})")

if __name__ == "__main__":  # `make bench` runs every bench/*.py: here, the machine's load now
    print(load_text())
