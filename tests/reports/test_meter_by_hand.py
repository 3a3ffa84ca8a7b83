"""The meter's arithmetic by hand: GPU power integrated in trapezoids, counter deltas, pyRAPL
micro-joules, and what each component says about how it was obtained (issue 23: mutants of
``reports/meter/``). No real counter is read: fakes stand in for NVML, pyRAPL and the clock.
"""

import os
import sys
import threading
import time
import types

import psutil
import pytest

from neuropipe.core.errors import MeterError
from neuropipe.reports.meter import Meter, estimate, monitor, nvml, powercap, pyrapl_backend
from tests.reports.test_meter import (  # noqa: F401
    FakePyRapl,
    fake_tree,
    make_zone,
    set_energy,
)


class Clock:
    """``perf_counter`` reading the given times in turn."""

    def __init__(self, times):
        self.times = list(times)

    def perf_counter(self):
        return self.times.pop(0)


class Halt:
    """Stands in for the sampler's stop event: ``wait`` records its timeout, answers in turn."""

    def __init__(self, answers):
        self.answers, self.timeouts = list(answers), []

    def wait(self, timeout):
        self.timeouts.append(timeout)
        return self.answers.pop(0)

    def set(self):
        pass


def test_gpu_power_is_integrated_in_trapezoids(monkeypatch):
    # 1000 mW at 0 s, 3000 mW at 0.5 s, 2000 mW at 2.0 s:
    # (1000 + 3000) / 2 x 0.5 = 1000 mJ, (3000 + 2000) / 2 x 1.5 = 3750 mJ: 4750 mJ, 3 samples
    monkeypatch.setattr(nvml, "time", Clock([0.0, 0.5, 2.0]))
    powers = iter([1000, 3000, 2000])
    sampler = nvml.PowerSampler(lambda: next(powers))
    assert sampler.daemon is True and sampler.energy_mj == 0.0 and sampler.samples == 0
    sampler._halt = Halt([False, True])  # the stop comes during the second wait
    sampler.run()
    assert sampler.energy_mj == pytest.approx(4750.0)
    assert sampler.samples == 3 and sampler.error is None
    assert sampler._halt.timeouts == [0.1, 0.1]  # the default interval, 0.1 s


def test_a_failed_gpu_reading_keeps_what_was_integrated_before(monkeypatch):
    # 2000 mW at 1.0 s and 4000 mW at 1.25 s: (2000 + 4000) / 2 x 0.25 = 750 mJ; the third
    # reading fails, so sampling stops there with 2 samples and the reason
    monkeypatch.setattr(nvml, "time", Clock([1.0, 1.25, 9.0]))
    readings = iter([2000, 4000])

    def read():
        try:
            return next(readings)
        except StopIteration:
            raise RuntimeError("gone") from None

    sampler = nvml.PowerSampler(read, interval_s=0.25)
    sampler._halt = Halt([False, False, True])
    sampler.run()
    assert sampler.energy_mj == pytest.approx(750.0) and sampler.samples == 2
    assert sampler.error == "reading GPU power failed (RuntimeError: gone)"
    first_fails = nvml.PowerSampler(read)  # no reading at all: nothing integrated, 0 samples
    first_fails.run()
    assert (first_fails.energy_mj, first_fails.samples) == (0.0, 0)


class Gpus:
    """pynvml stand-in: gpu0 has only power readings (mW), gpu1 and gpu2 energy counters (mJ)."""

    def __init__(self):
        self.energy_mj = {"gpu1": 1_000_000, "gpu2": 40_000}
        self.lost = set()

    def nvmlInit(self):
        pass

    def nvmlDeviceGetCount(self):
        return 3

    def nvmlDeviceGetHandleByIndex(self, i):
        return f"gpu{i}"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if handle not in self.energy_mj or handle in self.lost:
            raise RuntimeError("lost" if handle in self.lost else "NVMLError_NotSupported")
        return self.energy_mj[handle]

    def nvmlDeviceGetPowerUsage(self, handle):
        assert handle == "gpu0"
        return 30_000.0


def test_each_gpu_by_its_own_method():
    fake = Gpus()
    counter = nvml.NvmlCounter(fake)
    assert counter.has_counter == [False, True, True]
    state = counter.begin()
    assert isinstance(state[0], nvml.PowerSampler) and state[1:] == [1_000_000, 40_000]
    assert state[0]._interval == 0.1  # the default sampling interval
    slow = nvml.NvmlCounter(fake, interval_s=0.5).begin()[0]
    slow.stop()
    assert slow._interval == 0.5
    fake.energy_mj["gpu1"] += 7_500  # 7,500 mJ = 7.5 J
    fake.energy_mj["gpu2"] += 250  # 0.25 J
    (j0, m0, p0), (j1, m1, p1), (j2, m2, p2) = counter.end(state)
    assert j0 == state[0].energy_mj / 1e3 and (m0, p0) == ("nvml-power", None)  # mJ -> J
    assert (j1, m1, p1) == (pytest.approx(7.5), "nvml-energy", None)
    assert (j2, m2, p2) == (pytest.approx(0.25), "nvml-energy", None)
    # gpu1's counter fails at the end of the next window: 0 J and why, gpu2 still measured
    state = counter.begin()
    fake.lost.add("gpu1")
    fake.energy_mj["gpu2"] += 500
    out = counter.end(state)
    assert out[1] == (0.0, "nvml-energy",
                      "reading the GPU energy counter failed (RuntimeError: lost)")
    assert out[2] == (pytest.approx(0.5), "nvml-energy", None)
    with pytest.raises(MeterError, match=r"^NVML unavailable: RuntimeError$"):
        nvml.NvmlCounter(type("Broken", (Gpus,), {"nvmlDeviceGetCount": _raise})())


def _raise(*_):
    raise RuntimeError("no driver")


class Recorder(FakePyRapl):
    labels = []

    class _M(FakePyRapl._M):
        def __init__(self, label):
            Recorder.labels.append(label)
            super().__init__(label)

    Measurement = _M


def result(pkg, dram):
    m = types.SimpleNamespace(end=lambda: None, result=types.SimpleNamespace(pkg=pkg, dram=dram))
    return m


def test_pyrapl_micro_joules_by_hand():
    counter = pyrapl_backend.PyRaplCounter(Recorder)
    counter.begin()
    assert Recorder.labels == ["neuropipe"]
    # two sockets, 1,500,000 + 2,250,000 uJ = 3.75 J; DRAM 500,000 uJ = 0.5 J
    assert counter.end(result([1_500_000.0, 2_250_000.0], [500_000.0])) == pytest.approx(
        {"cpu": 3.75, "dram": 0.5})
    # a domain that did not move (0 uJ) is a reading, not a wrap; no DRAM domain: no "dram"
    assert counter.end(result([0.0, 3_000_000.0], None)) == pytest.approx({"cpu": 3.0})
    assert counter.end(result([0.0], [0.0])) == {"cpu": 0.0, "dram": 0.0}
    # a negative delta (a wrap, in any domain) makes the window unusable
    assert counter.end(result([1.0], [-1.0])) is None
    assert counter.end(result(None, [5.0])) is None


def test_pyrapl_setup_failure_names_the_error_or_its_type():
    class Fails(FakePyRapl):
        error = RuntimeError("no counters")

        @classmethod
        def setup(cls):
            raise cls.error

    with pytest.raises(MeterError, match=r"^pyRAPL cannot record energy here: no counters$"):
        pyrapl_backend.PyRaplCounter(Fails)
    Fails.error = PermissionError()  # no text: its type is named
    with pytest.raises(MeterError, match=r"^pyRAPL cannot record energy here: PermissionError$"):
        pyrapl_backend.PyRaplCounter(Fails)


def test_what_a_rapl_component_says(fake_tree):  # noqa: F811
    root, z = fake_tree
    meter = Meter(sysfs_root=root, gpus="none", poll_interval_s=3600)
    meter.begin_window("w")
    set_energy(z["pkg0"], 2_100)  # +2000 uJ
    m = meter.end_window("w")
    cpu = next(c for c in m.components if c.component == "cpu")
    assert cpu.note == ("Linux powercap RAPL counters (package and DRAM zones), read every "
                        "3600 s so that every wrap-around is counted")
    assert cpu.assumptions == {} and cpu.method == "rapl" and cpu.energy_j == 2_000 / 1e6
    meter.begin_window("w")
    set_energy(z["pkg0"], 100)  # one wrap on the 1,000,000 uJ range
    m = meter.end_window("w")
    cpu = next(c for c in m.components if c.component == "cpu")
    assert cpu.note.endswith("so that every wrap-around is counted (1 wrap(s) in this window)")
    assert cpu.note.startswith("Linux powercap")
    assert cpu.energy_j == pytest.approx((1_000_000 - 2_100 + 1 + 100) / 1e6)
    meter.begin_window("w")  # the window after the wrap has none of its own
    set_energy(z["pkg0"], 600)
    cpu = next(c for c in meter.end_window("w").components if c.component == "cpu")
    assert cpu.note.endswith("every wrap-around is counted") and cpu.energy_j == 500 / 1e6

    meter = Meter(sysfs_root=root, gpus="none", pyrapl_module=FakePyRapl)
    with meter.window("p") as w:
        pass
    assert {c.note for c in w.result.components} == {"Intel RAPL through pyRAPL"}


def test_a_stopped_poller_is_a_warning(fake_tree, tmp_path):  # noqa: F811
    root, z = fake_tree
    meter = Meter(sysfs_root=root, gpus="none", poll_interval_s=0.01)
    meter.begin_window("w")
    counter = z["pkg0"] / "energy_uj"
    counter.rename(tmp_path / "away")  # the background reading fails and the poller stops
    deadline = time.monotonic() + 5
    while meter._rapl.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "away").rename(counter)
    set_energy(z["pkg0"], 600)  # +500 uJ
    with pytest.warns(UserWarning, match="RAPL polling stopped"):
        m = meter.end_window("w")
    (warning,) = m.warnings
    assert m.name == "w"
    assert warning.startswith("RAPL polling stopped (cannot read ")
    assert warning.endswith("): a long window may miss counter wraps")
    assert m.energy_of("cpu") == pytest.approx(500e-6)


def test_zones_found_and_their_wrap_range(tmp_path):
    root = tmp_path / "powercap"
    (root / "dtpm").mkdir(parents=True)  # another powercap family: not RAPL
    make_zone(root, "intel-rapl:0", "psys", 5)  # the platform: overlaps the packages
    make_zone(root, "intel-rapl:0:0", "core", 5)  # a subzone also listed at the top
    pkg = make_zone(root, "intel-rapl:1", "package-0", 10, max_range=262_143_328_850)
    make_zone(pkg, "intel-rapl:1:0", "dram", 20)
    make_zone(pkg, "intel-rapl:1:1", "core", 30)
    bare = make_zone(root, "intel-rapl:2", "package-1", 40)
    (bare / "max_energy_range_uj").unlink()  # no range given: a 32-bit counter is assumed
    zones = powercap.discover(root)
    assert [(z.path.name, z.component, z.max_energy_range_uj) for z in zones] == [
        ("intel-rapl:1", "cpu", 262_143_328_850), ("intel-rapl:1:0", "dram", 1_000_000),
        ("intel-rapl:2", "cpu", 4_294_967_295)]
    # 4,294,967,000 -> 100 on the assumed range: 295 + 1 + 100 = 396 uJ
    assert powercap.delta_uj(4_294_967_000, 100, zones[2].max_energy_range_uj) == 396


def test_an_unreadable_counter_names_its_file(tmp_path):
    zone = make_zone(tmp_path, "intel-rapl:0", "package-0", 10)
    (zone / "energy_uj").write_text("not a number\n")
    with pytest.raises(MeterError) as error:
        powercap.Zone(zone, "cpu", 1_000).read_uj()
    assert str(error.value).startswith(f"cannot read {zone / 'energy_uj'}: invalid literal")


def test_nested_windows_keep_one_poller_until_the_last_closes(fake_tree):  # noqa: F811
    root, z = fake_tree
    meter = Meter(sysfs_root=root, gpus="none", poll_interval_s=0.01)

    def pollers():
        return [t for t in threading.enumerate() if t.name == "neuropipe-rapl-poller"]

    meter.begin_window("outer")
    meter.begin_window("inner")
    with pytest.warns(UserWarning, match="read 0 J"):  # nothing moved in the inner window
        inner = meter.end_window("inner")
    assert inner.warnings == ["RAPL counters read 0 J: the window is shorter than their update "
                              "period (~1 ms-100 ms); measure longer work"]
    (poller,) = pollers()  # still running for the outer window, as a daemon thread
    assert poller.daemon is True
    set_energy(z["pkg0"], 900_000)  # 100 -> 900,000: 899,900 uJ (no wrap: any timing)
    m = meter.end_window("outer")
    assert pollers() == []
    assert m.energy_of("cpu") == pytest.approx(899_900 / 1e6)
    # the next window starts where the poller's running total stands, not at 0
    meter.begin_window("next")
    set_energy(z["pkg0"], 900_250)
    assert meter.end_window("next").energy_of("cpu") == pytest.approx(250e-6)


class Process:
    """psutil.Process stand-in: CPU times and resident memory read in turn."""

    def __init__(self, times, rss, children=()):
        self.times, self.rss, self._children = list(times), list(rss), list(children)

    def cpu_times(self):
        user, system, children_user, children_system = self.times.pop(0)
        return types.SimpleNamespace(user=user, system=system, children_user=children_user,
                                     children_system=children_system)

    def memory_info(self):
        return types.SimpleNamespace(rss=self.rss.pop(0) if len(self.rss) > 1 else self.rss[0])

    def children(self, recursive=False):
        assert recursive
        return self._children


class Gone:
    def memory_info(self):
        raise psutil.NoSuchProcess(4242)


def test_cpu_and_dram_estimate_by_hand(monkeypatch):
    monkeypatch.setattr(estimate, "cpu_model", lambda: "AMD EPYC 7763 64-Core Processor")
    meter = estimate.CpuDramEstimator()
    assert meter.watts == 280.0 / 128  # 2.1875 W per busy hardware thread
    # CPU seconds 1 + 0.5 + 0.25 + 0.125 = 1.875 at the start, 3 + 1 + 0.5 + 0.375 = 4.875 at
    # the end: 3 s busy over 4 s of wall clock; 2 GB resident throughout
    meter.process = Process([(1.0, 0.5, 0.25, 0.125), (3.0, 1.0, 0.5, 0.375)], [2e9])
    monkeypatch.setattr(estimate, "time", Clock([10.0, 14.0]))
    got = meter.end(meter.begin())
    cpu_j, cpu = got["cpu"]
    assert cpu_j == 3.0 * 2.1875  # 6.5625 J
    assert cpu == {"cpu_seconds": 3.0, "watts_per_busy_thread": 2.1875,
                   "watts_source": "TDP/threads for EPYC 7763 (AMD EPYC 7763 product page: "
                                   "280 W TDP, 64 cores / 128 threads)",
                   "cpu_model": "AMD EPYC 7763 64-Core Processor",
                   "mean_utilisation_threads": 0.75}  # 3 s / 4 s
    dram_j, dram = got["dram"]
    assert dram_j == 2.0 * 0.375 * 4.0  # 2 GB x 0.375 W/GB x 4 s = 3 J
    assert dram == {"mean_resident_gb": 2.0, "children_included": False, "watts_per_gb": 0.375,
                    "watts_source": "3 W per 8 GB module (0.375 W/GB), as used by codecarbon",
                    "seconds": 4.0}
    # CPU time that went backwards counts as 0; a window of no wall time uses no thread
    meter.process = Process([(5.0, 0.0, 0.0, 0.0), (4.0, 0.0, 0.0, 0.0)], [2e9])
    monkeypatch.setattr(estimate, "time", Clock([7.0, 7.0]))
    got = meter.end(meter.begin())
    assert got["cpu"][0] == 0.0 and got["cpu"][1]["mean_utilisation_threads"] == 0.0
    assert got["dram"][0] == 0.0


def test_mean_resident_memory_with_children():
    # 1 GB then 3 GB: a mean of 2 GB
    sampler = estimate.RssSampler(Process([], [1e9, 3e9]), interval_s=3600)
    sampler.start()
    assert sampler.stop() == 2.0
    # with children: 1 GB + 0.5 GB of a child (one that is gone counts nothing) = 1.5 GB
    child = Process([], [0.5e9])
    sampler = estimate.RssSampler(Process([], [1e9], [Gone(), child]), 3600, children=True)
    sampler.start()
    assert sampler.stop() == 1.5
    alone = estimate.RssSampler(Process([], [1e9], [child]), 3600)  # children not asked for
    alone.start()
    assert alone.stop() == 1.0


def test_watts_per_busy_thread():
    assert estimate.watts_per_thread("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz") == (
        270.0 / 80, "TDP/threads for Xeon(R) Platinum 8380 (Intel ark: Xeon Platinum 8380, "
                    "270 W, 40 cores / 80 threads)")  # 3.375 W
    assert estimate.watts_per_thread("AMD EPYC 7B13")[0] == 280.0 / 128  # 2.1875 W
    assert estimate.watts_per_thread("AMD EPYC") == (
        3.0, "unknown CPU model 'AMD EPYC': assumed 3.0 W per busy thread")
    assert estimate.process_cpu_seconds(Process([(1.0, 2.0, 4.0, 8.0)], [0])) == 15.0


def test_cpu_model_from_cpuinfo(monkeypatch):
    class CpuInfo:
        text = "processor\t: 0\nvendor_id\t: x\nmodel name\t: Intel(R) Core(TM) i7-4960X: 6c\n"

        def __init__(self, path):
            assert path == "/proc/cpuinfo"

        def read_text(self):
            if self.text is None:
                raise OSError("no /proc")
            return self.text

    monkeypatch.setattr(estimate, "Path", CpuInfo)
    assert estimate.cpu_model() == "Intel(R) Core(TM) i7-4960X: 6c"  # split at the first ":"
    assert estimate.watts_per_thread()[0] == 130.0 / 12
    CpuInfo.text = "processor\t: 0\n"  # no model name line
    monkeypatch.setattr(estimate.platform, "processor", lambda: "x86_64")
    assert estimate.cpu_model() == "x86_64"
    CpuInfo.text = None
    monkeypatch.setattr(estimate.platform, "processor", lambda: "")
    assert estimate.cpu_model() == "unknown"


def test_what_each_gpu_and_estimate_component_says(tmp_path, monkeypatch):
    class Power(Gpus):  # gpu0 only, power readings that fail
        def nvmlDeviceGetCount(self):
            return 1

        def nvmlDeviceGetPowerUsage(self, handle):
            raise RuntimeError("gone")

    monkeypatch.setattr(nvml, "time", Clock([0.0, 1.0]))
    meter = Meter(sysfs_root=tmp_path / "none", nvml_module=Power())
    assert meter.methods == {"cpu": "estimate", "dram": "estimate", "gpu:0": "nvml-power"}
    with pytest.warns(UserWarning, match="its energy is incomplete"):
        m = meter.end_window(meter.begin_window("w") or "w")
    gpu = next(c for c in m.components if c.component == "gpu:0")
    problem = "reading GPU power failed (RuntimeError: gone)"
    assert gpu.note == f"NVML power samples, integrated; INCOMPLETE: {problem}"
    assert (gpu.method, gpu.energy_j, gpu.assumptions) == ("nvml-power", 0.0, {})
    assert m.warnings == [f"gpu:0: {problem}; its energy is incomplete"]  # no "0 J" as well
    cpu = next(c for c in m.components if c.component == "cpu")
    assert cpu.note == f"estimate, not a measurement: no RAPL counter ({meter.cpu_reason})"
    assert meter.cpu_reason == f"no {tmp_path / 'none'} (a virtual machine, or a kernel " \
                               "without powercap)"

    monkeypatch.setattr(nvml, "time", time)  # gpu0 samples 30 W in real time
    fake = Gpus()  # gpu1 and gpu2 have counters; gpu2 does not move
    meter = Meter(sysfs_root=tmp_path / "none", nvml_module=fake)
    assert meter.methods["gpu:1"] == "nvml-energy" and meter.gpu_reason == "3 GPU(s)"
    meter.begin_window("w")
    fake.energy_mj["gpu1"] += 2_000
    with pytest.warns(UserWarning, match="gpu:2 read 0 J"):
        m = meter.end_window("w")
    notes = {c.component: c.note for c in m.components}
    assert notes["gpu:1"] == notes["gpu:2"] == "NVML energy counter"
    assert m.warnings == ["gpu:2 read 0 J: the window may be shorter than the counter's update "
                          "period, or the counter is stuck; measure longer work"]
    assert m.energy_of("gpu") == pytest.approx(2.0 + m.energy_of("gpu:0"))
    assert Meter(sysfs_root=tmp_path, gpus="none").gpu_reason == "GPUs not measured " \
                                                                  "(gpus='none')"


def test_pyrapl_is_not_trusted_across_a_wrap_nor_when_it_fails(fake_tree):  # noqa: F811
    root, z = fake_tree
    meter = Meter(sysfs_root=root, gpus="none", pyrapl_module=FakePyRapl, poll_interval_s=3600)
    meter.begin_window("w")
    set_energy(z["pkg0"], 50)  # a wrap: 1,000,000 - 100 + 1 + 50 uJ; pyRAPL's 3 J is not used
    m = meter.end_window("w")
    cpu = next(c for c in m.components if c.component == "cpu")
    assert cpu.energy_j == pytest.approx((1_000_000 - 100 + 1 + 50) / 1e6)
    assert cpu.note.startswith("Linux powercap") and "(1 wrap(s) in this window)" in cpu.note

    class Fails(FakePyRapl):
        @staticmethod
        def setup():
            raise RuntimeError("no")

    meter = Meter(sysfs_root=root, gpus="none", pyrapl_module=Fails, poll_interval_s=3600)
    meter.begin_window("w")
    set_energy(z["pkg0"], 250)  # +200 uJ, read from powercap
    assert meter.end_window("w").energy_of("cpu") == 200 / 1e6


def test_probes_say_why(tmp_path):
    class NoGpu(Gpus):
        def nvmlDeviceGetCount(self):
            return 0

    class NotInstalled(Gpus):
        def nvmlInit(self):
            raise ImportError("no pynvml")

    assert nvml.probe(Gpus()) == (True, "3 GPU(s)")
    assert nvml.probe(NoGpu()) == (False, "NVML sees no GPU")
    assert nvml.probe(NotInstalled()) == (False, "nvidia-ml-py is not installed (no pynvml)")
    assert nvml.probe(type("B", (Gpus,), {"nvmlInit": _raise})()) == (
        False, "NVML unavailable (RuntimeError: no NVIDIA driver or GPU)")

    class Bare(FakePyRapl):
        error = PermissionError()

        @classmethod
        def setup(cls):
            raise cls.error

    assert pyrapl_backend.probe(FakePyRapl) == (True, "pyRAPL set up")
    assert pyrapl_backend.probe(Bare) == (False, "pyRAPL cannot record energy here "
                                          "(PermissionError: no Intel RAPL counters readable "
                                          "by this user)")
    Bare.error = ImportError("no pyRAPL")
    assert pyrapl_backend.probe(Bare) == (False, "pyRAPL is not installed (no pyRAPL)")


def test_memory_is_sampled_while_the_window_is_open(monkeypatch):
    sampler = estimate.RssSampler(Process([], [1e9]), interval_s=0.01)
    sampler.start()
    deadline = time.monotonic() + 10
    while len(sampler.samples) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sampler.stop() == 1.0 and len(sampler.samples) >= 4  # 3 or more, and the last

    # an estimate over the process and its children: 2 GB + 1 GB of a child, over 0.5 s
    monkeypatch.setattr(estimate, "cpu_model", lambda: "AMD EPYC")
    meter = estimate.CpuDramEstimator(pid=os.getppid(), children=True)
    assert meter.process.pid == os.getppid()
    meter.process = Process([(1.0, 0.0, 0.0, 0.0), (1.25, 0.0, 0.0, 0.0)], [2e9],
                            [Process([], [1e9])])
    monkeypatch.setattr(estimate, "time", Clock([3.0, 3.5]))
    got = meter.end(meter.begin())
    assert got["cpu"][1]["mean_utilisation_threads"] == 0.5  # 0.25 s / 0.5 s
    assert got["cpu"][0] == 0.25 * 3.0  # the default 3 W per busy thread
    assert got["dram"][1]["mean_resident_gb"] == 3.0 and got["dram"][1]["children_included"]
    assert got["dram"][0] == 3.0 * 0.375 * 0.5


def test_powercap_probe_says_what_it_found(tmp_path, monkeypatch):
    root = tmp_path / "powercap"
    make_zone(root, "intel-rapl:0", "psys", 5)
    assert powercap.probe(root) == (False, f"{root} has no intel-rapl/amd-rapl package zones")
    pkg = make_zone(root, "intel-rapl:1", "package-0", 5)
    assert powercap.probe(root) == (True, "1 zone(s): intel-rapl:1 (cpu)")
    make_zone(pkg, "intel-rapl:1:0", "dram", 5)
    assert powercap.probe(root) == (True, "2 zone(s): intel-rapl:1 (cpu), intel-rapl:1:0 (dram)")
    real = powercap.Path.read_text

    def deny(self, *a, **kw):
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied")
        return real(self, *a, **kw)

    monkeypatch.setattr(powercap.Path, "read_text", deny)
    ok, why = powercap.probe(root)
    assert not ok and why == f"cannot read {pkg / 'energy_uj'}: {powercap.PERMISSION_HINT}"


def test_the_meter_passes_children_on_to_its_estimate(tmp_path):
    # ``neuropipe measure`` counts the memory of the command's process tree
    assert Meter(sysfs_root=tmp_path, gpus="none", children=True)._estimator.children is True
    assert Meter(sysfs_root=tmp_path, gpus="none")._estimator.children is False


# Issue 23, full pass: the meter's survivors pinned ------------------------------------------------

def test_the_poller_keeps_running_totals_and_wraps_per_zone(fake_tree):  # noqa: F811
    root, z = fake_tree
    # Zones in order: amd-rapl:1 (cpu, at 999,000), intel-rapl:0 (cpu, at 100), its dram (10).
    poller = powercap.CounterPoller(powercap.PowercapCounter(root), 3600)
    assert [zone.path.name for zone in poller._counter.zones] == [
        "amd-rapl:1", "intel-rapl:0", "intel-rapl:0:1"]
    assert poller.poll() == ([0, 0, 0], [0, 0, 0])  # nothing moved since the start
    set_energy(z["pkg0"], 2_100)  # +2,000
    set_energy(z["pkg1"], 999_030)  # +30
    start = poller.poll()
    assert start == ([30, 2_000, 0], [0, 0, 0])
    set_energy(z["pkg0"], 100)  # a wrap on the 1,000,000 range: 1,000,000 - 2,100 + 1 + 100
    set_energy(z["dram"], 60)  # +50
    assert poller.poll() == ([30, 2_000 + 998_001, 50], [0, 1, 0])
    set_energy(z["pkg0"], 50)  # a second wrap: 1,000,000 - 100 + 1 + 50 = 999,951
    end = poller.poll()
    assert end == ([30, 2_000 + 998_001 + 999_951, 50], [0, 2, 0])
    # Both packages are "cpu": their joules add up (0 + 1,997,952 uJ); dram 50 uJ.
    assert poller.joules_between(start[0], end[0]) == {"cpu": 1.997952, "dram": 50e-6}
    assert poller.joules_between([0, 0, 0], start[0]) == {"cpu": 2_030e-6, "dram": 0.0}


def test_amd_package_zones_are_found(tmp_path):
    root = tmp_path / "powercap"
    make_zone(root, "amd-rapl:0", "package-0", 7)
    make_zone(root, "AMD-RAPL:1", "package-1", 7)  # not a RAPL zone name
    assert [(z.path.name, z.component) for z in powercap.discover(root)] == [
        ("amd-rapl:0", "cpu")]


def test_window_names_and_length(fake_tree, monkeypatch):  # noqa: F811
    root, _ = fake_tree
    meter = Meter(sysfs_root=root, gpus="none", poll_interval_s=3600)
    monkeypatch.setattr(monitor, "time", Clock([10.0, 12.5]))
    meter.begin_window("w")
    with pytest.raises(MeterError, match=r"^measurement window 'w' is already open$"):
        meter.begin_window("w")
    with pytest.warns(UserWarning, match="read 0 J"):
        m = meter.end_window("w")
    assert m.duration_s == 2.5  # 12.5 - 10.0
    with pytest.raises(MeterError, match=r"^measurement window 'w' was never begun$"):
        meter.end_window("w")


def test_an_estimated_window_says_estimate_with_its_assumptions(tmp_path, monkeypatch):
    # No powercap tree: CPU and DRAM are estimated. 2 CPU seconds over 4 s at 3 W per thread.
    monkeypatch.setattr(estimate, "cpu_model", lambda: "AMD EPYC")
    meter = Meter(sysfs_root=tmp_path / "none", gpus="none", pid=os.getppid())
    assert meter._estimator.process.pid == os.getppid()
    meter._estimator.process = Process([(1.0, 0.0, 0.0, 0.0), (3.0, 0.0, 0.0, 0.0)], [1e9])
    monkeypatch.setattr(estimate, "time", Clock([0.0, 4.0]))
    m = meter.end_window(meter.begin_window("w") or "w")
    by = {c.component: c for c in m.components}
    assert (by["cpu"].method, by["cpu"].energy_j) == ("estimate", 2.0 * 3.0)
    assert by["cpu"].assumptions["cpu_seconds"] == 2.0
    # 1 GB x 0.375 W/GB x 4 s = 1.5 J
    assert (by["dram"].method, by["dram"].energy_j) == ("estimate", 1.5)
    assert by["dram"].assumptions["mean_resident_gb"] == 1.0


def test_required_gpus_that_cannot_be_read_are_refused(tmp_path):
    broken = type("B", (Gpus,), {"nvmlInit": _raise})()
    with pytest.raises(MeterError, match=r"^GPU energy was required but NVML unavailable "
                                         r"\(RuntimeError: no NVIDIA driver or GPU\)$"):
        Meter(sysfs_root=tmp_path, gpus="require", nvml_module=broken)
    meter = Meter(sysfs_root=tmp_path, gpus="auto", nvml_module=broken)  # auto: no GPU column
    assert meter.methods == {"cpu": "estimate", "dram": "estimate"}
    assert meter.gpu_reason == "NVML unavailable (RuntimeError: no NVIDIA driver or GPU)"


def test_pyrapl_is_tried_only_on_the_real_tree_or_when_given(fake_tree, monkeypatch):  # noqa: F811
    tried = []
    monkeypatch.setattr(pyrapl_backend, "PyRaplCounter", lambda module: tried.append(module))
    Meter(sysfs_root=fake_tree[0], gpus="none")  # a test's tree, no module: not tried
    assert tried == []
    Meter(sysfs_root=fake_tree[0], gpus="none", pyrapl_module=FakePyRapl)
    assert tried == [FakePyRapl]


def test_window_edges_wait_for_queued_cuda_work(fake_tree, monkeypatch):  # noqa: F811
    calls = []
    cuda = types.SimpleNamespace(is_available=lambda: True, is_initialized=lambda: True,
                                 synchronize=lambda: calls.append("sync"))
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    assert monitor._cuda_used() is True
    meter = Meter(sysfs_root=fake_tree[0], gpus="none", poll_interval_s=3600)
    meter.begin_window("w")
    with pytest.warns(UserWarning, match="read 0 J"):
        meter.end_window("w")
    assert calls == ["sync", "sync"]  # at the start and at the end of the window
    cuda.is_initialized = lambda: False  # CUDA present but never used: nothing to wait for
    assert monitor._cuda_used() is False


def test_the_memory_sampler_waits_a_second_between_samples():
    sampler = estimate.RssSampler(Process([], [1e9]))
    assert sampler.daemon is True
    sampler._halt = Halt([False, True])
    sampler.run()
    assert sampler._halt.timeouts == [1.0, 1.0] and sampler.samples == [1e9, 1e9]


def test_pyrapl_micro_joules_exactly():
    # 1,500,000 + 2,250,000 uJ = 3.75 J and 500,000 uJ = 0.5 J, exactly (no rounding to hide
    # a divisor of 1,000,001: 3.7499962 J)
    counter = pyrapl_backend.PyRaplCounter(FakePyRapl)
    got = counter.end(result([1_500_000.0, 2_250_000.0], [500_000.0]))
    assert got == {"cpu": 3.75, "dram": 0.5}


def test_importing_pyrapl_prints_nothing_and_leaves_logging_as_it_was(monkeypatch, capfd):
    import logging

    pytest.importorskip("pyRAPL")
    for name in [n for n in sys.modules if n == "pyRAPL" or n.startswith("pyRAPL.")]:
        monkeypatch.delitem(sys.modules, name)  # imported afresh: its notes are logged again
    root = logging.getLogger()
    handlers, disabled = list(root.handlers), root.manager.disable
    module = pyrapl_backend._load(None)
    assert module.__name__ == "pyRAPL" and sys.modules["pyRAPL"] is module
    # pyRAPL's notes about pymongo and pandas went nowhere; the root logger is as it was
    assert capfd.readouterr() == ("", "")
    assert root.handlers == handlers and root.manager.disable == disabled
