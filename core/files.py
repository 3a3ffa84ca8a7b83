"""Atomic file writes (a temporary name in the same folder, then a rename) and write checks."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neuropipe.core.errors import WriteError


def umask_mode(base: int) -> int:
    """``base`` (0o666 for files, 0o777 for folders) less the process umask, as ``open`` gives.

    ``tempfile`` makes private (0600/0700) files and folders; a renamed result should get the
    mode any ordinary write would have given it.
    """
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    The caller writes the temporary file by any means (``torch.save``, ``h5py``, ``onnx.save``).
    If the block raises, the temporary file is removed and ``path`` is left untouched.

    Args:
        path: The final destination.

    Yields:
        A temporary path in the same directory (so the rename is atomic on POSIX).

    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(umask_mode(0o666))
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def check_writable(folder: str | os.PathLike[str], fix: str = "choose another folder") -> None:
    """Refuse a destination folder that does not accept new files, before any work is done.

    Creates and removes a probe file: permission bits prove nothing for root or on a read-only
    mount, a real write does. A folder that does not exist yet is judged by its nearest existing
    ancestor, where it would be created.

    Args:
        folder: The folder files will be written into (it may not exist yet).
        fix: What the user can do, appended to the message (e.g. "choose another --out").

    Raises:
        WriteError: If ``folder`` (or the ancestor it would be created in) is a file, or a file
            cannot be created there; the message gives the system's reason and ``fix``.
    """
    target = Path(folder)
    probe_in = target
    while not probe_in.exists() and probe_in != probe_in.parent:
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        raise WriteError(f"cannot write to {target}: {probe_in} is a file, not a folder; {fix}")
    try:
        fd, name = tempfile.mkstemp(prefix=".neuropipe-probe-", dir=probe_in)
        os.close(fd)
        os.unlink(name)
    except OSError as e:
        where = "" if probe_in == target else f" (in {probe_in})"
        raise WriteError(f"cannot write to {target}{where}: {e.strerror or e}; {fix}") from e


def write_error(error: OSError, path: str | os.PathLike[str], fix: str) -> WriteError:
    """The one-line ``WriteError`` for an ``OSError`` raised while writing ``path``."""
    name = Path(path)
    if error.filename:  # a file inside the destination, but never a source or a temporary
        inner = Path(os.fsdecode(error.filename)).resolve()
        if name.resolve() in inner.parents and not inner.name.startswith("."):
            name = inner
    reason = "no space left on the device" if error.errno == errno.ENOSPC else (
        error.strerror or error)
    return WriteError(f"cannot write {name}: {reason}; {fix}")
