"""Dependencies point one way: pipeline -> models, targets, reports -> core."""

import ast
from pathlib import Path

import pytest

from neuropipe import core

# The folder holding the packages: the project in place, ``neuropipe/`` in a mutation copy.
ROOT = Path(core.__file__).resolve().parents[1]
# What each package may import of neuropipe (besides itself).
ALLOWED = {
    "core": set(),
    "models": {"core"},
    "targets": {"core"},
    "reports": {"core"},
}


def _neuropipe_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "neuropipe" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_lies_below_it(package):
    bad = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        extra = _neuropipe_imports(path) - ALLOWED[package] - {package}
        if extra:
            bad[str(path.relative_to(ROOT))] = sorted(extra)
    assert not bad, f"imports against the layering: {bad}"


def test_the_check_sees_a_forbidden_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from neuropipe.pipeline.cli import main\n")
    assert _neuropipe_imports(f) == {"pipeline"}
