"""``neuropipe handoff verify``: checksums, then a re-simulation from the bundle's files only.

Exit status: 0 when every file matches its checksum and every reference sample's output spikes
are reproduced; 1 naming the first file or sample that differs (``BundleMismatch``); 2 for a
bundle that cannot be read or is incomplete (``BundleError``).
"""

from __future__ import annotations

import contextlib
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from neuropipe.core.errors import NeuropipeError
from neuropipe.pipeline.handoff import simulate
from neuropipe.pipeline.handoff.encoding import InputEncoding, decode
from neuropipe.pipeline.handoff.manifest import (
    CHECKSUMS,
    MANIFEST,
    Manifest,
    parse_checksums,
    sha256_of,
)
from neuropipe.pipeline.progress import make_progress

REQUIRED = {
    "loihi": ("model.nir", "model.net", simulate.LAVA_SCRIPT),
    "spinnaker": ("model.nir", "network.npz", simulate.PYNN_SCRIPT, "placement.json"),
}
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
        unlisted: Files present in the bundle but not in its manifest (ignored).
    """

    target: str
    model: str
    files: int
    samples: int
    correct: int
    output_spikes: int
    simulator: str
    seconds: float
    unlisted: list[str] = field(default_factory=list)


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


def check_files(root: Path) -> tuple[Manifest, list[str]]:
    """Check every checksum; return the manifest and the files it does not list.

    Raises:
        BundleError: A missing file, or a bundle without the files its target needs.
        BundleMismatch: The first file whose SHA-256 differs (or is listed differently).
    """
    manifest, checksums = _read_manifest(root)
    listed = {f.path: f for f in manifest.files}
    outside = [p for p in (*listed, *checksums) if p.startswith("/") or ".." in p.split("/")]
    if outside:
        raise BundleError(f"the bundle names a file outside itself: '{outside[0]}'")
    needed = REQUIRED.get(manifest.target)
    if needed is None:
        raise BundleError(f"{root / MANIFEST} names an unknown target '{manifest.target}'")
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
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    return manifest, sorted(present - set(listed) - {MANIFEST, CHECKSUMS})


def _load_expected(root: Path) -> tuple[Any, ...]:
    """Encoding, expected spikes, predicted classes, labels and readout; checked together."""
    try:
        encoding = InputEncoding.read(root / "encoding.json")
        with np.load(root / "reference" / "expected.npz", allow_pickle=False) as data:
            expected = np.asarray(data["output_spikes"], dtype=bool)
            predicted = np.asarray(data["predicted"])
        with np.load(root / "reference" / "inputs.npz", allow_pickle=False) as data:
            labels = np.asarray(data["labels"])
        readout = None
        if encoding.readout not in ("", "readout.npz"):
            raise BundleError(f"encoding.json names an unexpected readout file "
                              f"'{encoding.readout}'")
        if encoding.readout:
            with np.load(root / encoding.readout, allow_pickle=False) as data:
                readout = (np.asarray(data["weight"]), np.asarray(data["bias"]))
    except (NeuropipeError, OSError, KeyError, ValueError) as e:
        raise BundleError(f"the bundle's reference files are not readable: {e}") from e
    if expected.ndim != 3 or len(expected) != len(predicted) or len(labels) != len(expected):
        raise BundleMismatch("reference/expected.npz: its arrays do not fit together")
    decoded = decode(expected, encoding.window_start, encoding.window_stop, readout)
    wrong = np.flatnonzero(decoded != predicted)
    if wrong.size:
        raise BundleMismatch(f"reference/expected.npz: sample {wrong[0]}'s predicted class "
                             f"{predicted[wrong[0]]} is not what its spikes decode to "
                             f"({decoded[wrong[0]]})")
    return encoding, expected, predicted, labels, readout


def verify_bundle(path: Path, show_progress: bool = False) -> VerifyResult:
    """Verify a bundle folder or ``.tar.gz``.

    Raises:
        BundleError: Unreadable or incomplete bundle, or its network cannot be simulated.
        BundleMismatch: The first file or reference sample that differs.
    """
    started = time.perf_counter()
    with opened(path) as root:
        manifest, unlisted = check_files(root)
        encoding, expected, predicted, labels, readout = _load_expected(root)
        try:
            progress = make_progress()
            progress.disable = not show_progress  # rich's Progress then draws nothing
            with progress:
                task = progress.add_task(
                    f"verify: {simulate.SHORT_NAMES[manifest.target]} run of reference/",
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
        seconds=time.perf_counter() - started, unlisted=unlisted)
