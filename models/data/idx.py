"""Reader of the IDX format of MNIST-style datasets (raw or gzip-compressed)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from neuropipe.core.errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw) into an array.

    Args:
        path: Path of the file.

    Returns:
        The array with the shape given in the file's header.

    Raises:
        DataError: If the file is truncated or its header is not IDX.
    """
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read {path}: {e}; replace it with a good copy") from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise DataError(f"{path} is not an IDX file (bad header); replace it with a good copy")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated (incomplete header); replace it with a good copy")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(f"{path} holds {len(data) - header} bytes of data, its header promises "
                        f"{expected}: the file is corrupt or truncated")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(
        dtype.newbyteorder("="), copy=True)


def find_idx(directory: Path, stem: str) -> Path | None:
    """Find ``stem`` (e.g. ``train-images-idx3-ubyte``) in ``directory``, raw or ``.gz``.

    Also accepts the ``train-images.idx3-ubyte`` spelling used by some mirrors.
    """
    alternatives = [stem, stem.replace("-idx", ".idx")]
    for name in alternatives:
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None
