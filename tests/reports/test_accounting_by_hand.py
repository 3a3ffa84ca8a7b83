"""Energy accounting with fixed values: kWh, PUE, CO2e in kg and lbs, merged windows, flags.

Published constants (Strubell et al. 2019): PUE 1.58, 0.954 lbs CO2e per kWh (U.S. EPA);
carbontracker's world average 481 g/kWh; 1 kg = 2.20462 lbs.
"""

import json
import math

import pytest

from neuropipe.core.errors import InputError
from neuropipe.reports.energy_record import energy_record, merge_assumptions, sum_measurements
from neuropipe.reports.footprint import Accounting, footprint_from_joules, strubell_footprint
from neuropipe.reports.meter import ComponentEnergy, Measurement

KWH_J = 3.6e6
LBS_PER_KG = 2.20462


def test_one_kwh_measured_with_the_default_constants():
    fp = footprint_from_joules(KWH_J, Accounting())
    assert fp.kwh == pytest.approx(1.0, rel=1e-12)
    assert fp.kwh_pue == pytest.approx(1.58, rel=1e-12)
    assert fp.co2e_lbs == pytest.approx(1.58 * 0.954, rel=1e-12)
    assert fp.co2e_kg == pytest.approx(1.58 * 0.954 / LBS_PER_KG, rel=1e-12)
    assert fp.to_dict() == {"kwh": fp.kwh, "kwh_pue": fp.kwh_pue, "co2e_kg": fp.co2e_kg,
                            "co2e_lbs": fp.co2e_lbs}


def test_world_region_and_custom_constants():
    world = footprint_from_joules(2 * KWH_J, Accounting.build(pue=1.2, region="world"))
    assert world.kwh == pytest.approx(2.0) and world.kwh_pue == pytest.approx(2.4)
    assert world.co2e_kg == pytest.approx(2.4 * 0.481, rel=1e-12)
    assert world.co2e_lbs == pytest.approx(2.4 * 0.481 * LBS_PER_KG, rel=1e-12)
    custom = footprint_from_joules(KWH_J / 2, Accounting.build(pue=2.0, co2_per_kwh=0.3))
    assert custom.kwh_pue == pytest.approx(1.0) and custom.co2e_kg == pytest.approx(0.3)


def test_flags_combine():
    acc = Accounting.build(pue=1.3, co2_per_kwh=0.2)
    assert (acc.pue, acc.kg_co2_per_kwh, acc.region) == (1.3, 0.2, "custom")
    assert acc.intensity_source == "given with --co2-per-kwh"
    acc = Accounting.build(co2_per_kwh=0.2)  # a custom intensity keeps the default PUE
    assert (acc.pue, acc.kg_co2_per_kwh) == (1.58, 0.2)
    acc = Accounting.build(pue=1.1, region="world")
    assert (acc.pue, acc.kg_co2_per_kwh, acc.region) == (1.1, 0.481, "world")
    assert "carbontracker" in acc.intensity_source
    acc = Accounting.build(region="world", co2_per_kwh=0.0)  # the number wins over the region
    assert (acc.kg_co2_per_kwh, acc.region) == (0.0, "custom")
    acc = Accounting.build()
    assert (acc.pue, acc.region) == (1.58, "us")
    assert acc.kg_co2_per_kwh == pytest.approx(0.954 / LBS_PER_KG, rel=1e-12)
    assert "EPA" in acc.intensity_source
    assert Accounting.build(pue=1.0).pue == 1.0  # the smallest PUE there is


@pytest.mark.parametrize("kwargs, message", [
    (dict(pue=0.99), "--pue must be at least 1"),
    (dict(pue=math.nan), "--pue must be at least 1"),
    (dict(co2_per_kwh=-0.1), "--co2-per-kwh must be 0 or more"),
    (dict(co2_per_kwh=math.nan), "--co2-per-kwh must be 0 or more"),
    (dict(region="mars"), "unknown region 'mars': choose one of us, world, or give "
                          "--co2-per-kwh$"),
])
def test_accounting_refusals(kwargs, message):
    with pytest.raises(InputError, match=message):
        Accounting.build(**kwargs)


def test_strubell_formula_by_hand():
    acc = Accounting.build(pue=1.1, co2_per_kwh=0.5)
    fp = strubell_footprint(250.0, 4.0, gpus=2, gpu_power_w=300.0, accounting=acc)
    assert fp.kwh == pytest.approx(4.0 * (250 + 2 * 300) / 1000)  # 3.4 kWh
    assert fp.kwh_pue == pytest.approx(3.74)
    assert fp.co2e_kg == pytest.approx(1.87) and fp.co2e_lbs == pytest.approx(1.87 * LBS_PER_KG)
    assert strubell_footprint(0.0, 0.0).kwh == 0.0  # zero is allowed everywhere
    assert strubell_footprint(100.0, 1.0, gpus=0, gpu_power_w=50.0).kwh == pytest.approx(0.1)


@pytest.mark.parametrize("args, message", [
    ((-1.0, 1.0), "--power-w must be 0 or more, got -1.0"),
    ((1.0, -0.5), "--hours must be 0 or more, got -0.5"),
    ((1.0, 1.0, -1, 10.0), "--gpus must be 0 or more"),
    ((1.0, 1.0, 1, -10.0), "--gpu-power-w must be 0 or more"),
    ((math.nan, 1.0), "--power-w must be 0 or more"),
    ((1.0, 1.0, 2, 0.0), "--gpus 2 needs --gpu-power-w, the average power of one GPU in "
                         "watts$"),
    ((1.0, 1.0, 2), "--gpus 2 needs --gpu-power-w"),  # no GPU power is assumed
])
def test_strubell_refusals(args, message):
    with pytest.raises(InputError, match=message):
        strubell_footprint(*args)


def window(cpu_j, dram_j, seconds, cpu_s, rss_gb, method="estimate"):
    return Measurement(name="epoch", duration_s=seconds, components=[
        ComponentEnergy("cpu", cpu_j, method, assumptions={
            "cpu_seconds": cpu_s, "watts_per_busy_thread": 3.0,
            "mean_utilisation_threads": cpu_s / seconds, "cpu_model": "x"}),
        ComponentEnergy("dram", dram_j, method, assumptions={
            "mean_resident_gb": rss_gb, "seconds": seconds, "watts_per_gb": 0.375})])


def test_unequal_windows_merge_weighted_by_duration():
    first, second = window(3.0, 0.75, 1.0, 1.0, 2.0), window(18.0, 3.0, 3.0, 6.0, 1.0 / 0.375)
    total = sum_measurements("total", [first, second])
    assert total.duration_s == 4.0 and total.total_j == pytest.approx(24.75)
    cpu, dram = total.components
    assert cpu.energy_j == 21.0 and dram.energy_j == 3.75
    assert cpu.assumptions["cpu_seconds"] == 7.0
    assert cpu.assumptions["mean_utilisation_threads"] == pytest.approx((1 * 1 + 2 * 3) / 4)
    assert cpu.assumptions["watts_per_busy_thread"] == 3.0 and cpu.assumptions["cpu_model"] == "x"
    gb = (2.0 * 1 + 1 / 0.375 * 3) / 4
    assert dram.assumptions["mean_resident_gb"] == pytest.approx(gb)
    assert dram.assumptions["seconds"] == 4.0
    # The merged assumptions reproduce the merged energy.
    assert dram.energy_j == pytest.approx(gb * 0.375 * 4.0)
    assert cpu.energy_j == cpu.assumptions["cpu_seconds"] * 3.0
    record = energy_record(per_epoch={"1": first, "2": second})
    assert record.total.name == "total" and record.per_epoch == {"1": first, "2": second}
    assert record.average_power_w["total"] == pytest.approx(24.75 / 4.0)
    assert record.average_power_w["cpu"] == pytest.approx(21.0 / 4.0)
    assert record.average_power_w["dram"] == pytest.approx(3.75 / 4.0)


def test_three_windows_and_a_component_seen_once():
    a, b = window(1.0, 1.0, 1.0, 1.0, 1.0), window(1.0, 1.0, 3.0, 6.0, 1.0)
    c = Measurement(name="epoch", duration_s=4.0, components=[
        ComponentEnergy("cpu", 5.0, "rapl", assumptions={"mean_utilisation_threads": 4.0}),
        ComponentEnergy("gpu:0", 7.0, "nvml-energy")], warnings=["w"])
    total = sum_measurements("total", [a, b, c])
    assert total.duration_s == 8.0 and total.name == "total"
    # Utilisation 1 over 1 s, 2 over 3 s, 4 over 4 s: (1 + 6 + 16) / 8.
    assert total.components[0].assumptions["mean_utilisation_threads"] == pytest.approx(23 / 8)
    assert total.methods() == {"cpu": "estimate", "dram": "estimate", "gpu:0": "nvml-energy"}
    assert total.energy_of("cpu") == 7.0 and total.energy_of("gpu") == 7.0
    assert total.warnings[0] == "w"
    assert total.warnings[1:] == ["cpu: windows measured by estimate and rapl are summed"]


def test_merge_assumptions_rules():
    merged = merge_assumptions({"seconds": 1.0, "mean_x": 2.0, "model": "a", "only_a": 1}, 1.0,
                               {"seconds": 2.0, "mean_x": 5.0, "model": "b", "only_b": 2}, 2.0)
    assert merged == {"seconds": 3.0, "mean_x": 4.0, "model": ["a", "b"], "only_a": 1,
                      "only_b": 2}
    again = merge_assumptions(merged, 3.0, {"model": "c", "mean_x": 4.0}, 1.0)
    assert again["model"] == ["a", "b", "c"] and again["mean_x"] == 4.0
    assert merge_assumptions({"model": "a"}, 1.0, {"model": "a"}, 1.0) == {"model": "a"}
    short = merge_assumptions({"mean_x": 1.0}, 0.25, {"mean_x": 4.0}, 0.5)  # under a second
    assert short == {"mean_x": pytest.approx(3.0)}
    # Two empty windows: nothing to weight by, so differing means are listed.
    assert merge_assumptions({"mean_x": 1.0}, 0.0, {"mean_x": 3.0}, 0.0) == {"mean_x": [1.0, 3.0]}


def test_measured_energy_record_includes_pue_and_intensity():
    total = Measurement(name="command", duration_s=10.0, components=[
        ComponentEnergy("cpu", KWH_J, "rapl"), ComponentEnergy("dram", KWH_J / 2, "rapl")])
    record = energy_record(total, accounting=Accounting.build(pue=2.0, region="world"))
    assert record.kwh == pytest.approx(1.5) and record.kwh_pue == pytest.approx(3.0)
    assert record.co2e_kg == pytest.approx(3.0 * 0.481)
    assert record.co2e_lbs == pytest.approx(3.0 * 0.481 * LBS_PER_KG)
    assert record.duration_s == 10.0 and record.average_power_w == pytest.approx(
        {"cpu": KWH_J / 10, "dram": KWH_J / 20, "total": 1.5 * KWH_J / 10})
    assert record.constants["pue"] == 2.0 and record.constants["pue_source"] == "given with --pue"
    assert record.constants["region"] == "world" and record.constants["kg_co2_per_kwh"] == 0.481
    assert "Strubell" in record.constants["method"]
    assert len(record.leaves_out) == 3 and record.per_epoch == {}
    default = energy_record(total)
    assert default.constants["pue"] == 1.58
    assert default.constants["pue_source"].startswith("2018 global data-centre average")
    assert default.co2e_lbs == pytest.approx(1.5 * 1.58 * 0.954)


def test_a_window_of_zero_seconds_has_zero_power():
    total = Measurement(name="t", duration_s=0.0, components=[
        ComponentEnergy("cpu", 1.0, "rapl")])
    record = energy_record(total)
    assert record.average_power_w == {"cpu": 0.0, "total": 0.0}
    assert record.kwh == pytest.approx(1.0 / KWH_J)


def test_footprint_cli_keeps_a_custom_pue_beside_a_custom_intensity(cli):
    code, out, _ = cli(["footprint", "--power-w", "500", "--hours", "2", "--pue", "1.2",
                        "--co2-per-kwh", "0.25", "--json"])
    data = json.loads(out)
    assert code == 0 and data["pue"] == 1.2 and data["region"] == "custom"
    assert data["kwh"] == pytest.approx(1.0) and data["kwh_pue"] == pytest.approx(1.2)
    assert data["co2e_kg"] == pytest.approx(0.3)
    assert data["co2e_lbs"] == pytest.approx(0.3 * LBS_PER_KG)


@pytest.mark.parametrize("args, message", [
    (["--power-w", "5", "--hours", "-1"], "--hours must be 0 or more, got -1.0"),
    (["--power-w", "5", "--hours", "1", "--pue", "0.9"], "--pue must be at least 1"),
    (["--power-w", "5", "--hours", "1", "--co2-per-kwh", "-2"], "--co2-per-kwh must be 0 or"),
    (["--power-w", "5", "--hours", "1", "--gpus", "-1"], "--gpus must be 0 or more"),
])
def test_footprint_cli_refusals(args, message, cli):
    code, _, err = cli(["footprint", *args])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
