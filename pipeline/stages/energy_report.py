"""The energy-report stage: read runs through their records into report rows, then publish.

Only this module knows the run directory's records (config, metrics, energy, deployments); it
turns them into the plain rows of ``neuropipe.reports.comparison``, where the comparison, the
equal-accuracy view, break-even and rendering happen.
"""

from __future__ import annotations

import datetime as _dt
import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuropipe.core.errors import RunDirError
from neuropipe.core.rundir import RunDir, refuse_inside_targets
from neuropipe.models.records import TrainConfig, TrainMetrics
from neuropipe.reports.comparison import (
    Comparison,
    ConfigRow,
    EnergyReport,
    EstimateRow,
    LayerRow,
    MissingTarget,
    TrainingRow,
    build_report,
    check_threshold,
)
from neuropipe.reports.energy_record import EnergyRecord
from neuropipe.reports.report.output import check_out, parse_formats, publish, render_files
from neuropipe.reports.rows import network_of
from neuropipe.reports.spike_ties import is_spike_term
from neuropipe.targets.records import (
    DeploymentRecord,
    EnergyEstimate,
    LayerReport,
)

DEFAULT_OUT = Path("energy-report")


@dataclass
class ReportConfig:
    """Options of ``neuropipe energy-report``.

    Attributes:
        runs: Run directories to compare.
        out: Output folder (default ``energy-report/`` in the current folder).
        accuracy: Threshold of the equal-accuracy view (default: see ``build_report``).
        formats: Comma-separated output formats (``md,html,json,csv``).
        level: Restrict the equal-accuracy views and the answer to one level (default: all).
    """

    runs: list[Path]
    out: Path | None = None
    accuracy: float | None = None
    formats: str = "md,html,json,csv"
    level: str | None = None


def run_energy_report(config: ReportConfig) -> tuple[EnergyReport, Path, list[str]]:
    """Check the options, read the runs, build the report and write it atomically.

    Returns:
        The report, the output folder and the names of the files written.

    Raises:
        InputError: For a bad ``--accuracy``, ``--format``, an unwritable ``--out``, or a
            ``--level`` at which no compared run has a figure.
        RunDirError: For a run that is missing, damaged, lacks deployments, or is on another
            dataset than the others.
    """
    formats = parse_formats(config.formats)
    if config.accuracy is not None:
        check_threshold(config.accuracy)
    out = config.out or DEFAULT_OUT
    refuse_inside_targets(out)
    check_out(out)
    comparison = read_runs(config.runs)
    stamp = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    report = build_report(comparison, config.accuracy, created=stamp, level=config.level)
    files = render_files(report, formats)
    publish(out, files)
    return report, out, sorted(n for n in files if not n.startswith("."))


def read_runs(paths: list[Path]) -> Comparison:
    """Read every run's records into one comparison on one dataset.

    Raises:
        RunDirError: If a run is given twice, is damaged, has no deployment, or the runs (or
            their deployments) are on different datasets.
    """
    if not paths:
        raise RunDirError("no run given: pass one or more run directories")
    labels = _labels(paths)
    configs: list[ConfigRow] = []
    datasets: dict[str, str] = {}
    for path, label in zip(paths, labels, strict=True):
        rows, dataset = _read_run(RunDir.open(path), label)
        datasets[label] = dataset
        configs.extend(rows)
    if len(set(datasets.values())) > 1:
        listed = ", ".join(f"{label}: {d}" for label, d in datasets.items())
        raise RunDirError(f"the runs are on different datasets ({listed}): compare runs on one "
                          "dataset")
    return Comparison(dataset=next(iter(datasets.values())), runs=labels,
                      sources={label: str(p) for label, p in zip(labels, paths, strict=True)},
                      configs=configs, missing=_missing(labels, configs),
                      notes=_notes(configs))


def _labels(paths: list[Path]) -> list[str]:
    """Folder names, or the paths as given where two folders share a name."""
    resolved = [p.resolve() for p in paths]
    for i, p in enumerate(resolved):
        if p in resolved[:i]:
            raise RunDirError(f"run {paths[i]} is given twice")
    names = [p.name for p in resolved]
    return [p.name if names.count(p.name) == 1 else str(given)
            for p, given in zip(resolved, paths, strict=True)]


def _read_run(run: RunDir, label: str) -> tuple[list[ConfigRow], str]:
    """One row per deployment of ``run``, and the run's dataset."""
    train = TrainConfig.read(run.config)
    metrics = TrainMetrics.read(run.metrics)
    energy = EnergyRecord.read(run.energy)
    training = _training_row(run.energy, energy)
    files = sorted(p for p in run.root.glob("targets/*/deployment.json")
                   if not p.parent.name.startswith("."))
    if not files:
        raise RunDirError(f"run {run.root} has no deployment (targets/*/deployment.json): run "
                          f"'neuropipe convert {shlex.quote(str(run.root))} --target TARGET' first")
    kind = _kind(run.metrics, metrics)
    rows = []
    for file in files:
        record = DeploymentRecord.read(file)
        _check_deployment(file, record)
        if record.provenance.dataset and record.provenance.dataset != train.dataset:
            raise RunDirError(f"{file} was evaluated on {record.provenance.dataset} but run "
                              f"{run.root} was trained on {train.dataset}: compare runs on one "
                              "dataset")
        rows.append(_config_row(label, train, kind, record, training, metrics.learning))
    return rows, train.dataset


def _kind(path: Path, metrics: TrainMetrics) -> str:
    """``ann`` or ``snn`` as training recorded it (what ``get_spec(model).kind`` gave then).

    Read from the record rather than the model registry: no torch import, and a run of a model
    since renamed still reads.
    """
    if metrics.kind not in ("ann", "snn"):
        raise RunDirError(f"{path}: field 'kind' is {metrics.kind!r}, not 'ann' or 'snn'; the "
                          "file is damaged: re-run training")
    return metrics.kind


def _training_row(path: Path, energy: EnergyRecord) -> TrainingRow:
    for name in ("kwh", "kwh_pue", "co2e_kg"):
        _number(path, name, getattr(energy, name))
    return TrainingRow(joules=_number(path, "total.total_j", energy.total.total_j),
                       kwh=energy.kwh, kwh_pue=energy.kwh_pue, co2e_kg=energy.co2e_kg,
                       pue=_number(path, "constants.pue", energy.constants.get("pue")),
                       methods={c.component: c.method for c in energy.total.components},
                       leaves_out=list(energy.leaves_out))


def _check_deployment(path: Path, record: DeploymentRecord) -> None:
    """Refuse a record whose numbers are not finite and non-negative.

    A damaged file must never read as zero; the types of its parts are checked when it is read.
    """
    accuracy = _number(path, "accuracy", record.accuracy)
    if accuracy > 1:
        raise RunDirError(f"{path}: accuracy {accuracy} is above 1; the file is damaged")
    for name in ("synops", "neuron_updates", "host_macs", "spikes"):
        _number(path, f"counts.{name}", getattr(record.counts, name))
    if not isinstance(record.counts.ops, dict):
        raise RunDirError(f"{path}: 'counts.ops' is not a mapping; the file is damaged")
    for name, value in record.counts.ops.items():
        _number(path, f"counts.ops.{name}", value)
    for i, e in enumerate(record.estimates):
        for name in ("total_j", "dynamic_j", "static_j", "host_j"):
            _number(path, f"estimates[{i}].{name}", getattr(e, name))
    if sum(1 for e in record.estimates if e.default) != 1:
        raise RunDirError(f"{path}: needs exactly one default energy estimate; the file is "
                          "damaged: re-run 'neuropipe convert'")


def _number(path: Path, name: str, value: Any) -> float:
    """``value`` as a finite, non-negative number, else an error naming the file and field."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0:
        raise RunDirError(f"{path}: field '{name}' is {value!r}, not a non-negative number; the "
                          "file is damaged: re-run the stage that wrote it")
    return float(value)


def _config_row(label: str, train: TrainConfig, kind: str, record: DeploymentRecord,
                training: TrainingRow, learning: str) -> ConfigRow:
    counts = record.counts
    return ConfigRow(
        run=label, model=train.model, kind=kind, dataset=train.dataset, target=record.target,
        accuracy=record.accuracy, reference_accuracy=record.reference_accuracy,
        samples=record.samples, timesteps=record.timesteps, synops=counts.synops,
        neuron_updates=counts.neuron_updates, host_macs=counts.host_macs, spikes=counts.spikes,
        ops={k: float(v) for k, v in counts.ops.items()},
        packets=counts.packets, latency_s=record.resources.time_per_inference_s,
        cores=record.resources.cores, chips=record.resources.chips,
        estimates=[estimate_row(e) for e in record.estimates], layers=layer_rows(record),
        training=training, leaves_out=list(record.leaves_out), notes=list(record.notes),
        learning=learning, rate_penalty=float(train.rate_penalty),
        network=network_of(record.network, kind, record.target),
        encoding=record.provenance.encoding,
        graded_events=float(counts.graded_events), input_spikes=float(counts.input_spikes),
        modules=int(getattr(train, "modules", 1) or 1))


def layer_rows(record: DeploymentRecord) -> list[LayerRow]:
    """The deployment's layers as report rows (``on``: where each layer's synapses run)."""
    return [LayerRow(name=layer_name(lr.name, lr.kind, i), kind=lr.kind, neurons=lr.neurons,
                     synops=lr.synops_per_inference, host_macs=lr.host_macs_per_inference,
                     neuron_updates=lr.neuron_updates_per_inference,
                     spikes=lr.spikes_per_inference, dense_ops=_dense_ops(lr),
                     synapses=int(lr.synapses), on=lr.synapses_on or "chip")
            for i, lr in enumerate(record.layers)]


def layer_name(name: str, kind: str, index: int) -> str:
    """A readable layer name, by position where the recorded one is not readable.

    ONNX node paths (``/1/Gemm``) and bare NIR node indices (``3``) become ``dense 1``,
    ``conv 2``...; other names are kept.
    """
    if "/" in name or not name or name.isdigit():
        return f"{kind or 'layer'} {index + 1}"
    return name


def _dense_ops(layer: LayerReport) -> float | None:
    value = layer.ops.get("dense") if isinstance(layer.ops, dict) else None
    return float(value) if isinstance(value, int | float) else None


def estimate_row(e: EnergyEstimate) -> EstimateRow:
    """The estimate as a report row; terms at another level than its own are kept apart."""
    estimated = [t for t in e.terms if t.joules_per_inference is not None]
    levels = list(dict.fromkeys([e.level] + [t.level for t in estimated
                                             if t.level and t.joules_per_inference]))
    off = [t for t in estimated if t.level and t.level != e.level and t.joules_per_inference]
    own = [t for t in estimated if t not in off]
    return EstimateRow(cost_model=e.cost_model, level=e.level, default=e.default,
                       total_j=e.total_j, device_j=e.dynamic_j + e.static_j, static_j=e.static_j,
                       host_j=e.host_j, term_levels=levels,
                       not_estimated=[t.name for t in e.terms if t.joules_per_inference is None],
                       estimated=bool(estimated),
                       sources=list(e.sources), leaves_out=list(e.leaves_out),
                       off_level_j=sum(t.joules_per_inference or 0.0 for t in off),
                       off_level_terms=[t.name for t in off],
                       spike_j=sum(t.joules_per_inference or 0.0 for t in own
                                   if is_spike_term(t.name)),
                       terms={t.name: float(t.joules_per_inference or 0.0) for t in own})


def _missing(labels: list[str], configs: list[ConfigRow]) -> list[MissingTarget]:
    targets = sorted({c.target for c in configs})
    have = {(c.run, c.target) for c in configs}
    return [MissingTarget(run=r, target=t) for r in labels for t in targets
            if (r, t) not in have]


def _notes(configs: list[ConfigRow]) -> list[str]:
    notes = []
    samples = sorted({c.samples for c in configs})
    if len(samples) > 1:
        notes.append("accuracies are measured on different numbers of test images ("
                     + ", ".join(f"{c.label}: {c.samples:,}" for c in configs) + ")")
    return notes
