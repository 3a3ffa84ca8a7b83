"""The run directory: one folder per run whose files are the contract between stages."""

from __future__ import annotations

import datetime as _dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from neuropipe.pipeline.errors import RunDirError

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
    def create(cls, path: str | Path, *, force: bool = False) -> RunDir:
        """Create a new, empty run directory.

        Args:
            path: Where to create it.
            force: Replace an existing non-empty folder instead of refusing.

        Raises:
            RunDirError: If the folder exists and is not empty and ``force`` is false.

        """
        root = Path(path)
        if root.exists() and any(root.iterdir()):
            if not force:
                raise RunDirError(f"{root} already exists and is not empty: pass --resume to "
                                  "continue it, --force to replace it, or --out for a new folder")
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)


def default_run_path(model: str, root: Path = DEFAULT_RUNS_ROOT) -> Path:
    """Return ``runs/<model>-<timestamp>``, made unique if that folder already exists."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{model}-{stamp}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = root / f"{model}-{stamp}-{n}"
    return candidate
