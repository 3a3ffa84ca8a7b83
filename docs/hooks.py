"""MkDocs hook: lay out the ``neuropipe`` namespace package where mkdocstrings can read it.

setuptools maps ``neuropipe.core`` to ``core/``, ``neuropipe.targets`` to ``targets/`` and so on
(``pyproject.toml``), so no folder named ``neuropipe`` exists and griffe, which reads the
sources without importing them, would not find the package. Before the build this hook makes
``build/api-src/neuropipe/`` with one symlink per subpackage; ``mkdocs.yml`` points the Python
handler there.
"""

from __future__ import annotations

import os
from pathlib import Path

SUBPACKAGES = ("core", "models", "pipeline", "reports", "targets")


def on_config(config):
    """Create ``build/api-src/neuropipe/<subpackage>`` symlinks into the repository."""
    lay_out(Path(config["config_file_path"]).resolve().parent)
    return config


def lay_out(root: Path) -> None:
    """Make ``root/build/api-src/neuropipe/<subpackage>`` symlinks (idempotent).

    The Makefile runs this before ``mkdocs``: mkdocstrings looks its search paths up before any
    hook runs, so on a fresh clone the hook alone comes too late.
    """
    package = root / "build" / "api-src" / "neuropipe"
    package.mkdir(parents=True, exist_ok=True)
    for name in SUBPACKAGES:
        link, target = package / name, Path("..", "..", "..", name)  # relative: the clone may move
        if not link.is_symlink() or Path(os.readlink(link)) != target:
            link.unlink(missing_ok=True)
            os.symlink(target, link, target_is_directory=True)


if __name__ == "__main__":
    lay_out(Path(__file__).resolve().parent.parent)
