"""The contract every deployment target implements, and the records a deployment produces."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from neuropipe.core.records import Record


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
        graph: The spiking network as a ``nir.NIRGraph``.
        inputs: Evaluation samples, float32 in [0, 1], shape ``(N, *input_shape)``.
        labels: Integer class labels, shape ``(N,)``.
        timesteps: Simulation steps per sample (before any pipeline delay a backend adds).
        encoding: ``"constant"`` (the same analogue input every step) or ``"poisson"``
            (Bernoulli spikes with probability equal to the pixel value each step).
        dt: The step the graph's continuous time constants are discretised with. neuropipe's
            own graphs use dt = 1 (time in steps); graphs from elsewhere may need another.
        seed: Seed of the input spike generator (``poisson`` encoding).
        reference_accuracy: Accuracy of the same model in PyTorch on the same samples.
    """

    graph: Any
    inputs: Any
    labels: Any
    timesteps: int
    encoding: str = "constant"
    dt: float = 1.0
    seed: int = 0
    reference_accuracy: float | None = None


@dataclass
class EnergyTerm(Record):
    """One line of an energy breakdown.

    Attributes:
        name: What is counted (``synops``, ``neuron_updates``, ``static``, ``host_input``...).
        joules_per_inference: Energy of this term per inference, in joules; None when the term
            is named but could not be estimated (``method`` ``not-estimated``, reason in
            ``note``).
        kind: ``dynamic``, ``static`` or ``host``.
        method: How it was obtained: ``cost-model``, ``measured``, ``estimate`` or
            ``not-estimated``.
        quantity: The count or duration the cost is applied to (per inference).
        unit_cost: The per-unit cost, with its unit in ``unit``.
        unit: Unit of ``unit_cost`` (``pJ/synop``, ``W``...).
        source: Citation of the constant.
        note: Why a term is not estimated, or anything else about it.
    """

    type_tag = "energy-term"
    name: str = ""
    joules_per_inference: float | None = 0.0
    kind: str = "dynamic"
    method: str = "cost-model"
    quantity: float = 0.0
    unit_cost: float = 0.0
    unit: str = ""
    source: str = ""
    note: str = ""


def joules_of(terms: list[EnergyTerm], kind: str | None = None) -> float:
    """Sum of the estimated terms (of one ``kind``, or all); terms not estimated count nothing."""
    return float(sum(t.joules_per_inference for t in terms
                     if t.joules_per_inference is not None and kind in (None, t.kind)))


@dataclass
class LayerReport(Record):
    """Counts and quantisation of one layer of a deployed network (per inference).

    Attributes:
        name: NIR node name of the layer's synapses or neurons.
        kind: Layer kind (``dense``, ``conv``, ``lif``...).
        neurons: Neurons in the layer.
        synapses: Nonzero synapses feeding it.
        spikes_per_inference: Mean spikes emitted by its neurons per inference.
        synops_per_inference: Mean synaptic operations it caused per inference.
        neuron_updates_per_inference: Neuron updates per inference.
        quantisation: Backend-specific quantisation details (weight bits, exponent, error...).
    """

    type_tag = "layer-report"
    name: str = ""
    kind: str = ""
    neurons: int = 0
    synapses: int = 0
    spikes_per_inference: float = 0.0
    synops_per_inference: float = 0.0
    neuron_updates_per_inference: float = 0.0
    quantisation: dict[str, Any] = field(default_factory=dict)


@dataclass
class DeploymentRecord(Record):
    """The result of running a workload on one target; written to ``targets/<name>/``.

    Attributes:
        target: Registered target name.
        accuracy: Accuracy on the target, as a fraction.
        reference_accuracy: Accuracy of the PyTorch model on the same samples.
        samples: Samples evaluated.
        timesteps: Steps per sample.
        synops_per_inference: Mean synaptic operations per inference.
        neuron_updates_per_inference: Neuron updates per inference.
        energy_per_inference_j: Estimated energy per inference, in joules: the sum of the
            estimated terms of ``energy_breakdown`` (chip dynamic plus host work).
        chip_energy_per_inference_j: Of which the chip's dynamic energy (kind ``dynamic``).
        host_energy_per_inference_j: Of which work done on the host for the chip (kind ``host``).
        energy_breakdown: Every term, labelled by kind; terms that could not be estimated (the
            chip's static energy) are listed with ``joules_per_inference`` None.
        cost_model: ``{"name": ..., "sources": [...]}`` of the per-operation costs used.
        layers: Per-layer counts and quantisation.
        verification: How the fast path was checked against the reference simulator.
        leaves_out: What the energy figure does not include.
        resources: Hardware resources needed (cores, chips...).
        artifacts: Files written beside the record, relative to its folder.
        notes: Anything else a reviewer should know.
    """

    type_tag = "deployment"
    target: str = ""
    accuracy: float = 0.0
    reference_accuracy: float | None = None
    samples: int = 0
    timesteps: int = 0
    synops_per_inference: float = 0.0
    neuron_updates_per_inference: float = 0.0
    energy_per_inference_j: float = 0.0
    chip_energy_per_inference_j: float = 0.0
    host_energy_per_inference_j: float = 0.0
    energy_breakdown: list[EnergyTerm] = field(default_factory=list)
    cost_model: dict[str, Any] = field(default_factory=dict)
    layers: list[LayerReport] = field(default_factory=list)
    verification: dict[str, Any] = field(default_factory=dict)
    leaves_out: list[str] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def replace(self, **changes: Any) -> DeploymentRecord:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@runtime_checkable
class Target(Protocol):
    """What every deployment target implements.

    Attributes:
        name: The registered name (``loihi``, ``spinnaker``, ``cpu``, ``gpu``).
        description: One line for ``--help`` and reports.
    """

    name: str
    description: str

    def availability(self) -> Availability:
        """Probe whether the backend runs here (cheap; never raises)."""
        ...

    def supports(self, graph: Any) -> list[str]:
        """List what in ``graph`` this target cannot run (empty if everything is supported).

        Each entry names the node and says what is supported instead.
        """
        ...

    def deploy(self, workload: Workload, out_dir: Path, **options: Any) -> DeploymentRecord:
        """Run the workload, write artefacts into ``out_dir`` and return the record.

        The caller writes the record itself (atomically) to ``out_dir / "deployment.json"``.
        """
        ...
