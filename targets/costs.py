"""Published per-operation energy costs, each constant with its source (units in the names)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CostModel:
    """Per-operation energies of one platform.

    Attributes:
        name: Short name of the model (recorded in deployment records).
        energy_per_synop_pj: Energy of one synaptic operation, picojoules.
        energy_per_neuron_update_pj: Energy of one neuron update, picojoules.
        sources: Citations of the constants, in the order of the fields.
        notes: Caveats a reader must see beside any figure computed with this model.
    """

    name: str
    energy_per_synop_pj: float
    energy_per_neuron_update_pj: float
    sources: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        """The model as recorded in a deployment record."""
        return {"name": self.name, "energy_per_synop_pj": self.energy_per_synop_pj,
                "energy_per_neuron_update_pj": self.energy_per_neuron_update_pj,
                "sources": list(self.sources), "notes": list(self.notes)}


LOIHI_1 = CostModel(
    name="loihi1-davies2018",
    # Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip Learning",
    # IEEE Micro 38(1), 2018, Table 1: minimum energy per synaptic spike operation, 14 nm.
    energy_per_synop_pj=23.6,
    # Davies et al. 2018: energy per neuron update, active neuron (81 pJ; 52 pJ inactive).
    # Marked "(check)" in our references; KerasSpiking's ModelEnergy uses the same 81 pJ.
    energy_per_neuron_update_pj=81.0,
    sources=(
        "Davies et al., IEEE Micro 38(1), 2018: 23.6 pJ per synaptic spike op (minimum)",
        "Davies et al., IEEE Micro 38(1), 2018: 81 pJ per active neuron update (52 pJ "
        "inactive) (check); as used by KerasSpiking ModelEnergy",
    ),
    notes=(
        "Lava's Loihi2SimCfg simulates Loihi 2 semantics, but the only published per-operation "
        "energies are Loihi 1's (Davies et al. 2018): no per-synop figure exists for Loihi 2.",
        "Minimum per-op energies: spike routing between cores (1.7 pJ in-tile, 3.0-4.2 pJ per "
        "tile hop) and static power are not included.",
    ),
)

# Loihi 2 board static power measured in lava-dl's PilotNet tutorials (0.23-0.28 W). Reported
# beside Loihi figures, not added to them: converting it to joules per inference needs the
# chip's time per step, which no reference here gives.
LOIHI2_STATIC_POWER_W = (0.23, 0.28)
LOIHI2_STATIC_SOURCE = ("lava-dl PilotNet tutorials (Loihi 2 board): static power "
                        "0.23-0.28 W")

# Degnan, Marr & Hasler, IEEE TVLSI 24(1), 2015, as tabulated in KerasSpiking's ModelEnergy:
# one synaptic op (one MAC) on an Intel i7-4960X costs 8.6 nJ at system level.
CPU_ENERGY_PER_MAC_NJ = 8.6
CPU_MAC_SOURCE = ("Degnan, Marr & Hasler, IEEE TVLSI 24(1), 2015 (via KerasSpiking "
                  "ModelEnergy): 8.6 nJ per MAC on an Intel i7-4960X")

# Loihi 1: 128 neuromorphic cores per chip, up to 1,024 neurons per core (Davies et al. 2018)
# (check).
LOIHI_CORES_PER_CHIP = 128
LOIHI_NEURONS_PER_CORE = 1024
