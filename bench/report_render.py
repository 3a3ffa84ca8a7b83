"""Time of ``neuropipe energy-report`` for 10 runs x 3 targets (synthetic records).

Run: .venv/bin/python bench/report_render.py
Writes 10 run folders (records only: config, metrics, energy, three deployments each with two
or three cost models and four layers) into a temporary folder, then times reading them,
building the report, rendering every format (plots included) and the atomic write, separately
and through the CLI in-process. Wall and CPU time are both printed: this shared 2-vCPU machine is
often loaded (wall time then several times the CPU time), so the goal is on the CLI's CPU time:
the whole report in under 10 s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from neuropipe.models.records import TrainConfig, TrainMetrics
from neuropipe.reports.comparison import build_report
from neuropipe.reports.energy_record import EnergyRecord
from neuropipe.reports.meter.records import ComponentEnergy, Measurement
from neuropipe.reports.report.output import publish, render_files
from neuropipe.targets.records import (
    Counts,
    EnergyEstimate,
    EnergyTerm,
    LayerReport,
    Provenance,
    Resources,
    deployment_record,
)

RUNS = 10
TARGETS = {"cpu": (("degnan-cpu", "system", 8.6e-3), ("horowitz-fp32", "arithmetic", 4.6e-6),
                   ("meter", "measured", 5e-3)),
           "loihi": (("loihi1-davies2018", "chip", 1e-6),),
           "spinnaker": (("spinn5-spinnmachine", "system", 1e-2), ("spinnaker1", "chip", 1e-2))}
GOAL_S = 10.0


def _estimate(model: str, level: str, joules: float, default: bool) -> EnergyEstimate:
    term = EnergyTerm(name="ops", joules_per_inference=joules, level=level, cost_model=model)
    return EnergyEstimate(cost_model=model, level=level, default=default, total_j=joules,
                          dynamic_j=joules, terms=[term], leaves_out=["static power"])


def write_runs(root: Path) -> list[Path]:
    runs = []
    for i in range(RUNS):
        model, kind = ("mlp", "ann") if i % 2 == 0 else ("snn-mlp", "snn")
        run = root / f"run{i:02d}-{model}"
        run.mkdir(parents=True)
        TrainConfig(model=model).write(run / "config.json")
        TrainMetrics(model=model, kind=kind, dataset="mnist").write(run / "metrics.json")
        joules = 100.0 * (i + 1)
        total = Measurement(name="total", total_j=joules, components=[
            ComponentEnergy(component="cpu", energy_j=joules, method="estimate")])
        EnergyRecord(total=total, kwh=joules / 3.6e6, kwh_pue=1.58 * joules / 3.6e6,
                     co2e_kg=1e-5, constants={"pue": 1.58}).write(run / "energy.json")
        for target, figures in TARGETS.items():
            scale = 1.0 + 0.1 * i
            deployment_record(
                target, accuracy=0.95 + 0.004 * i, reference_accuracy=0.95, samples=10000,
                timesteps=16, counts=Counts(synops=1e5 * scale, neuron_updates=9e3),
                estimates=[_estimate(m, lv, j / scale, k == 0)
                           for k, (m, lv, j) in enumerate(figures)],
                layers=[LayerReport(name=f"fc{k}", synops_per_inference=1e4 * (k + 1))
                        for k in range(4)],
                resources=Resources(cores=4, chips=1, time_per_inference_s=0.018),
                provenance=Provenance(model=model, dataset="mnist")).write(
                run / "targets" / target / "deployment.json")
        runs.append(run)
    return runs


def main() -> None:
    from neuropipe.pipeline.cli import main as cli
    from neuropipe.pipeline.stages.energy_report import read_runs

    with tempfile.TemporaryDirectory() as tmp:
        runs = write_runs(Path(tmp) / "runs")
        t0 = time.perf_counter()
        comparison = read_runs(runs)
        t1 = time.perf_counter()
        report = build_report(comparison)
        t2 = time.perf_counter()
        files = render_files(report, ("md", "html", "json", "csv"))
        t3 = time.perf_counter()
        publish(Path(tmp) / "out", files)
        t4 = time.perf_counter()
        cpu = time.process_time()
        code = cli(["energy-report", *map(str, runs), "--out", str(Path(tmp) / "cli")])
        t5 = time.perf_counter()
        cpu = time.process_time() - cpu
    size = sum(len(b) for b in files.values())
    print(f"{RUNS} runs x {len(TARGETS)} targets = {len(comparison.configs)} configurations, "
          f"{len(files)} files, {size / 1e6:.2f} MB")
    print(f"read {t1 - t0:.3f} s; build {t2 - t1:.3f} s; render all formats {t3 - t2:.3f} s; "
          f"write {t4 - t3:.3f} s; whole CLI command {t5 - t4:.3f} s wall, {cpu:.3f} s CPU "
          f"(goal < {GOAL_S:g} s CPU)")
    if code != 0 or cpu > GOAL_S:
        sys.exit(1)


if __name__ == "__main__":
    main()
