"""How many threads a batched fast path computes with: the batch, the wait policy, the load.

The Loihi emulators, the SpiNNaker fast path and the host targets compute whole batches with
torch (and onnxruntime). Left to itself torch takes every core, and its OpenMP threads spin
while they wait for work (libgomp's default policy): on a shared machine, with one other core
busy, two spinning threads ran the snn-mlp emulator 6x slower than one (issue 20). The rule:

- ``OMP_WAIT_POLICY=PASSIVE`` is set when this module is imported, before torch is (a value the
  user set is kept); libgomp reads it once, when torch is first imported;
- a small batch computes in one thread: at most one thread per ``MIN_BATCH_PER_THREAD``
  samples, and never more than the usable cores or ``OMP_NUM_THREADS`` when the user set it;
- with the passive policy in force, that is the count, whatever the load: idle threads sleep,
  and on a loaded machine two threads still take a larger share of the cores than one (the
  snn-mlp emulator over 10,000 images, one extra core busy: 0.59 ms per image with two threads
  against 0.92 with one, measured in one run at a load of 19; docs/testing.md);
- where torch started before the policy could be set (spinning threads), only the cores not
  busy with other processes now are used (``/proc/stat``'s ``procs_running`` less this
  process's own running threads, the least of a few reads);
- the torch setting is restored when the call ends (a library call leaves no global change).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Whether torch's OpenMP threads sleep when idle: the policy libgomp read (or will read) at
# torch's import; unknown, and taken as spinning, when torch came first without it.
PASSIVE = os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "PASSIVE"

# A second thread is given only for a batch of at least this many samples per thread: below it
# the per-step tensors are small and waking a thread for every operation costs more than the
# split gains (issue 20, batch of 16 with one core busy: 1.5 ms per sample with one thread, 1.9
# with two passive ones). 64 is a judgement, not a measured optimum: see docs/testing.md.
MIN_BATCH_PER_THREAD = 64
READS = 3  # reads of the run queue; the least is taken (a busy process stays runnable)
FIXED = "NEUROPIPE_THREADS"  # environment variable: a fixed thread count (no load look-up)

F = TypeVar("F", bound=Callable[..., Any])
_active = threading.local()  # the count an enclosing ``compute_threads`` chose, if any


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def busy_elsewhere(reads: int = READS, stat: Path = Path("/proc/stat"),
                   tasks: Path = Path("/proc/self/task")) -> int:
    """Threads of other processes running or runnable now (0 where ``/proc`` is not readable).

    ``procs_running`` counts every runnable thread of the machine, this process's included; its
    own running threads (the caller at least) are taken off. The least of ``reads`` reads, 2 ms
    apart, so that a thread that ran for an instant does not count as a busy core.
    """
    seen = []
    for i in range(reads):
        if i:
            time.sleep(0.002)
        try:
            running = next(int(line.split()[1]) for line in stat.read_text().splitlines()
                           if line.startswith("procs_running"))
        except (OSError, StopIteration, ValueError, IndexError):
            return 0
        seen.append(running - own_running(tasks))
    return max(0, min(seen))


def own_running(tasks: Path = Path("/proc/self/task")) -> int:
    """This process's threads in state R (running or runnable); 1 where it cannot be read."""
    count = 0
    try:
        for task in tasks.iterdir():
            with contextlib.suppress(OSError):
                # "pid (comm) S ...": the state follows the last ')' (comm may hold spaces)
                if task.joinpath("stat").read_text().rpartition(")")[2].split()[0] == "R":
                    count += 1
    except OSError:
        return 1
    return max(count, 1)


def _positive(value: str) -> int | None:
    """``value`` as a positive whole number, or None."""
    value = value.strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def user_limit() -> int | None:
    """``OMP_NUM_THREADS`` as a positive whole number, when the user set one."""
    return _positive(os.environ.get("OMP_NUM_THREADS", "").split(",")[0])


def fixed_threads() -> int | None:
    """``NEUROPIPE_THREADS`` as a positive whole number, when set (it overrides the choice)."""
    return _positive(os.environ.get(FIXED, ""))


def choose_threads(batch: int, cores: int | None = None, busy: int | None = None,
                   limit: int | None = None, passive: bool | None = None) -> int:
    """Threads for one call over ``batch`` samples (``NEUROPIPE_THREADS`` fixes it, if set).

    Args:
        batch: Samples computed together.
        cores: Usable cores (default: ``usable_cores()``).
        busy: Cores busy with other processes (default: ``busy_elsewhere()``, read only when
            the threads spin).
        limit: An upper bound (default: ``user_limit()``, ``OMP_NUM_THREADS``).
        passive: Whether idle threads sleep (default: ``PASSIVE``).

    Returns:
        ``min(cores, batch // MIN_BATCH_PER_THREAD, limit)``, less the busy cores when the
        threads spin; at least 1.
    """
    fixed = fixed_threads()
    if fixed is not None:
        return fixed
    cores = usable_cores() if cores is None else cores
    limit = user_limit() if limit is None else limit
    by_batch = max(1, batch // MIN_BATCH_PER_THREAD)
    if by_batch == 1 or (limit is not None and limit <= 1):  # no need to look at the load
        return 1
    n = min(cores, by_batch, limit if limit is not None else cores)
    if not (PASSIVE if passive is None else passive):
        n = min(n, cores - (busy_elsewhere() if busy is None else busy))
    return max(1, n)


@contextlib.contextmanager
def compute_threads(batch: int) -> Iterator[int]:
    """Run the block with ``choose_threads(batch)`` torch threads; restore torch's afterwards.

    Inside another ``compute_threads`` block (a target timing a whole pass of library calls)
    the enclosing choice is kept: one count for the whole window, read once.
    """
    import torch

    outer = getattr(_active, "threads", None)
    n = outer if outer is not None else choose_threads(batch)
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    _active.threads = n
    try:
        yield n
    finally:
        _active.threads = outer
        if n != before:
            torch.set_num_threads(before)


def batched(batch_of: Callable[..., int]) -> Callable[[F], F]:
    """Decorate a batched function to run in ``compute_threads(batch_of(*args, **kwargs))``."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with compute_threads(batch_of(*args, **kwargs)):
                return fn(*args, **kwargs)
        return run  # type: ignore[return-value]
    return wrap


def onnx_session_options(batch: int) -> object:
    """``onnxruntime.SessionOptions`` with ``choose_threads(batch)`` threads that sleep when idle.

    onnxruntime's own pool spins between runs by default (``session.intra_op.allow_spinning``);
    here its threads sleep, as torch's do with the passive policy.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = choose_threads(batch)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options
