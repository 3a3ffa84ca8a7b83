"""Overhead of running sweep trials on Ray Tune, against the same trials in a plain loop.

Run: .venv/bin/python bench/sweep_overhead.py [--quick]
Four fixed trials of realistic length (the bundled mnist-small budget: 20,000 training images,
2,000 test images on loihi and cpu, 4 images checked in Lava; mlp, cnn, snn-mlp; about 10-40 s
each on one thread here) run, after an untimed warm-up of the same four on 500 images (what the
first run of a network pays once is then not charged to the first way), four ways in this
order: a plain Python loop calling the same trial function in this process (the baseline); Ray
Tune one trial at a time (a private local Ray started and shut down inside the timing, the
trials fed as a grid, so both do the same work); Ray Tune two at a time (what a sweep does on
this 2-core machine); and the plain loop again, as a control: the two loops differ only by the
machine's noise, which bounds what the ratios can show. Printed: wall time of each, Ray's fixed
costs (init, shutdown), the overhead per trial one at a time ((Ray - mean loop) / trials) and
the ratios to the mean of the loops. Every trial writes the same run directory as a sweep's;
the figures of each way are checked to agree (the trials are deterministic).
``--quick`` uses the tiny budget (seconds per trial) to check the bench itself.
On a shared machine the wall times move with the load: the load average is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

PARAMS = [
    {"model": "mlp", "epochs": 2, "hidden": 128, "timesteps": 16, "encoding": "constant",
     "lr": 5e-3, "percentile": 99.9},
    {"model": "snn-mlp", "epochs": 1, "hidden": 256, "timesteps": 8, "encoding": "constant",
     "lr": 1e-2, "rate_penalty": 0.0},
    {"model": "cnn", "epochs": 1, "timesteps": 8, "encoding": "poisson", "lr": 5e-3,
     "percentile": 99.9},
    {"model": "mlp", "epochs": 1, "hidden": 64, "timesteps": 8, "encoding": "poisson",
     "lr": 5e-3, "percentile": 99.5},
]


def loop(spec, root: Path) -> tuple[float, dict]:
    from neuropipe.pipeline.sweep.trial import TrialParams, run_trial

    start = time.perf_counter()
    figures = {}
    for i, config in enumerate(PARAMS):
        result = run_trial(spec, TrialParams.from_search(config), root / f"t{i}", f"t{i}")
        figures[i] = exact(result.metrics())
    return time.perf_counter() - start, figures


def exact(metrics: dict) -> dict:
    from neuropipe.pipeline.sweep.spec import TRAINING_ENERGY

    return {k: v for k, v in metrics.items() if k != TRAINING_ENERGY}


def bench_trial(config: dict, spec: dict, root: str) -> None:
    from neuropipe.pipeline.sweep.search import trial_entry

    trial_entry(config["params"], spec, root)


def on_ray(spec, root: Path, concurrent: int) -> tuple[float, float, float, dict]:
    import json

    import ray
    from ray import tune

    from neuropipe.pipeline.sweep.search import connect, require_ray

    require_ray()  # Ray's quiet environment, as a sweep sets it
    start = time.perf_counter()
    connect(ray, None)
    init = time.perf_counter() - start
    trainable = tune.with_resources(
        tune.with_parameters(bench_trial, spec=spec.to_dict(), root=str(root)), {"cpu": 1})
    tuner = tune.Tuner(
        trainable, param_space={"params": tune.grid_search(PARAMS)},
        tune_config=tune.TuneConfig(max_concurrent_trials=concurrent, reuse_actors=True),
        run_config=tune.RunConfig(name="ray", storage_path=str(root), verbose=0))
    grid = tuner.fit()
    figures = {}
    for result in grid:
        record = json.loads(result.metrics["record"])
        index = PARAMS.index(result.config["params"])
        from neuropipe.pipeline.sweep.trial import TrialResult

        figures[index] = exact(TrialResult.from_dict(record).metrics())
    stop = time.perf_counter()
    ray.shutdown()
    end = time.perf_counter()
    return end - start, init, end - stop, figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny budget (checks the bench)")
    args = parser.parse_args()
    from neuropipe.pipeline.sweep.spec import load_spec
    from neuropipe.pipeline.sweep.trial import one_thread

    one_thread()
    spec = load_spec("mnist-tiny" if args.quick else "mnist-small")
    spec = dataclasses.replace(spec, trials=len(PARAMS))
    n = len(PARAMS)
    print(f"{n} trials, budget of {spec.name}; load average at start "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        root = Path(tmp)
        # Warm-up, not timed: the same four trials on 500 images, so that what the first
        # run of a network pays once (caches on disk, imports) is not charged to the loop.
        warm = dataclasses.replace(spec, limit_train=500, limit_test=200, samples=100)
        loop(warm, root / "warm")
        base, figures = loop(spec, root / "loop")
        print(f"plain loop, one at a time:  {base:7.1f} s  ({base / n:.1f} s per trial)",
              flush=True)
        one, init, down, figures1 = on_ray(spec, root / "ray1", 1)
        print(f"Ray Tune, one at a time:    {one:7.1f} s  (init {init:.1f} s, shutdown "
              f"{down:.1f} s included)", flush=True)
        two, init2, down2, figures2 = on_ray(spec, root / "ray2", 2)
        print(f"Ray Tune, two at a time:    {two:7.1f} s  (init {init2:.1f} s, shutdown "
              f"{down2:.1f} s included)", flush=True)
        again, figures3 = loop(spec, root / "loop2")
        print(f"plain loop again (control): {again:7.1f} s", flush=True)
        mean = (base + again) / 2
        print(f"ratios to the loops' mean ({mean:.1f} s): Ray one at a time {one / mean:.2f}x "
              f"(overhead {(one - mean) / n:+.1f} s per trial), Ray two at a time "
              f"{two / mean:.2f}x; control loop / first loop {again / base:.2f}x (noise)")
        same = figures == figures1 == figures2 == figures3
        print(f"accuracies and energies per inference of every trial identical in all four: "
              f"{same}; load average at end {os.getloadavg()[0]:.1f}")
        if not same:
            raise SystemExit("the trials gave different figures: not deterministic")


if __name__ == "__main__":
    main()
