"""The one Python 3.11 fix that Lava 0.10 needs, applied once to the installed file (idempotent).

lava-nc 0.10.0 is the last release (its repository is archived) and declares Python < 3.11. On
3.11 one thing breaks: ``lava/magma/compiler/var_model.py`` declares dataclass fields with a shared
mutable default (``x: ByteEncoder = ByteEncoder()``), which Python 3.11's ``dataclasses`` rejects
with ``ValueError: mutable default ... use default_factory`` as soon as ``lava.proc.*`` is
imported. The fix rewrites exactly those field declarations to
``field(default_factory=ByteEncoder)``; nothing else in Lava is touched.

This module is the only place the fix lives. ``make`` runs it after installing Lava
(``python -m neuropipe.targets.lava_setup``); ``neuropipe doctor`` reports whether it is needed.
Running it again changes nothing.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path

from neuropipe.core.files import write_text_atomic

# What the Makefile installs for Lava (requirements/base.txt's Lava section, then
# requirements/lava.txt without dependencies); pip-installed neuropipe lacks both files.
LAVA_RUNTIME_NEEDS = ("asteval<0.10", "networkx<=2.8.7", "pillow<11", "opencv-python-headless",
                      "scikit-learn", "ninja")
LAVA_PACKAGES = ("lava-nc==0.10.0", "lava-dl==0.6.0")

_MUTABLE_DEFAULT = re.compile(r"^(\s+\w+: ByteEncoder) = ByteEncoder\(\)\s*$", re.MULTILINE)
_FIELD_IMPORT = "from dataclasses import field as _np_field  # neuropipe: Python 3.11 fix\n"
_FIXED = r"\1 = _np_field(default_factory=ByteEncoder)"


def var_model_path() -> Path | None:
    """Return the path of Lava's ``var_model.py``, or None if lava-nc is not installed."""
    spec = importlib.util.find_spec("lava")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "magma" / "compiler" / "var_model.py"
        if candidate.is_file():
            return candidate
    return None


def fix_source(source: str) -> str:
    """Return ``source`` with shared ``ByteEncoder()`` defaults turned into default factories.

    Idempotent: already fixed source comes back unchanged.
    """
    fixed, count = _MUTABLE_DEFAULT.subn(_FIXED, source)
    if count == 0:
        return source
    if _FIELD_IMPORT not in fixed:
        # Insert after the ``from __future__`` import, which must stay first.
        marker = "from __future__ import annotations\n"
        if marker in fixed:
            fixed = fixed.replace(marker, marker + _FIELD_IMPORT, 1)
        else:
            fixed = _FIELD_IMPORT + fixed
    return fixed


def needs_fix(path: Path) -> bool:
    """Return True if the file at ``path`` still has a shared mutable default."""
    return bool(_MUTABLE_DEFAULT.search(path.read_text(encoding="utf-8")))


def apply_fix(path: Path) -> bool:
    """Fix the file at ``path`` in place (atomically).

    Returns:
        True if the file was changed, False if it was already fixed.

    """
    source = path.read_text(encoding="utf-8")
    fixed = fix_source(source)
    if fixed == source:
        return False
    write_text_atomic(path, fixed)
    return True


def install_commands(python: str | None = None) -> list[str]:
    """The shell commands that install Lava into ``python``'s environment, as ``make`` does.

    lava-nc 0.10 and lava-dl 0.6 declare Python < 3.11 and pin old dependencies, so they are
    installed without their metadata (``--no-deps --ignore-requires-python``) after their
    runtime needs; then this module applies the 3.11 fix.
    """
    py = shlex.quote(python or sys.executable)
    needs = " ".join(shlex.quote(n) for n in LAVA_RUNTIME_NEEDS)
    return [f"{py} -m pip install {needs}",
            f"{py} -m pip install --no-deps --ignore-requires-python {' '.join(LAVA_PACKAGES)}",
            f"{py} -m neuropipe.targets.lava_setup"]


def main() -> int:
    """Apply the fix to the installed Lava and say what was done (or how to install Lava)."""
    path = var_model_path()
    if path is None:
        lines = "\n".join(f"  {c}" for c in install_commands())
        print(f"lava-nc is not installed in this Python ({sys.executable}). Install Lava the "
              f"way neuropipe's Makefile does, then apply its Python 3.11 fix:\n{lines}",
              file=sys.stderr)
        return 1
    changed = apply_fix(path)
    print(f"lava 3.11 fix: {'applied to' if changed else 'already present in'} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
