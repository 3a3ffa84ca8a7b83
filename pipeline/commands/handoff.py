"""``neuropipe handoff``: bundle a deployed run for a hardware team, and verify such bundles.

``neuropipe handoff RUN --target T --out PATH`` and ``neuropipe handoff verify PATH`` share one
command group: a group cannot take RUN as an argument of its own beside subcommands (click
would read ``verify`` as RUN), so a first word that is not a subcommand is routed to the
``create`` subcommand (``neuropipe handoff create RUN ...`` works too).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from neuropipe.pipeline.commands import registry_help


class DefaultToCreate(TyperGroup):
    """A group whose first word, when not a subcommand or ``--help``, starts ``create``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse ``args``, with ``create`` put in front when no subcommand is named."""
        if args and args[0] not in self.commands and args[0] != "--help":
            args = ["create", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DefaultToCreate, no_args_is_help=True, add_completion=False,
    help="Bundle a deployed run for a hardware team (handoff RUN --target T --out PATH), or "
         "check a bundle (handoff verify PATH).")


@app.command("create", cls=registry_help.with_help(target=registry_help.handoff_target_help))
def create(
    run: Annotated[Path, typer.Argument(help="A run directory deployed to the target.",
                                        metavar="RUN")],
    out: Annotated[Path, typer.Option(
        help="The bundle to write: a folder, or a file ending in .tar.gz.")],
    target: Annotated[str, typer.Option(help="A target with a handoff.")] = "loihi",
    reference_inputs: Annotated[int, typer.Option(
        help="Test images whose expected output spikes go into reference/.")] = 16,
    seed: Annotated[int, typer.Option(
        help="Seed of the reference inputs' spikes (poisson encoding).")] = 0,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace an existing bundle (only once the new one is complete).")
                     ] = False,
) -> None:
    """Write a self-verifying bundle of RUN's deployment to TARGET.

    RUN must already be deployed to TARGET ('neuropipe convert RUN --target TARGET').
    """
    from neuropipe.pipeline.handoff.bundle import HandoffConfig, make_bundle

    manifest, written = make_bundle(HandoffConfig(
        run=run, target=target, out=out, reference_inputs=reference_inputs, force=force,
        seed=seed))
    ref = manifest.reference
    correct = sum(p == y for p, y in zip(ref.predicted, ref.labels, strict=True))
    size = (written.stat().st_size if written.is_file() else
            sum(p.stat().st_size for p in written.rglob("*") if p.is_file()))
    fast = ref.fast_simulator
    typer.echo(f"{manifest.target}: bundle of {manifest.model} written to {written} "
               f"({len(manifest.files) + 2} files, {size / 1e6:.2f} MB)")
    typer.echo(f"  reference: {ref.samples} test images, {correct} predicted correctly; "
               f"expected spikes from {ref.simulator.split(':')[0]}; the fast simulator agrees "
               f"on {fast.get('samples_identical')} of {fast.get('samples')}")
    for note in manifest.notes:
        if "no output spikes" in note or "differs from" in note or "were asked for" in note:
            typer.echo(f"  note: {note}")
    typer.echo(f"  expected accuracy {manifest.expected_accuracy.accuracy:.4f} on "
               f"{manifest.expected_accuracy.samples:,} images; check it with 'neuropipe "
               f"handoff verify {shlex.quote(str(written))}'")


@app.command("verify")
def verify(
    path: Annotated[Path, typer.Argument(help="A bundle folder or .tar.gz.", metavar="PATH")],
) -> None:
    """Check every checksum and re-simulate reference/ from the bundle's own files.

    Exit 0 when all match; 1 naming the first file or sample that differs, is damaged, or is not
    in the manifest (nothing of the bundle runs before every file is checked); 2 for a path that
    is not a bundle, or an incomplete one.
    """
    from neuropipe.pipeline.handoff.verify import verify_bundle

    result = verify_bundle(path, show_progress=True)
    typer.echo(f"{path}: OK: {result.files} files match their SHA-256; {result.samples} "
               f"reference samples re-simulated from the bundle's files match spike for spike "
               f"({result.output_spikes} output spikes; {result.correct}/{result.samples} "
               f"labels correct) in {result.seconds:.1f} s")
    typer.echo(f"  simulator: {result.simulator}; neuropipe's fast simulator, run again, "
               f"agrees on {result.fast_identical} of {result.samples}")
