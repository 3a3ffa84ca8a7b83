"""SpiNNaker's published constants: per-operation energies and the SpiNN-5 board model."""

from __future__ import annotations

from neuropipe.targets.costs import HOST_INPUT_LAYER, CostModel, OpCost

# sPyNNaker runs in real time with a 1 ms step (its default): an inference lasts steps x 1 ms.
TIMESTEP_S = 1e-3
# sPyNNaker's default ceiling of neurons per core (1!7.4.1) and application cores per chip
# (18 cores, one runs SCAMP and one the monitor). SpiNNMachine version_5.py: 48 chips a board.
NEURONS_PER_CORE = 256
APP_CORES_PER_CHIP = 16
CHIPS_PER_BOARD = 48
# SpiNNaker 2: 152 processing elements per chip (SpiNNMachine version_spin2.py).
SPINNAKER2_PES_PER_CHIP = 152

_SPINN_MACHINE = ("SpiNNMachine 1!7.4.1, spinn_machine/version/version_spin1.py and version_5.py "
                  "(the SpiNNaker software's own energy model)")
# SpiNNMachine version_spin1.py: WATTS_PER_IDLE_CHIP = 0.35 (a 48-chip board idles at
# 16.82 W including 0.90 W of SDRAM, / 48); WATTS_PER_CORE_ACTIVE_OVERHEAD = 0.034
# (31.88 W idle vs 59.38 W with 806 cores active); JOULES_PER_ROUTER_BIT = 25 pJ, so a 40-bit
# multicast packet costs 1 nJ. A unit test checks these against the installed SpiNNMachine.
IDLE_CHIP_W = 0.35
ACTIVE_CORE_W = 0.034
PACKET_NJ = 1.0

SPINN5_BOARD = CostModel(
    name="spinn5-spinnmachine",
    level="system",
    entries=(
        OpCost("idle_chips", "chip_seconds", IDLE_CHIP_W, "W", "static", "system",
               f"{_SPINN_MACHINE}: 0.35 W per idle chip (WATTS_PER_IDLE_CHIP)"),
        OpCost("active_cores", "core_seconds", ACTIVE_CORE_W, "W", "dynamic", "system",
               f"{_SPINN_MACHINE}: +0.034 W per active core (WATTS_PER_CORE_ACTIVE_OVERHEAD)"),
        OpCost("router_packets", "router_traversals", PACKET_NJ, "nJ/packet", "dynamic",
               "system", f"{_SPINN_MACHINE}: 25 pJ per router bit, 1 nJ per 40-bit multicast "
               "packet at each router it passes (JOULES_PER_PACKET)"),
        HOST_INPUT_LAYER,
    ),
    notes=(
        "SpiNN-5 model of the SpiNNaker software (SpiNNMachine get_active_energy with the chips "
        "in use, no board or frame overhead): idle power of every chip used plus active power "
        "of every application core, over the inference's real time (steps x 1 ms), plus 1 nJ "
        "per multicast packet at each router on its route.",
        "Cores and chips come from sPyNNaker's own placement on a virtual SpiNN-5 board; "
        "packets are spikes from a reference simulation times the routers on each source "
        "core's route in sPyNNaker's routing tables (a virtual board records no counters).",
    ),
    leaves_out=(
        "the rest of the board: idle chips not used by the network, the board's 5.04 W boxing "
        "overhead and the frame (a 48-chip board idles at 26.84 W in the same model)",
        "loading the network and reading results back (host-board I/O)",
        "the host computer's own power",
    ),
)

_KERAS_SPIKING = ("Hoeppner et al. 2019 (arXiv 1903.08941), as tabulated by KerasSpiking "
                  "ModelEnergy")


def _per_op(name: str, chip: str, synop: float, synop_unit: str, update: float,
            update_unit: str, notes: tuple[str, ...], leaves_out: tuple[str, ...]) -> CostModel:
    """A chip-level model: a synaptic event and a neuron update, plus the host's first layer."""
    return CostModel(
        name=name, level="chip",
        entries=(
            OpCost("synops", "synops", synop, f"{synop_unit}/synop", "dynamic", "chip",
                   f"{_KERAS_SPIKING}: {chip}, {synop} {synop_unit} per synaptic operation"),
            OpCost("neuron_updates", "neuron_updates", update, f"{update_unit}/update",
                   "dynamic", "chip",
                   f"{_KERAS_SPIKING}: {chip}, {update} {update_unit} per neuron update"),
            HOST_INPUT_LAYER),
        notes=notes, leaves_out=leaves_out)


# As tabulated by KerasSpiking's ModelEnergy device table (keras_spiking/model_energy.py), citing
# Hoeppner et al. 2019 (arXiv 1903.08941); the paper's own table was not checked.
SPINNAKER1_PER_OP = _per_op(
    "spinnaker1-per-op", "SpiNNaker 1", 13.3, "nJ", 26.0, "nJ",
    notes=("Per-operation energies of SpiNNaker 1 (ARM968, 130 nm) as tabulated by "
           "KerasSpiking; static power and routing are not in them.",),
    leaves_out=(
        "static (idle) power of the chips: see the spinn5-spinnmachine estimate of the same "
        "record, which includes it",
        "spike routing (router packets)",
        "host-board I/O and the host computer's own power",
    ))

SPINNAKER2_PER_OP = _per_op(
    "spinnaker2-per-op", "SpiNNaker 2", 450.0, "pJ", 2.19, "nJ",
    notes=("Per-operation energies of SpiNNaker 2 (22 nm) as tabulated by KerasSpiking; "
           "SpiNNMachine's own SpiNNaker 2 energy functions raise 'Spin2 idle/active energy "
           "unknown', so no board model is applied.",),
    leaves_out=(
        "static (idle) power: no published figure is used for SpiNNaker 2",
        "spike routing between processing elements and chips",
        "host-board I/O and the host computer's own power",
    ))
