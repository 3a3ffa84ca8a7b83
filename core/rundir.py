"""The run directory: one folder per run whose files are the contract between stages."""

from __future__ import annotations

import datetime as _dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from neuropipe.core.errors import RunDirError

DEFAULT_RUNS_ROOT = Path("runs")


@dataclass(frozen=True)
class RunDir:
    """Paths of the files a run is made of.

    Attributes:
        root: The run's folder.

    """

    root: Path

    @property
    def config(self) -> Path:
        """The training configuration record."""
        return self.root / "config.json"

    @property
    def model(self) -> Path:
        """The final model's state dict (loadable with ``torch.load(weights_only=True)``)."""
        return self.root / "model.pt"

    @property
    def checkpoint(self) -> Path:
        """The latest training checkpoint (model, optimiser, epoch), for ``--resume``."""
        return self.root / "checkpoint.pt"

    @property
    def metrics(self) -> Path:
        """Accuracy and speed figures of training."""
        return self.root / "metrics.json"

    @property
    def energy(self) -> Path:
        """The measured energy and footprint of training."""
        return self.root / "energy.json"

    @property
    def nir(self) -> Path:
        """The spiking model as a NIR graph."""
        return self.root / "model.nir"

    @property
    def onnx(self) -> Path:
        """The conventional model as ONNX."""
        return self.root / "model.onnx"

    def target_dir(self, target: str) -> Path:
        """The folder of one deployment target's results."""
        return self.root / "targets" / target

    def deployment(self, target: str) -> Path:
        """The deployment record of one target."""
        return self.target_dir(target) / "deployment.json"

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """Open an existing run.

        Raises:
            RunDirError: If ``path`` is not a run directory written by ``neuropipe train``.

        """
        root = Path(path)
        if not root.is_dir():
            raise RunDirError(f"run directory {root} does not exist: pass a folder made by "
                              "'neuropipe train'")
        run = cls(root)
        if not run.config.is_file():
            raise RunDirError(f"{root} has no config.json: it is not a neuropipe run directory")
        return run

    @classmethod
    def create(cls, path: str | Path) -> RunDir:
        """Create a new, empty run directory (an existing empty folder is fine).

        Raises:
            RunDirError: If the path is a file, a non-empty folder, or cannot be created.

        """
        root = Path(path)
        if root.exists() and not root.is_dir():
            raise RunDirError(f"{root} is a file, not a folder: choose another --out")
        if root.is_dir() and any(root.iterdir()):
            raise RunDirError(f"{root} already exists and is not empty: pass --resume to "
                              "continue it, --force to replace it, or --out for a new folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunDirError(f"cannot create {root} ({e.strerror or e}): choose another "
                              "--out") from e
        return cls(root)


@dataclass(frozen=True)
class SetAside:
    """An earlier run moved out of the way by ``--force``, kept until the new run has an epoch.

    Attributes:
        root: Where the earlier run was (and the new one is).
        backup: Where the earlier run is kept meanwhile.

    """

    root: Path
    backup: Path

    def discard(self) -> None:
        """Delete the earlier run for good."""
        shutil.rmtree(self.backup, ignore_errors=True)

    def restore(self) -> None:
        """Put the earlier run back, removing whatever the new run had written."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.backup.rename(self.root)


def set_aside(path: str | Path) -> SetAside | None:
    """Move the run at ``path`` aside so that ``--force`` can replace it without losing it early.

    Only a neuropipe run (a folder with ``config.json``) is replaced; an empty or missing folder
    needs nothing. Returns None when there was nothing to move.

    Raises:
        RunDirError: If ``path`` is a file, a folder that is not a run, or the current folder.

    """
    root = Path(path)
    if not root.exists() or (root.is_dir() and not any(root.iterdir())):
        return None
    if not root.is_dir():
        raise RunDirError(f"{root} is a file, not a folder: choose another --out")
    if not (root / "config.json").is_file():
        raise RunDirError(f"{root} is not a neuropipe run (no config.json): --force only replaces "
                          "runs; choose another --out")
    resolved = root.resolve()
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents:
        raise RunDirError(f"{root} is the current folder or holds it: --force cannot replace it; "
                          "choose another --out")
    backup = resolved.with_name(f".{resolved.name}.replaced")
    shutil.rmtree(backup, ignore_errors=True)
    resolved.rename(backup)
    return SetAside(root, backup)


def default_run_path(model: str, root: Path = DEFAULT_RUNS_ROOT) -> Path:
    """Return ``runs/<model>-<timestamp>``, made unique if that folder already exists."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{model}-{stamp}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = root / f"{model}-{stamp}-{n}"
    return candidate


def refuse_inside_targets(out: str | Path, flag: str = "--out") -> None:
    """Refuse an output inside a run's ``targets/``, whose folders ``convert`` replaces.

    A run's ``targets/`` is a folder of that name beside the run's ``config.json``, or one
    holding a deployment (``*/deployment.json``, as a bare graph's results do).

    Raises:
        InputError: Naming the ``targets/`` folder.
    """
    from neuropipe.core.errors import InputError

    resolved = Path(out).resolve()
    for folder in (resolved, *resolved.parents):
        if folder.name == "targets" and folder.is_dir() and (
                (folder.parent / "config.json").is_file()
                or any(folder.glob("*/deployment.json"))):
            raise InputError(f"{flag} {out} is inside {folder}, whose folders 'neuropipe "
                             "convert' replaces: choose a folder outside it")
