"""The ``neuropipe`` command: registers one command per verb and turns user errors into exit 2."""

from __future__ import annotations

import sys

import click
import typer
from neuropipe.pipeline.errors import NeuropipeError

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
    from neuropipe.pipeline.commands import train

    app.command("train")(train.train)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; print project errors as one line on stderr and exit with status 2.

    Args:
        argv: Arguments (without the program name); ``sys.argv[1:]`` when omitted.

    Returns:
        The exit status (the process exits with it when run as a script).

    """
    try:
        result = app(args=argv, prog_name="neuropipe", standalone_mode=False)
    except NeuropipeError as e:
        print(f"error: {e}", file=sys.stderr)
        code = e.exit_code
    except click.exceptions.Abort:
        print("error: interrupted", file=sys.stderr)
        code = 130
    except click.ClickException as e:
        e.show()
        code = e.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; completed files are kept, re-run with --resume where "
              "supported", file=sys.stderr)
        code = 130
    else:
        code = result if isinstance(result, int) else 0
    if argv is None:
        sys.exit(code)
    return code
