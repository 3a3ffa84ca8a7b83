"""The training stage: data, model, epochs with checkpoints, metrics, and exports of a run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from neuropipe.core.errors import InputError, InterruptedRun, ModelError, RunDirError
from neuropipe.core.rundir import RunDir, SetAside, default_run_path, set_aside
from neuropipe.models.checkpoint import load_safely, model_options, save_atomic
from neuropipe.models.data.datasets import Dataset, load_dataset
from neuropipe.models.records import EpochMetrics, TrainConfig, TrainMetrics
from neuropipe.models.training import evaluate, one_cycle, to_tensor, train_epoch
from neuropipe.models.zoo import build_model, check_options, get_spec
from neuropipe.pipeline.progress import console, make_progress


@dataclass
class TrainOutcome:
    """What a training stage produced."""

    run: RunDir
    metrics: TrainMetrics
    resumed_from_epoch: int


def validate(config: TrainConfig) -> None:
    """Check option values before anything is read or written.

    Raises:
        ModelError: Unknown model.
        InputError: A value out of range, or CUDA requested where there is none.
    """
    get_spec(config.model)
    check_options(model_options(config))
    for name in ("epochs", "batch_size", "timesteps"):
        if getattr(config, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, "
                             f"got {getattr(config, name)}")
    for name in ("limit_train", "limit_test"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if not config.lr > 0:
        raise InputError(f"--lr must be positive, got {config.lr}")
    if not 0 <= config.label_smoothing < 1:
        raise InputError(f"--label-smoothing must be in [0, 1), got {config.label_smoothing}")
    if config.device not in ("cpu", "cuda"):
        raise InputError(f"unknown device '{config.device}': choose cpu or cuda")
    if config.device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but torch sees no CUDA GPU here; "
                         "use --device cpu")


def open_run(config: TrainConfig, out: Path | None, resume: bool, force: bool
             ) -> tuple[RunDir, TrainConfig, SetAside | None]:
    """Open the run to continue, or create a new one.

    With ``resume`` the saved configuration wins, except for ``epochs`` (so a run can be
    extended); without it, an existing non-empty folder is refused unless ``force``, and with
    ``force`` an earlier run is set aside (see ``SetAside``) rather than deleted at once.
    """
    if resume:
        if out is None:
            raise InputError("--resume needs --out RUN_DIR: the run to continue")
        run = RunDir.open(out)
        saved = TrainConfig.read(run.config)
        try:
            validate(saved)
        except (TypeError, ValueError) as e:
            raise RunDirError(f"{run.config} holds invalid settings ({e}); start a new run "
                              "with --force") from e
        if saved.model != config.model:
            raise RunDirError(f"{out} holds a '{saved.model}' run, not '{config.model}'")
        return run, replace(saved, epochs=config.epochs), None
    path = out or default_run_path(config.model)
    aside = set_aside(path) if force else None
    try:
        run = RunDir.create(path)
        config.write(run.config)
    except BaseException:
        if aside is not None:
            aside.restore()
        raise
    return run, config, aside


def run_training(config: TrainConfig, out: Path | None = None, resume: bool = False,
                 force: bool = False) -> TrainOutcome:
    """Train a model and write its run directory.

    Files: ``config.json``; after every epoch ``checkpoint.pt`` (model, optimiser, history),
    ``model.pt`` (state dict) and ``metrics.json``; ``model.onnx`` for conventional models.

    Args:
        config: The training configuration.
        out: Run directory (default ``runs/<model>-<timestamp>``).
        resume: Continue the interrupted or shorter run in ``out``.
        force: Replace an existing run directory.
    """
    validate(config)
    if resume:  # the run's own data, as saved in its configuration
        run, config, aside = open_run(config, out, resume, force)
        data = load_dataset(config.dataset, config.data_dir)
    else:
        data = load_dataset(config.dataset, config.data_dir)  # before touching the disk
        run, config, aside = open_run(config, out, resume, force)
    try:
        outcome = _train_run(config, run, data, resume)
    except BaseException as e:
        interrupted = isinstance(e, KeyboardInterrupt | InterruptedRun)
        if aside is not None and not run.checkpoint.is_file():
            aside.restore()  # not one epoch of the new run: the earlier run is worth more
            aside = None
            if interrupted:
                raise InterruptedRun(f"interrupted before the new run saved an epoch; the "
                                     f"earlier run is back in {run.root}") from e
        if isinstance(e, KeyboardInterrupt):
            raise InterruptedRun(f"interrupted before the first epoch; re-run, or continue "
                                 f"with --resume --out {run.root}") from e
        raise
    finally:
        if aside is not None:
            aside.discard()
    return outcome


def _train_run(config: TrainConfig, run: RunDir, data: Dataset, resume: bool) -> TrainOutcome:
    device = torch.device(config.device)
    train_x, train_y = to_tensor(data.train_x[:config.limit_train]), torch.from_numpy(
        data.train_y[:config.limit_train])
    test_x, test_y = to_tensor(data.test_x[:config.limit_test]), torch.from_numpy(
        data.test_y[:config.limit_test])

    torch.manual_seed(config.seed)
    model = build_model(config.model, model_options(config)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    history: list[EpochMetrics] = []
    energy: dict[str, dict] = {}
    start = 0
    if resume and run.checkpoint.is_file():
        state = load_safely(run.checkpoint)
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            history = [EpochMetrics.from_dict(h) for h in state["history"]]
            energy = dict(state.get("energy", {}))
            start = int(state["epoch"])
        except (KeyError, TypeError, ValueError, RuntimeError, RunDirError) as e:
            raise ModelError(f"{run.checkpoint} does not hold a checkpoint of this run "
                             f"({type(e).__name__}); start again with --force") from e
    steps_per_epoch = -(-len(train_x) // config.batch_size)
    scheduler = one_cycle(optimizer, config.lr, config.epochs, steps_per_epoch,
                          steps_done=min(start, config.epochs) * steps_per_epoch)

    try:
        metrics = _train_epochs(config, run, model, optimizer, scheduler, history, energy,
                                start, (train_x, train_y, test_x, test_y), device, data.source)
    except KeyboardInterrupt as e:
        done = len(history)
        raise InterruptedRun(f"interrupted during epoch {done + 1}; {done} epoch(s) are saved in "
                             f"{run.root}: continue with --resume --out {run.root}") from e
    if start >= config.epochs:
        console.print(f"{run.root}: already trained for {start} epochs; nothing to do")
    _export(config, model, test_x, run)
    return TrainOutcome(run, metrics, start)


def _train_epochs(config: TrainConfig, run: RunDir, model: torch.nn.Module,
                  optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler,
                  history: list[EpochMetrics], energy: dict[str, dict], start: int,
                  tensors: tuple[torch.Tensor, ...], device: torch.device, source: str
                  ) -> TrainMetrics:
    """Run epochs ``start+1 .. config.epochs``, checkpointing after each; return the metrics.

    Each epoch (training pass and evaluation) is one measurement window of the energy meter;
    the windows are kept in the checkpoint so that a resumed run's ``energy.json`` covers all.
    """
    from neuropipe.reports.energy_record import energy_record
    from neuropipe.reports.meter import Measurement, Meter

    meter = Meter(gpus="auto" if config.device == "cuda" else "none")
    train_x, train_y, test_x, test_y = tensors
    metrics = _metrics(config, source, model, history, len(train_x), len(test_x))
    with make_progress("loss", "acc") as progress:
        for epoch in range(start + 1, config.epochs + 1):
            task = progress.add_task(f"epoch {epoch}/{config.epochs}", total=len(train_x),
                                     loss="-", acc="-")

            def on_batch(done: int, loss: float, acc: float, task: int = task) -> None:
                progress.update(task, completed=done, loss=f"{loss:.4f}", acc=f"{acc:.4f}")

            meter.begin_window("epoch")
            tr = train_epoch(model, optimizer, train_x, train_y, config.batch_size,
                             seed=config.seed * 1000 + epoch, device=device, on_batch=on_batch,
                             scheduler=scheduler, label_smoothing=config.label_smoothing)
            ev = evaluate(model, test_x, test_y, 500, seed=config.seed, device=device)
            energy[str(epoch)] = meter.end_window("epoch").to_dict()
            progress.update(task, acc=f"{tr.accuracy:.4f} test {ev.accuracy:.4f}")
            history.append(EpochMetrics(epoch, tr.loss, tr.accuracy, ev.accuracy, tr.seconds,
                                        tr.samples / max(tr.seconds, 1e-9)))
            save_atomic({"epoch": epoch, "model": model.state_dict(),
                         "optimizer": optimizer.state_dict(),
                         "history": [h.to_dict() for h in history], "energy": energy},
                        run.checkpoint)
            save_atomic(model.state_dict(), run.model)
            metrics = _metrics(config, source, model, history, len(train_x), len(test_x))
            metrics.write(run.metrics)
            energy_record(per_epoch={k: Measurement.from_dict(v) for k, v in energy.items()}
                          ).write(run.energy)
    return metrics


def _export(config: TrainConfig, model: torch.nn.Module, test_x: torch.Tensor, run: RunDir
            ) -> None:
    if get_spec(config.model).kind == "ann":
        from neuropipe.models.onnx_export import export_onnx

        export_onnx(model.cpu(), test_x[:8].cpu(), run.onnx)


def _metrics(config: TrainConfig, source: str, model: torch.nn.Module,
             history: list[EpochMetrics], n_train: int, n_test: int) -> TrainMetrics:
    wall = sum(h.wall_time_s for h in history)
    versions = {"torch": torch.__version__}
    if get_spec(config.model).kind == "snn":
        import norse

        versions["norse"] = getattr(norse, "__version__", "unknown")
    return TrainMetrics(
        model=config.model, kind=get_spec(config.model).kind,
        dataset=f"{config.dataset} ({source})",
        test_accuracy=history[-1].test_accuracy if history else 0.0,
        train_samples=n_train, test_samples=n_test,
        parameters=sum(p.numel() for p in model.parameters() if p.requires_grad),
        wall_time_s=wall, samples_per_s=(n_train * len(history) / wall) if wall else 0.0,
        epochs=history, device=config.device, versions=versions,
    )
