"""``neuropipe convert``: deploy a trained run or a NIR file to a target and cost it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def convert(
    source: Annotated[Path, typer.Argument(help="A run directory or a .nir file.",
                                           metavar="SOURCE")],
    target: Annotated[str, typer.Option(
        help="Deployment target; several separated by commas; or all.")] = "loihi",
    timesteps: Annotated[int | None, typer.Option(help="Steps per sample.")] = None,
    samples: Annotated[int | None, typer.Option(help="Test images to evaluate (default all).")
                       ] = None,
    verify_samples: Annotated[int, typer.Option(
        help="Images also run in the target's reference simulator (Lava, NEST...) and "
             "compared spike for spike.")
                              ] = 16,
    encoding: Annotated[str | None, typer.Option(
        help="Input encoding (default: the model's).")] = None,
    delta_threshold: Annotated[float, typer.Option(
        help="sdnn: delta threshold as a fraction of each layer's activation range "
             "(0 = exact).")] = 0.0,
    dt: Annotated[float | None, typer.Option(help="Step of a bare graph's time constants.")
                  ] = None,
    dataset: Annotated[str | None, typer.Option(
        help="mnist or fashion-mnist (default: the run's own dataset, else mnist).")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        help="Folder of IDX files (default: the run's own).")] = None,
    percentile: Annotated[float, typer.Option(
        help="Activation percentile for ANN-to-SNN normalisation.")] = 99.9,
    seed: Annotated[int, typer.Option(help="Seed of input spikes.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Output folder for a bare .nir file.")
                   ] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace an earlier deployment of the same target.")] = False,
) -> None:
    """Run SOURCE on one or more targets; write targets/<target>/deployment.json in the run."""
    from neuropipe.core.errors import NeuropipeError
    from neuropipe.pipeline.stages.convert import (
        ConvertConfig,
        check_encoding,
        encoding_refusal,
        run_convert_many,
        target_list,
    )

    names = target_list(target)
    every = target.strip() == "all"
    # An explicit list is refused whole before any work; with 'all', the targets that cannot
    # run the encoding are skipped with the reason (all that can run it, run).
    check_encoding(encoding, [] if every else names)
    cannot = {n: why for n in names if encoding and (why := encoding_refusal(encoding, n))}
    names = [n for n in names if n not in cannot]
    config = ConvertConfig(
        source=source, target=names[0], timesteps=timesteps, samples=samples,
        verify_samples=verify_samples, encoding=encoding, dt=dt, dataset=dataset,
        data_dir=str(data_dir) if data_dir else None, percentile=percentile, seed=seed,
        out=out, force=force, delta_threshold=delta_threshold)
    if len(names) == 1 and not every:
        from neuropipe.pipeline.stages.convert import run_convert

        record, path = run_convert(config)
        for line in summary_lines(record, path):
            typer.echo(line)
        return
    outcomes = run_convert_many(config, names, skip_unavailable=every)
    for name, why in cannot.items():
        typer.echo(f"{name}: skipped: {why}")
    for outcome in outcomes:
        if outcome.record is not None:
            for line in summary_lines(outcome.record, outcome.path):
                typer.echo(line)
        elif outcome.skipped:
            typer.echo(f"{outcome.target}: skipped, unavailable here: {outcome.skipped}")
        else:
            typer.echo(f"{outcome.target}: failed: {outcome.error}", err=True)
    failed = [o.target for o in outcomes if o.error]
    if failed:
        done = [o.target for o in outcomes if o.record is not None]
        raise NeuropipeError(f"{len(failed)} of {len(outcomes)} targets failed "
                             f"({', '.join(failed)}); written: {', '.join(done) or 'none'}")


def command_class() -> type:
    """The command class whose help names the registered targets and their encodings."""
    from neuropipe.pipeline.commands import registry_help as h

    return h.with_help(target=h.target_help, encoding=h.convert_encoding_help)


def summary_lines(record: object, path: Path) -> list[str]:
    """What ``convert`` prints: accuracy, counts, and every cost model's energy with its level."""
    from neuropipe.reports.report.text import joules

    ref = f"{record.reference_accuracy:.4f}" if record.reference_accuracy is not None else "n/a"
    match = record.verification.get("spike_match")
    checked = "" if match is None else f"; spike match {match:.4f}"
    if record.verification.get("activation_match") is not None:  # a sigma-delta network
        checked = f"; activation match {record.verification['activation_match']:.4f}"
    counts = record.counts
    steps = f", {record.timesteps} steps" if record.layers and any(
        layer.neuron_updates_per_inference for layer in record.layers) else ""
    lines = [f"{record.target}: accuracy {record.accuracy:.4f} (reference {ref}) on "
             f"{record.samples} images{steps}{checked}"]
    lines += [f"  note: {note}" for note in record.notes
              if note.startswith("--") or "cannot be resumed" in note]
    from neuropipe.pipeline.chance import chance_warning

    warning = chance_warning(record.accuracy, record.samples)
    if warning:
        lines.append(f"  {warning}")
    if counts.ops:
        ops = counts.ops
        lines.append(f"  per inference: dense {ops['dense_macs']:,.0f} MACs + "
                     f"{ops['dense_acs']:,.0f} ACs; effective {ops['effective_macs']:,.0f} "
                     f"MACs + {ops['effective_acs']:,.0f} ACs; "
                     f"{counts.neuron_updates:,.0f} neuron updates")
    else:
        graded = (f"{counts.graded_events:,.0f} graded events, " if counts.graded_events
                  else "")
        lines.append(f"  per inference: {graded}{counts.synops:,.0f} synops, "
                     f"{counts.neuron_updates:,.0f} neuron updates, {counts.host_macs:,.0f} "
                     "host MACs"
                     + (f", {counts.packets:,.0f} packets" if counts.packets is not None else ""))
    for e in record.estimates:
        kinds = {t.kind for t in e.terms if t.joules_per_inference is not None}
        missing = [t.name for t in e.terms if t.joules_per_inference is None]
        parts = [f"device {joules(e.dynamic_j + e.static_j)}"
                 + (f" (static {joules(e.static_j)})" if "static" in kinds else "")]
        if "host" in kinds:
            parts.append(f"host {joules(e.host_j)}")
        lines.append(
            f"  energy ({e.cost_model}, {e.level} level{', default' if e.default else ''}): "
            + (f"{joules(e.total_j)} = {' + '.join(parts)}" if e.estimated else "none")
            + (f"; not estimated: {', '.join(missing)}" if missing else ""))
    res = record.resources
    lines.append(f"  resources: {res.cores} cores on {res.chips} chip(s) ({res.placement})")
    lines.append(f"  written {path}")
    return lines
