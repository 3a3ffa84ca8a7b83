import dataclasses

from neuropipe.core.records import Record


@dataclasses.dataclass
class _Holder(Record):
    type_tag = "test-holder"
    data: dict = dataclasses.field(default_factory=dict)


def test_plain_dicts_that_look_like_records_stay_dicts():
    # Only a registered type tag with a schema version makes a nested record.
    holder = _Holder(data={"versioned": {"schema_version": 3, "x": 1},
                           "tagged": {"type": "no-such-record", "x": 2},
                           "tag_not_text": {"type": 7, "schema_version": 1},
                           "path_like": {"type": "test-holder"}})
    again = _Holder.from_dict(holder.to_dict())
    assert again == holder
    nested = _Holder(data={"inner": _Holder(data={"k": [1, 2]})})
    assert _Holder.from_dict(nested.to_dict()) == nested


def test_read_refusals_say_what_is_wrong_and_what_to_do(tmp_path):
    import json

    import pytest

    from neuropipe.core.errors import RunDirError

    path = tmp_path / "r.json"
    path.write_text("[1, 2]")
    with pytest.raises(RunDirError, match=r"r\.json does not hold a record; re-run its stage$"):
        _Holder.read(path)
    data = _Holder().to_dict()
    del data["data"]
    path.write_text(json.dumps({**data, "type": "test-holder"}))
    with pytest.raises(RunDirError, match="lacks data: it is damaged or was written by another "
                       "version; re-run the stage that wrote it$"):
        _Holder.read(path)

    @dataclasses.dataclass
    class _Two(Record):
        type_tag = "test-two"
        a: int = 0
        b: int = 0

    with pytest.raises(RunDirError, match="'test-two' record lacks a, b:"):
        _Two.from_dict({"type": "test-two", "schema_version": 1})
    path.write_text(json.dumps({**_Two().to_dict(), "c": 1, "a": {"x": 1}}))
    _Two.read(path)  # extra keys are ignored
    path.write_text(json.dumps({"type": "test-two", "schema_version": 1, "a": 1, "b": 2,
                                "nested": {}}))
    assert _Two.read(path) == _Two(1, 2)
