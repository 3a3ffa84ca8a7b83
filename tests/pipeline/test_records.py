import dataclasses
import json

import pytest

from neuropipe.core.errors import RunDirError
from neuropipe.core.records import Record


@dataclasses.dataclass
class _Inner(Record):
    type_tag = "test-inner"
    value: float = 0.0


@dataclasses.dataclass
class _Outer(Record):
    type_tag = "test-outer"
    schema_version = 3
    name: str = ""
    inner: _Inner = dataclasses.field(default_factory=_Inner)
    items: list = dataclasses.field(default_factory=list)


def test_round_trip_through_dict_and_file(tmp_path):
    rec = _Outer(name="x", inner=_Inner(1.5), items=[_Inner(2.0), 3])
    data = rec.to_dict()
    assert data["type"] == "test-outer" and data["schema_version"] == 3
    assert _Outer.from_dict(data) == rec
    rec.write(tmp_path / "r.json")
    assert _Outer.read(tmp_path / "r.json") == rec
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_wrong_type_or_version_is_refused(tmp_path):
    data = _Outer(name="x").to_dict()
    with pytest.raises(RunDirError, match="expected a 'test-inner' record"):
        _Inner.from_dict(data)
    data["schema_version"] = 99
    with pytest.raises(RunDirError, match="schema version 99"):
        _Outer.from_dict(data)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RunDirError, match="not a readable JSON"):
        _Outer.read(tmp_path / "bad.json")
    with pytest.raises(RunDirError, match="missing"):
        _Outer.read(tmp_path / "absent.json")
    json.dumps(data)


def test_atomic_writes_get_the_mode_an_ordinary_write_gives(tmp_path):
    import os
    import stat

    from neuropipe.core.files import write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "a.txt").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == 0o644
