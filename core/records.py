"""Typed records that cross stage boundaries, serialised with a type tag and schema version."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import typing
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from neuropipe.core.errors import RunDirError
from neuropipe.core.files import write_json_atomic

R = TypeVar("R", bound="Record")

_REGISTRY: dict[str, type[Record]] = {}


@dataclasses.dataclass
class Record:
    """Base of every record written to a run directory.

    Subclasses are dataclasses that set ``type_tag`` and ``schema_version``. ``to_dict`` puts both
    in front of the fields; ``from_dict`` checks them and rebuilds the record. Nested records and
    lists of records are serialised recursively.

    ``ADDED_LATER`` names fields added to a schema after records were first written, with the
    value that reproduces what records without them meant: such a record still reads, without a
    new schema version. Any other missing field is refused.
    """

    type_tag: ClassVar[str] = "record"
    schema_version: ClassVar[int] = 1
    ADDED_LATER: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tag = cls.__dict__.get("type_tag")
        if tag:
            _REGISTRY[tag] = cls

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict tagged with ``type`` and ``schema_version``."""
        out: dict[str, Any] = {"type": self.type_tag, "schema_version": self.schema_version}
        for f in dataclasses.fields(self):
            out[f.name] = _encode(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """Rebuild a record from ``to_dict`` output, checking its type tag and schema version.

        Raises:
            RunDirError: If the tag or version does not match this class, or a field is
                missing (a field is never silently given its default; only ``ADDED_LATER``
                fields take the value they declare).

        """
        tag = data.get("type")
        if tag != cls.type_tag:
            raise RunDirError(f"expected a '{cls.type_tag}' record, found type '{tag}'")
        version = data.get("schema_version")
        if version != cls.schema_version:
            raise RunDirError(
                f"'{tag}' record has schema version {version}, this neuropipe reads "
                f"{cls.schema_version}: re-run the stage that wrote it"
            )
        data = {**cls.ADDED_LATER, **data}
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in data]
        if missing:
            raise RunDirError(f"'{tag}' record lacks {', '.join(missing)}: it is damaged or was "
                              "written by another version; re-run the stage that wrote it")
        for name, optional in _float_fields(cls).items():
            value = data[name]
            if not (value is None and optional) and not _is_finite_number(value):
                raise RunDirError(f"'{tag}' record's '{name}' is {json.dumps(value)[:40]}, not a "
                                  "finite number: it is damaged; re-run the stage that wrote it")
        bad = _non_finite(data)
        if bad:
            raise RunDirError(f"'{tag}' record holds {bad}, which is not a finite number: it is "
                              "damaged; re-run the stage that wrote it")
        kwargs = {f.name: _decode(data[f.name]) for f in dataclasses.fields(cls)}
        for name, (shape, kind) in _nested_records(cls).items():
            if not _holds(kwargs[name], shape, kind):
                raise RunDirError(f"'{tag}' record's '{name}' is not made of '{kind.type_tag}' "
                                  "records: it is damaged; re-run the stage that wrote it")
        return cls(**kwargs)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the record as JSON, atomically."""
        write_json_atomic(path, self.to_dict())

    @classmethod
    def read(cls: type[R], path: str | os.PathLike[str]) -> R:
        """Read a record written by ``write``.

        Raises:
            RunDirError: If the file is missing, not JSON, or of another type or version.

        """
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise RunDirError(f"{p} is missing: run the stage that writes it first") from e
        except (OSError, ValueError) as e:
            raise RunDirError(f"{p} is not a readable JSON record ({e}); re-run its stage") from e
        if not isinstance(data, dict):
            raise RunDirError(f"{p} does not hold a record; re-run its stage")
        try:
            return cls.from_dict(data)
        except RunDirError as e:
            raise RunDirError(f"{p}: {e}") from e
        except (TypeError, ValueError) as e:  # a field of the wrong shape
            raise RunDirError(f"{p}: damaged '{cls.type_tag}' record ({e}); re-run its "
                              "stage") from e


@functools.cache
def _nested_records(cls: type) -> dict[str, tuple[str, type[Record]]]:
    """Fields of ``cls`` declared as a record, a list of records or a dict of records.

    ``from_dict`` checks that what it decoded there is such a record: a damaged part (a plain
    dict, a number) is refused, never passed on for a reader to trip over.
    """
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):  # an annotation this module cannot resolve: no checks
        return {}
    out: dict[str, tuple[str, type[Record]]] = {}
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if isinstance(hint, type) and issubclass(hint, Record):
            out[f.name] = ("one", hint)
        elif origin is list and args and isinstance(args[0], type) \
                and issubclass(args[0], Record):
            out[f.name] = ("list", args[0])
        elif origin is dict and len(args) == 2 and isinstance(args[1], type) \
                and issubclass(args[1], Record):
            out[f.name] = ("dict", args[1])
    return out


@functools.cache
def _float_fields(cls: type) -> dict[str, bool]:
    """Fields of ``cls`` declared ``float`` (``True`` where ``None`` is allowed too)."""
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):
        return {}
    out = {}
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        if hint is float:
            out[f.name] = False
        elif set(typing.get_args(hint)) == {float, type(None)}:
            out[f.name] = True
    return out


def _is_finite_number(value: Any) -> bool:
    """An int or float (not a bool) that is neither NaN nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)


def _non_finite(value: Any) -> str:
    """The first NaN or infinity anywhere in decoded JSON (``json`` reads them), or ``''``."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    children = value.values() if isinstance(value, dict) else (
        value if isinstance(value, list) else ())
    for child in children:
        found = _non_finite(child)
        if found:
            return found
    return ""


def _holds(value: Any, shape: str, kind: type[Record]) -> bool:
    """Whether ``value`` is a ``kind`` record (``one``), or a list or dict of them."""
    if shape == "one":
        return isinstance(value, kind)
    if shape == "dict":
        return isinstance(value, dict) and all(isinstance(v, kind) for v in value.values())
    return isinstance(value, list) and all(isinstance(v, kind) for v in value)


def _encode(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        tag = value.get("type")
        if isinstance(tag, str) and tag in _REGISTRY and "schema_version" in value:
            return _REGISTRY[tag].from_dict(value)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
