"""The ``neuropipe`` command: registers one command per verb and turns user errors into exit 2."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import zipfile
from typing import Any

import typer

from neuropipe.core.errors import InterruptedRun, NeuropipeError

app = typer.Typer(
    name="neuropipe",
    help="Train, convert and deploy neural networks to neuromorphic targets, with honest energy "
    "figures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Command modules import only typer and the standard library at import time; heavy SDKs
    # (torch, lava, norse) are imported inside the functions, so --help stays fast and robust.
    from neuropipe.pipeline.commands import (
        convert,
        doctor,
        energy_report,
        footprint,
        handoff,
        measure,
        sweep,
        train,
    )

    app.command("train", cls=train.command_class())(train.train)
    app.command("convert", cls=convert.command_class())(convert.convert)
    app.command(
        "measure",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(measure.measure)
    app.command("footprint")(footprint.footprint)
    app.command("doctor")(doctor.doctor)
    app.command("energy-report")(energy_report.energy_report)
    app.command("sweep")(sweep.sweep)
    app.add_typer(handoff.app, name="handoff")


# Commands that run other programs: their children must see the user's environment unchanged.
RUNS_OTHER_PROGRAMS = ("measure",)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Train, convert and deploy networks to neuromorphic targets, with honest energy figures."""
    if ctx.invoked_subcommand not in RUNS_OTHER_PROGRAMS and "torch" not in sys.modules:
        # torch's OpenMP threads otherwise spin while they wait for work (libgomp's default),
        # which on a loaded machine burns CPU-seconds that the energy estimate then counts
        # (one mlp epoch of 10,000 images at load 5-11 here: 7.5-34 busy CPU-seconds, 0.6-1.1
        # with PASSIVE). libgomp reads it once, when torch is first imported (the commands
        # import it lazily); a value the user set is kept.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_register()


def _finite_only(command: Any) -> None:
    """Give every parameter of ``command`` and its subcommands a check refusing NaN and inf."""
    for param in command.params:
        if not getattr(param.callback, "refuses_non_finite", False):
            param.callback = _refusing_non_finite(param.callback)
    for sub in getattr(command, "commands", {}).values():
        _finite_only(sub)


def _refusing_non_finite(callback: Any) -> Any:
    def check(ctx: Any, param: Any, value: Any) -> Any:
        for v in value if isinstance(value, list | tuple) else (value,):
            if isinstance(v, float) and not math.isfinite(v):
                raise typer.BadParameter(f"{v} is not a finite number", ctx=ctx, param=param)
        return callback(ctx, param, value) if callback is not None else value

    check.refuses_non_finite = True  # type: ignore[attr-defined]
    return check


def _terminated(signum: int, frame: Any) -> None:
    """SIGTERM (``kill``, ``timeout``) ends a command as Ctrl-C does: staging is removed."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Any:
    """Handle SIGTERM like Ctrl-C while a command runs (in the main thread only)."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


INTERRUPTED = "error: interrupted; files already written are kept (train: re-run with --resume)"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; print user errors as one line on stderr and exit with status 2.

    Project errors and usage errors (unknown option, a value of the wrong type) alike print
    ``error: ...`` on one line and exit 2; Ctrl-C exits 130 keeping what was written.

    Args:
        argv: Arguments (without the program name); ``sys.argv[1:]`` when omitted.

    Returns:
        The exit status (also raised as ``SystemExit`` by typer for usage errors).
    """
    command = typer.main.get_command(app)
    _finite_only(command)
    try:
        with _sigterm_as_ctrl_c():
            result = command(args=argv, prog_name="neuropipe", standalone_mode=False)
    except NeuropipeError as e:
        print(f"error: {e}", file=sys.stderr)
        code = e.exit_code
    except typer.TyperException as e:  # typer's own usage errors (vendored click)
        if type(e).__name__ == "NoArgsIsHelpError":  # a bare 'neuropipe': the help is printed
            return _exit(0, argv)
        ctx = getattr(e, "ctx", None)
        where = f"{ctx.command_path} --help" if ctx and ctx.parent else "neuropipe --help"
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        print(f"error: {message} (see '{where}')", file=sys.stderr)
        code = getattr(e, "exit_code", 2)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except zipfile.BadZipFile as e:  # a truncated .npz or .pt read where no reader named it
        print(f"error: a file this command read is damaged ({e}); re-create it with the "
              "command that wrote it", file=sys.stderr)
        code = 2
    except typer.Abort as e:
        if isinstance(e.__context__, EOFError):  # click turns EOFError into Abort too
            print(f"error: a file ended early ({e.__context__ or 'EOFError'}): it is empty or "
                  "truncated; re-create it with the command that wrote it", file=sys.stderr)
            return _exit(2, argv)
        print(INTERRUPTED, file=sys.stderr)
        code = InterruptedRun.exit_code
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        code = InterruptedRun.exit_code
    else:
        code = result if isinstance(result, int) else 0
        if code == InterruptedRun.exit_code:  # typer turns Ctrl-C into Exit(130), silently
            print(INTERRUPTED, file=sys.stderr)
    return _exit(code, argv)


def _exit(code: int, argv: list[str] | None) -> int:
    """Return ``code`` when called with ``argv``; otherwise exit the process with it."""
    if argv is None:
        if code == InterruptedRun.exit_code:
            # After Ctrl-C, exit without the interpreter's clean-up: Lava's killed processes
            # would each add a multiprocessing error to the one line already printed. Every
            # file this run wrote is complete (atomic writes).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
