"""Builds a handoff bundle from a run's deployment, through the target's handoff hook.

The bundle is assembled in a temporary folder beside ``--out`` and renamed into place only when
complete (a ``.tar.gz`` is written to a temporary file and renamed the same way): an interrupted
handoff leaves nothing at ``--out``, and ``--force`` replaces an earlier bundle only once the new
one is whole.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import json
import os
import shlex
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.core.errors import (
    InputError,
    InterruptedRun,
    NeuropipeError,
    RunDirError,
)
from neuropipe.core.files import check_writable, umask_mode, write_error, write_text_atomic
from neuropipe.core.rundir import RunDir, refuse_inside_targets
from neuropipe.core.staging import exclusive, make_staging, remove_staging, swap_in
from neuropipe.pipeline.handoff import simulate
from neuropipe.pipeline.handoff.manifest import (
    CHECKSUMS,
    MANIFEST,
    ExpectedAccuracy,
    Manifest,
    ReferenceSummary,
    TrainingFootprint,
    checksum_lines,
    describe_files,
)
from neuropipe.pipeline.handoff.readme import render
from neuropipe.pipeline.progress import make_progress
from neuropipe.targets.handoff import Reference, readout_arrays
from neuropipe.targets.handoff.encoding import decode
from neuropipe.targets.records import DeploymentRecord
from neuropipe.targets.registry import get_handoff

COMMON_PACKAGES = ("numpy", "torch", "nir", "norse", "h5py")
# What each file of every bundle is; a target's own files are its hook's ``roles``.
ROLES = {
    "model.nir": "the deployed graph (NIR), float parameters",
    "host_layer.npz": "the first layer, run on the host for analogue input (float weights and "
                      "the factors of the chip-input rule)",
    "readout.npz": "the host readout: class scores W @ c + b of the output layer's spike "
                   "counts c in the read-out window",
    "encoding.json": "the exact input encoding and output decoding",
    "reference/inputs.npz": "reference images, labels, and what the chip receives for them",
    "reference/expected.npz": "expected output spikes per step and predicted classes",
    "README.md": "this bundle explained for the hardware team",
}


@dataclass
class HandoffConfig:
    """Options of ``neuropipe handoff``.

    Attributes:
        run: The run directory (with a deployment to ``target``).
        target: A target with a handoff hook (``targets.registry.HANDOFFS``).
        out: The bundle's folder, or a ``.tar.gz`` file.
        reference_inputs: How many test images go into ``reference/``.
        force: Replace an existing bundle at ``out``.
        seed: Seed of the reference inputs' Poisson spikes (``poisson`` encoding only).
    """

    run: Path
    target: str
    out: Path
    reference_inputs: int = 16
    force: bool = False
    seed: int = 0


def is_tarball(path: Path) -> bool:
    """Whether ``path`` names a gzipped tar file."""
    return Path(path).name.endswith(".tar.gz")


def make_bundle(config: HandoffConfig) -> tuple[Manifest, Path]:
    """Write the bundle; return its manifest and where it is.

    Raises:
        TargetError: For a target without a handoff hook.
        InputError: For a reference count below 1.
        RunDirError: If the run has no deployment to the target, or ``out`` exists (without
            ``--force``, or is not a bundle).
        InterruptedRun: On Ctrl-C (nothing is left at ``out``).
    """
    get_handoff(config.target)  # a target without a handoff hook is refused, naming those with one
    if config.reference_inputs < 1:
        raise InputError(f"--reference-inputs must be at least 1, got {config.reference_inputs}")
    out = Path(config.out)
    refuse_inside_targets(out)
    _refuse_existing(out, config.force)
    run_root = Path(config.run)
    record, folder = _deployment(run_root, config.target)
    fix = "choose another --out"
    check_writable(out.parent, fix)
    x, labels, dataset, notes = _reference_images(run_root, record, config.reference_inputs)
    held = contextlib.ExitStack()  # one handoff to the same --out at a time
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        held.enter_context(exclusive(out.parent / f".{out.name}.lock", str(out)))
        _refuse_existing(out, config.force)  # again, now that no other handoff writes it
        staging = make_staging(out.parent, f".{out.name}.", ".partial")
    except BaseException as e:
        held.close()
        if isinstance(e, OSError):
            raise write_error(e, out.parent, fix) from e
        raise
    try:
        root = staging / (out.name[:-len(".tar.gz")] if is_tarball(out) else out.name)
        root.mkdir()
        with make_progress() as progress:
            manifest = _assemble(root, run_root, folder, record, config, x, labels, dataset,
                                 notes, progress)
        _move_into_place(staging, root, out)
    except KeyboardInterrupt as e:
        raise InterruptedRun(f"interrupted; nothing was written at {out}"
                             + (" and the earlier bundle is kept" if out.exists() else "")) from e
    except OSError as e:
        raise write_error(e, out, f"{fix}; nothing was written at {out}") from e
    finally:
        remove_staging(staging)
        held.close()
    return manifest, out


def _refuse_existing(out: Path, force: bool) -> None:
    """Refuse an existing ``out`` without ``--force``, and anything but a bundle with it."""
    if not out.exists() and not out.is_symlink():
        return
    if not force:
        raise RunDirError(f"{out} already exists; pass --force to replace it (it is kept until "
                          "the new bundle is complete)")
    if is_tarball(out):
        if not out.is_file():
            raise RunDirError(f"{out} is not a file: --force only replaces bundles; choose "
                              "another --out")
        return
    manifest = out / MANIFEST
    try:
        is_bundle = json.loads(manifest.read_text(encoding="utf-8")).get("type") == \
            Manifest.type_tag
    except (OSError, ValueError, AttributeError):
        is_bundle = False
    if not out.is_dir() or not is_bundle:
        raise RunDirError(f"{out} is not a handoff bundle (no {MANIFEST}): --force only replaces "
                          "bundles; choose another --out")


def _deployment(run_root: Path, target: str) -> tuple[DeploymentRecord, Path]:
    """The run's deployment record to ``target`` and its folder; a one-line hint if missing."""
    if not run_root.is_dir():
        raise RunDirError(f"run directory {run_root} does not exist: pass a folder made by "
                          "'neuropipe train'")
    path = RunDir(run_root).deployment(target)
    folder = path.parent
    if not path.is_file():
        raise RunDirError(f"{run_root} has no deployment to {target}: run 'neuropipe convert "
                          f"{shlex.quote(str(run_root))} --target {target}' first")
    record = DeploymentRecord.read(path)
    if record.target != target:
        raise RunDirError(f"{path} is a deployment to '{record.target}', not {target}")
    hook = get_handoff(target)
    hook.check_deployment(record, folder, run_root)
    missing = [name for name in hook.deployment_files if not (folder / name).is_file()]
    if missing:
        raise RunDirError(f"the deployment in {folder} lacks {', '.join(missing)}: re-deploy with "
                          f"'neuropipe convert {shlex.quote(str(run_root))} --target {target} "
                          "--force'")
    return record, folder


def _reference_images(run_root: Path, record: DeploymentRecord, n: int
                      ) -> tuple[np.ndarray, np.ndarray, str, list[str]]:
    """The first ``n`` test images of the deployment's dataset (as the model takes them)."""
    from neuropipe.models.data.datasets import load_dataset
    from neuropipe.models.training import to_tensor

    dataset = record.provenance.dataset or "mnist"
    data_dir = None
    run = RunDir(run_root)
    if run.config.is_file():
        from neuropipe.models.records import TrainConfig

        trained = TrainConfig.read(run.config)
        if trained.dataset == dataset:
            data_dir = trained.data_dir
    data = load_dataset(dataset, data_dir)
    notes = []
    if n > len(data.test_y):
        notes.append(f"{n} reference inputs were asked for; the test set has "
                     f"{len(data.test_y)}, so the bundle holds {len(data.test_y)}")
        n = len(data.test_y)
    x = to_tensor(data.test_x[:n]).numpy().astype(np.float64)
    return x, np.asarray(data.test_y[:n], dtype=np.int64), dataset, notes


def _graph_dt(run_root: Path, graph: Any) -> float:
    """A run's graphs count time in steps (dt = 1); a bare graph's dt is in its metadata."""
    if RunDir(run_root).config.is_file():
        return 1.0
    meta = dict(getattr(graph, "metadata", None) or {})
    try:
        return float(np.asarray(meta.get("dt", 1.0)).item())
    except (TypeError, ValueError):
        return 1.0


def _assemble(root: Path, run_root: Path, folder: Path, record: DeploymentRecord,
              config: HandoffConfig, x: np.ndarray, labels: np.ndarray, dataset: str,
              notes: list[str], progress: Any) -> Manifest:
    """Write every file of the bundle into ``root``; return the manifest written."""
    from neuropipe.models.nir_export import read_nir
    from neuropipe.targets.chain import to_chain

    hook = get_handoff(config.target)
    graph = read_nir(folder / "model.nir")
    chain = to_chain(graph, _graph_dt(run_root, graph))
    encoding = record.provenance.encoding or "constant"
    task = progress.add_task("handoff: reference inputs", total=None)
    ref = hook.reference(chain, folder / hook.deployed, x, labels, encoding, record.timesteps,
                         record.resources.steps_per_sample, config.seed, dataset)
    progress.update(task, total=1, completed=1)
    shutil.copyfile(folder / "model.nir", root / "model.nir")
    hook.write_files(root, folder, ref)
    if ref.host_layer is not None:
        np.savez(root / "host_layer.npz", **ref.host_layer)
    readout = readout_arrays(chain)
    if readout is not None:
        np.savez(root / "readout.npz", **readout)
    (root / "reference").mkdir()
    np.savez(root / "reference" / "inputs.npz", **ref.inputs)
    ref.encoding.write(root / "encoding.json")
    task = progress.add_task(f"handoff: {hook.short_name} run of reference/", total=None)
    expected = simulate.output_spikes(root, config.target, len(x))
    progress.update(task, total=1, completed=1)
    window = (ref.encoding.window_start, ref.encoding.window_stop)
    predicted = decode(expected, *window, None if readout is None else
                       (readout["weight"], readout["bias"]))
    np.savez(root / "reference" / "expected.npz", output_spikes=expected, predicted=predicted,
             window=np.array(window))
    window_spikes = expected[:, window[0]:window[1]].sum(axis=(1, 2))
    notes.extend(_silence_notes(window_spikes))
    fast = _fast_agreement(ref, expected, notes)
    if encoding == "poisson":
        notes.append("the deployment's accuracy was measured with input spikes drawn in batches "
                     "of 500 images from convert's --seed; the reference inputs' spikes are "
                     f"drawn for them alone with seed {config.seed} and stored in "
                     "reference/inputs.npz")
    summary = ReferenceSummary(
        samples=len(x), simulator=ref.simulator, labels=[int(v) for v in labels],
        predicted=[int(v) for v in predicted], output_spikes=[int(v) for v in window_spikes],
        fast_simulator=fast)
    manifest = _manifest(record, config, dataset, run_root, ref, summary, notes)
    roles = {**ROLES, **hook.roles}
    manifest.files = describe_files(root, roles)  # the README lists them
    write_text_atomic(root / "README.md", render(manifest, ref.encoding))
    manifest.files = describe_files(root, roles)
    manifest.write(root / MANIFEST)
    write_text_atomic(root / CHECKSUMS, checksum_lines(root, manifest.files))
    return manifest


def _fast_agreement(ref: Reference, expected: np.ndarray, notes: list[str]) -> dict[str, Any]:
    """How far the fast simulator gives the expected spikes; a note where it does not."""
    agree = [bool(np.array_equal(a, b)) for a, b in zip(expected, ref.fast_output, strict=True)]
    if not all(agree):
        notes.append(f"the fast simulator the accuracy comes from differs from "
                     f"{ref.simulator.split(':')[0]} on {len(agree) - sum(agree)} of "
                     f"{len(agree)} reference inputs (first: sample {agree.index(False)})")
    return {"simulator": ref.fast_simulator, "samples_identical": int(sum(agree)),
            "samples": len(agree),
            "summary": f"{ref.fast_simulator} gives the same output spikes on {sum(agree)} of "
                       f"{len(agree)} reference inputs."}


def _silence_notes(window_spikes: np.ndarray) -> list[str]:
    """A note on the reference inputs that give no output spikes in the read-out window."""
    silent = int(np.sum(window_spikes == 0))
    if not silent:
        return []
    return [f"{silent} of {len(window_spikes)} reference inputs cause no output spikes in the "
            "read-out window: for them a chip that stays silent also matches; more training, "
            "or more --reference-inputs, makes the reference stronger"]


def _manifest(record: DeploymentRecord, config: HandoffConfig, dataset: str, run_root: Path,
              ref: Reference, summary: ReferenceSummary, notes: list[str]) -> Manifest:
    """The bundle's manifest, without its files (they are listed once all are written)."""
    return Manifest(
        created=_dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        target=config.target, model=record.provenance.model, dataset=dataset,
        source_run=str(run_root.resolve()), versions=_versions(config.target),
        deployed_with=dict(record.provenance.versions), resources=record.resources,
        expected_accuracy=ExpectedAccuracy(
            accuracy=record.accuracy, samples=record.samples,
            reference_accuracy=record.reference_accuracy, simulator=ref.fast_simulator,
            verification=record.verification),
        energy=list(record.estimates), training_footprint=_training_footprint(run_root),
        reference=summary, notes=[*notes, *ref.notes, *record.notes])


def _versions(target: str) -> dict[str, str]:
    """Versions of neuropipe and of every library the bundle's files were made with."""
    from neuropipe.targets.registry import get_target

    versions = {}
    for package in ("neuropipe", *COMMON_PACKAGES, *get_target(target).packages):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "missing"
    return versions


def _training_footprint(run_root: Path) -> TrainingFootprint | None:
    """The run's training energy and CO2e, if it recorded them."""
    from neuropipe.reports.energy_record import EnergyRecord

    path = RunDir(run_root).energy
    if not path.is_file():
        return None
    try:
        energy = EnergyRecord.read(path)
    except NeuropipeError:
        return None
    methods = {c.component: c.note or c.method for c in energy.total.components}
    return TrainingFootprint(duration_s=energy.duration_s, energy_j=energy.total.total_j,
                             methods=methods, kwh=energy.kwh, kwh_pue=energy.kwh_pue,
                             co2e_kg=energy.co2e_kg, constants=dict(energy.constants),
                             leaves_out=list(energy.leaves_out))


def _move_into_place(staging: Path, root: Path, out: Path) -> None:
    """Rename the finished bundle (or its tarball) onto ``out``; an old one goes only after."""
    if is_tarball(out):
        tmp = staging / "bundle.tar.gz"
        with tarfile.open(tmp, "w:gz") as tar:
            tar.add(root, arcname=root.name)
        tmp.chmod(umask_mode(0o666))
        os.replace(tmp, out)
        return
    swap_in(root, out, staging / "replaced")  # an old bundle goes only once the new one is in

