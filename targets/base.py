"""The contract every deployment target implements: availability, support, deployment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from neuropipe.targets.records import DeploymentRecord


@dataclass(frozen=True)
class Availability:
    """Whether a target's backend can run here, and why not.

    Attributes:
        available: True if the backend imports and runs on this machine.
        reason: Why it is unavailable, with what to do about it; when available, what was
            checked (``doctor`` prints it either way).
    """

    available: bool
    reason: str = ""


@dataclass
class Workload:
    """What a target runs: a NIR graph, the evaluation data, and how the data are presented.

    Attributes:
        graph: The spiking network as a ``nir.NIRGraph``, or already read as a
            ``targets.chain.Chain`` (``convert`` reads the graph once; ``to_chain`` returns a
            chain as it is).
        inputs: Evaluation samples, float32 in [0, 1], shape ``(N, *input_shape)``.
        labels: Integer class labels, shape ``(N,)``.
        timesteps: Simulation steps per sample (before any pipeline delay a backend adds).
        encoding: ``"constant"`` (the same analogue input every step), ``"poisson"``
            (Bernoulli spikes with probability equal to the pixel value each step), ``"rate"``
            (regular spikes of an integrate-and-fire encoder per pixel), ``"latency"`` (one
            spike per nonzero pixel, earlier for brighter; see ``core.spike_codes``), ``"graded"``
            (Loihi 2: the pixels enter the chip once per sample as graded spikes into the first
            synapse layer) or ``"sdnn"`` (Loihi 2: a conventional network run as itself, as a
            sigma-delta network with graded messages). A target accepts those in its
            ``encodings``.
        dt: The step the graph's continuous time constants are discretised with. neuropipe's
            own graphs use dt = 1 (time in steps); graphs from elsewhere may need another.
        seed: Seed of the input spike generator (``poisson`` encoding).
        reference_accuracy: Accuracy of the same model in PyTorch on the same samples.
        onnx: Path of a conventional network's ONNX model: host targets run it as it is
            (``graph`` is then None); neuromorphic targets take the converted ``graph``.
    """

    graph: Any
    inputs: Any
    labels: Any
    timesteps: int
    encoding: str = "constant"
    dt: float = 1.0
    seed: int = 0
    reference_accuracy: float | None = None
    onnx: str | None = None


@runtime_checkable
class Target(Protocol):
    """What every deployment target implements.

    Attributes:
        name: The registered name (``loihi``, ``spinnaker``, ``cpu``, ``gpu``).
        description: One line for ``--help`` and reports.
        levels: The levels its energy estimates can be at (``core.levels``); a sweep objective
            at another level is refused before anything runs.
        encodings: The input encodings (``Workload.encoding``) it runs; ``convert`` refuses
            another before any work, naming the targets that take it.
    """

    name: str
    description: str
    levels: tuple[str, ...]
    encodings: tuple[str, ...]

    def availability(self) -> Availability:
        """Probe whether the backend runs here (cheap; never raises)."""
        ...

    def supports(self, graph: Any, dt: float = 1.0) -> list[str]:
        """List what in ``graph`` this target cannot run (empty if everything is supported).

        Each entry names the node and says what is supported instead.
        """
        ...

    def deploy(self, workload: Workload, out_dir: Path, **options: Any) -> DeploymentRecord:
        """Run the workload, write artefacts into ``out_dir`` and return the record.

        The caller writes the record itself (atomically) to ``out_dir / "deployment.json"``.
        """
        ...
