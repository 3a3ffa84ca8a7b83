"""Every registered record class round-trips: to a dict, to a file, back, equal.

The records are found by reading the source (every class deriving from a ``Record``), so a new
record class is covered without touching this test. Each field gets a value built from its type
hint, distinct per field, so a field dropped, swapped or renamed on the way shows up.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import itertools
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from neuropipe.core import records

# The folder holding the packages: the project in place, ``neuropipe/`` in a mutation copy.
ROOT = Path(records.__file__).resolve().parents[1]
PACKAGES = ("core", "models", "targets", "reports", "pipeline")


def _record_modules() -> list[str]:
    """Modules whose source defines a class with a base named ``Record``/``...Record``."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and any(
                        ast.unparse(base).split(".")[-1].endswith("Record")
                        for base in node.bases):
                    parts = path.relative_to(ROOT).with_suffix("").parts
                    found.append(".".join(("neuropipe", *parts)).removesuffix(".__init__"))
                    break
    return found


for _module in _record_modules():
    importlib.import_module(_module)
RECORD_CLASSES = sorted(records._REGISTRY.items())


class _Values:
    """Values for type hints, each one different from the last."""

    def __init__(self) -> None:
        self._n = itertools.count(1)

    def for_hint(self, hint: Any) -> Any:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is Any:
            return f"any-{next(self._n)}"
        if origin in (typing.Union, types.UnionType):
            real = [a for a in args if a is not type(None)]
            return self.for_hint(real[0])
        if origin is typing.Literal:
            return args[-1]
        if origin is list:
            return [self.for_hint(args[0] if args else str) for _ in range(2)]
        if origin is dict:
            key, value = args if args else (str, str)
            return {str(self.for_hint(key)): self.for_hint(value)}
        if origin is tuple:
            return [self.for_hint(args[0] if args else str)]
        if isinstance(hint, type) and issubclass(hint, records.Record):
            return build(hint, self)
        if hint is bool:
            return True
        if hint is int:
            return next(self._n)
        if hint is float:
            return next(self._n) + 0.25
        if hint is str:
            return f"s{next(self._n)}"
        if hint is Path:
            return f"/p/{next(self._n)}"
        if hint is dict:
            return {f"k{next(self._n)}": next(self._n)}
        if hint is list:
            return [next(self._n)]
        raise TypeError(f"no sample value for {hint!r}")


def build(cls: type[records.Record], values: _Values) -> records.Record:
    """An instance of ``cls`` with a value for every field."""
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: values.for_hint(hints[f.name]) for f in dataclasses.fields(cls)})


def test_the_registry_holds_the_records_of_every_stage():
    """The scan finds records in each package that writes a run file."""
    tags = {tag for tag, _ in RECORD_CLASSES}
    assert {"train-config", "train-metrics", "deployment", "energy", "energy-report",
            "handoff-manifest", "sweep-trial"} <= tags, sorted(tags)


@pytest.mark.parametrize("tag,cls", RECORD_CLASSES, ids=[t for t, _ in RECORD_CLASSES])
def test_every_record_round_trips(tag, cls, tmp_path):
    """to_dict → from_dict and write → read give back an equal record."""
    try:
        record = build(cls, _Values())
    except (TypeError, ValueError) as e:  # a record whose own checks refuse arbitrary values
        pytest.fail(f"cannot build a sample '{tag}' record: {e}")
    data = record.to_dict()
    assert data["type"] == tag and data["schema_version"] == cls.schema_version
    assert cls.from_dict(data) == record
    path = tmp_path / f"{tag}.json"
    record.write(path)
    again = cls.read(path)
    assert again == record and type(again) is cls
