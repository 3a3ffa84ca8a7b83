"""The project's small error hierarchy: errors a user can fix, shown as one line and exit 2."""

from __future__ import annotations


class NeuropipeError(Exception):
    """Base of every error a user can act on.

    The CLI prints ``error: <message>`` on one line and exits with status 2. Anything that is not a
    ``NeuropipeError`` is a bug and keeps its traceback.
    """

    exit_code = 2


class InputError(NeuropipeError):
    """A command-line value or option combination that is not accepted."""


class DataError(NeuropipeError):
    """A dataset that is missing, unreadable or corrupt."""


class ModelError(NeuropipeError):
    """An unknown model name, or a checkpoint that cannot be loaded."""


class RunDirError(NeuropipeError):
    """A run directory that is missing, incomplete, or would be overwritten."""


class WriteError(NeuropipeError):
    """A destination that cannot be written (read-only, no permission, disk full)."""


class GraphError(NeuropipeError):
    """A NIR graph that is corrupt, or holds content a target cannot express."""


class TargetError(NeuropipeError):
    """An unknown deployment target, or one whose backend is unavailable here."""


class MeterError(NeuropipeError):
    """An energy counter that was asked for explicitly but cannot be read."""


class InterruptedRun(NeuropipeError):
    """The user interrupted a long stage; what was completed is kept."""

    exit_code = 130
