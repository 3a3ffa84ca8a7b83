"""Every entry of the host and SpiNNaker cost models as published (energy-references.md):
what each term counts, its constant and unit, its kind and level, and whose figure it is."""

import pytest

from neuropipe.targets.host import costs as host
from neuropipe.targets.spinnaker import costs as spin

HOST = ("host_input_layer", "host_macs", 8.6, "nJ/MAC", "host", "system")


def rows(model):
    return [(e.name, e.count, e.cost, e.unit, e.kind, e.level) for e in model.entries]


@pytest.mark.parametrize("model, name, which, mac, ac, note", [
    # Horowitz 2014, 45 nm: fp32 MAC = 3.7 + 0.9 pJ, add 0.9 pJ; int8 MAC = 0.2 + 0.03, add 0.03.
    (host.HOROWITZ_FP32, "horowitz-fp32", "dense", 4.6, 0.9, "32-bit float"),
    (host.HOROWITZ_FP32_EFFECTIVE, "horowitz-fp32-effective", "effective", 4.6, 0.9,
     "32-bit float"),
    (host.HOROWITZ_INT8, "horowitz-int8", "dense", 0.23, 0.03, "8-bit integer"),
])
def test_horowitz_models(model, name, which, mac, ac, note):
    assert (model.name, model.level) == (name, "arithmetic")
    assert rows(model) == [
        (f"{which}_macs", f"{which}_macs", mac, "pJ/MAC", "dynamic", "arithmetic"),
        (f"{which}_acs", f"{which}_acs", ac, "pJ/AC", "dynamic", "arithmetic"),
        ("neuron_updates", "neuron_updates", mac, "pJ/update", "dynamic", "arithmetic")]
    mac_src, ac_src, update_src = (e.source for e in model.entries)
    assert mac_src == f"Horowitz, ISSCC 2014 (45 nm, 0.9 V): {note} MAC {mac} pJ"
    assert ac_src == f"Horowitz, ISSCC 2014 (45 nm, 0.9 V): {note} add {ac} pJ"
    assert update_src == (f"Horowitz, ISSCC 2014 (45 nm, 0.9 V): one {note} MAC ({mac} pJ) per "
                          "neuron update")
    assert model.notes == (f"The arithmetic alone ({which} operations), at 45 nm: a lower "
                           "bound, not what a chip draws.",)
    assert len(model.leaves_out) == 2 and model.leaves_out[0].startswith("memory")


@pytest.mark.parametrize("model, name, nj, device", [
    (host.DEGNAN_CPU, "degnan-cpu", 8.6, "an Intel i7-4960X CPU"),
    (host.DEGNAN_GPU, "degnan-gpu", 0.3, "an NVIDIA GTX Titan Black GPU (large batches)"),
    (host.DEGNAN_ARM, "degnan-arm", 0.9, "an ARM Cortex-A"),
])
def test_degnan_models(model, name, nj, device):
    assert (model.name, model.level) == (name, "system")
    assert rows(model) == [
        ("dense_macs", "dense_macs", nj, "nJ/MAC", "dynamic", "system"),
        ("dense_acs", "dense_acs", nj, "nJ/AC", "dynamic", "system"),
        ("neuron_updates", "neuron_updates", nj, "nJ/update", "dynamic", "system")]
    assert all(e.source.startswith("Degnan, Marr & Hasler, IEEE TVLSI 24(1), 2015")
               and e.source.endswith(f": {nj} nJ per op on {device}") for e in model.entries)
    assert model.notes == (f"A whole {device} per operation, dense operations (what it "
                           "executes), from Degnan et al. 2015's benchmarks.",)
    assert len(model.leaves_out) == 2


@pytest.mark.parametrize("model, name, chip, synop, s_unit, update, u_unit", [
    (spin.SPINNAKER1_PER_OP, "spinnaker1-per-op", "SpiNNaker 1", 13.3, "nJ", 26.0, "nJ"),
    (spin.SPINNAKER2_PER_OP, "spinnaker2-per-op", "SpiNNaker 2", 450.0, "pJ", 2.19, "nJ"),
])
def test_spinnaker_per_op_models(model, name, chip, synop, s_unit, update, u_unit):
    assert (model.name, model.level) == (name, "chip")
    assert rows(model) == [
        ("synops", "synops", synop, f"{s_unit}/synop", "dynamic", "chip"),
        ("neuron_updates", "neuron_updates", update, f"{u_unit}/update", "dynamic", "chip"),
        HOST]
    synop_src, update_src = (e.source for e in model.entries[:2])
    cite = "Hoeppner et al. 2019 (arXiv 1903.08941), as tabulated by KerasSpiking ModelEnergy"
    assert synop_src == f"{cite}: {chip}, {synop} {s_unit} per synaptic operation"
    assert update_src == f"{cite}: {chip}, {update} {u_unit} per neuron update"
    assert len(model.notes) == 1 and chip in model.notes[0] and len(model.leaves_out) == 3


def test_spinn5_board_model():
    m = spin.SPINN5_BOARD
    assert (m.name, m.level) == ("spinn5-spinnmachine", "system")
    assert rows(m) == [
        ("idle_chips", "chip_seconds", 0.35, "W", "static", "system"),
        ("active_cores", "core_seconds", 0.034, "W", "dynamic", "system"),
        ("router_packets", "router_traversals", 1.0, "nJ/packet", "dynamic", "system"), HOST]
