"""The convert stage: a run or a NIR file, through one deployment target, to a deployment record."""

from __future__ import annotations

import contextlib
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.core.errors import (
    GraphError,
    InputError,
    InterruptedRun,
    ModelError,
    NeuropipeError,
    RunDirError,
    TargetError,
)
from neuropipe.core.files import check_writable, write_bytes_atomic, write_error
from neuropipe.core.rundir import RunDir
from neuropipe.core.spike_codes import SPIKE_ENCODINGS, TIMING_ENCODINGS, TRAINING_ENCODINGS
from neuropipe.core.staging import exclusive, make_staging, remove_staging, swap_in
from neuropipe.pipeline.progress import console, make_progress
from neuropipe.targets.base import Workload
from neuropipe.targets.records import DeploymentRecord, Provenance
from neuropipe.targets.registry import get_target

# Default steps of ANN-to-SNN converted networks: at 32 steps the converted mlp and cnn were
# within 0.5% of their ANNs in a sweep over 16-64 steps (README).
CONVERTED_TIMESTEPS = 32


@dataclass
class ConvertConfig:
    """Options of ``neuropipe convert``.

    Attributes:
        source: A run directory, or a ``.nir`` file made elsewhere.
        target: Registered target name.
        timesteps: Steps per sample (default: the model's, or the graph's metadata).
        samples: Test images to evaluate (default: all).
        verify_samples: Images also run in the target's reference simulator.
        encoding: Input encoding (default: the model's, or ``constant``).
        dt: Step of the graph's time constants (default: metadata, else 1).
        dataset: Dataset of the evaluation images (default: the run's own, else ``mnist``).
        data_dir: IDX directory (default: the run's own, else the default source).
        percentile: Activation percentile used to normalise converted ANNs.
        seed: Seed of input spikes.
        out: Where results of a bare ``.nir`` file go (default ``<stem>.neuropipe/`` beside it).
        force: Replace an existing deployment of the same target.
        delta_threshold: ``sdnn``: hidden layers' delta threshold, a fraction of each layer's
            calibrated activation range (0 sends every change: the exact network).
    """

    source: Path
    target: str = "loihi"
    timesteps: int | None = None
    samples: int | None = None
    verify_samples: int = 16
    encoding: str | None = None
    dt: float | None = None
    dataset: str | None = None
    data_dir: str | None = None
    percentile: float = 99.9
    seed: int = 0
    out: Path | None = None
    force: bool = False
    delta_threshold: float = 0.0


@dataclass
class Source:
    """What ``convert`` deploys from, resolved once: a run directory or a bare ``.nir`` file.

    Attributes:
        path: The ``SOURCE`` argument.
        is_run: True for a run directory made by ``neuropipe train``.
        results: The run directory that receives the results (for a bare file ``--out``, or
            ``<stem>.neuropipe/`` beside it).
        fix: What to do when ``results`` cannot be written.
    """

    path: Path
    is_run: bool
    results: Path
    fix: str

    @classmethod
    def of(cls, config: ConvertConfig) -> Source:
        """Resolve ``config.source``."""
        path = Path(config.source)
        if path.is_dir():
            return cls(path, True, path, "make the run writable, or copy it elsewhere and "
                       "convert the copy")
        return cls(path, False, config.out or path.with_name(f"{path.stem}.neuropipe"),
                   "choose another --out")


@dataclass
class Prepared:
    """A graph ready to deploy, with its reference accuracy and where results go."""

    graph: Any
    run: RunDir
    timesteps: int
    encoding: str
    dt: float
    reference: Any  # callable(x) -> predictions of the torch reference
    notes: list[str]
    model: str = "nir-file"
    onnx: str | None = None  # a conventional network, run as it is by host targets
    own_settings: bool = False  # the run's own steps and encoding: its model.nir may be written
    ann: Any = None  # callable(x) -> predictions of the ANN a converted graph came from
    chain: Any = None  # the graph read once as a ``targets.chain.Chain`` (None for ONNX)


def run_convert(config: ConvertConfig) -> tuple[DeploymentRecord, Path]:
    """Deploy a model to a target and write ``targets/<name>/deployment.json``.

    Nothing is written until the deployment is complete: the target's folder is swapped in by
    renames, and a run's ``model.nir`` (the graph that was deployed) is written atomically after.
    An earlier deployment of the same target is kept unless ``config.force``.
    """
    from neuropipe.models.data.datasets import load_dataset

    target = get_target(config.target)
    source = Source.of(config)
    _check_options(config, target, source)
    if not config.force:
        _refuse_to_replace(RunDir(source.results).deployment(config.target))
    check_writable(RunDir(source.results).target_dir(config.target).parent, source.fix)
    dataset, data_dir = _data_of(config, source)
    data = load_dataset(dataset, data_dir)
    for note in data.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    prepared = _prepare(config, source, data, conventional=getattr(target, "runs_onnx", False)
                        or config.encoding == "sdnn")
    if prepared.chain is not None:
        problems = target.supports(prepared.chain, prepared.dt)
        if problems:
            raise GraphError(f"target '{config.target}' cannot run this graph: "
                             f"{'; '.join(problems)}")
        _check_input_size(prepared.chain, data.test_x.shape[1:], dataset)
    workload, options = _workload(config, prepared, data, target)
    record, final = _deploy(config, target, prepared, workload, options, dataset, source.fix)
    if source.is_run and prepared.own_settings:
        # The run's model.nir is the trained model with its own settings; a deployment with
        # other steps or encoding keeps its graph in its own folder only.
        try:
            write_bytes_atomic(prepared.run.nir, (final / "model.nir").read_bytes())
        except OSError as e:
            raise write_error(e, prepared.run.nir, f"{source.fix} (the deployment in {final} "
                              "is complete)") from e
    return record, final / "deployment.json"


def _check_options(config: ConvertConfig, target: Any, source: Source) -> None:
    """Refuse an unavailable target and every bad option before any work."""
    availability = target.availability()
    if not availability.available:
        raise TargetError(f"target '{config.target}' is unavailable here: {availability.reason}")
    for name in ("samples", "timesteps"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise InputError(f"--{name} must be at least 1, got {value}")
    if config.verify_samples < 0:
        raise InputError(f"--verify-samples must be 0 or more, got {config.verify_samples}")
    check_encoding(config.encoding, [config.target])
    _check_sdnn_options(config)
    if not 0 < config.percentile <= 100:
        raise InputError(f"--percentile must be in (0, 100], got {config.percentile}")
    if source.is_run:
        for flag, value in (("--out", config.out), ("--dt", config.dt)):
            if value is not None:
                raise InputError(f"{flag} is for a bare .nir file; a run's results go to "
                                 f"{source.path / 'targets' / config.target}/ and its "
                                 "models count time in steps (dt = 1)")
    elif config.dt is not None and not config.dt > 0:
        raise InputError(f"--dt must be positive, got {config.dt}")


def _workload(config: ConvertConfig, prepared: Prepared, data: Any, target: Any
              ) -> tuple[Workload, dict[str, Any]]:
    """The evaluation images, the reference's accuracy on them, and the target's options."""
    from neuropipe.models.training import to_tensor

    n = config.samples or len(data.test_y)
    if config.verify_samples > n:
        prepared.notes.append(f"--verify-samples {config.verify_samples} is more than the {n} "
                              f"images evaluated: {n} were verified")
    x = to_tensor(data.test_x[:n]).numpy()
    labels = data.test_y[:n]
    reference_preds = prepared.reference(x)
    if prepared.ann is not None:
        ann_accuracy = float(np.mean(prepared.ann(x) == labels))
        prepared.notes.append(f"the ANN itself scores {ann_accuracy:.4f} on the same images")
    # The graph goes to the target already read (targets.chain.to_chain returns a chain as is).
    workload = Workload(graph=prepared.chain, inputs=x, labels=labels,
                        timesteps=prepared.timesteps, encoding=prepared.encoding,
                        dt=prepared.dt, seed=config.seed,
                        reference_accuracy=float(np.mean(reference_preds == labels)),
                        onnx=prepared.onnx)
    options: dict[str, Any] = {"verify_samples": config.verify_samples}
    if prepared.encoding == "sdnn":  # activation ranges from training images, not test ones
        options.update(calibration=to_tensor(data.train_x[:SDNN_CALIBRATION]).numpy(),
                       delta_threshold=config.delta_threshold)
    if getattr(target, "measures", False):
        from neuropipe.reports.meter import Meter

        options["meter"] = Meter()
    return workload, options


def _deploy(config: ConvertConfig, target: Any, prepared: Prepared, workload: Workload,
            options: dict[str, Any], dataset: str, fix: str) -> tuple[DeploymentRecord, Path]:
    """Deploy into a staging folder and swap it in whole; the record and the target's folder."""
    from neuropipe.models.nir_export import write_nir

    final = prepared.run.target_dir(config.target)
    held = contextlib.ExitStack()  # one convert per run and target at a time
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        held.enter_context(exclusive(final.parent / f".{config.target}.lock", str(final)))
        if not config.force:  # again, now that no other convert can be writing it
            _refuse_to_replace(final / "deployment.json")
        staging = make_staging(final.parent, f".{config.target}.")
    except OSError as e:
        held.close()
        raise write_error(e, final.parent, fix) from e
    except BaseException:
        held.close()
        raise
    try:
        with make_progress() as progress:
            record = target.deploy(workload, staging, progress=progress, **options)
        # The deployed graph goes beside its record (and is checked writable) before the swap.
        if prepared.graph is not None:
            write_nir(prepared.graph, staging / "model.nir")
            artifacts = {**record.artifacts, "graph": "model.nir"}
        else:
            artifacts = dict(record.artifacts)
        deployed = staging / ("model.nir" if prepared.graph is not None else "model.onnx")
        record = record.replace(
            notes=[*prepared.notes, *record.notes], artifacts=artifacts,
            provenance=_provenance(config, prepared, dataset, deployed, target))
        record.write(staging / "deployment.json")
        swap_in(staging, final, final.with_name(f".{final.name}.old"))
    except KeyboardInterrupt as e:
        raise InterruptedRun(f"interrupted; nothing was written and any earlier deployment in "
                             f"{final} is kept") from e
    except OSError as e:
        raise write_error(e, final, f"{fix}; any earlier deployment is kept") from e
    finally:
        remove_staging(staging)  # after the swap, only its PID marker is left
        held.close()
    return record, final


SDNN_CALIBRATION = 2000  # training images that set a sigma-delta network's activation ranges


def _check_sdnn_options(config: ConvertConfig) -> None:
    """Refuse a delta threshold without ``--encoding sdnn``, or out of range.

    Whether the target runs sdnn at all is ``check_encoding``'s to say.
    """
    if config.delta_threshold != 0.0 and config.encoding != "sdnn":
        raise InputError("--delta-threshold is for --encoding sdnn")
    if not 0.0 <= config.delta_threshold < 1.0:
        raise InputError(f"--delta-threshold must be in [0, 1) (a fraction of each layer's "
                         f"activation range), got {config.delta_threshold}")


# TRAINING_ENCODINGS (core.spike_codes): those a model is trained (and its float reference
# simulated) with; any other encoding a target lists (graded, sdnn...) deploys a model trained
# with constant (analogue) input.


def is_deployment_encoding(encoding: str | None) -> bool:
    """Whether ``encoding`` is a device's form of analogue input, not a training encoding."""
    return encoding is not None and encoding not in TRAINING_ENCODINGS


def encoding_takers(encoding: str) -> list[str]:
    """The registered targets whose ``encodings`` list ``encoding``.

    Raises:
        InputError: If no registered target lists it, naming every encoding some target runs.
    """
    from neuropipe.targets.registry import target_names

    listed = {name: tuple(get_target(name).encodings) for name in target_names()}
    takers = [name for name, encodings in listed.items() if encoding in encodings]
    if not takers:
        known = list(dict.fromkeys(e for encodings in listed.values() for e in encodings))
        raise InputError(f"unknown encoding '{encoding}' for --encoding: choose "
                         f"{', '.join(known)}")
    return takers


def encoding_refusal(encoding: str, name: str) -> str:
    """Why target ``name`` cannot take ``encoding`` ('' if it can)."""
    encodings = tuple(get_target(name).encodings)
    if encoding in encodings:
        return ""
    return (f"--encoding {encoding} runs on {', '.join(encoding_takers(encoding))} only; "
            f"target '{name}' takes {', '.join(encodings)}")


def check_encoding(encoding: str | None, names: list[str]) -> None:
    """Refuse, before any work, an encoding that a named target cannot run.

    Generic over the targets' ``encodings``: a target that adds one needs no change here.

    Raises:
        InputError: Naming the option, the targets that take the encoding and what to do.
    """
    if encoding is None:
        return
    encoding_takers(encoding)  # unknown everywhere: one message naming the choices
    refused = [why for name in names if (why := encoding_refusal(encoding, name))]
    if refused:
        raise InputError(f"{'; '.join(refused)}: choose another --encoding or --target")


COMMON_PACKAGES = ("torch", "numpy", "nir", "norse")


def target_list(spec: str) -> list[str]:
    """Target names of ``--target``: one name, a comma-separated list, or ``all``.

    Raises:
        TargetError: Naming an unknown target and the registered ones, before any work.
    """
    from neuropipe.targets.registry import target_names

    if spec.strip() == "all":
        return target_names()
    names = list(dict.fromkeys(t.strip() for t in spec.split(",") if t.strip()))
    unknown = [t for t in names if t not in target_names()]
    if unknown or not names:
        raise TargetError(f"unknown target {', '.join(repr(t) for t in unknown) or repr(spec)}: "
                          f"choose from {', '.join(target_names())}, a comma-separated list, "
                          "or all")
    return names


@dataclass
class Outcome:
    """What became of one target of a ``convert`` command."""

    target: str
    record: DeploymentRecord | None = None
    path: Path | None = None
    error: str = ""
    skipped: str = ""


def run_convert_many(config: ConvertConfig, names: list[str], skip_unavailable: bool
                     ) -> list[Outcome]:
    """Deploy to several targets in turn; each is written as it completes.

    A target that fails is reported and the others still run; Ctrl-C stops the command and
    keeps what was already written. With ``skip_unavailable`` (``--target all``), targets whose
    backend is not available here are skipped, with the reason.
    """
    import dataclasses

    outcomes = []
    for name in names:
        if skip_unavailable:
            availability = get_target(name).availability()
            if not availability.available:
                outcomes.append(Outcome(name, skipped=availability.reason))
                continue
        try:
            record, path = run_convert(dataclasses.replace(config, target=name))
        except InterruptedRun:
            raise
        except NeuropipeError as e:
            outcomes.append(Outcome(name, error=str(e)))
            continue
        outcomes.append(Outcome(name, record, path))
    return outcomes


def _provenance(config: ConvertConfig, prepared: Prepared, dataset: str, graph_file: Path,
                target: Any) -> Provenance:
    """What was deployed, from where, with the versions of every library involved."""
    import hashlib
    import importlib.metadata

    versions = {}
    for package in ("neuropipe", *COMMON_PACKAGES, *getattr(target, "packages", ())):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "missing"
    return Provenance(source=str(Path(config.source).resolve()), model=prepared.model,
                      dataset=dataset, encoding=prepared.encoding,
                      timesteps=prepared.timesteps,
                      graph_sha256=hashlib.sha256(graph_file.read_bytes()).hexdigest(),
                      versions=versions)


def _data_of(config: ConvertConfig, source: Source) -> tuple[str, str | None]:
    """Dataset and IDX folder to evaluate on: the flags, else the run's own, else MNIST."""
    if source.is_run and (config.dataset is None or config.data_dir is None):
        from neuropipe.models.records import TrainConfig

        trained = TrainConfig.read(RunDir.open(source.path).config)
        if config.dataset is None or config.dataset == trained.dataset:
            return trained.dataset, config.data_dir or trained.data_dir
    return config.dataset or "mnist", config.data_dir


def _check_input_size(chain: Any, image_shape: tuple[int, ...], dataset: str) -> None:
    """Refuse a graph (read as ``chain``) whose input does not take one image of the dataset."""
    shape = tuple(chain.input_shape)
    if int(np.prod(shape)) != int(np.prod(image_shape)):
        raise GraphError(f"the graph's input has shape {shape} ({int(np.prod(shape))} values) but "
                         f"{dataset} images have {int(np.prod(image_shape))} "
                         f"({'x'.join(map(str, image_shape))}): it was not made for this dataset")


def _metadata_number(path: Path, meta: dict[str, Any], key: str, kind: type,
                     default: float) -> Any:
    """A positive number from a graph's metadata, or ``default`` when absent.

    Raises:
        GraphError: If the value is not a positive number.
    """
    if key not in meta:
        return default
    try:
        value = kind(np.asarray(meta[key]).item())
    except (TypeError, ValueError) as e:
        raise GraphError(f"{path}: metadata '{key}' is {meta[key]!r}, not a number; pass "
                         f"--{key} to override it") from e
    if not value > 0:
        raise GraphError(f"{path}: metadata '{key}' is {value}, must be positive; pass --{key} "
                         "to override it")
    return value


def _refuse_to_replace(path: Path) -> None:
    """Raise if ``path`` holds an earlier deployment, saying what it holds."""
    if not path.exists():
        return
    try:
        old = DeploymentRecord.read(path)
        what = f" (accuracy {old.accuracy:.4f} on {old.samples} images)"
    except Exception:  # noqa: BLE001 - an unreadable old record is still not ours to delete
        what = ""
    raise RunDirError(f"{path} already exists{what}; pass --force to replace it")


def _prepare(config: ConvertConfig, source: Source, data: Any, conventional: bool = False
             ) -> Prepared:
    """The graph (read once as a chain) or ONNX model to deploy, and its reference."""
    if source.is_run:
        return _prepare_run(config, RunDir.open(source.path), data, conventional)
    if source.path.suffix == ".nir" or source.path.is_file():
        return _prepare_file(config, source)
    raise InputError(f"{source.path} does not exist: pass a run directory made by 'neuropipe "
                     "train' or a .nir file")


def _read_chain(graph: Any, dt: float, target: str) -> Any:
    """The graph read as a chain of layers, once per convert (every target reads that).

    Raises:
        GraphError: If no target can read it, as a target's ``supports`` says it.
    """
    from neuropipe.targets.chain import to_chain

    try:
        return to_chain(graph, dt)
    except GraphError as e:
        raise GraphError(f"target '{target}' cannot run this graph: {e}") from e


def _float_reference(chain: Any, timesteps: int, encoding: str, seed: int,
                     batch: int | None = None) -> Any:
    """Predictions of the graph itself in float (PyTorch) simulation: callable(x) -> classes.

    ``encoding`` is the model's (a device encoding reads as constant input); spike codes are
    drawn from ``seed`` for all images at once, then simulated ``batch`` images at a time.
    """
    from neuropipe.targets.float_sim import encode_input, predict, simulate

    def reference(x: np.ndarray) -> np.ndarray:
        spikes = encode_input(x, timesteps, encoding, np.random.default_rng(seed))
        step = batch or len(x)
        preds = []
        for i in range(0, len(x), step):
            part = None if spikes is None else spikes[:, i:i + step]
            preds.append(predict(simulate(chain, x[i:i + step], timesteps, encoding, part)))
        return np.concatenate(preds)

    return reference


def _prepare_run(config: ConvertConfig, run: RunDir, data: Any, conventional: bool = False
                 ) -> Prepared:
    from neuropipe.models.checkpoint import load_safely, load_trained
    from neuropipe.models.zoo import get_spec

    model, train_config = load_trained(run)
    is_snn = get_spec(train_config.model).kind == "snn"
    prepared = _prepare_trained(config, run, data, conventional, model, train_config, is_snn)
    if is_snn:
        own = (config.timesteps in (None, train_config.timesteps)
               and config.encoding in (None, train_config.encoding))
    else:  # a converted ANN: the default conversion is the run's own graph
        own = (config.timesteps is None and config.encoding in (None, "constant")
               and config.percentile == 99.9)
    prepared.own_settings = own and prepared.graph is not None
    try:
        load_safely(run.checkpoint)
    except ModelError as e:
        prepared.notes.append(f"{e}: model.pt was deployed, but this run cannot be resumed "
                              "with 'neuropipe train --resume'")
    return prepared


def _prepare_trained(config: ConvertConfig, run: RunDir, data: Any, conventional: bool,
                     model: Any, train_config: Any, is_snn: bool) -> Prepared:
    import torch

    from neuropipe.models.nir_export import export_snn
    from neuropipe.models.training import predict, to_tensor

    if config.encoding == "sdnn" and is_snn:
        raise InputError(f"--encoding sdnn runs a conventional network (mlp, cnn) as a "
                         f"sigma-delta network; {train_config.model} is a spiking model: use "
                         "--encoding constant or poisson")
    if conventional and not is_snn:
        return _prepare_onnx(config, run, model, train_config.model)
    if not is_snn and config.encoding in TIMING_ENCODINGS:
        from neuropipe.models.zoo import encoding_models

        raise InputError(f"--encoding {config.encoding} is read only by a spiking model trained "
                         f"with it ({', '.join(encoding_models(config.encoding))}); "
                         f"{train_config.model} converts to rate-coded IF neurons: use "
                         "--encoding constant, poisson or rate")
    timesteps = config.timesteps or (train_config.timesteps if is_snn else
                                     CONVERTED_TIMESTEPS)
    deployed = is_deployment_encoding(config.encoding)
    notes = _encoding_notes(config.encoding, train_config.encoding if is_snn else "constant")
    if is_snn:
        model.timesteps = timesteps
        if config.encoding and not deployed:
            model.encoding = config.encoding
        elif deployed:  # its reference: the model read with the analogue input it holds
            model.encoding = "constant"
        graph = export_snn(model)

        def reference(x: np.ndarray) -> np.ndarray:
            return predict(model, torch.as_tensor(x), seed=config.seed).numpy()

        return Prepared(graph, run, timesteps, config.encoding if deployed else model.encoding,
                        1.0, reference,
                        [*notes, f"reference: the trained norse model ({train_config.model}) on "
                         "the same images"], train_config.model,
                        chain=_read_chain(graph, 1.0, config.target))
    from neuropipe.models.conversion import convert_ann

    calibration = to_tensor(data.train_x[:2000])
    converted = convert_ann(model, calibration, percentile=config.percentile,
                            timesteps=timesteps,
                            encoding="constant" if deployed else config.encoding or "constant")
    chain = _read_chain(converted.graph, 1.0, config.target)

    notes += [f"ANN-to-SNN conversion of {train_config.model}: ReLU -> IF, weights and biases "
             f"normalised by the {config.percentile}th percentile of each layer's activations "
             "on 2,000 training images (Diehl et al. 2015; Rueckauer et al. 2017)",
             "reference: the converted SNN in float (PyTorch) simulation on the same images"]
    return Prepared(converted.graph, run, timesteps,
                    config.encoding if deployed else converted.encoding, 1.0,
                    _float_reference(chain, timesteps, converted.encoding, config.seed, 1000),
                    notes, f"{train_config.model} (converted to IF neurons)",
                    ann=lambda x: predict(model, torch.as_tensor(x)).numpy(), chain=chain)


def _prepare_onnx(config: ConvertConfig, run: RunDir, model: Any, name: str) -> Prepared:
    """A conventional run for a host target: its ONNX model, run as it is (no conversion)."""
    import torch

    from neuropipe.models.training import predict

    if not run.onnx.is_file():
        raise RunDirError(f"{run.onnx} is missing: re-run 'neuropipe train {name}' to export it")
    _check_onnx(run, name)
    notes = [f"reference: the trained {name} in PyTorch on the same images"]
    if config.encoding == "sdnn":
        if config.timesteps is not None:
            notes.append("--timesteps was not used here: a sigma-delta network runs its "
                         "layers + 1 steps on a static image")
        return Prepared(None, run, 1, "sdnn", 1.0, lambda x: predict(
            model, torch.as_tensor(x)).numpy(), notes, name, onnx=str(run.onnx))
    for flag, value in (("--timesteps", config.timesteps), ("--encoding", config.encoding),
                        ("--percentile", None if config.percentile == 99.9 else 1)):
        if value is not None:
            notes.append(f"{flag} was not used here: on a host target {name} runs as "
                         "trained, once per image, without conversion to spikes")

    def reference(x: np.ndarray) -> np.ndarray:
        return predict(model, torch.as_tensor(x)).numpy()

    return Prepared(None, run, 1, "analogue", 1.0, reference, notes, name, onnx=str(run.onnx))


def _check_onnx(run: RunDir, name: str) -> None:
    """Refuse an empty or damaged ``model.onnx``, naming it and how to write it again."""
    import onnx

    try:
        model = onnx.load(str(run.onnx))
        empty = not model.graph.node
    except Exception as e:  # noqa: BLE001 - protobuf's errors have no common base
        empty, reason = True, f"{type(e).__name__}: {e}"
    else:
        reason = "it holds no graph"
    if empty:
        again = shlex.join(["neuropipe", "train", name, "--resume", "--out", str(run.root)])
        raise RunDirError(f"{run.onnx} is empty or damaged ({reason[:200]}): export it again "
                          f"with '{again}'")


def _prepare_file(config: ConvertConfig, source: Source) -> Prepared:
    from neuropipe.models.nir_export import read_nir

    path = source.path
    if config.encoding == "sdnn":
        raise InputError(f"--encoding sdnn runs a conventional network (a run of mlp or cnn) "
                         f"as a sigma-delta network; {path} is a spiking graph: use --encoding "
                         "constant or poisson")
    graph = read_nir(path)
    meta = dict(getattr(graph, "metadata", None) or {})
    timesteps = config.timesteps or _metadata_number(path, meta, "timesteps", int, 0)
    if not timesteps:
        raise InputError(f"{path} does not say how many steps to run: pass --timesteps")
    trained = str(meta.get("encoding", "constant"))
    encoding = config.encoding or trained
    if config.encoding is None and encoding not in TRAINING_ENCODINGS:
        raise GraphError(f"{path} names an unknown input encoding '{encoding}' in its metadata: "
                         f"pass --encoding {' or '.join(TRAINING_ENCODINGS)}")
    dt = config.dt or _metadata_number(path, meta, "dt", float, 1.0)
    chain = _read_chain(graph, dt, config.target)
    reference = _float_reference(
        chain, timesteps, "constant" if is_deployment_encoding(encoding) else encoding,
        config.seed)
    return Prepared(graph, RunDir(source.results), timesteps, encoding, dt, reference,
                    [*_encoding_notes(config.encoding, trained),
                     f"source: NIR file {path}; reference: float (PyTorch) simulation of the "
                     f"graph with dt = {dt:g}"], chain=chain)


def _encoding_notes(encoding: str | None, trained: str) -> list[str]:
    """Notes on deploying with ``encoding`` a model trained (or meant) for ``trained`` input."""
    if not is_deployment_encoding(encoding):
        return []
    notes = [f"--encoding {encoding}: a device's form of the analogue input (graded: the pixels "
             "enter as graded spikes and the first layer holds them as a constant current); "
             "the reference is the model with constant (analogue) input"]
    if trained in SPIKE_ENCODINGS:
        notes.append(f"--encoding {encoding}: this model was trained with {trained} input; read "
                     "with analogue input it sees what it was not trained on (a legitimate "
                     "deployment, but its accuracy may differ from training's)")
    return notes
