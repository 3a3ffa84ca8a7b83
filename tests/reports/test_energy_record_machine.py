"""The ``machine`` part of energy records, worked out by hand, and reading schema 1."""

import json
import os

import pytest

from neuropipe.core.errors import RunDirError
from neuropipe.reports import energy_record
from neuropipe.reports.energy_record import LOAD_NOTE, EnergyRecord, machine_conditions

A = {"torch_intra_op": 2, "torch_inter_op": 2, "omp_wait_policy": "PASSIVE"}
B = {"torch_intra_op": 1, "torch_inter_op": 2, "omp_wait_policy": "PASSIVE"}


def test_no_window_gives_the_cpu_count_and_the_note():
    assert machine_conditions({}) == {"cpu_count": os.cpu_count(), "note": LOAD_NOTE}


def test_one_window_keeps_its_loads_and_threads_without_repeating_itself():
    window = {"load_average_start": [1.0, 2.0, 3.0], "load_average_end": [4.0, 5.0, 6.0],
              "threads": A}
    assert machine_conditions({"1": window}) == {
        "cpu_count": os.cpu_count(), "load_average_start": [1.0, 2.0, 3.0],
        "load_average_end": [4.0, 5.0, 6.0], "threads": A, "note": LOAD_NOTE}


def test_several_windows_span_first_start_to_last_end_and_list_distinct_threads():
    windows = {"1": {"load_average_start": [1.0], "load_average_end": [2.0], "threads": A},
               "2": {"load_average_start": [3.0], "load_average_end": [4.0], "threads": A},
               "3": {"load_average_start": [5.0], "load_average_end": [6.0], "threads": B}}
    out = machine_conditions(windows)
    assert out["load_average_start"] == [1.0] and out["load_average_end"] == [6.0]
    assert out["threads"] == [A, B] and out["per_window"] == windows
    same = machine_conditions({k: {**v, "threads": A} for k, v in windows.items()})
    assert same["threads"] == A
    bare = machine_conditions({"1": {}, "2": {}})
    assert bare["load_average_start"] == [] and bare["load_average_end"] == []
    assert "threads" not in bare


def test_load_average_is_rounded_and_empty_where_the_system_has_none(monkeypatch):
    monkeypatch.setattr(energy_record.os, "getloadavg", lambda: (1.234, 5.678, 0.004))
    assert energy_record.load_average() == [1.23, 5.68, 0.0]

    def missing():
        raise OSError("no load average")

    monkeypatch.setattr(energy_record.os, "getloadavg", missing)
    assert energy_record.load_average() == []


def test_schema_1_is_read_with_machine_empty_and_schema_2_keeps_it(tmp_path):
    record = EnergyRecord(machine={"cpu_count": 2, "note": "x"})
    data = record.to_dict()
    assert data["schema_version"] == 2
    assert EnergyRecord.from_dict(json.loads(json.dumps(data))).machine == {"cpu_count": 2,
                                                                            "note": "x"}
    old = {k: v for k, v in data.items() if k != "machine"}
    old["schema_version"] = 1
    (tmp_path / "energy.json").write_text(json.dumps(old))
    again = EnergyRecord.read(tmp_path / "energy.json")
    assert again.machine == {} and again.kwh == record.kwh
    with pytest.raises(RunDirError, match="schema version 3"):
        EnergyRecord.from_dict({**data, "schema_version": 3})
    with pytest.raises(RunDirError, match="expected a 'energy' record"):
        EnergyRecord.from_dict({**old, "type": "other"})


def test_two_windows_are_kept_one_by_one():
    windows = {"1": {"load_average_start": [1.0]}, "2": {"load_average_end": [2.0]}}
    assert machine_conditions(windows)["per_window"] == windows
    assert "per_window" not in machine_conditions({"1": windows["1"]})


def test_power_of_a_window_shorter_than_a_second_and_the_machine_kept():
    from neuropipe.reports.meter.records import ComponentEnergy, Measurement

    total = Measurement(name="total", duration_s=0.25, components=[
        ComponentEnergy(component="cpu", energy_j=2.0),
        ComponentEnergy(component="dram", energy_j=0.5)])
    machine = {"cpu_count": 2, "load_average_start": [0.5]}
    record = energy_record.energy_record(total, machine=machine)
    # 2 J / 0.25 s = 8 W, 0.5 J / 0.25 s = 2 W, 2.5 J / 0.25 s = 10 W
    assert record.average_power_w == {"cpu": 8.0, "dram": 2.0, "total": 10.0}
    assert record.machine == machine and record.machine is not machine
    idle = energy_record.energy_record(Measurement(name="total", duration_s=0.0, components=[
        ComponentEnergy(component="cpu", energy_j=1.0)]))
    assert idle.average_power_w == {"cpu": 0.0, "total": 0.0} and idle.machine == {}
