import importlib
import subprocess
import sys

from neuropipe.targets import lava_setup

BROKEN = '''from __future__ import annotations
from dataclasses import dataclass


@dataclass
class ByteEncoder:
    base: int = 0


@dataclass
class CoreEncoder:
    x: ByteEncoder = ByteEncoder()
    y: ByteEncoder = ByteEncoder()
'''


def test_fix_is_idempotent_and_makes_the_module_importable(tmp_path):
    path = tmp_path / "var_model_copy.py"
    path.write_text(BROKEN)
    assert lava_setup.needs_fix(path)
    bad = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    assert "mutable default" in bad.stderr
    assert lava_setup.apply_fix(path) is True
    once = path.read_text()
    assert lava_setup.apply_fix(path) is False
    assert path.read_text() == once
    assert not lava_setup.needs_fix(path)
    ok = subprocess.run([sys.executable, "-c", f"exec(open({str(path)!r}).read()); "
                         "a, b = CoreEncoder(), CoreEncoder(); assert a.x is not b.x"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr


def test_installed_lava_is_fixed_and_imports():
    path = lava_setup.var_model_path()
    assert path is not None, "lava-nc is not installed in this environment"
    assert not lava_setup.needs_fix(path)
    importlib.import_module("lava.proc.lif.process")
    importlib.import_module("lava.lib.dl.netx")
