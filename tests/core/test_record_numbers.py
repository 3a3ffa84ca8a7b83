"""Numbers in records: a float field that is not a finite number, a NaN at any depth, and a
record whose own checks raise, are refused with messages that name what was found."""

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from neuropipe.core.errors import RunDirError
from neuropipe.core.records import Record


@dataclasses.dataclass
class _Num(Record):
    type_tag = "test-num"
    x: float = 0.0
    y: float | None = None
    extra: Any = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.x < 0:
            raise ValueError("x must be >= 0")


def _data(**fields):
    return {**_Num().to_dict(), **fields}


def _refused(data, words):
    with pytest.raises(RunDirError) as err:
        _Num.from_dict(data)
    assert str(err.value) == words


DAMAGED = "it is damaged; re-run the stage that wrote it"


@pytest.mark.parametrize(("value", "shown"), [
    (None, "null"), (True, "true"), (float("inf"), "Infinity"), (float("nan"), "NaN"),
    # json.dumps of a long string, cut at 40 characters: '"' and 39 letters.
    ("a" * 60, '"' + "a" * 39)])
def test_a_float_field_that_is_not_a_finite_number_is_refused(value, shown):
    _refused(_data(x=value), f"'test-num' record's 'x' is {shown}, not a finite number: {DAMAGED}")


def test_none_is_taken_only_where_the_field_allows_it():
    assert _Num.from_dict(_data(x=2, y=None)) == _Num(x=2, y=None)
    assert _Num.from_dict(_data(y=0.5)).y == 0.5
    _refused(_data(y="0.5"), f"'test-num' record's 'y' is \"0.5\", not a finite number: {DAMAGED}")
    _refused(_data(y=float("-inf")),
             f"'test-num' record's 'y' is -Infinity, not a finite number: {DAMAGED}")


@pytest.mark.parametrize("extra", [
    {"a": [1.0, float("nan")]}, [{"b": 2.0}, {"c": [float("nan")]}], {"d": {"e": float("nan")}}])
def test_a_nan_at_any_depth_is_refused_naming_it(extra):
    _refused(_data(extra=extra),
             f"'test-num' record holds nan, which is not a finite number: {DAMAGED}")
    # Finite numbers at the same depth are taken as they are.
    fine = json.loads(json.dumps(extra).replace("NaN", "3.0"))
    assert _Num.from_dict(_data(extra=fine)).extra == fine


def test_a_path_is_written_as_its_text():
    assert _Num(extra=Path("/a/b.json")).to_dict()["extra"] == "/a/b.json"
    assert _Num(extra=[Path("c")]).to_dict()["extra"] == ["c"]


def test_a_record_whose_own_check_fails_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "num.json"
    path.write_text(json.dumps(_data(x=-1)))
    with pytest.raises(RunDirError) as err:
        _Num.read(path)
    assert str(err.value) == (f"{path}: damaged 'test-num' record (x must be >= 0); re-run its "
                              "stage")
    path.write_text(json.dumps(_data(x=1.5)))
    assert _Num.read(path) == _Num(x=1.5)
