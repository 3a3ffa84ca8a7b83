"""``neuropipe convert``: deploy a trained run or a NIR file to a target and cost it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def convert(
    source: Annotated[Path, typer.Argument(help="A run directory or a .nir file.")],
    target: Annotated[str, typer.Option(help="Deployment target (see 'neuropipe doctor').")
                      ] = "loihi",
    timesteps: Annotated[int | None, typer.Option(help="Steps per sample.")] = None,
    samples: Annotated[int | None, typer.Option(help="Test images to evaluate (default all).")
                       ] = None,
    verify_samples: Annotated[int, typer.Option(
        help="Images also run in the reference simulator (Lava) and compared spike for spike.")
                              ] = 16,
    encoding: Annotated[str | None, typer.Option(help="constant or poisson.")] = None,
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
    """Run SOURCE on a target; write targets/<target>/deployment.json in the run."""
    from neuropipe.pipeline.stages.convert import ConvertConfig, run_convert

    record, path = run_convert(ConvertConfig(
        source=source, target=target, timesteps=timesteps, samples=samples,
        verify_samples=verify_samples, encoding=encoding, dt=dt, dataset=dataset,
        data_dir=str(data_dir) if data_dir else None, percentile=percentile, seed=seed,
        out=out, force=force))
    ref = f"{record.reference_accuracy:.4f}" if record.reference_accuracy is not None else "n/a"
    match = record.verification.get("spike_match")
    typer.echo(f"{record.target}: accuracy {record.accuracy:.4f} (reference {ref}) on "
               f"{record.samples} images, {record.timesteps} steps; "
               f"{record.synops_per_inference:,.0f} synops and "
               f"{record.neuron_updates_per_inference:,.0f} neuron updates per inference; "
               f"{record.energy_per_inference_j * 1e6:.3f} uJ per inference = chip "
               f"{record.chip_energy_per_inference_j * 1e6:.3f} uJ (cost model "
               f"{record.cost_model.get('name')}) + host "
               f"{record.host_energy_per_inference_j * 1e6:.3f} uJ (first layer, CPU cost), "
               f"static not included; spike match {'n/a' if match is None else f'{match:.4f}'}; "
               f"written {path}")
