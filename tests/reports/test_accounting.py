import json

import pytest

from neuropipe.core.errors import InputError
from neuropipe.reports.energy_record import EnergyRecord, energy_record, sum_measurements
from neuropipe.reports.footprint import Accounting, footprint_from_joules, strubell_footprint
from neuropipe.reports.meter import ComponentEnergy, Measurement


def test_strubell_formula():
    fp = strubell_footprint(1000.0, 1.0)  # 1 kW for 1 h
    assert fp.kwh == pytest.approx(1.0) and fp.kwh_pue == pytest.approx(1.58)
    assert fp.co2e_lbs == pytest.approx(1.58 * 0.954, rel=1e-4)
    gpu = strubell_footprint(100.0, 2.0, gpus=4, gpu_power_w=250.0,
                             accounting=Accounting.build(pue=1.1, region="world"))
    assert gpu.kwh == pytest.approx(2.0 * (100 + 4 * 250) / 1000)
    assert gpu.co2e_kg == pytest.approx(gpu.kwh * 1.1 * 0.481)
    assert footprint_from_joules(3.6e6, Accounting()).kwh_pue == pytest.approx(1.58)
    assert Accounting.build(co2_per_kwh=0.1).kg_co2_per_kwh == 0.1


def test_bad_accounting_values():
    with pytest.raises(InputError, match="unknown region 'mars'"):
        Accounting.build(region="mars")
    with pytest.raises(InputError, match="--pue must be at least 1"):
        Accounting.build(pue=0.5)
    with pytest.raises(InputError, match="--power-w must be 0 or more"):
        strubell_footprint(-5, 1)


def window(name, cpu, dram, seconds):
    return Measurement(name=name, duration_s=seconds, components=[
        ComponentEnergy("cpu", cpu, "estimate"), ComponentEnergy("dram", dram, "estimate")])


def test_energy_record_round_trip_and_sums(tmp_path):
    epochs = {"1": window("epoch", 10.0, 1.0, 2.0), "2": window("epoch", 30.0, 3.0, 4.0)}
    record = energy_record(per_epoch=epochs)
    assert record.total.total_j == pytest.approx(44.0) and record.duration_s == 6.0
    assert record.average_power_w["total"] == pytest.approx(44.0 / 6.0)
    assert record.kwh == pytest.approx(44.0 / 3.6e6)
    assert record.constants["pue"] == 1.58 and "Strubell" in record.constants["method"]
    record.write(tmp_path / "energy.json")
    again = EnergyRecord.read(tmp_path / "energy.json")
    assert again == record
    assert sum_measurements("t", list(epochs.values())).energy_of("cpu") == 40.0


def test_summed_windows_keep_assumptions_consistent_with_the_energy():
    def cpu_window(cpu_s, seconds, method="estimate"):
        comp = ComponentEnergy("cpu", 3.0 * cpu_s, method, assumptions={
            "cpu_seconds": cpu_s, "watts_per_busy_thread": 3.0,
            "mean_utilisation_threads": cpu_s / seconds})
        return Measurement(name="epoch", duration_s=seconds, components=[comp])

    total = sum_measurements("total", [cpu_window(4.0, 2.0), cpu_window(2.0, 2.0)])
    cpu = total.components[0]
    assert cpu.assumptions["cpu_seconds"] == 6.0
    assert cpu.energy_j == cpu.assumptions["cpu_seconds"] * cpu.assumptions["watts_per_busy_thread"]
    assert cpu.assumptions["mean_utilisation_threads"] == pytest.approx(1.5)
    assert total.warnings == []
    mixed = sum_measurements("total", [cpu_window(4.0, 2.0), cpu_window(2.0, 2.0, "rapl")])
    assert any("estimate and rapl" in w for w in mixed.warnings)


def test_measure_passes_exit_code_and_writes_json(tmp_path, cli):
    path = tmp_path / "m.json"
    code, out, _ = cli(["measure", "--json", str(path), "--", "python3", "-c",
                        "import sys; sum(range(3*10**6)); sys.exit(3)"])
    assert code == 3
    record = json.loads(path.read_text())
    assert record["type"] == "energy"
    assert {c["method"] for c in record["total"]["components"]} <= {"estimate", "rapl"}
    assert record["total"]["total_j"] > 0 and "kWh" in out


@pytest.mark.parametrize("args, message", [
    (["measure"], "no command to measure"),
    (["footprint", "--power-w", "-5", "--hours", "1"], "--power-w must be 0 or more"),
    (["footprint", "--power-w", "5", "--hours", "1", "--region", "mars"], "unknown region"),
    (["measure", "--", "no-such-command-xyz"], "command not found"),
    (["footprint", "--power-w", "5", "--hours", "1", "--gpus", "2"], "needs --gpu-power-w"),
    (["measure", "--", "/etc/passwd"], "cannot run /etc/passwd"),
    (["measure", "--json", "/nonexistent-dir/m.json", "--", "true"], "does not exist"),
])
def test_bad_input_exit_2_one_line(args, message, cli):
    code, _, err = cli(args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_measure_reports_a_signal_as_a_shell_does(cli):
    code, _, _ = cli(["measure", "--", "sh", "-c", "kill -9 $$"])
    assert code == 128 + 9


def test_non_numeric_power_is_a_usage_error(cli):
    code, _, err = cli(["footprint", "--power-w", "abc", "--hours", "1"])
    assert code == 2 and "power-w" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "neuropipe footprint --help" in err


def test_footprint_json_keys(cli):
    code, out, _ = cli(["footprint", "--power-w", "1000", "--hours", "1", "--json"])
    data = json.loads(out)
    assert code == 0 and {"kwh", "kwh_pue", "co2e_lbs", "co2e_kg"} <= set(data)
    assert data["kwh_pue"] == pytest.approx(1.58)


def test_doctor_reports_counters_and_lava(cli):
    code, out, _ = cli(["doctor"])
    assert code == 0
    assert "powercap" in out and "NVML" in out and "ok loihi: lava.proc.lif" in out
