"""Measure the energy of an arbitrary command (its whole process tree) in one window."""

from __future__ import annotations

import subprocess
from pathlib import Path

from neuropipe.core.errors import InputError
from neuropipe.core.files import check_writable as check_folder_writable
from neuropipe.core.files import write_error
from neuropipe.reports.energy_record import energy_record, load_average, machine_conditions
from neuropipe.reports.footprint import Accounting
from neuropipe.reports.meter import Meter
from neuropipe.reports.render import print_energy


def measure_command(command: list[str], json_out: Path | None, pue: float | None,
                    region: str | None, co2_per_kwh: float | None) -> int:
    """Run ``command``, print its Strubell-style table, optionally write JSON; return its code.

    CPU time is attributed to the command through this process's waited-for children, which
    include the command's own waited-for descendants.

    A command killed by signal N returns ``128 + N``, as a shell reports it.

    Raises:
        InputError: With no command, a command that cannot be run, an unwritable ``json_out``
            (checked before the command runs), or bad accounting options.
    """
    if not command:
        raise InputError("no command to measure: write it after '--', e.g. "
                         "neuropipe measure -- python train.py")
    accounting = Accounting.build(pue, region, co2_per_kwh)
    if json_out is not None:
        check_writable(json_out)
    meter = Meter(children=True)
    load_start = load_average()
    meter.begin_window("command")
    try:
        code = subprocess.call(command)
    except FileNotFoundError as e:
        meter.end_window("command")
        raise InputError(f"command not found: {command[0]}") from e
    except OSError as e:
        meter.end_window("command")
        raise InputError(f"cannot run {command[0]}: {e.strerror or e}") from e
    if code < 0:  # killed by signal N: report it the way a shell does
        code = 128 - code
    measurement = meter.end_window("command")
    machine = machine_conditions({"command": {"load_average_start": load_start,
                                              "load_average_end": load_average()}})
    machine["threads"] = "not known: the command chooses its own"
    record = energy_record(measurement, accounting=accounting, machine=machine)
    print_energy(record, f"energy of: {' '.join(command)}")
    if json_out is not None:
        try:
            record.write(json_out)
        except OSError as e:
            raise write_error(e, json_out, f"the command exited with {code}; its figures are "
                              "printed above") from e
    return code


def check_writable(path: Path) -> None:
    """Refuse a JSON destination that could not be written, before any work is done.

    Raises:
        InputError: If ``path`` is a folder, or its folder is missing.
        WriteError: If its folder does not accept a file (a probe file is written and removed).
    """
    if path.is_dir():
        raise InputError(f"--json {path} is a folder: give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"--json {path}: folder {parent} does not exist")
    check_folder_writable(parent, f"--json {path} cannot be written; choose another file")
