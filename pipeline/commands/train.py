"""``neuropipe train``: train a conventional or spiking model into a run directory."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer


def _channels(text: str) -> list[int]:
    """``--channels C1,C2`` as two numbers (their range is checked with the other options).

    Raises:
        InputError: If the text is not two whole numbers separated by a comma.
    """
    from neuropipe.core.errors import InputError

    parts = text.split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2 or len(parts) != 2:
        raise InputError(f"--channels takes two whole numbers separated by a comma, e.g. "
                         f"32,64; got {text!r}")
    return values


def train(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(
        metavar="MODEL", help="A registered model.", show_default=False)],
    dataset: Annotated[str, typer.Option(help="mnist or fashion-mnist.")] = "mnist",
    data_dir: Annotated[Path | None, typer.Option(
        help="Folder of IDX files (default: $NEUROPIPE_DATA, else the packaged MNIST).")] = None,
    epochs: Annotated[int, typer.Option(help="Epochs to train (with --resume: the new total).")
                      ] = 1,
    batch_size: Annotated[int, typer.Option(help="Samples per step.")] = 32,
    lr: Annotated[float | None, typer.Option(
        help="Peak Adam learning rate of the one-cycle schedule (default: the model's).")
                  ] = None,
    label_smoothing: Annotated[float, typer.Option(help="Label smoothing of the loss.")] = 0.1,
    timesteps: Annotated[int | None, typer.Option(
        help="Steps per sample (spiking models).", show_default=False)
                         ] = None,
    encoding: Annotated[str | None, typer.Option(
        help="Input encoding (spiking models).", show_default=False)] = None,
    neuron: Annotated[str, typer.Option(help="lif or cuba (spiking models).")] = "lif",
    hidden: Annotated[int | None, typer.Option(
        help="Hidden width (models that have one).", show_default=False)
                      ] = None,
    channels: Annotated[str | None, typer.Option(
        help="Output channels of the two convolutions, C1,C2 (snn-cnn; default 16,32).",
        show_default=False)] = None,
    batch_norm: Annotated[bool, typer.Option(
        help="Batch norm after each convolution in training, folded into the convolution at "
        "export (snn-cnn).")] = False,
    rate_penalty: Annotated[float, typer.Option(
        help="Surrogate-gradient SNNs: add X times the mean spikes per hidden neuron per step "
        "to the loss (fewer spikes, some accuracy).")] = 0.0,
    modules: Annotated[int, typer.Option(
        help="Split the hidden layer into K modules (modular models).")] = 1,
    tau_mem: Annotated[float | None, typer.Option(
        help="Membrane time constant in steps of snn-mlp and snn-cnn (default: 5 and 2).",
        show_default=False)] = None,
    shift: Annotated[int | None, typer.Option(
        help="Augmentation: move each training image by up to N pixels along each axis, new "
        "random draws every epoch (backprop models; default 0, snn-cnn 1).",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, order and spikes.")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    limit_train: Annotated[int | None, typer.Option(help="Use the first N training images.")
                           ] = None,
    limit_test: Annotated[int | None, typer.Option(help="Use the first N test images.")] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory (default runs/MODEL-TIME).")
                   ] = None,
    resume: Annotated[bool, typer.Option(
        help="Continue the run in --out with its saved settings (other settings that differ "
        "are refused; --epochs gives the new total).")] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing run directory.")] = False,
) -> None:
    """Train MODEL on MNIST or Fashion-MNIST into a run directory, measuring its energy."""
    from neuropipe.models.records import TrainConfig
    from neuropipe.models.zoo import get_spec
    from neuropipe.pipeline.stages.train import run_training

    spec = get_spec(model)
    config = TrainConfig(
        model=model, dataset=dataset, data_dir=str(data_dir) if data_dir else None,
        epochs=epochs, batch_size=batch_size,
        lr=lr if lr is not None else spec.default_lr,
        label_smoothing=label_smoothing,
        timesteps=timesteps if timesteps is not None else spec.default_timesteps,
        encoding=encoding if encoding is not None else spec.default_encoding,
        neuron=neuron, seed=seed, device=device,
        limit_train=limit_train, limit_test=limit_test, hidden=hidden,
        channels=None if channels is None else _channels(channels), batch_norm=batch_norm,
        rate_penalty=rate_penalty, modules=modules, tau_mem=tau_mem,
        shift=shift if shift is not None else spec.default_shift,
    )
    given = [f.name for f in dataclasses.fields(config) if _given(ctx, f.name)]
    outcome = run_training(config, out=out, resume=resume, force=force, given=given)
    m = outcome.metrics
    typer.echo(f"{model}: test accuracy {m.test_accuracy:.4f} on {m.test_samples} images, "
               f"{m.wall_time_s:.1f} s training ({m.samples_per_s:.0f} samples/s); "
               f"run: {outcome.run.root}")
    from neuropipe.pipeline.chance import chance_warning

    warning = chance_warning(m.test_accuracy, m.test_samples)
    if warning:
        typer.echo(warning, err=True)


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether option ``name`` was set on the command line (or its environment variable)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


def command_class() -> type:
    """The command class whose help names the registered models (filled in when shown)."""
    from neuropipe.pipeline.commands import registry_help as h

    return h.with_help(model=h.model_help, timesteps=h.timesteps_help,
                       encoding=h.train_encoding_help, hidden=h.hidden_help,
                       modules=h.modules_help)
