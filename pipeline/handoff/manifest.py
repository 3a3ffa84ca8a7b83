"""The bundle's manifest (``manifest.json``) and its checksum files.

The manifest names every file of the bundle with its SHA-256 and size, and carries what the
hardware team needs besides the network: library versions, the resources the target needs, the
accuracy expected on the simulated target, the energy estimates with their cost-model citations
and levels, and the training footprint. ``checksums.sha256`` repeats every checksum, the
manifest's own included, in ``sha256sum -c`` format, so an edited manifest is caught too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuropipe.core.records import Record
from neuropipe.targets.records import EnergyEstimate, Resources

FORMAT = "neuropipe-handoff"
MANIFEST = "manifest.json"
CHECKSUMS = "checksums.sha256"


@dataclass
class BundleFile(Record):
    """One file of the bundle.

    Attributes:
        path: Relative to the bundle's root, ``/``-separated.
        sha256: Hex SHA-256 of its bytes.
        bytes: Its size.
        role: What it is for.
    """

    type_tag = "handoff-file"
    path: str = ""
    sha256: str = ""
    bytes: int = 0
    role: str = ""


@dataclass
class ExpectedAccuracy(Record):
    """Accuracy of the deployed network on the simulated target.

    Attributes:
        accuracy: Fraction correct on the target's simulation.
        samples: Test images it was measured on.
        reference_accuracy: The trained model (PyTorch) on the same images.
        simulator: What produced the figure.
        verification: The deployment's own checks (spike match with Lava or NEST...).
    """

    type_tag = "handoff-accuracy"
    accuracy: float = 0.0
    samples: int = 0
    reference_accuracy: float | None = None
    simulator: str = ""
    verification: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingFootprint(Record):
    """Energy and emissions of training the model (the run's ``energy.json``, summarised).

    Attributes:
        duration_s: Seconds of training measured.
        energy_j: Energy of the measured window, joules.
        methods: How each component was obtained (``measured`` or ``estimate``) and why.
        kwh: Energy in kWh.
        kwh_pue: kWh times the PUE.
        co2e_kg: Emissions, kg CO2-equivalent.
        constants: PUE and carbon intensity with their sources.
        leaves_out: What the figures do not include.
    """

    type_tag = "handoff-training-footprint"
    duration_s: float = 0.0
    energy_j: float = 0.0
    methods: dict[str, str] = field(default_factory=dict)
    kwh: float = 0.0
    kwh_pue: float = 0.0
    co2e_kg: float = 0.0
    constants: dict[str, Any] = field(default_factory=dict)
    leaves_out: list[str] = field(default_factory=list)


@dataclass
class ReferenceSummary(Record):
    """What ``reference/`` holds.

    Attributes:
        samples: Reference inputs (the first test images of the dataset).
        simulator: What produced the expected output spikes.
        labels: True classes of the reference inputs.
        predicted: Classes decoded from the expected output spikes.
        output_spikes: Output spikes of each sample over the read-out window.
        fast_simulator: neuropipe's fast simulator of the target (the one the accuracy comes
            from) and how many samples it reproduced spike for spike.
    """

    type_tag = "handoff-reference"
    samples: int = 0
    simulator: str = ""
    labels: list[int] = field(default_factory=list)
    predicted: list[int] = field(default_factory=list)
    output_spikes: list[int] = field(default_factory=list)
    fast_simulator: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest(Record):
    """Everything a bundle holds and claims, with the checksum of every file.

    Attributes:
        format: Always ``neuropipe-handoff``.
        created: UTC time the bundle was made (ISO 8601).
        target: The target (one with a handoff hook: ``loihi``, ``spinnaker``).
        model: Model name of the run.
        dataset: Dataset of the reference inputs and the accuracy.
        source_run: The run directory the bundle was made from (for the record only; the
            bundle needs nothing from it).
        files: Every file of the bundle except this manifest and ``checksums.sha256``.
        versions: neuropipe and every library, as installed when the bundle was made.
        deployed_with: The versions the deployment recorded.
        resources: What the target needs (cores, chips, steps per sample...).
        expected_accuracy: Accuracy on the simulated target.
        energy: Every cost model's energy per inference, with level, citations and what it
            leaves out.
        training_footprint: Energy and CO2e of training, if the run measured it.
        reference: What ``reference/`` holds.
        notes: Anything else the hardware team should know.
    """

    type_tag = "handoff-manifest"
    format: str = FORMAT
    created: str = ""
    target: str = ""
    model: str = ""
    dataset: str = ""
    source_run: str = ""
    files: list[BundleFile] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    deployed_with: dict[str, str] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    expected_accuracy: ExpectedAccuracy = field(default_factory=ExpectedAccuracy)
    energy: list[EnergyEstimate] = field(default_factory=list)
    training_footprint: TrainingFootprint | None = None
    reference: ReferenceSummary = field(default_factory=ReferenceSummary)
    notes: list[str] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_files(root: Path, roles: dict[str, str]) -> list[BundleFile]:
    """Checksum every file under ``root`` (but the manifest and checksum file), sorted."""
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel in (MANIFEST, CHECKSUMS):
            continue
        files.append(BundleFile(path=rel, sha256=sha256_of(path), bytes=path.stat().st_size,
                                role=roles.get(rel, "")))
    return files


def checksum_lines(root: Path, files: list[BundleFile]) -> str:
    """``checksums.sha256``: every file and the manifest, as ``sha256sum`` prints them."""
    entries = [(f.sha256, f.path) for f in files]
    entries.append((sha256_of(root / MANIFEST), MANIFEST))
    return "".join(f"{digest}  {path}\n" for digest, path in sorted(entries, key=lambda e: e[1]))


def parse_checksums(text: str) -> dict[str, str]:
    """Read ``checksums.sha256`` into ``{path: sha256}``.

    Raises:
        ValueError: On a line that is not ``<64 hex digits>  <path>``.
    """
    out = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, path = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"line {number} is not '<sha256>  <path>'")
        out[path.lstrip("*")] = digest
    return out
