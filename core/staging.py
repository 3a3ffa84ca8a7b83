"""Hidden staging folders that a killed process leaves behind, and one writer at a time.

A command that builds its output in a hidden staging folder (``targets/.loihi.*``,
``.bundle.*.partial``) writes a marker beside it holding its PID (``<folder>.pid``). Ctrl-C and
SIGTERM remove the folder; a SIGKILL or a power cut cannot. The next run of the same command
removes such leftovers, but only those whose PID is no longer alive, never another live
process's.

``swap_in`` renames a finished staging folder into place, setting an earlier one aside until the
rename has succeeded. ``exclusive`` takes an ``fcntl.flock`` lock on a file, so two commands
writing the same place at once are refused instead of silently replacing each other's work.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from neuropipe.core.errors import RunDirError
from neuropipe.core.files import umask_mode

MARKER = ".pid"


def _alive(pid: int) -> bool:
    """Whether a process with this PID exists (one of another user's counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(parent: Path, prefix: str, suffix: str = "") -> list[Path]:
    """Remove ``parent/<prefix>*<suffix>`` staging folders whose marker's PID is not alive.

    Returns:
        The folders removed.
    """
    removed = []
    for marker in Path(parent).glob(f"{prefix}*{suffix}{MARKER}"):
        folder = marker.with_name(marker.name[:-len(MARKER)])
        try:
            pid = int(marker.read_text(encoding="utf-8").split()[0])
        except (OSError, ValueError, IndexError):
            continue  # being written, or not ours: leave it
        if _alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            marker.unlink(missing_ok=True)
            removed.append(folder)
    return removed


def make_staging(parent: Path, prefix: str, suffix: str = "") -> Path:
    """A new hidden staging folder in ``parent``, with its PID marker beside it.

    Stale folders of the same kind (same prefix and suffix, dead PID) are removed first. The
    folder gets the permissions the umask gives a new folder (``mkdtemp`` makes it 0700), since
    it is renamed into place as the result.

    Raises:
        OSError: If ``parent`` cannot be written.
    """
    remove_stale(parent, prefix, suffix)
    folder = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
    try:
        folder.chmod(umask_mode(0o777))
        Path(f"{folder}{MARKER}").write_text(f"{os.getpid()}\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def remove_staging(folder: Path) -> None:
    """Remove a staging folder (if still there) and its PID marker."""
    shutil.rmtree(folder, ignore_errors=True)
    Path(f"{folder}{MARKER}").unlink(missing_ok=True)


def swap_in(new: Path, final: Path, aside: Path) -> None:
    """Rename the finished folder ``new`` to ``final``, never leaving neither in place.

    An existing ``final`` is first renamed to ``aside`` (a leftover there is removed first), put
    back if the rename of ``new`` fails, and removed once it has succeeded. ``aside`` must be on
    the same file system as ``final`` (beside it, or inside ``new``'s staging folder).

    Raises:
        OSError: If a rename fails; ``final`` then holds what it held before.
    """
    moved = final.exists()
    if moved:
        shutil.rmtree(aside, ignore_errors=True)
        final.rename(aside)
    try:
        new.rename(final)
    except BaseException:
        if moved:
            aside.rename(final)  # the earlier one goes back where it was
        raise
    if moved:
        shutil.rmtree(aside, ignore_errors=True)


def _lock(lock: Path, what: str) -> int:
    """Open ``lock`` and take its flock; the descriptor of the file the path still names."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise RunDirError(f"another neuropipe (PID {holder}) is writing {what}; wait for it "
                              "to finish, or stop it, then run this again") from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # its holder removed it as we opened it: take the new one


@contextlib.contextmanager
def exclusive(lock: Path, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock`` while the block runs; remove it afterwards.

    The lock file holds the holder's PID. It is removed while still locked, and a process that
    locked a file the path no longer names tries again, so two holders are never possible.

    Raises:
        RunDirError: If another process holds it, naming that process's PID.
    """
    fd = _lock(lock, what)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)  # releases the lock
