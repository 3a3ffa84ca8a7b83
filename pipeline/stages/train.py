"""The training stage: data, model, epochs with checkpoints, metrics, and exports of a run."""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import shutil
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from neuropipe.core.errors import InputError, InterruptedRun, ModelError, RunDirError
from neuropipe.core.files import check_writable, write_error
from neuropipe.core.rundir import RunDir, SetAside, default_run_path, set_aside
from neuropipe.models.checkpoint import load_safely, model_options, save_atomic
from neuropipe.models.data.datasets import Dataset, load_dataset
from neuropipe.models.local import LocalLearner
from neuropipe.models.records import EpochMetrics, TrainConfig, TrainMetrics
from neuropipe.models.training import evaluate, one_cycle, to_tensor, train_epoch
from neuropipe.models.zoo import (
    MODELS,
    build_model,
    check_options,
    encoding_models,
    get_spec,
    modular_models,
)
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
    spec = get_spec(config.model)
    check_options(model_options(config))
    if config.hidden is not None and spec.default_hidden is None:
        with_hidden = ", ".join(n for n, s in MODELS.items() if s.default_hidden is not None)
        raise InputError(f"--hidden sets the hidden width of {with_hidden}; model "
                         f"'{config.model}' has no such option: drop it")
    if (config.channels is not None or config.batch_norm) and spec.default_channels is None:
        option = "--channels" if config.channels is not None else "--batch-norm"
        with_channels = ", ".join(n for n, s in MODELS.items() if s.default_channels is not None)
        raise InputError(f"{option} applies to the convolutions of {with_channels}; "
                         f"model '{config.model}' has no such option: drop it")
    if config.modules != 1 and not spec.modular:
        raise InputError(f"--modules splits the hidden layer of {', '.join(modular_models())} "
                         f"only; '{config.model}' takes no --modules: drop it")
    if config.encoding not in spec.encodings:
        raise InputError(f"--encoding {config.encoding} is for "
                         f"{', '.join(encoding_models(config.encoding))}; '{config.model}' "
                         f"takes --encoding {' or '.join(spec.encodings)}")
    if not 0 <= config.shift <= MAX_SHIFT:
        raise InputError(f"--shift must be between 0 and {MAX_SHIFT} pixels, got {config.shift}")
    if not config.rate_penalty >= 0:
        raise InputError(f"--rate-penalty must be 0 or more, got {config.rate_penalty}")
    if config.rate_penalty and not spec.takes_rate_penalty:
        with_penalty = ", ".join(n for n, s in MODELS.items() if s.takes_rate_penalty)
        raise InputError(f"--rate-penalty applies to surrogate-gradient spiking models "
                         f"({with_penalty}), not to '{config.model}': drop it")
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


BACKPROP_ONLY = ("lr", "label_smoothing", "shift")
MAX_SHIFT = 4  # pixels: MNIST digits sit in a 20x20 box inside the 28x28 image


def _refuse_backprop_options(config: TrainConfig, given: Collection[str]) -> None:
    """Refuse options that only a backprop-trained model uses, given to one that learns locally.

    Raises:
        InputError: Naming the option and the model's own rule.
    """
    spec = get_spec(config.model)
    if spec.learning == "backprop":
        return
    unused = [f"--{n.replace('_', '-')}" for n in BACKPROP_ONLY if n in given]
    if config.neuron != "lif":
        unused.append(f"--neuron {config.neuron}")
    if unused:
        neurons = " with LIF neurons" if spec.kind == "snn" else ""
        raise InputError(f"'{config.model}' learns by {spec.learning}{neurons}, not by "
                         f"backprop: {', '.join(unused)} would be ignored; drop "
                         f"{'it' if len(unused) == 1 else 'them'}")


def _refuse_tau(config: TrainConfig, given: Collection[str]) -> None:
    """Refuse ``--tau-mem`` for a model whose time constant it does not set.

    Raises:
        InputError: Naming the models it sets.
    """
    if "tau_mem" in given and get_spec(config.model).default_tau is None:
        with_tau = ", ".join(n for n, s in MODELS.items() if s.default_tau is not None)
        raise InputError(f"--tau-mem sets the membrane time constant of {with_tau}; "
                         f"'{config.model}' takes no --tau-mem: drop it")


def with_defaults(config: TrainConfig) -> TrainConfig:
    """``config`` with the model's own values written out where it leaves them unset.

    So ``config.json`` says which hidden width a run has, and a configuration saved before
    ``hidden`` existed (None) compares equal to the same width given explicitly.
    """
    spec = get_spec(config.model)
    if config.hidden is None and spec.default_hidden is not None:
        config = replace(config, hidden=spec.default_hidden)
    if config.tau_mem is None and spec.default_tau is not None:
        config = replace(config, tau_mem=spec.default_tau)
    if config.channels is None and spec.default_channels is not None:
        config = replace(config, channels=list(spec.default_channels))
    return config


RESUME_KEEPS = ("model", "epochs")  # what --resume takes from the command line, not the run


def open_run(config: TrainConfig, out: Path | None, resume: bool, force: bool,
             given: Collection[str] = ()) -> tuple[RunDir, TrainConfig, SetAside | None]:
    """Open the run to continue, or create a new one.

    With ``resume`` the saved configuration wins, except for ``epochs`` (so a run can be
    extended); a setting in ``given`` (set on the command line) that differs from the saved
    one is refused rather than ignored. Without it, an existing non-empty folder is refused
    unless ``force``, and with ``force`` an earlier run is set aside (see ``SetAside``) rather
    than deleted at once.

    Raises:
        InputError: ``--resume`` without ``--out``, or with settings that differ from the run's.
        RunDirError: No run to resume, or a folder that would be overwritten.
        WriteError: The folder cannot be written.
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
        saved = with_defaults(saved)
        _refuse_changed_settings(config, saved, given, out)
        return run, replace(saved, epochs=config.epochs), None
    path = out or default_run_path(config.model)
    try:
        aside = set_aside(path) if force else None
    except OSError as e:
        raise write_error(e, path, "nothing was changed; choose another --out") from e
    try:
        run = RunDir.create(path)
        config.write(run.config)
    except BaseException as e:
        if aside is not None:
            aside.restore()
        if isinstance(e, OSError):
            raise write_error(e, path, "choose another --out") from e
        raise
    return run, config, aside


def _refuse_changed_settings(config: TrainConfig, saved: TrainConfig, given: Collection[str],
                             out: Path) -> None:
    """Refuse command-line settings that ``--resume`` would otherwise ignore."""

    def same(name: str) -> bool:
        mine, theirs = getattr(config, name), getattr(saved, name)
        if name == "data_dir" and mine is not None and theirs is not None:
            return Path(mine).resolve() == Path(theirs).resolve()
        return mine == theirs

    changed = [name for name in given if name not in RESUME_KEEPS and not same(name)]
    if changed:
        flags = ", ".join(f"--{n.replace('_', '-')} {_shown(getattr(config, n))} (saved: "
                          f"{_shown(getattr(saved, n))})" for n in changed)
        raise InputError(f"--resume continues {out} with its saved settings, so {flags} "
                         f"would be ignored: drop {'it' if len(changed) == 1 else 'them'}, "
                         "or start a new run with another --out (or --force to replace it)")


def _shown(value: object) -> str:
    return "not set" if value is None else str(value)


def run_training(config: TrainConfig, out: Path | None = None, resume: bool = False,
                 force: bool = False, given: Collection[str] = ()) -> TrainOutcome:
    """Train a model and write its run directory.

    Files: ``config.json``; after every epoch ``checkpoint.pt`` (model, optimiser, history),
    ``model.pt`` (state dict) and ``metrics.json``; ``model.onnx`` for conventional models.
    Before any data is read, the destination is checked by writing a probe file.

    Args:
        config: The training configuration.
        out: Run directory (default ``runs/<model>-<timestamp>``).
        resume: Continue the interrupted or shorter run in ``out``.
        force: Replace an existing run directory.
        given: Fields of ``config`` set on the command line (with ``resume``, those that
            differ from the run's saved settings are refused).

    Raises:
        WriteError: The destination cannot be written (checked first), or a write failed.
    """
    validate(config)
    _refuse_backprop_options(config, given)
    _refuse_tau(config, given)
    config = with_defaults(config)
    if resume and force:
        raise InputError("--resume continues the run in --out and --force replaces it: "
                         "choose one")
    existed = True
    if resume:  # the run's own data, as saved in its configuration
        run, config, aside = open_run(config, out, resume, force, given)
        check_writable(run.root, "make it writable, or copy the run elsewhere and resume "
                                 "the copy")
        data = load_dataset(config.dataset, config.data_dir)
    else:
        out = out or default_run_path(config.model)
        check_writable(out, "choose another --out")
        data = load_dataset(config.dataset, config.data_dir)  # before touching the disk
        existed = Path(out).is_dir()
        run, config, aside = open_run(config, out, resume, force)
    for note in data.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    try:
        outcome = _train_run(config, run, data, resume)
    except BaseException as e:
        interrupted = isinstance(e, KeyboardInterrupt | InterruptedRun)
        new = not resume and aside is None and not run.checkpoint.is_file()
        if aside is not None and not run.checkpoint.is_file():
            aside.restore()  # not one epoch of the new run: the earlier run is worth more
            aside = None
            if interrupted:
                raise InterruptedRun(f"interrupted before the new run saved an epoch; the "
                                     f"earlier run is back in {run.root}") from e
        if isinstance(e, KeyboardInterrupt):
            raise InterruptedRun(f"interrupted before the first epoch; re-run, or continue "
                                 f"with --resume --out {shlex.quote(str(run.root))}") from e
        if new and not interrupted:
            _discard_new_run(run.root, existed)  # a full disk, a divergence: no epoch to keep
        raise
    finally:
        if aside is not None:
            aside.discard()
    return outcome


def _discard_new_run(root: Path, existed: bool) -> None:
    """Remove what a new run wrote before it saved an epoch (the folder too, if it made it)."""
    if existed:
        for path in root.iterdir():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    else:
        shutil.rmtree(root, ignore_errors=True)


def _train_run(config: TrainConfig, run: RunDir, data: Dataset, resume: bool) -> TrainOutcome:
    device = torch.device(config.device)
    train_x, train_y = to_tensor(data.train_x[:config.limit_train]), torch.from_numpy(
        data.train_y[:config.limit_train])
    test_x, test_y = to_tensor(data.test_x[:config.limit_test]), torch.from_numpy(
        data.test_y[:config.limit_test])

    torch.manual_seed(config.seed)
    model = build_model(config.model, model_options(config)).to(device)
    local = isinstance(model, LocalLearner)  # learns by its own rule: no optimiser
    optimizer = None if local else torch.optim.Adam(model.parameters(), lr=config.lr)
    history: list[EpochMetrics] = []
    energy = EnergyLog()
    start = 0
    if resume and run.checkpoint.is_file():
        state = load_safely(run.checkpoint)
        try:
            model.load_state_dict(state["model"])
            if optimizer is not None:
                optimizer.load_state_dict(state["optimizer"])
            else:
                model.load_learner_state(state["learner"])
            history = [EpochMetrics.from_dict(h) for h in state["history"]]
            energy = EnergyLog.from_state(state)
            start = int(state["epoch"])
        except (KeyError, TypeError, ValueError, RuntimeError, RunDirError) as e:
            raise ModelError(f"{run.checkpoint} does not hold a checkpoint of this run "
                             f"({type(e).__name__}); start again with --force") from e
    steps_per_epoch = -(-len(train_x) // config.batch_size)
    scheduler = None if optimizer is None else one_cycle(
        optimizer, config.lr, config.epochs, steps_per_epoch,
        steps_done=min(start, config.epochs) * steps_per_epoch)

    try:
        metrics = _train_epochs(config, run, model, optimizer, scheduler, history, energy,
                                start, (train_x, train_y, test_x, test_y), device, data.source)
    except KeyboardInterrupt as e:
        done = len(history)
        raise InterruptedRun(f"interrupted during epoch {done + 1}; {done} epoch(s) are saved in "
                             f"{run.root}: continue with --resume --out "
                             f"{shlex.quote(str(run.root))}") from e
    if start >= config.epochs:
        console.print(f"{run.root}: already trained for {start} epochs; nothing to do")
    with _writes_to(run, f"every epoch is saved but {run.onnx.name} is not; fix that, then "
                         f"run again with --resume --out {shlex.quote(str(run.root))}"):
        _export(config, model, test_x, run)
    return TrainOutcome(run, metrics, start)


@contextlib.contextmanager
def _writes_to(run: RunDir, fix: str) -> Iterator[None]:
    """Turn an ``OSError`` of a write into the one-line ``WriteError`` that ends with ``fix``."""
    try:
        yield
    except OSError as e:
        raise write_error(e, run.root, fix) from e


@dataclass
class EnergyLog:
    """Each epoch's measurement window and what the machine was doing meanwhile.

    Both are kept in the checkpoint (``energy`` and ``machine``), so that a resumed run's
    ``energy.json`` covers every epoch.
    """

    windows: dict[str, dict] = field(default_factory=dict)
    machine: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def from_state(cls, state: dict) -> EnergyLog:
        """The log kept in a checkpoint (``machine`` is absent from older checkpoints)."""
        return cls(dict(state.get("energy", {})), dict(state.get("machine", {})))

    def to_state(self) -> dict[str, dict]:
        """The entries of the checkpoint that hold the log."""
        return {"energy": self.windows, "machine": self.machine}


def thread_settings() -> dict[str, object]:
    """Threads torch computes with, and how idle OpenMP threads wait (spin or sleep)."""
    return {"torch_intra_op": torch.get_num_threads(),
            "torch_inter_op": torch.get_num_interop_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY") or "not set: OpenMP threads "
                               "spin for a while before they sleep"}


def _train_epochs(config: TrainConfig, run: RunDir, model: torch.nn.Module,
                  optimizer: torch.optim.Optimizer | None,
                  scheduler: torch.optim.lr_scheduler.LRScheduler | None,
                  history: list[EpochMetrics], energy: EnergyLog, start: int,
                  tensors: tuple[torch.Tensor, ...], device: torch.device, source: str
                  ) -> TrainMetrics:
    """Run epochs ``start+1 .. config.epochs``, checkpointing after each; return the metrics.

    Each epoch (training pass and evaluation) is one measurement window of the energy meter;
    the windows are kept in the checkpoint so that a resumed run's ``energy.json`` covers all.
    """
    from neuropipe.reports.energy_record import energy_record, load_average, machine_conditions
    from neuropipe.reports.meter import Measurement, Meter

    meter = Meter(gpus="auto" if config.device == "cuda" else "none")
    train_x, train_y, test_x, test_y = tensors
    metrics = _metrics(config, source, model, history, len(train_x), len(test_x))
    figures: dict[str, float] = {}
    with make_progress("loss", "acc") as progress:
        for epoch in range(start + 1, config.epochs + 1):
            task = progress.add_task(f"epoch {epoch}/{config.epochs}", total=len(train_x),
                                     loss="-", acc="-")

            def on_batch(done: int, loss: float, acc: float, task: int = task) -> None:
                # Local learners (lsm, stdp) have no loss while they learn: shown as "-".
                progress.update(task, completed=done, loss=_figure(loss), acc=_figure(acc))

            load_start = load_average()
            meter.begin_window("epoch")
            seed = config.seed * 1000 + epoch
            if isinstance(model, LocalLearner):
                tr = model.fit_epoch(train_x.to(device), train_y.to(device),
                                     config.batch_size, seed=seed, on_batch=on_batch)
            else:
                tr = train_epoch(model, optimizer, train_x, train_y, config.batch_size,
                                 seed=seed, device=device, on_batch=on_batch,
                                 scheduler=scheduler, label_smoothing=config.label_smoothing,
                                 rate_penalty=config.rate_penalty, shift=config.shift)
            ev = evaluate(model, test_x, test_y, 500, seed=config.seed, device=device)
            energy.windows[str(epoch)] = meter.end_window("epoch").to_dict()
            energy.machine[str(epoch)] = {"load_average_start": load_start,
                                          "load_average_end": load_average(),
                                          "threads": thread_settings()}
            progress.update(task, acc=f"{tr.accuracy:.4f} test {ev.accuracy:.4f}")
            if isinstance(model, LocalLearner):  # what the model states of itself (lca),
                with torch.no_grad():            # outside the epoch's measurement window
                    figures = model.figures(test_x.to(device))
            history.append(EpochMetrics(epoch, tr.loss, tr.accuracy, ev.accuracy, tr.seconds,
                                        tr.samples / max(tr.seconds, 1e-9)))
            metrics = _metrics(config, source, model, history, len(train_x), len(test_x),
                               figures)
            record = energy_record(per_epoch={k: Measurement.from_dict(v)
                                              for k, v in energy.windows.items()},
                                   machine=machine_conditions(energy.machine))
            fix = (f"{epoch - 1} earlier epoch(s) are saved; make room or make it writable, "
                   f"then continue with --resume --out {shlex.quote(str(run.root))}"
                   ) if run.checkpoint.is_file() \
                else "no epoch was saved and the new run is removed; make room and train again"
            with _writes_to(run, fix):
                learned = ({"learner": model.learner_state()} if optimizer is None
                           else {"optimizer": optimizer.state_dict()})
                save_atomic({"epoch": epoch, "model": model.state_dict(), **learned,
                             "history": [h.to_dict() for h in history], **energy.to_state()},
                            run.checkpoint)
                save_atomic(model.state_dict(), run.model)
                metrics.write(run.metrics)
                record.write(run.energy)
    return metrics


def _export(config: TrainConfig, model: torch.nn.Module, test_x: torch.Tensor, run: RunDir
            ) -> None:
    if get_spec(config.model).kind == "ann":
        from neuropipe.models.onnx_export import export_onnx

        export_onnx(model.cpu(), test_x[:8].cpu(), run.onnx)


def _metrics(config: TrainConfig, source: str, model: torch.nn.Module,
             history: list[EpochMetrics], n_train: int, n_test: int,
             figures: dict[str, float] | None = None) -> TrainMetrics:
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
        parameters=(model.learned_values() if isinstance(model, LocalLearner) else
                    sum(p.numel() for p in model.parameters() if p.requires_grad)),
        wall_time_s=wall, samples_per_s=(n_train * len(history) / wall) if wall else 0.0,
        epochs=history, device=config.device, versions=versions,
        learning=get_spec(config.model).learning, figures=dict(figures or {}),
    )


def _figure(value: float) -> str:
    """A running figure for the progress bar; "-" while there is none (NaN)."""
    return "-" if math.isnan(value) else f"{value:.4f}"
