"""The records a deployment writes: counts, energy terms and estimates, resources, provenance.

``DeploymentRecord`` is what ``targets/<name>/deployment.json`` holds; every part a reader
depends on is a typed record, so a reader never guesses at a free dict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from neuropipe.core.levels import figure_at
from neuropipe.core.records import Record


@dataclass
class EnergyTerm(Record):
    """One line of an energy breakdown.

    Attributes:
        name: What is counted (``synops``, ``neuron_updates``, ``idle_chips``...).
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
        level: ``arithmetic``, ``chip``, ``system`` or ``measured``.
        cost_model: Name of the cost model the constant belongs to.
        note: Why a term is not estimated, or anything else about it.
    """

    type_tag = "energy-term"
    schema_version = 2
    name: str = ""
    joules_per_inference: float | None = 0.0
    kind: str = "dynamic"
    method: str = "cost-model"
    quantity: float = 0.0
    unit_cost: float = 0.0
    unit: str = ""
    source: str = ""
    level: str = ""
    cost_model: str = ""
    note: str = ""


def joules_of(terms: list[EnergyTerm], *kinds: str) -> float:
    """Sum of the estimated terms (of the given kinds, or all); unestimated terms count 0."""
    return float(sum(t.joules_per_inference for t in terms
                     if t.joules_per_inference is not None and (not kinds or t.kind in kinds)))


@dataclass
class EnergyEstimate(Record):
    """The energy per inference of one deployment under one cost model.

    Attributes:
        cost_model: Name of the cost model.
        level: Its level (``chip``, ``system``...); host terms carry their own level.
        default: True for the estimate the record's headline figures come from.
        total_j: Sum of the estimated terms, joules per inference.
        dynamic_j: Of which the device's activity (kind ``dynamic``).
        static_j: Of which the device's idle power over the inference (kind ``static``).
        host_j: Of which work on the host computer for the device (kind ``host``).
        terms: Every term, estimated or not.
        sources: Citations of the constants.
        notes: Caveats of the model.
        leaves_out: What the figure does not include.
    """

    type_tag = "energy-estimate"
    cost_model: str = ""
    level: str = ""
    default: bool = False
    total_j: float = 0.0
    dynamic_j: float = 0.0
    static_j: float = 0.0
    host_j: float = 0.0
    terms: list[EnergyTerm] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    leaves_out: list[str] = field(default_factory=list)

    @property
    def estimated(self) -> bool:
        """False when no term has a value: then ``total_j`` is no figure at all."""
        return any(t.joules_per_inference is not None for t in self.terms)

    @classmethod
    def of(cls, terms: list[EnergyTerm], cost_model: str, level: str, sources: list[str],
           notes: list[str], leaves_out: list[str], default: bool = False) -> EnergyEstimate:
        """An estimate made of ``terms``, its totals summed from them by kind."""
        return cls(cost_model=cost_model, level=level, default=default,
                   total_j=joules_of(terms), dynamic_j=joules_of(terms, "dynamic"),
                   static_j=joules_of(terms, "static"), host_j=joules_of(terms, "host"),
                   terms=terms, sources=list(sources), notes=list(notes),
                   leaves_out=list(leaves_out))

    @classmethod
    def from_terms(cls, model: Any, terms: list[EnergyTerm], default: bool = False
                   ) -> EnergyEstimate:
        """Sum ``terms`` computed with cost model ``model`` (a ``costs.CostModel``)."""
        return cls.of(terms, model.name, model.level, model.sources, list(model.notes),
                      list(model.leaves_out), default)


@dataclass
class LayerReport(Record):
    """Counts and quantisation of one layer of a deployed network (per inference).

    Attributes:
        name: NIR node name of the layer's synapses.
        kind: Layer kind (``dense``, ``conv``).
        neurons: Neurons in the layer.
        synapses: Nonzero synapses feeding it, as deployed (quantised weights on chip).
        synapses_on: ``chip``, or ``host`` for a first layer computed on the host.
        spikes_per_inference: Mean spikes emitted by its neurons per inference.
        synops_per_inference: Mean synaptic operations on the device it caused per inference.
        host_macs_per_inference: Multiply-accumulates done on the host (host layers).
        neuron_updates_per_inference: Neuron updates per inference.
        quantisation: Backend-specific quantisation details (weight bits, exponent, error...).
        ops: Conventional operations of the layer per inference (host targets): ``dense``
            (what the hardware executes), ``effective`` (nonzero input x nonzero weight) and
            ``op`` (``MAC`` or ``AC``).
        graded_events_per_inference: Graded (integer-valued) synaptic events it received on
            the device per inference: nonzero graded messages x nonzero deployed fan-out
            (apart from ``synops_per_inference``, binary spikes' events).
    """

    type_tag = "layer-report"
    schema_version = 3
    ADDED_LATER: ClassVar[dict[str, Any]] = {"graded_events_per_inference": 0.0}
    name: str = ""
    kind: str = ""
    neurons: int = 0
    synapses: int = 0
    synapses_on: str = "chip"
    spikes_per_inference: float = 0.0
    synops_per_inference: float = 0.0
    host_macs_per_inference: float = 0.0
    neuron_updates_per_inference: float = 0.0
    quantisation: dict[str, Any] = field(default_factory=dict)
    ops: dict[str, Any] = field(default_factory=dict)
    graded_events_per_inference: float = 0.0


@dataclass
class Counts(Record):
    """What one inference does on the device, summed over layers.

    Attributes:
        synops: Synaptic operations on the device (spikes times deployed nonzero fan-out).
        neuron_updates: Neuron updates (neurons times steps).
        host_macs: Multiply-accumulates on the host (a first layer fed analogue input).
        spikes: Spikes emitted by the network's neurons (input spikes not included).
        input_spikes: Spikes of the encoded input that reach the device.
        packets: Multicast packets sent (None where the target does not model routing).
        router_traversals: Packets times routers each passes (None where not modelled).
        ops: Conventional operations (host targets): ``dense_macs``, ``dense_acs``,
            ``effective_macs``, ``effective_acs`` per inference.
        graded_events: Graded (integer-valued) synaptic events on the device: each nonzero
            graded message times its nonzero deployed fan-out (Loihi 2 graded input, sigma-delta
            networks). Counted apart from ``synops``, which are binary spikes' events.
    """

    type_tag = "counts"
    schema_version = 2
    ADDED_LATER: ClassVar[dict[str, Any]] = {"graded_events": 0.0}
    synops: float = 0.0
    neuron_updates: float = 0.0
    host_macs: float = 0.0
    spikes: float = 0.0
    input_spikes: float = 0.0
    packets: float | None = None
    router_traversals: float | None = None
    ops: dict[str, float] = field(default_factory=dict)
    graded_events: float = 0.0


@dataclass
class Resources(Record):
    """The hardware a deployment needs, and where that figure comes from.

    Attributes:
        cores: Cores (or processing elements) used.
        chips: Chips used.
        boards: Boards used (None where the target has no board model).
        neurons_per_core_limit: The per-core neuron limit used for placement.
        steps_per_sample: Steps each sample runs on the device (input steps plus pipeline delay).
        time_per_inference_s: Wall time of one inference on the device (None where unknown).
        placement: How cores and chips were obtained (a mapper's placement, or an estimate).
        details: Target-specific details (per-population placement, routing table sizes...).
    """

    type_tag = "resources"
    cores: int = 0
    chips: int = 0
    boards: int | None = None
    neurons_per_core_limit: int = 0
    steps_per_sample: int = 0
    time_per_inference_s: float | None = None
    placement: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Provenance(Record):
    """What was deployed, from where, with which libraries.

    Attributes:
        source: The run directory or NIR file deployed.
        model: The model name (``snn-mlp``...), or ``nir-file`` for a graph made elsewhere.
        dataset: The evaluation dataset.
        encoding: Input encoding (``constant``, a spike code, ``graded``, ``sdnn``).
        timesteps: Input steps per sample.
        graph_sha256: SHA-256 of the deployed ``model.nir``.
        versions: Versions of neuropipe and of every library the deployment used.
    """

    type_tag = "provenance"
    source: str = ""
    model: str = ""
    dataset: str = ""
    encoding: str = ""
    timesteps: int = 0
    graph_sha256: str = ""
    versions: dict[str, str] = field(default_factory=dict)


@dataclass
class DeploymentRecord(Record):
    """The result of running a workload on one target; written to ``targets/<name>/``.

    Attributes:
        target: Registered target name.
        accuracy: Accuracy on the target, as a fraction.
        reference_accuracy: Accuracy of the PyTorch model on the same samples.
        samples: Samples evaluated.
        timesteps: Input steps per sample.
        counts: What one inference does (synops, neuron updates, host MACs, packets...).
        synops_per_inference: ``counts.synops``, kept at the top for readers and tables.
        neuron_updates_per_inference: ``counts.neuron_updates``.
        energy_per_inference_j: The default estimate's total (device plus host work), joules.
        chip_energy_per_inference_j: Of which the device (dynamic plus any estimated static).
        host_energy_per_inference_j: Of which work done on the host for the device.
        energy_breakdown: The default estimate's terms.
        estimates: Every cost model's estimate, side by side, each with level and sources.
        layers: Per-layer counts and quantisation.
        verification: How the fast path was checked against the reference simulator.
        resources: Hardware resources needed.
        provenance: What was deployed, from where, with which library versions.
        leaves_out: What the energy figures do not include.
        artifacts: Files written beside the record, relative to its folder.
        notes: Anything else a reviewer should know.
        network: What runs on the device: ``ann`` (a conventional network: its ONNX model on a
            host, a sigma-delta network on Loihi, the ANN on the same-silicon accelerator) or
            ``snn`` (a spiking network, trained or converted). ``""`` in records written before
            the field existed: readers then take ``ann`` for an ANN run on a host target and
            ``snn`` otherwise (what those records meant).
    """

    type_tag = "deployment"
    schema_version = 2
    ADDED_LATER: ClassVar[dict[str, Any]] = {"network": ""}
    target: str = ""
    accuracy: float = 0.0
    reference_accuracy: float | None = None
    samples: int = 0
    timesteps: int = 0
    counts: Counts = field(default_factory=Counts)
    synops_per_inference: float = 0.0
    neuron_updates_per_inference: float = 0.0
    energy_per_inference_j: float = 0.0
    chip_energy_per_inference_j: float = 0.0
    host_energy_per_inference_j: float = 0.0
    energy_breakdown: list[EnergyTerm] = field(default_factory=list)
    estimates: list[EnergyEstimate] = field(default_factory=list)
    layers: list[LayerReport] = field(default_factory=list)
    verification: dict[str, Any] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    provenance: Provenance = field(default_factory=Provenance)
    leaves_out: list[str] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    network: str = ""

    def replace(self, **changes: Any) -> DeploymentRecord:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def default_estimate(self) -> EnergyEstimate:
        """The estimate the headline figures come from."""
        return next(e for e in self.estimates if e.default)

    def figure_at(self, level: str, cost_model: str | None = None) -> EnergyEstimate | None:
        """The figure at ``level``: the default estimate if at that level, else the first.

        With ``cost_model``, only that cost model's estimate; never one that estimated nothing
        (``core.levels.figure_at``, which the report's rows use too).

        Returns:
            The estimate, or None when the record has no figure there.
        """
        return figure_at(self.estimates, level, cost_model)


def deployment_record(target: str, *, accuracy: float, reference_accuracy: float | None,
                      samples: int, timesteps: int, counts: Counts,
                      estimates: list[EnergyEstimate], **parts: Any) -> DeploymentRecord:
    """Build a record whose headline figures are taken from its counts and default estimate.

    Raises:
        ValueError: If not exactly one estimate is the default (a bug in the target).
    """
    defaults = [e for e in estimates if e.default]
    if len(defaults) != 1:
        raise ValueError(f"target '{target}' gives {len(defaults)} default estimates; one needed")
    main = defaults[0]
    return DeploymentRecord(
        target=target, accuracy=accuracy, reference_accuracy=reference_accuracy,
        samples=samples, timesteps=timesteps, counts=counts,
        synops_per_inference=counts.synops, neuron_updates_per_inference=counts.neuron_updates,
        energy_per_inference_j=main.total_j,
        chip_energy_per_inference_j=main.dynamic_j + main.static_j,
        host_energy_per_inference_j=main.host_j, energy_breakdown=list(main.terms),
        estimates=estimates, **parts)
