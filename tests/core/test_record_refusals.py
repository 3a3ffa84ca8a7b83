"""Records refused when a version or a nested record's type is wrong, at any depth."""

import dataclasses

import pytest

from neuropipe.core.errors import RunDirError
from neuropipe.core.records import Record


@dataclasses.dataclass
class _Leaf(Record):
    type_tag = "test-leaf"
    value: float = 0.0


@dataclasses.dataclass
class _Other(Record):
    type_tag = "test-other"
    value: float = 0.0


@dataclasses.dataclass
class _Tree(Record):
    type_tag = "test-tree"
    schema_version = 2
    one: _Leaf = dataclasses.field(default_factory=_Leaf)
    many: list[_Leaf] = dataclasses.field(default_factory=list)
    named: dict[str, _Leaf] = dataclasses.field(default_factory=dict)


def _tree():
    return _Tree(one=_Leaf(1.0), many=[_Leaf(2.0), _Leaf(3.0)], named={"a": _Leaf(4.0)})


def test_a_record_without_its_schema_version_is_refused():
    data = _tree().to_dict()
    assert _Tree.from_dict(data) == _tree()
    del data["schema_version"]
    with pytest.raises(RunDirError, match=r"^'test-tree' record has schema version None, this "
                                          r"neuropipe reads 2: re-run the stage that wrote it$"):
        _Tree.from_dict(data)
    data["schema_version"] = 1  # an older version is refused too, not only a newer one
    with pytest.raises(RunDirError, match="schema version 1, this neuropipe reads 2"):
        _Tree.from_dict(data)


def test_a_nested_record_without_its_schema_version_is_refused():
    data = _tree().to_dict()
    del data["one"]["schema_version"]  # then it is a plain dict, not a record
    with pytest.raises(RunDirError, match="'test-tree' record's 'one' is not made of 'test-leaf'"):
        _Tree.from_dict(data)


@pytest.mark.parametrize("field", ["one", "many", "named"])
def test_a_nested_record_of_the_wrong_type_is_refused(field):
    data = _tree().to_dict()
    other = _Other(9.0).to_dict()
    if field == "one":
        data["one"] = other
    elif field == "many":
        data["many"] = [data["many"][0], other]  # one wrong among right ones
    else:
        data["named"] = {"a": data["named"]["a"], "b": other}
    with pytest.raises(RunDirError, match=f"'test-tree' record's '{field}' is not made of "
                                          "'test-leaf' records"):
        _Tree.from_dict(data)


def test_a_nested_record_whose_own_version_is_wrong_is_refused():
    data = _tree().to_dict()
    data["many"][1]["schema_version"] = 7
    with pytest.raises(RunDirError, match="'test-leaf' record has schema version 7"):
        _Tree.from_dict(data)
