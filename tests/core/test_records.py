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


def test_a_record_lacking_a_field_is_refused_naming_the_file_and_field(tmp_path):
    data = _Outer(name="x", inner=_Inner(1.5)).to_dict()
    del data["name"]
    (tmp_path / "r.json").write_text(json.dumps(data))
    with pytest.raises(RunDirError, match=r"r\.json: 'test-outer' record lacks name"):
        _Outer.read(tmp_path / "r.json")
    data = _Outer(name="x", inner=_Inner(1.5)).to_dict()
    del data["inner"]["value"]  # a nested record is checked too
    (tmp_path / "r.json").write_text(json.dumps(data))
    with pytest.raises(RunDirError, match="'test-inner' record lacks value"):
        _Outer.read(tmp_path / "r.json")


def test_only_fields_declared_added_later_may_be_missing():
    from typing import ClassVar

    @dataclasses.dataclass
    class _Grown(Record):
        type_tag = "test-grown"
        name: str = ""
        width: int | None = 7
        ADDED_LATER: ClassVar[dict] = {"width": None}  # what records without it meant

    old = {"type": "test-grown", "schema_version": 1, "name": "x"}
    assert _Grown.from_dict(old) == _Grown(name="x", width=None)  # not the default, 7
    assert _Grown.from_dict({**old, "width": 3}).width == 3
    with pytest.raises(RunDirError, match="lacks name"):
        _Grown.from_dict({"type": "test-grown", "schema_version": 1, "width": 3})


def test_a_truncated_deployment_record_is_refused(tmp_path):
    from neuropipe.targets.records import DeploymentRecord

    DeploymentRecord(target="loihi").write(tmp_path / "deployment.json")
    text = (tmp_path / "deployment.json").read_text()
    (tmp_path / "deployment.json").write_text(text[: len(text) // 2])
    with pytest.raises(RunDirError, match="deployment.json is not a readable JSON record"):
        DeploymentRecord.read(tmp_path / "deployment.json")


def test_every_deployment_part_round_trips(tmp_path):
    from neuropipe.targets.costs import CostModel, OpCost, energy_terms
    from neuropipe.targets.records import (
        Counts,
        EnergyEstimate,
        LayerReport,
        Provenance,
        Resources,
        deployment_record,
    )

    model = CostModel("m", "chip", (
        OpCost("synops", "synops", 2.0, "pJ/synop", "dynamic", "chip", "src A"),
        OpCost("idle", "seconds", 0.5, "W", "static", "system", "src B", missing="no time")))
    terms = energy_terms({"synops": 10.0, "seconds": None}, model)
    record = deployment_record(
        "t", accuracy=0.5, reference_accuracy=None, samples=3, timesteps=4,
        counts=Counts(synops=10.0, packets=2.0),
        estimates=[EnergyEstimate.from_terms(model, terms, default=True)],
        layers=[LayerReport(name="fc", synops_per_inference=10.0)],
        resources=Resources(cores=1, chips=1, details={"x": [1, 2]}),
        provenance=Provenance(model="snn-mlp", versions={"nir": "1.0.8"}))
    record.write(tmp_path / "d.json")
    again = type(record).read(tmp_path / "d.json")
    assert again == record and isinstance(again.counts, Counts)
    assert isinstance(again.resources, Resources) and again.resources.details == {"x": [1, 2]}
    assert again.energy_per_inference_j == pytest.approx(20e-12)
    assert again.energy_breakdown[1].joules_per_inference is None
    assert again.energy_breakdown[1].note == "no time"


def test_a_failed_atomic_write_leaves_nothing_behind(tmp_path, monkeypatch):
    import os

    from neuropipe.core.files import write_text_atomic

    (tmp_path / "keep.txt").write_text("old")

    def refuse(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write_text_atomic(tmp_path / "keep.txt", "new")
    assert (tmp_path / "keep.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_damaged_nested_part_is_refused_when_read(tmp_path):
    data = _Outer(name="x", inner=_Inner(1.5)).to_dict()
    data["inner"] = {"value": 1.5}  # a plain dict where a record belongs
    (tmp_path / "r.json").write_text(json.dumps(data))
    with pytest.raises(RunDirError, match=r"r\.json: 'test-outer' record's 'inner' is not made "
                                          r"of 'test-inner' records"):
        _Outer.read(tmp_path / "r.json")


def test_lists_and_dicts_of_records_are_checked_too(tmp_path):
    from neuropipe.reports.energy_record import EnergyRecord
    from neuropipe.targets.records import DeploymentRecord

    data = DeploymentRecord(target="cpu").to_dict()
    data["layers"] = [{"name": "fc"}]
    with pytest.raises(RunDirError, match="'deployment' record's 'layers' is not made of "
                                          "'layer-report' records"):
        DeploymentRecord.from_dict(data)
    data = EnergyRecord().to_dict()
    data["per_epoch"] = {"1": 3.0}
    with pytest.raises(RunDirError, match="'per_epoch' is not made of 'measurement' records"):
        EnergyRecord.from_dict(data)
