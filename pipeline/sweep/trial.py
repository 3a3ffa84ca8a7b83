"""One trial of a sweep: an ordinary run directory, trained and then deployed to each target.

A trial calls the same stage functions as ``neuropipe train`` and ``neuropipe convert``, in one
thread, with the sweep's seed: the same parameters give the same accuracies and the same
energy per inference, so a trial that runs again (after an interrupt, on resume) repeats its
steps exactly. Steps already complete in the run directory are kept, not redone: a finished
training is reused, an interrupted one continues from its last epoch (``--resume``), and a
deployment newer than the trained weights is read back.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from neuropipe.core.errors import NeuropipeError, RunDirError
from neuropipe.core.records import Record
from neuropipe.pipeline.sweep.spec import (
    TRAINING_ENERGY,
    SweepSpec,
    TargetSpec,
    accuracy_metric,
    energy_metric,
)


@dataclass
class TrialParams(Record):
    """The searched values of one trial, with each model's own value where a range does not apply.

    Attributes:
        model: Model family.
        epochs: Training epochs.
        lr: Peak learning rate.
        hidden: Hidden width (None: the model has no such option).
        timesteps: Steps per sample (SNN training, or the conversion of an ANN).
        encoding: Input encoding (SNN training, or the conversion of an ANN).
        rate_penalty: Spike-rate penalty of the loss (0 for models it does not apply to).
        percentile: Activation percentile of ANN-to-SNN conversion (None for SNNs).
    """

    type_tag = "sweep-params"
    model: str = ""
    epochs: int = 1
    lr: float = 0.0
    hidden: int | None = None
    timesteps: int = 16
    encoding: str = "constant"
    rate_penalty: float = 0.0
    percentile: float | None = None

    @classmethod
    def from_search(cls, config: dict[str, Any]) -> TrialParams:
        """The parameters of a search's suggestion (keys as ``search.define_space`` names them)."""
        from neuropipe.models.zoo import get_spec

        spec = get_spec(config["model"])
        return cls(model=spec.name, epochs=int(config["epochs"]),
                   lr=float(config.get("lr", spec.default_lr)),
                   hidden=None if spec.default_hidden is None else int(
                       config.get("hidden", spec.default_hidden)),
                   timesteps=int(config["timesteps"]),
                   encoding=str(config.get(f"encoding_{spec.name}", config.get("encoding"))),
                   rate_penalty=float(config.get("rate_penalty", 0.0)),
                   percentile=float(config.get("percentile", 99.9)) if spec.kind == "ann"
                   else None)


@dataclass
class TargetOutcome(Record):
    """What one target gave a trial: accuracy and the objective's energy figure.

    The figure follows the report's rule (``reports.rows``): terms costed at another level than
    the estimate's own (a first layer computed on the host, at system level, inside a chip
    estimate) are never summed into it but named apart, and a configuration whose figure does
    not cover the whole inference at the level (``ConfigRow.whole_at``: at chip level, a first
    layer on the host) is left out of that level's comparison: the sweep's front.

    Attributes:
        target: Target name.
        accuracy: Accuracy on the target (fraction of ``samples``).
        energy_j: Energy per inference of the chosen estimate at its own level, joules
            (``EstimateRow.figure_j``: its total less ``off_level_j``).
        level: Its level.
        cost_model: Its cost model.
        samples: Test images evaluated.
        deployment: Path of the ``deployment.json`` it comes from.
        off_level_j: Joules per inference of the estimate's terms at another level (host work),
            not in ``energy_j``.
        off_level_terms: Names of those terms.
        whole: False when the figure leaves part of the inference out at ``level`` (a first
            layer on the host at chip level): the trial is not on that target's front.
    """

    type_tag = "sweep-target-outcome"
    ADDED_LATER: ClassVar[dict[str, Any]] = {"off_level_j": 0.0, "off_level_terms": [],
                                             "whole": True}
    target: str = ""
    accuracy: float = 0.0
    energy_j: float = 0.0
    level: str = ""
    cost_model: str = ""
    samples: int = 0
    deployment: str = ""
    off_level_j: float = 0.0
    off_level_terms: list[str] = field(default_factory=list)
    whole: bool = True


@dataclass
class TrialResult(Record):
    """One finished trial (``trials/<trial>.json`` and a row of ``trials.csv``).

    Attributes:
        trial: Trial id (Ray Tune's).
        run: The run directory.
        params: The searched values.
        test_accuracy: Training's own test accuracy (PyTorch).
        training_energy_j: The run's ``energy.json`` total (method in ``training_energy_method``).
        training_energy_method: ``estimate`` where no counter exists, else the counters used.
        targets: One outcome per target.
        wall_time_s: Seconds this call of the trial took.
        reused: Steps taken from the run directory instead of being redone.
    """

    type_tag = "sweep-trial"
    trial: str = ""
    run: str = ""
    params: TrialParams = field(default_factory=TrialParams)
    test_accuracy: float = 0.0
    training_energy_j: float = 0.0
    training_energy_method: str = ""
    targets: dict[str, TargetOutcome] = field(default_factory=dict)
    wall_time_s: float = 0.0
    reused: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        """The objectives' values, named as ``SweepSpec.objectives`` names them."""
        out = {TRAINING_ENERGY: self.training_energy_j}
        for name, o in self.targets.items():
            out[accuracy_metric(name)] = o.accuracy
            out[energy_metric(name)] = o.energy_j
        return out


def one_thread() -> None:
    """Make this process compute in one thread (torch, OpenMP), idle threads sleeping."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process (a reused worker): it stays 1
        pass


def run_trial(spec: SweepSpec, params: TrialParams, run_dir: Path, trial: str) -> TrialResult:
    """Train ``params`` into ``run_dir``, deploy it to every target and read the objectives.

    Raises:
        NeuropipeError: From the stages (bad values, unavailable target...), as one line.
    """
    one_thread()
    start = time.perf_counter()
    reused: list[str] = []
    if train_step(spec, params, run_dir):
        reused.append("train")
    outcomes = {}
    for target in spec.targets:
        outcome, kept = convert_step(spec, params, run_dir, target)
        outcomes[target.name] = outcome
        if kept:
            reused.append(f"convert {target.name}")
    from neuropipe.core.rundir import RunDir
    from neuropipe.models.records import TrainMetrics
    from neuropipe.reports.energy_record import EnergyRecord

    run = RunDir(run_dir)
    metrics = TrainMetrics.read(run.metrics)
    energy = EnergyRecord.read(run.energy)
    methods = "/".join(sorted({c.method for c in energy.total.components})) or "none"
    return TrialResult(trial=trial, run=str(run_dir), params=params,
                       test_accuracy=metrics.test_accuracy,
                       training_energy_j=float(energy.total.total_j),
                       training_energy_method=methods, targets=outcomes,
                       wall_time_s=time.perf_counter() - start, reused=reused)


def train_config(spec: SweepSpec, params: TrialParams) -> Any:
    """The ``TrainConfig`` of a trial (what ``neuropipe train`` would be given)."""
    from neuropipe.models.records import TrainConfig
    from neuropipe.models.zoo import get_spec

    snn = get_spec(params.model).kind == "snn"
    defaults = TrainConfig()
    return TrainConfig(
        model=params.model, dataset=spec.dataset, data_dir=spec.data_dir, epochs=params.epochs,
        batch_size=spec.batch_size, lr=params.lr,
        timesteps=params.timesteps if snn else defaults.timesteps,
        encoding=params.encoding if snn else defaults.encoding, seed=spec.seed, device="cpu",
        limit_train=spec.limit_train, limit_test=spec.limit_test, hidden=params.hidden,
        rate_penalty=params.rate_penalty)


def train_step(spec: SweepSpec, params: TrialParams, run_dir: Path) -> bool:
    """Train the trial's model into ``run_dir``; return True if a finished training was kept.

    A run directory with the same configuration is continued (``--resume``) or, when all its
    epochs are done, kept; anything else there is replaced (``--force``).
    """
    from neuropipe.core.rundir import RunDir
    from neuropipe.models.records import TrainConfig, TrainMetrics
    from neuropipe.pipeline.stages.train import run_training, with_defaults

    config = with_defaults(train_config(spec, params))
    run = RunDir(run_dir)
    same = False
    if run.config.is_file():
        try:
            saved = with_defaults(TrainConfig.read(run.config))
            same = not config.same_training(saved) and saved.epochs == config.epochs
        except NeuropipeError:
            same = False
    if same and run.metrics.is_file() and run.model.is_file():
        try:
            if len(TrainMetrics.read(run.metrics).epochs) == config.epochs:
                return True
        except RunDirError:
            pass
    resume = same and run.checkpoint.is_file()
    run_training(config, out=run_dir, resume=resume, force=not resume and run_dir.exists())
    return False


def converted(params: TrialParams, target: str) -> bool | None:
    """True: an ANN converted to spikes for ``target``; False: an ANN run as it is; None: SNN."""
    from neuropipe.models.zoo import get_spec
    from neuropipe.targets.registry import get_target

    if get_spec(params.model).kind != "ann":
        return None
    return not getattr(get_target(target), "runs_onnx", False)


def convert_config(spec: SweepSpec, params: TrialParams, run_dir: Path, target: str) -> Any:
    """The ``ConvertConfig`` of a trial on ``target`` (what ``neuropipe convert`` would get)."""
    from neuropipe.pipeline.stages.convert import ConvertConfig

    converts = bool(converted(params, target))
    return ConvertConfig(
        source=run_dir, target=target, samples=spec.samples,
        verify_samples=spec.verify_samples, seed=spec.seed, force=True,
        timesteps=params.timesteps if converts else None,
        encoding=params.encoding if converts else None,
        percentile=params.percentile if converts and params.percentile is not None else 99.9)


def convert_step(spec: SweepSpec, params: TrialParams, run_dir: Path, target: TargetSpec
                 ) -> tuple[TargetOutcome, bool]:
    """Deploy the trained run to ``target``; return its outcome and whether it was kept.

    A deployment written after the run's weights, of the same number of images, is kept.
    """
    from neuropipe.core.rundir import RunDir
    from neuropipe.pipeline.stages.convert import run_convert
    from neuropipe.targets.records import DeploymentRecord

    run = RunDir(run_dir)
    path = run.deployment(target.name)
    if path.is_file() and path.stat().st_mtime >= run.model.stat().st_mtime:
        try:
            record = DeploymentRecord.read(path)
            if spec.samples in (None, record.samples):
                return outcome_of(record, target, path), True
        except NeuropipeError:
            pass
    record, path = run_convert(convert_config(spec, params, run_dir, target.name))
    return outcome_of(record, target, path), False


def outcome_of(record: Any, target: TargetSpec, path: Path) -> TargetOutcome:
    """Accuracy and the energy figure at the target's level from a deployment record.

    The figure and whether it covers the whole inference come from the report's own rows
    (``estimate_row``, ``ConfigRow.whole_at``), so that a sweep and a report of the same runs
    compare the same numbers.

    Raises:
        RunDirError: The record has no figure at that level (or of that cost model).
    """
    from neuropipe.pipeline.stages.energy_report import estimate_row, layer_rows
    from neuropipe.reports.rows import ConfigRow

    row = estimate_row(pick_estimate(record, target))
    config = ConfigRow(target=record.target, host_macs=float(record.counts.host_macs),
                       layers=layer_rows(record))
    return TargetOutcome(target=target.name, accuracy=float(record.accuracy),
                         energy_j=float(row.figure_j), level=row.level,
                         cost_model=row.cost_model, samples=int(record.samples),
                         deployment=str(path), off_level_j=float(row.off_level_j),
                         off_level_terms=list(row.off_level_terms),
                         whole=config.whole_at(row.level))


def pick_estimate(record: Any, target: TargetSpec) -> Any:
    """The deployment's figure at ``target.level`` (``DeploymentRecord.figure_at``).

    The named cost model's estimate, else the default, else the first; never one that estimated
    nothing (a meter that could not measure).

    Raises:
        RunDirError: If the deployment gives no such figure, naming the ones it gives.
    """
    estimate = record.figure_at(target.level, target.cost_model)
    if estimate is None:
        have = ", ".join(f"{e.cost_model} ({e.level})" for e in record.estimates) or "none"
        wanted = f"cost model '{target.cost_model}' at " if target.cost_model else ""
        raise RunDirError(f"target '{target.name}' gives no figure for {wanted}level "
                          f"'{target.level}' (it gives: {have}): change that target's level "
                          "or cost_model in the spec")
    return estimate
