"""Measure the energy of an arbitrary command (its whole process tree) in one window."""

from __future__ import annotations

import subprocess
from pathlib import Path

from neuropipe.pipeline.errors import InputError
from neuropipe.reports.energy_record import energy_record
from neuropipe.reports.footprint import Accounting
from neuropipe.reports.meter import Meter
from neuropipe.reports.render import print_energy


def measure_command(command: list[str], json_out: Path | None, pue: float | None,
                    region: str | None, co2_per_kwh: float | None) -> int:
    """Run ``command``, print its Strubell-style table, optionally write JSON; return its code.

    CPU time is attributed to the command through this process's waited-for children, which
    include the command's own waited-for descendants.

    Raises:
        InputError: With no command, or bad accounting options.
    """
    if not command:
        raise InputError("no command to measure: write it after '--', e.g. "
                         "neuropipe measure -- python train.py")
    accounting = Accounting.build(pue, region, co2_per_kwh)
    meter = Meter()
    meter.begin_window("command")
    try:
        code = subprocess.call(command)
    except FileNotFoundError as e:
        meter.end_window("command")
        raise InputError(f"command not found: {command[0]}") from e
    measurement = meter.end_window("command")
    record = energy_record(measurement, accounting=accounting)
    print_energy(record, f"energy of: {' '.join(command)}")
    if json_out is not None:
        record.write(json_out)
    return code
