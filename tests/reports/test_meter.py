import time

import pytest

from neuropipe.core.errors import MeterError
from neuropipe.reports.meter import Meter, nvml, powercap, pyrapl_backend


def make_zone(root, name, zone_name, energy, max_range=1_000_000):
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "name").write_text(zone_name + "\n")
    (zone / "energy_uj").write_text(f"{energy}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_range}\n")
    return zone


@pytest.fixture
def fake_tree(tmp_path):
    root = tmp_path / "powercap"
    pkg0 = make_zone(root, "intel-rapl:0", "package-0", 100)
    make_zone(pkg0, "intel-rapl:0:0", "core", 50)
    dram = make_zone(pkg0, "intel-rapl:0:1", "dram", 10)
    pkg1 = make_zone(root, "amd-rapl:1", "package-1", 999_000)
    make_zone(root, "intel-rapl:2", "psys", 5)
    return root, {"pkg0": pkg0, "dram": dram, "pkg1": pkg1, "psys": root / "intel-rapl:2",
                  "core": pkg0 / "intel-rapl:0:0"}


def set_energy(zone, value):
    """Replace the counter file atomically, as the kernel's reads would be."""
    tmp = zone / "energy_uj.tmp"
    tmp.write_text(f"{value}\n")
    tmp.replace(zone / "energy_uj")


def test_powercap_reader_returns_injected_deltas_across_wraparound(fake_tree):
    root, z = fake_tree
    meter = Meter(sysfs_root=root, gpus="none")
    assert meter.methods == {"cpu": "rapl", "dram": "rapl"}
    meter.begin_window("w")
    set_energy(z["pkg0"], 2_100)          # +2000 uJ
    set_energy(z["dram"], 510)            # +500 uJ
    set_energy(z["pkg1"], 1_000)          # wraps: 999000 -> 1000000 (max) -> 0 -> 1000
    set_energy(z["core"], 9_999_999)      # nested in the package: must not be counted
    set_energy(z["psys"], 9_999_999)      # platform: overlaps packages, must not be counted
    m = meter.end_window("w")
    got = {c.component: c.energy_j for c in m.components}
    wrapped = (1_000_000 - 999_000) + 1 + 1_000
    assert got["cpu"] == pytest.approx((2_000 + wrapped) / 1e6)
    assert got["dram"] == pytest.approx(500 / 1e6)
    assert m.total_j == pytest.approx(got["cpu"] + got["dram"])
    assert {c.method for c in m.components} == {"rapl"}


def test_every_wrap_of_a_long_window_is_counted(fake_tree):
    root, z = fake_tree
    poller = powercap.CounterPoller(powercap.PowercapCounter(root), interval_s=3600)
    start, _ = poller.poll()
    # pkg0 runs 100 -> 900 -> 300 (wrap) -> 800 -> 200 (wrap) on a 1,000,000 uJ range
    for value in (900_000, 300_000, 800_000, 200_000):
        set_energy(z["pkg0"], value)
        poller.poll()
    end, wraps = poller.poll()
    joules = poller.joules_between(start, end)
    expected = (900_000 - 100) + (1_000_000 - 900_000 + 1 + 300_000) + 500_000 + (
        1_000_000 - 800_000 + 1 + 200_000)
    assert joules["cpu"] == pytest.approx(expected / 1e6) and sum(wraps) == 2


def test_the_meter_polls_in_the_background(fake_tree):
    root, z = fake_tree
    meter = Meter(sysfs_root=root, gpus="none", poll_interval_s=0.01)
    meter.begin_window("long")
    for value in (900_000, 300_000, 800_000, 200_000):  # two wraps while the window is open
        set_energy(z["pkg0"], value)
        time.sleep(0.15)
    m = meter.end_window("long")
    cpu = next(c for c in m.components if c.component == "cpu")
    expected = (900_000 - 100) + (100_001 + 300_000) + 500_000 + (200_001 + 200_000)
    assert cpu.energy_j == pytest.approx(expected / 1e6)
    assert "2 wrap(s)" in cpu.note


def test_delta_and_zero_window_warning(fake_tree):
    assert powercap.delta_uj(10, 30, 100) == 20
    assert powercap.delta_uj(90, 5, 100) == 16
    root, _ = fake_tree
    meter = Meter(sysfs_root=root, gpus="none")
    with pytest.warns(UserWarning, match="read 0 J"):
        with meter.window("nothing") as w:
            pass
    assert w.result.warnings


def test_unreadable_counter_gives_the_permission_hint(fake_tree, monkeypatch):
    root, _ = fake_tree
    real = powercap.Path.read_text

    def deny(self, *a, **kw):
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied")
        return real(self, *a, **kw)

    monkeypatch.setattr(powercap.Path, "read_text", deny)
    ok, why = powercap.probe(root)
    assert not ok and "root" in why and "CVE-2020-8694" in why
    meter = Meter(sysfs_root=root, gpus="none")  # falls back to the estimate, saying why
    assert meter.methods["cpu"] == "estimate" and "CVE-2020-8694" in meter.cpu_reason


class FakeNvml:
    """Stands in for pynvml: one GPU with an energy counter, one without (power in mW)."""

    def __init__(self, counter=True, power_mw=50_000.0):
        self.counter, self.power_mw, self.energy_mj = counter, power_mw, 1_000_000

    def nvmlInit(self):
        pass

    def nvmlDeviceGetCount(self):
        return 1

    def nvmlDeviceGetHandleByIndex(self, i):
        return f"gpu{i}"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if not self.counter:
            raise RuntimeError("NVMLError_NotSupported")
        return self.energy_mj

    def nvmlDeviceGetPowerUsage(self, handle):
        return self.power_mw


class BrokenNvml(FakeNvml):
    def nvmlInit(self):
        raise RuntimeError("NVMLError_LibraryNotFound")


def test_nvml_energy_counter_path(fake_tree):
    fake = FakeNvml(counter=True)
    meter = Meter(sysfs_root=fake_tree[0], nvml_module=fake)
    assert meter.methods["gpu:0"] == "nvml-energy"
    meter.begin_window("w")
    fake.energy_mj += 12_345
    m = meter.end_window("w")
    gpu = next(c for c in m.components if c.component == "gpu:0")
    assert gpu.method == "nvml-energy" and gpu.energy_j == pytest.approx(12.345)


def test_nvml_power_integration_fallback(fake_tree):
    fake = FakeNvml(counter=False, power_mw=50_000.0)  # 50 W
    meter = Meter(sysfs_root=fake_tree[0], nvml_module=fake)
    assert meter.methods["gpu:0"] == "nvml-power"
    meter.begin_window("w")
    time.sleep(0.3)
    m = meter.end_window("w")
    gpu = next(c for c in m.components if c.component == "gpu:0")
    assert gpu.method == "nvml-power"
    assert gpu.energy_j == pytest.approx(50.0 * m.duration_s, rel=0.1)


def test_a_gpu_reading_0_j_or_failing_is_never_silent(fake_tree):
    stuck = FakeNvml(counter=True)
    meter = Meter(sysfs_root=fake_tree[0], nvml_module=stuck)
    with pytest.warns(UserWarning, match="gpu:0 read 0 J"):
        meter.begin_window("w")
        m = meter.end_window("w")
    assert any("gpu:0 read 0 J" in w for w in m.warnings)

    class FailingPower(FakeNvml):
        def nvmlDeviceGetPowerUsage(self, handle):
            raise RuntimeError("NVMLError_NotSupported")

    meter = Meter(sysfs_root=fake_tree[0], nvml_module=FailingPower(counter=False))
    with pytest.warns(UserWarning, match="reading GPU power failed"):
        meter.begin_window("w")
        m = meter.end_window("w")
    gpu = next(c for c in m.components if c.component == "gpu:0")
    assert "INCOMPLETE" in gpu.note and any("incomplete" in w for w in m.warnings)


def test_gpu_required_but_missing_is_an_error(fake_tree):
    with pytest.raises(MeterError, match="GPU energy was required"):
        Meter(sysfs_root=fake_tree[0], gpus="require", nvml_module=BrokenNvml())
    ok, why = nvml.probe(BrokenNvml())
    assert not ok and "NVML unavailable" in why


class FakePyRapl:
    class Result:
        pkg, dram = [3_000_000.0], [1_000_000.0]

    class _M:
        def __init__(self, label):
            self.result = None

        def begin(self):
            pass

        def end(self):
            self.result = FakePyRapl.Result()

    Measurement = _M

    @staticmethod
    def setup():
        pass


def test_pyrapl_path_where_it_works(fake_tree):
    meter = Meter(sysfs_root=fake_tree[0], gpus="none", pyrapl_module=FakePyRapl)
    with meter.window("w") as w:
        pass
    got = {c.component: (c.energy_j, c.note) for c in w.result.components}
    assert got["cpu"][0] == pytest.approx(3.0) and got["dram"][0] == pytest.approx(1.0)
    assert "pyRAPL" in got["cpu"][1]


def test_a_pyrapl_wrap_falls_back_to_the_polled_counters(fake_tree):
    root, z = fake_tree

    class WrappedPyRapl(FakePyRapl):
        class Result:
            pkg, dram = None, [1_000_000.0]  # pyRAPL drops a domain whose delta is negative

        class _M(FakePyRapl._M):
            def end(self):
                self.result = WrappedPyRapl.Result()

        Measurement = _M

    meter = Meter(sysfs_root=root, gpus="none", pyrapl_module=WrappedPyRapl)
    meter.begin_window("w")
    set_energy(z["pkg0"], 5_100)
    set_energy(z["dram"], 1_010)
    m = meter.end_window("w")
    got = {c.component: (c.energy_j, c.note) for c in m.components}
    assert got["cpu"][0] == pytest.approx(5_000 / 1e6) and "powercap" in got["cpu"][1]
    assert got["dram"][0] == pytest.approx(1_000 / 1e6)


def test_real_probes_run_here_and_give_reasons():
    for ok, why in (powercap.probe(), pyrapl_backend.probe(), nvml.probe()):
        assert isinstance(ok, bool) and why


def test_estimate_on_this_machine_when_no_counter(tmp_path):
    meter = Meter(sysfs_root=tmp_path / "no-powercap", gpus="none")
    assert meter.methods == {"cpu": "estimate", "dram": "estimate"}
    with meter.window("busy") as w:
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            pass
    cpu = next(c for c in w.result.components if c.component == "cpu")
    assert cpu.method == "estimate" and cpu.energy_j > 0
    assert "no RAPL counter" in cpu.note
    assert 0 < cpu.assumptions["mean_utilisation_threads"] <= 2.5
    assert cpu.assumptions["watts_per_busy_thread"] > 0


def test_window_errors():
    meter = Meter(gpus="none")
    with pytest.raises(MeterError, match="never begun"):
        meter.end_window("x")
    meter.begin_window("a")
    with pytest.raises(MeterError, match="already open"):
        meter.begin_window("a")
