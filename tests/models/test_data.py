import pickle

import numpy as np
import pytest

from neuropipe.core.errors import DataError, InputError
from neuropipe.models.data import datasets, packaged
from neuropipe.models.data.idx import read_idx


@pytest.mark.parametrize("gz", [False, True])
def test_idx_directory_loads_both_splits_exactly(tmp_path, gz, idx_dir):
    arrays = idx_dir(tmp_path / "d", gz=gz)
    data = datasets.load_dataset("mnist", tmp_path / "d")
    assert np.array_equal(data.train_x, arrays["train-images-idx3-ubyte"])
    assert np.array_equal(data.train_y, arrays["train-labels-idx1-ubyte"])
    assert np.array_equal(data.test_x, arrays["t10k-images-idx3-ubyte"])
    assert np.array_equal(data.test_y, arrays["t10k-labels-idx1-ubyte"])
    assert data.source.startswith("idx:")


def test_env_variable_selects_idx_dir(tmp_path, monkeypatch, idx_dir):
    idx_dir(tmp_path / "env", n_train=7)
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path / "env"))
    assert len(datasets.load_dataset("mnist").train_y) == 7


def test_missing_and_corrupt_idx_files_give_clear_errors(tmp_path, idx_dir):
    with pytest.raises(DataError, match="does not exist"):
        datasets.load_dataset("mnist", tmp_path / "absent")
    idx_dir(tmp_path / "d")
    (tmp_path / "d" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.*not found"):
        datasets.load_dataset("mnist", tmp_path / "d")
    idx_dir(tmp_path / "e")
    path = tmp_path / "e" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match="corrupt or truncated"):
        datasets.load_dataset("mnist", tmp_path / "e")
    path.write_bytes(b"garbage!")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)
    (tmp_path / "f.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "f.gz")
    with pytest.raises(InputError, match="unknown dataset 'cifar'"):
        datasets.load_dataset("cifar")
    idx_dir(tmp_path / "empty", n_train=0)
    with pytest.raises(DataError, match="the train split holds no images"):
        datasets.load_dataset("mnist", tmp_path / "empty")


def test_packaged_mnist_is_the_official_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path))
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    data = datasets.load_dataset("mnist")
    assert data.train_x.shape == (60000, 28, 28) and data.test_x.shape == (10000, 28, 28)
    assert data.train_x.dtype == np.uint8 and data.train_x.max() == 255
    assert tuple(data.train_y[:10]) == (5, 0, 4, 1, 9, 2, 1, 3, 1, 4)
    assert tuple(data.test_y[:10]) == (7, 2, 1, 0, 4, 1, 4, 9, 5, 9)
    assert np.bincount(data.test_y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                                 974, 1009]
    cache = tmp_path / "mnist.npz"
    assert cache.is_file()
    # A corrupt cache is rebuilt from the package, not trusted.
    cache.write_bytes(b"junk")
    assert tuple(datasets.load_dataset("mnist").test_y[:3]) == (7, 2, 1)
    # Damage inside an array (the zip index still reads: a CRC error only when loaded).
    raw = bytearray(cache.read_bytes())
    middle = len(raw) // 2
    raw[middle:middle + 16] = bytes(16)
    cache.write_bytes(bytes(raw))
    assert tuple(datasets.load_dataset("mnist").train_y[:3]) == (5, 0, 4)


def test_restricted_unpickler_refuses_other_globals():
    evil = pickle.dumps(print)  # a global outside numpy's array reconstruction
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        packaged.load_arrays_pickle(evil)

    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        packaged.load_arrays_pickle(pickle.dumps(Evil()))
    assert packaged.load_arrays_pickle(pickle.dumps((1, [2.0, "x"]))) == (1, [2.0, "x"])


@pytest.mark.skipif(not datasets.FASHION_DEBIAN_DIR.is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian_files(monkeypatch):
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    data = datasets.load_dataset("fashion-mnist")
    assert data.train_x.shape == (60000, 28, 28) and len(data.test_y) == 10000
    assert tuple(data.test_y[:5]) == (9, 2, 1, 1, 6)
