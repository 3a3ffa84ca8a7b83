"""``neuropipe handoff verify``: checksums, then a re-simulation from the bundle's files only.

A bundle comes from someone else, so verify runs nothing it has not checked and accepts nothing
it has not used. In order, before any of the bundle's code runs: every file must be in the
manifest (an unlisted file is refused, not ignored); every checksum must match; the bundle's
script must be byte for byte the one this neuropipe writes; every other file is rebuilt from
``model.nir`` and the reference images (the deployed network, the chip input, the host layer,
the host readout, ``encoding.json``, the README) and compared; the manifest's claims about
``reference/`` are compared with its files. Only then is the script run (``python -I`` in a
temporary folder, so nothing beside it is imported), and its output spikes compared with
``reference/expected.npz`` spike for spike; the fast simulator's agreement the manifest records
is recomputed, not trusted.

Exit status: 0 when all of that holds; 1 naming the first file or sample that differs, is
damaged, is not listed, or that verify did not use (``BundleMismatch``); 2 for a path that is
not a bundle or an incomplete one (``BundleError``).
"""

from __future__ import annotations

import contextlib
import shutil
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from neuropipe.core.errors import NeuropipeError, RunDirError, TargetError
from neuropipe.pipeline.handoff import simulate
from neuropipe.pipeline.handoff.manifest import (
    CHECKSUMS,
    MANIFEST,
    Manifest,
    parse_checksums,
    sha256_of,
)
from neuropipe.pipeline.progress import make_progress
from neuropipe.targets.handoff.encoding import InputEncoding, decode
from neuropipe.targets.registry import get_handoff

COMMON = ("encoding.json", "reference/inputs.npz", "reference/expected.npz", "README.md")


class BundleError(NeuropipeError):
    """A bundle that cannot be read or is incomplete (exit 2)."""


class BundleMismatch(NeuropipeError):
    """A file or a reference sample that differs from what the bundle records (exit 1)."""

    exit_code = 1


@dataclass
class VerifyResult:
    """What ``verify`` checked.

    Attributes:
        target: The bundle's target.
        model: Model name.
        files: Files whose checksums matched (the manifest included).
        samples: Reference samples re-simulated and matched spike for spike.
        correct: Of which the predicted class is the true label.
        output_spikes: Output spikes compared.
        simulator: What re-simulated them.
        seconds: Wall time of the verification.
        fast_identical: Samples on which neuropipe's fast simulator, run again by verify on
            the bundle's network, gives the reference output spikes exactly.
    """

    target: str
    model: str
    files: int
    samples: int
    correct: int
    output_spikes: int
    simulator: str
    seconds: float
    fast_identical: int = 0


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Path]:
    """Yield the bundle's root folder; a ``.tar.gz`` is extracted safely into a temporary one.

    Raises:
        BundleError: If ``path`` is missing, not a bundle, or a tarball with an unsafe member
            (absolute path, ``..``, link or device) or that cannot be read.
    """
    path = Path(path)
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise BundleError(f"{path} does not exist: pass a bundle folder or .tar.gz made by "
                          "'neuropipe handoff'")
    folder = Path(tempfile.mkdtemp(prefix="neuropipe-handoff-verify-"))
    try:
        try:
            with tarfile.open(path, "r:*") as tar:
                for member in tar.getmembers():
                    parts = PurePosixPath(member.name).parts
                    if member.name.startswith("/") or ".." in parts or not (
                            member.isfile() or member.isdir()):
                        raise BundleError(f"{path}: unsafe member '{member.name}' (absolute "
                                          "path, '..', link or device): not extracted")
                tar.extractall(folder, filter="data")
        except (tarfile.TarError, EOFError, OSError) as e:
            lines = str(e).strip().splitlines()  # mode r:* lists every method it tried
            reason = lines[0] if len(lines) == 1 else (
                "not a tar archive (plain, gzip, bzip2 or xz) or a truncated one")
            raise BundleError(f"{path} is not a readable bundle (.tar.gz): {reason}") from e
        yield _root_of(folder, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _root_of(folder: Path, path: Path) -> Path:
    """The folder of an extracted tarball that holds the manifest."""
    if (folder / MANIFEST).is_file():
        return folder
    subfolders = [p for p in folder.iterdir() if p.is_dir()]
    if len(subfolders) == 1 and (subfolders[0] / MANIFEST).is_file():
        return subfolders[0]
    raise BundleError(f"{path} holds no {MANIFEST}: it is not a handoff bundle or is incomplete")


def _read_manifest(root: Path) -> tuple[Manifest, dict[str, str]]:
    for name in (MANIFEST, CHECKSUMS):
        if not (root / name).is_file():
            raise BundleError(f"{root} lacks {name}: the bundle is incomplete (make it again with "
                              "'neuropipe handoff')")
    try:
        checksums = parse_checksums((root / CHECKSUMS).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise BundleError(f"{root / CHECKSUMS} is not readable: {e}") from e
    if MANIFEST not in checksums:
        raise BundleMismatch(f"{CHECKSUMS} does not list {MANIFEST}")
    if sha256_of(root / MANIFEST) != checksums[MANIFEST]:
        raise BundleMismatch(f"{MANIFEST}: its SHA-256 differs from {CHECKSUMS}: the manifest "
                             "was changed after the bundle was made")
    try:
        manifest = Manifest.read(root / MANIFEST)
    except NeuropipeError as e:
        raise BundleError(str(e)) from e
    return manifest, checksums


def check_files(root: Path) -> Manifest:
    """Check that the manifest lists every file and every checksum matches; return it.

    Raises:
        BundleError: A missing file, or a bundle without the files its target needs.
        BundleMismatch: A file the manifest does not list, or the first file whose SHA-256
            differs (or is listed differently).
    """
    manifest, checksums = _read_manifest(root)
    listed = {f.path: f for f in manifest.files}
    present = {p.relative_to(root).as_posix() for p in root.rglob("*")
               if p.is_file() or p.is_symlink()}
    unlisted = sorted(present - set(listed) - {MANIFEST, CHECKSUMS})
    if unlisted:
        raise BundleMismatch(f"{unlisted[0]} is in the bundle but not in its manifest: verify "
                             "runs nothing beside files it has checked; remove it, or ask for "
                             "the bundle again")
    links = sorted(p for p in present if (root / p).is_symlink())
    if links:
        raise BundleMismatch(f"{links[0]} is a symbolic link: a bundle holds plain files only")
    outside = [p for p in (*listed, *checksums) if p.startswith("/") or ".." in p.split("/")]
    if outside:
        raise BundleError(f"the bundle names a file outside itself: '{outside[0]}'")
    try:
        needed = get_handoff(manifest.target).bundle_files
    except TargetError as e:
        raise BundleError(f"{root / MANIFEST} names an unknown target '{manifest.target}'") from e
    absent = [name for name in (*needed, *COMMON) if name not in listed]
    missing = [f.path for f in manifest.files if not (root / f.path).is_file()]
    if absent or missing:
        raise BundleError(f"the bundle is incomplete: {', '.join(missing or absent)} "
                          f"{'missing' if missing else 'not in its manifest'}")
    for entry in manifest.files:
        if checksums.get(entry.path) != entry.sha256:
            raise BundleMismatch(f"{entry.path}: {MANIFEST} and {CHECKSUMS} give different "
                                 "SHA-256 values: one of them was edited")
        if sha256_of(root / entry.path) != entry.sha256:
            raise BundleMismatch(f"{entry.path}: its SHA-256 differs from the manifest's: the "
                                 "file was changed after the bundle was made")
    extra = sorted(set(checksums) - set(listed) - {MANIFEST})
    if extra:
        raise BundleMismatch(f"{CHECKSUMS} lists {extra[0]}, which the manifest does not")
    return manifest


def check_script(root: Path, target: str) -> None:
    """Refuse a bundle script that is not byte for byte the one this neuropipe writes.

    The script is code from whoever made the bundle; verify runs only a copy it can vouch for.
    """
    hook = get_handoff(target)
    name = hook.script
    if (root / name).read_bytes() != Path(hook.script_source).read_bytes():
        raise BundleMismatch(f"{name} is not the script this neuropipe writes into bundles: "
                             "verify does not run code it has not checked; verify with the "
                             "neuropipe version the manifest names")


def _npz(root: Path, name: str) -> dict[str, np.ndarray]:
    """Every array of one of the bundle's ``.npz`` files; a damaged one is named."""
    try:
        with np.load(root / name, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise BundleMismatch(f"{name} is damaged (not a readable .npz: {e}); its checksum "
                             "was recomputed after the damage") from e


def _array(arrays: dict[str, np.ndarray], name: str, key: str) -> np.ndarray:
    if key not in arrays:
        raise BundleMismatch(f"{name} lacks the array '{key}'")
    return arrays[key]


def _load_expected(root: Path) -> tuple[Any, ...]:
    """Encoding, expected spikes, predicted classes, inputs and readout; checked together."""
    try:
        encoding = InputEncoding.read(root / "encoding.json")
    except NeuropipeError as e:
        raise BundleMismatch(f"encoding.json is damaged: {e}") from e
    expected_npz = _npz(root, "reference/expected.npz")
    expected = _array(expected_npz, "reference/expected.npz", "output_spikes")
    predicted = _array(expected_npz, "reference/expected.npz", "predicted")
    inputs = _npz(root, "reference/inputs.npz")
    labels = _array(inputs, "reference/inputs.npz", "labels")
    readout = None
    if encoding.readout not in ("", "readout.npz"):
        raise BundleMismatch(f"encoding.json names an unexpected readout file "
                             f"'{encoding.readout}'")
    if encoding.readout:
        arrays = _npz(root, encoding.readout)
        readout = (_array(arrays, encoding.readout, "weight"),
                   _array(arrays, encoding.readout, "bias"))
    if expected.dtype != bool or expected.ndim != 3 or predicted.ndim != 1 or \
            len(expected) != len(predicted) or labels.shape != predicted.shape:
        raise BundleMismatch("reference/expected.npz: its arrays do not fit together or with "
                             "reference/inputs.npz")
    try:
        decoded = decode(expected, encoding.window_start, encoding.window_stop, readout)
    except ValueError as e:
        raise BundleMismatch(f"{encoding.readout}: its shapes do not fit the output spikes "
                             f"({e})") from e
    wrong = np.flatnonzero(decoded != predicted)
    if wrong.size:
        raise BundleMismatch(f"reference/expected.npz: sample {wrong[0]}'s predicted class "
                             f"{predicted[wrong[0]]} is not what its spikes decode to "
                             f"({decoded[wrong[0]]})")
    window = _array(expected_npz, "reference/expected.npz", "window")
    if window.tolist() != [encoding.window_start, encoding.window_stop]:
        raise BundleMismatch("reference/expected.npz: its read-out window is not encoding.json's")
    return encoding, expected, predicted, inputs, readout


def _same(name: str, mine: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> None:
    """Refuse ``theirs`` (a bundle file's arrays) unless it holds exactly ``mine``."""
    for key in sorted(set(mine) | set(theirs)):
        if key not in theirs or key not in mine:
            raise BundleMismatch(f"{name}: the array '{key}' is in only one of the bundle's "
                                 "file and what its model.nir and reference images give")
        a, b = np.asarray(mine[key]), np.asarray(theirs[key])
        if a.shape != b.shape or a.dtype != b.dtype or not np.array_equal(a, b):
            raise BundleMismatch(f"{name}: '{key}' is not what the bundle's model.nir and "
                                 "reference images give")


def rebuild(root: Path, manifest: Manifest, encoding: InputEncoding,
            inputs: dict[str, np.ndarray], readout: Any) -> np.ndarray:
    """Rebuild every data file from ``model.nir`` and the reference images; compare each.

    The target's own public functions (those ``neuropipe handoff`` made the files with) turn
    the bundle's graph into the deployed network (``model.net`` must be what it quantises to;
    ``network.npz`` what it gives), the chip input of the images, the host layer and readout.

    Returns:
        The fast simulator's output spikes of the reference inputs ``(N, steps, classes)``.
    """
    from neuropipe.models.nir_export import read_nir
    from neuropipe.pipeline.handoff.bundle import _graph_dt
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.handoff import readout_arrays

    try:
        graph = read_nir(root / "model.nir")
        chain = to_chain(graph, _graph_dt(root, graph))
    except NeuropipeError as e:
        raise BundleMismatch(f"model.nir is damaged or not a network this neuropipe deploys: "
                             f"{e}") from e
    images = _array(inputs, "reference/inputs.npz", "images")
    labels = _array(inputs, "reference/inputs.npz", "labels")
    hook = get_handoff(manifest.target)
    deployed = root / hook.deployed
    try:
        ref = hook.reference(chain, deployed, images.astype(np.float64), labels, encoding.encoding,
                   encoding.timesteps, encoding.steps, encoding.seed or 0, encoding.dataset)
    except RunDirError as e:  # drop the deployment's re-deploy hint: this is a bundle
        raise BundleMismatch(str(e).split(": re-deploy with")[0].replace(
            "the deployment's model.nir", "the bundle's model.nir")) from e
    except (NeuropipeError, ValueError, OSError, KeyError) as e:
        raise BundleMismatch(f"{deployed.name} does not fit model.nir or the reference "
                             f"inputs: {e}") from e
    _same("reference/inputs.npz", ref.inputs, inputs)
    if ref.encoding.to_dict() != encoding.to_dict():
        changed = [k for k, v in ref.encoding.to_dict().items() if encoding.to_dict()[k] != v]
        raise BundleMismatch(f"encoding.json: '{changed[0]}' is not what the bundle's "
                             "model.nir gives")
    used = {"model.nir", deployed.name, "encoding.json", "reference/inputs.npz",
            "reference/expected.npz", "README.md", hook.script}
    if ref.host_layer is not None:
        _same("host_layer.npz", ref.host_layer, _npz(root, "host_layer.npz"))
        used.add("host_layer.npz")
    mine = readout_arrays(chain)
    if (mine is None) != (readout is None):
        raise BundleMismatch("readout.npz: the bundle's model.nir "
                             f"{'has no' if mine is None else 'has a'} host readout")
    if mine is not None:
        _same("readout.npz", mine, {"weight": readout[0], "bias": readout[1]})
        used.add("readout.npz")
    if ref.network is not None:
        # The rebuild above already refused a network file whose weights or metadata are not
        # what model.nir gives; what is left to compare is the reference samples it carries.
        try:
            arrays = hook.read_network(deployed)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise BundleMismatch(f"{deployed.name} is damaged: {e}") from e
        _same(deployed.name, ref.network[1], arrays)
    if hook.resources_file:
        _check_resources(root, manifest, hook)
        used.add(hook.resources_file)
    unused = sorted({f.path for f in manifest.files} - used)
    if unused:
        raise BundleMismatch(f"{unused[0]} is in the manifest but verify does not use it for "
                             f"a {manifest.target} bundle of this model: it was not checked")
    return np.asarray(ref.fast_output, dtype=bool)


def _check_resources(root: Path, manifest: Manifest, hook: Any) -> None:
    """The hook's resources file (``placement.json``) must give the manifest's resources."""
    name = hook.resources_file
    try:
        resources = hook.resources(root, manifest.resources.steps_per_sample)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise BundleMismatch(f"{name} is damaged: {type(e).__name__}: {e}") from e
    if resources.to_dict() != manifest.resources.to_dict():
        raise BundleMismatch(f"{name} does not give the manifest's resources (cores, "
                             f"chips, boards): {resources.cores} cores on {resources.chips} "
                             f"chip(s), the manifest says {manifest.resources.cores} on "
                             f"{manifest.resources.chips}")


def check_claims(root: Path, manifest: Manifest, encoding: InputEncoding, expected: np.ndarray,
                 predicted: np.ndarray, labels: np.ndarray) -> None:
    """The manifest's summary of ``reference/`` and the README must be what the files give."""
    from neuropipe.pipeline.handoff.readme import render

    ref = manifest.reference
    window = expected[:, encoding.window_start:encoding.window_stop].sum(axis=(1, 2))
    claims = (("samples", ref.samples, len(expected)),
              ("labels", ref.labels, labels.tolist()),
              ("predicted", ref.predicted, predicted.tolist()),
              ("output_spikes", ref.output_spikes, window.tolist()))
    for name, claimed, actual in claims:
        if claimed != actual:
            raise BundleMismatch(f"{MANIFEST}: reference.{name} is not what reference/ holds")
    readme = Manifest.from_dict(manifest.to_dict())
    readme.files = [f for f in readme.files if f.path != "README.md"]
    if (root / "README.md").read_text(encoding="utf-8", errors="replace") != \
            render(readme, encoding):
        raise BundleMismatch("README.md is not the README this neuropipe writes for the "
                             "bundle's manifest: it was edited")


def _fast_agreement(manifest: Manifest, fast: np.ndarray, expected: np.ndarray) -> int:
    """Samples on which the fast simulator gives the reference spikes; the manifest's claim."""
    same = [bool(np.array_equal(a, b)) for a, b in zip(fast, expected, strict=True)] \
        if fast.shape == expected.shape else [False] * len(expected)
    claimed = manifest.reference.fast_simulator
    if claimed.get("samples_identical") != sum(same) or claimed.get("samples") != len(same):
        raise BundleMismatch(
            f"{MANIFEST}: the fast simulator is said to agree on "
            f"{claimed.get('samples_identical')} of {claimed.get('samples')} reference inputs; "
            f"run again by verify it agrees on {sum(same)} of {len(same)}")
    return sum(same)


def verify_bundle(path: Path, show_progress: bool = False) -> VerifyResult:
    """Verify a bundle folder or ``.tar.gz``.

    Raises:
        BundleError: Not a bundle, an incomplete one, or its network cannot be simulated.
        BundleMismatch: The first file or reference sample that differs, is damaged, is not
            listed, or is not used by verify.
    """
    started = time.perf_counter()
    with opened(path) as root:
        manifest = check_files(root)
        check_script(root, manifest.target)
        encoding, expected, predicted, inputs, readout = _load_expected(root)
        labels = inputs["labels"]
        fast = rebuild(root, manifest, encoding, inputs, readout)
        check_claims(root, manifest, encoding, expected, predicted, labels)
        fast_identical = _fast_agreement(manifest, fast, expected)
        try:
            progress = make_progress()
            progress.disable = not show_progress  # rich's Progress then draws nothing
            with progress:
                task = progress.add_task(
                    f"verify: {get_handoff(manifest.target).short_name} run of reference/",
                    total=None)
                got = simulate.output_spikes(root, manifest.target, len(expected))
                progress.update(task, total=1, completed=1)
        except simulate.SimulationError as e:
            raise BundleError(f"cannot re-simulate the bundle's network: {e}") from e
    if got.shape != expected.shape:
        raise BundleMismatch(f"the re-simulation gives output spikes of shape {got.shape}, "
                             f"reference/expected.npz holds {expected.shape}")
    for k, (mine, theirs) in enumerate(zip(got, expected, strict=True)):
        if not np.array_equal(mine, theirs):
            step, neuron = np.argwhere(mine != theirs)[0]
            now = decode(got[k:k + 1], encoding.window_start, encoding.window_stop, readout)[0]
            raise BundleMismatch(
                f"sample {k} (label {labels[k]}): output spikes differ from "
                f"reference/expected.npz, first at step {step}, neuron {neuron} "
                f"({int(mine.sum())} spikes instead of {int(theirs.sum())}; class {now}, "
                f"expected {predicted[k]})")
    return VerifyResult(
        target=manifest.target, model=manifest.model, files=len(manifest.files) + 1,
        samples=len(expected), correct=int(np.sum(predicted == labels)),
        output_spikes=int(expected.sum()), simulator=manifest.reference.simulator,
        seconds=time.perf_counter() - started, fast_identical=fast_identical)
