"""Loihi's published constants: per-operation energies, static power, cores and neurons."""

from __future__ import annotations

import math

from neuropipe.targets.costs import HOST_INPUT_LAYER, CostModel, OpCost
from neuropipe.targets.records import Resources

# Loihi 2 board static power measured in lava-dl's PilotNet tutorials (0.23-0.28 W). Named
# beside Loihi figures, not added to them: converting it to joules per inference needs the
# chip's time per step, which no reference here gives.
LOIHI2_STATIC_POWER_W = (0.23, 0.28)
LOIHI2_STATIC_SOURCE = ("lava-dl PilotNet tutorials (Loihi 2 board): static power "
                        "0.23-0.28 W")

# Loihi 1: 128 neuromorphic cores per chip, up to 1,024 neurons per core (Davies et al. 2018)
# (check).
LOIHI_CORES_PER_CHIP = 128
LOIHI_NEURONS_PER_CORE = 1024

GRADED_EVENT_SOURCE = (
    "stand-in: Davies et al., IEEE Micro 38(1), 2018: 23.6 pJ per synaptic spike op (Loihi 1 "
    "minimum); no per-operation energy is published for Loihi 2's graded spikes, and a graded "
    "event (a multiply by its integer payload) may cost more")

LOIHI_1 = CostModel(
    name="loihi1-davies2018",
    level="chip",
    entries=(
        # Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip Learning",
        # IEEE Micro 38(1), 2018, Table 1: minimum energy per synaptic spike operation, 14 nm.
        OpCost("synops", "synops", 23.6, "pJ/synop", "dynamic", "chip",
               "Davies et al., IEEE Micro 38(1), 2018: 23.6 pJ per synaptic spike op (minimum)"),
        # Davies et al. 2018: energy per neuron update, active neuron (81 pJ; 52 pJ inactive).
        # Marked "(check)" in our references; KerasSpiking's ModelEnergy uses the same 81 pJ.
        # Loihi 2's graded spikes (integer payloads) have no published energy: Loihi 1's
        # minimum per synaptic spike op stands in, and a graded event (a multiply by the
        # payload) may cost more. The measured Loihi 2 figures (PilotNet) bound the magnitude.
        OpCost("graded_events", "graded_events", 23.6, "pJ/event", "dynamic", "chip",
               GRADED_EVENT_SOURCE),
        OpCost("neuron_updates", "neuron_updates", 81.0, "pJ/update", "dynamic", "chip",
               "Davies et al., IEEE Micro 38(1), 2018: 81 pJ per active neuron update (52 pJ "
               "inactive) (check); as used by KerasSpiking ModelEnergy"),
        OpCost("static", "seconds", LOIHI2_STATIC_POWER_W[0], "W", "static", "measured",
               LOIHI2_STATIC_SOURCE, missing=(
                   "static power times the time per inference; a Loihi 2 board draws "
                   f"{LOIHI2_STATIC_POWER_W[0]}-{LOIHI2_STATIC_POWER_W[1]} W idle, but no "
                   "reference gives the chip's time per step for this network, so it is not "
                   "added")),
        HOST_INPUT_LAYER,
    ),
    notes=(
        "Lava's Loihi2SimCfg simulates Loihi 2 semantics, but the only published per-operation "
        "energies are Loihi 1's (Davies et al. 2018): no per-synop figure exists for Loihi 2.",
        "Graded synaptic events (Loihi 2's integer-valued spikes: graded input, sigma-delta "
        "networks) are costed with Loihi 1's per-synop minimum as a stand-in: none is published "
        "for Loihi 2, and a graded event may cost more than a binary one.",
        "Minimum per-op energies: spike routing between cores (1.7 pJ in-tile, 3.0-4.2 pJ per "
        "tile hop) and static power are not included.",
    ),
    leaves_out=(
        "static (idle) power of the chip: Loihi 2 board static power is 0.23-0.28 W (lava-dl "
        "PilotNet tutorials), but no reference gives the time per step needed to turn it into "
        "joules per inference",
        "spike routing between cores (1.7 pJ in-tile, 3.0-4.2 pJ per tile hop, Davies et al. "
        "2018)",
        "host-chip I/O: moving inputs onto and results off the chip",
        "off-chip memory and the host computer's own static power",
    ),
)


def loihi_resources(neurons_per_layer: list[int], steps: int) -> Resources:
    """Cores and chips of a network on Loihi: each layer on ceil(neurons / 1,024) cores.

    Args:
        neurons_per_layer: Neurons of each layer deployed on the chip.
        steps: Steps each sample runs on the chip.
    """
    cores = sum(math.ceil(n / LOIHI_NEURONS_PER_CORE) for n in neurons_per_layer)
    return Resources(
        cores=cores, chips=math.ceil(cores / LOIHI_CORES_PER_CHIP), boards=None,
        neurons_per_core_limit=LOIHI_NEURONS_PER_CORE, steps_per_sample=steps,
        time_per_inference_s=None,
        placement="estimate: neurons / 1,024 per core, Loihi 1 (check); synapse memory per "
                  "core not checked")
