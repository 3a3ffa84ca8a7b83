"""The measured-energy table and footprint lines, figure by figure (issue 23:
``reports/render.py``).

A 4 s window: cpu 7,200 J (a counter), dram 3,600 J (an estimate); PUE 2, world intensity.
Power: 7,200 / 4 = 1,800 W, 3,600 / 4 = 900 W, 10,800 / 4 = 2,700 W. Energy: 10,800 J /
3.6e6 = 0.003 kWh, x 2 = 0.006 kWh; x 0.481 kg/kWh = 0.002886 kg CO2e, x 2.20462 lbs/kg =
0.00636253 lbs.
"""

import pytest
from rich.console import Console

from neuropipe.core.errors import InputError
from neuropipe.reports.energy_record import energy_record
from neuropipe.reports.footprint import Accounting
from neuropipe.reports.measure_command import check_writable
from neuropipe.reports.meter import ComponentEnergy, Measurement
from neuropipe.reports.render import energy_table, print_energy


def record():
    total = Measurement(name="command", duration_s=4.0, components=[
        ComponentEnergy("cpu", 7200.0, "rapl", note="counter"),
        ComponentEnergy("dram", 3600.0, "estimate", assumptions={"watts_source": "3 W per 8 GB"},
                        note="estimate, not a measurement"),
        ComponentEnergy("gpu:0", 0.0, "estimate", note="no source named")])
    return energy_record(total, accounting=Accounting.build(pue=2.0, region="world"))


def test_the_energy_table_cell_by_cell():
    table = energy_table(record(), "T")
    assert table.title == "T"
    assert [c.header for c in table.columns] == [
        "component", "method", "energy (J)", "avg power (W)", "note"]
    assert [list(c.cells) for c in table.columns] == [
        ["cpu", "dram", "gpu:0", "total"], ["rapl", "estimate", "estimate", ""],
        ["7200.000", "3600.000", "0.000", "10800.000"], ["1800.00", "900.00", "0.00", "2700.00"],
        ["counter", "estimate: see below", "estimate: see below", "4.00 s"]]


def test_the_footprint_lines():
    console = Console(record=True, width=300)
    print_energy(record(), "T", console)
    lines = console.export_text().splitlines()
    assert lines[0].strip() == "T" and lines[2].split()[:3] == ["┃", "component", "┃"]
    assert lines[-5].startswith("kWh 0.003; x PUE 2 = 0.006 kWh; CO2e 0.002886 kg "
                                "(0.00636253 lbs) at 0.481 kg/kWh (world: world average ")
    # the first estimate's note, then each estimate's source ("" where none is named)
    assert lines[-4:-1] == ["estimate, not a measurement.", "  dram: 3 W per 8 GB", "  gpu:0: "]
    assert lines[-1].startswith("figures leave out: other processes on the machine and its "
                                "idle (static) power; network")


def test_measure_refuses_a_folder_for_its_json(tmp_path):
    with pytest.raises(InputError, match=r"^--json .* is a folder: give a file name$"):
        check_writable(tmp_path)
