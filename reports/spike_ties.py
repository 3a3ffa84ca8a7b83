"""Where spikes pay: the spike rate at which a spiking configuration ties its baseline.

A figure's terms that scale with spikes (``synops``, ``synops_*``, ``spike_queue*``,
``router_packets``...) are scaled linearly with the synaptic events per inference; every other
term (neuron updates, static power, graded input events) stays fixed. With the measured figure
``E = F + S`` (``F`` fixed, ``S`` spike-driven) at ``r`` synaptic events per deployed synapse,
the figure at rate ``x`` is ``F + S·x/r``, and it ties a baseline ``B`` at
``x* = r·(B − F)/S``. When ``F ≥ B`` no rate ties: the fixed terms alone exceed the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neuropipe.core.records import Record

if TYPE_CHECKING:
    from neuropipe.reports.rows import ConfigRow, EstimateRow

# Term names (or their stems) whose energy scales with spikes.
SPIKE_TERMS = ("synops", "spike_queue", "router_packets", "router_traversals", "packets")

TIES = "ties"
FIXED_EXCEEDS = "fixed-terms-exceed"
NO_SPIKE_TERM = "no-spike-term"


def is_spike_term(name: str) -> bool:
    """True for ``synops``, ``synops_*``, ``spike_queue*``, ``router_packets`` and the like."""
    return any(name == stem or name.startswith(stem + "_") or
               (stem == "spike_queue" and name.startswith(stem)) for stem in SPIKE_TERMS)


@dataclass
class SpikeTie(Record):
    """One spiking configuration at one level against its conventional baseline.

    Attributes:
        run: Run label.
        target: Target name.
        level: Level of both figures.
        cost_model: Cost model of the configuration's figure.
        accuracy: Its accuracy.
        synapses: Nonzero synapses deployed on the device.
        synops: Synaptic events per inference (measured).
        rate: ``synops / synapses``: spikes per synapse per inference (None: synapses unknown).
        energy_j: Its figure at ``level`` (terms at other levels left out).
        spike_j: Of which terms that scale with spikes.
        fixed_j: Of which terms that do not.
        baseline_run: The conventional baseline's run.
        baseline_target: Its target.
        baseline_j: Its figure at ``level``.
        tie_synops: Synaptic events per inference at which the two figures are equal.
        tie_rate: The same per deployed synapse (None: no tie, or synapses unknown).
        verdict: ``ties``, ``fixed-terms-exceed`` (no rate ties) or ``no-spike-term``.
        whole_on_device: False when its first layer runs on the host: then a chip-level row
            compares the chip part only (the host term is shown apart).
    """

    type_tag = "report-spike-tie"
    run: str = ""
    target: str = ""
    level: str = ""
    cost_model: str = ""
    accuracy: float = 0.0
    synapses: int = 0
    synops: float = 0.0
    rate: float | None = None
    energy_j: float = 0.0
    spike_j: float = 0.0
    fixed_j: float = 0.0
    baseline_run: str = ""
    baseline_target: str = ""
    baseline_j: float = 0.0
    tie_synops: float | None = None
    tie_rate: float | None = None
    verdict: str = NO_SPIKE_TERM
    whole_on_device: bool = True

    def energy_at(self, rate: float) -> float:
        """The figure at ``rate`` spikes per synapse (fixed terms plus scaled spike terms)."""
        if not self.rate:
            return self.energy_j
        return self.fixed_j + self.spike_j * rate / self.rate


def tie(config: ConfigRow, estimate: EstimateRow, baseline_j: float) -> SpikeTie:
    """``config``'s figure in ``estimate`` against ``baseline_j``: the rate that would tie."""
    rate = config.spikes_per_synapse
    row = SpikeTie(run=config.run, target=config.target, level=estimate.level,
                   cost_model=estimate.cost_model, accuracy=config.accuracy,
                   synapses=config.device_synapses, synops=config.synops, rate=rate,
                   energy_j=estimate.figure_j, spike_j=estimate.spike_j,
                   fixed_j=estimate.figure_j - estimate.spike_j, baseline_j=baseline_j,
                   whole_on_device=not (config.host_first_layer and estimate.off_level_j > 0))
    if row.fixed_j >= baseline_j:
        row.verdict = FIXED_EXCEEDS
    elif row.spike_j > 0 and row.synops > 0:
        row.verdict = TIES
        row.tie_synops = row.synops * (baseline_j - row.fixed_j) / row.spike_j
        row.tie_rate = row.tie_synops / row.synapses if row.synapses else None
    return row


def spike_ties(configs: list[ConfigRow], threshold: float, levels: list[str]
               ) -> list[SpikeTie]:
    """Every spiking configuration at every level where it has a figure and a baseline."""
    from neuropipe.reports.comparison import conventional_baseline

    rows = []
    for c in configs:
        if c.conventional:
            continue
        for level in c.levels:
            estimate = c.at_level(level)
            base = conventional_baseline(configs, c.target, level, threshold)
            if level not in levels or estimate is None or base is None:
                continue
            row = tie(c, estimate, base[1].figure_j)
            row.baseline_run, row.baseline_target = base[0].run, base[0].target
            rows.append(row)
    return rows
