"""Lava versus the batched fixed-point emulator: time per sample on the same samples, and the
emulator over the whole MNIST test set, quiet and with one core busy.

Run: .venv/bin/python bench/loihi_emulator.py [--run runs/x] [--lava-samples 16]
Uses the run's ``model.nir`` (default ``runs/readme/snn-mlp`` where it exists): a trained SNN's
graph, or a converted ANN's (``runs/readme/cnn``: IF neurons); a trained SNN without one (a run
only trained) is exported from its ``model.pt``. Else a 784-512-10 LIF network with random
weights scaled to spike (the size of snn-mlp). T: the run's own (an SNN's training steps, 32 for
a converted ANN, as ``convert``), or ``--timesteps``; constant input (``--encoding graded``:
Loihi 2 graded input, one graded spike per pixel into a first layer whose current holds; the
same samples in both).

Prints Lava's time to compile and run the first sample, its time per further sample (compiled
once, reset between samples; Lava is slow on convolutions: give a few samples and read the
10,000-image figure as extrapolated from that per-sample time), the emulator's time per sample on
the same samples in one batch, the ratio of the two per-sample times, and whether their spikes
agree. Then the emulator's time for all ``--images`` test images in batches of ``--batch``
(goal: under 2 minutes on 2 cores), each figure twice in the same run: quiet, and with one core
kept busy by a busy-loop process (``bench/busy.py``), with the loaded/quiet ratio, the threads
``neuropipe.core.threads`` chose and the machine's load beside each; ``--fixed-threads 1 2``
adds, for each count, a quiet and a loaded pass at that many threads (the choice overridden
through ``NEUROPIPE_THREADS``), to check the choice against the alternatives in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nir
import numpy as np

from neuropipe.core import threads
from neuropipe.models.data.datasets import load_dataset
from neuropipe.targets.chain import to_chain
from neuropipe.targets.loihi.emulator import emulate
from neuropipe.targets.loihi.lava_runner import run_in_lava
from neuropipe.targets.loihi.quantize import quantize_chain

DEFAULT_RUN = "runs/readme/snn-mlp"


def random_graph(rng: np.random.Generator) -> nir.NIRGraph:
    def lif(n: int) -> nir.LIF:
        return nir.LIF(tau=np.full(n, 5.0), r=np.ones(n), v_leak=np.zeros(n),
                       v_threshold=np.ones(n), v_reset=np.zeros(n))

    nodes = {"input": nir.Input(input_type={"input": np.array([784])}),
             "fc1": nir.Affine(weight=rng.normal(0, 0.15, (512, 784)), bias=np.zeros(512)),
             "lif1": lif(512),
             "fc2": nir.Affine(weight=rng.normal(0.02, 0.3, (10, 512)), bias=np.zeros(10)),
             "lif2": lif(10),
             "output": nir.Output(output_type={"output": np.array([10])})}
    order = ["input", "fc1", "lif1", "fc2", "lif2", "output"]
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)))


def run_graph(run: str) -> tuple[nir.NIRGraph, int, str]:
    """The run's graph, its own timesteps, and where the graph came from."""
    from neuropipe.core.rundir import RunDir
    from neuropipe.models.records import TrainConfig
    from neuropipe.models.zoo import get_spec
    from neuropipe.pipeline.stages.convert import CONVERTED_TIMESTEPS

    folder = RunDir(Path(run))
    config = TrainConfig.read(folder.config)
    snn = get_spec(config.model).kind == "snn"
    steps = config.timesteps if snn else CONVERTED_TIMESTEPS
    if folder.nir.is_file():
        return nir.read(str(folder.nir)), steps, f"{folder.nir}"
    if not snn:
        sys.exit(f"{run}: no model.nir; run 'neuropipe convert {run} --target loihi' first")
    from neuropipe.models.checkpoint import load_trained
    from neuropipe.models.nir_export import export_snn

    model, _ = load_trained(folder)
    return export_snn(model), steps, f"{folder.model} (exported)"


class Recorder:
    """Which thread counts ``core.threads`` chose while a block ran."""

    def __init__(self) -> None:
        self.chosen: list[int] = []
        self._choose = threads.choose_threads
        threads.choose_threads = self._record

    def _record(self, batch: int, *args: object, **kwargs: object) -> int:
        n = self._choose(batch, *args, **kwargs)
        self.chosen.append(n)
        return n

    def since(self, mark: int) -> str:
        seen = self.chosen[mark:]
        if not seen:
            return "threads ?"
        low, high = min(seen), max(seen)
        return f"threads {low}" if low == high else f"threads {low}-{high}"


def timed(fn: Callable[[], object], repeats: int = 1) -> float:
    """Median wall seconds of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    from busy import load_text, one_busy_core

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", default=DEFAULT_RUN if Path(DEFAULT_RUN, "model.nir").is_file()
                        else None, help="a run directory whose model.nir to use")
    parser.add_argument("--lava-samples", type=int, default=16)
    parser.add_argument("--timesteps", type=int, default=None,
                        help="steps per sample (default: the run's own, else 16)")
    parser.add_argument("--encoding", choices=("constant", "graded"), default="constant")
    parser.add_argument("--images", type=int, default=10_000, help="test images of the full pass")
    parser.add_argument("--batch", type=int, default=500, help="batch of the full pass")
    parser.add_argument("--repeats", type=int, default=3,
                        help="repeats of the small batch (median)")
    parser.add_argument("--fixed-threads", type=int, nargs="*", default=[],
                        help="also time quiet and loaded passes at each of these thread counts")
    parser.add_argument("--no-load", action="store_true", help="quiet figures only")
    args = parser.parse_args()
    if args.lava_samples < 2:
        parser.error("--lava-samples must be at least 2 (the first sample includes compiling)")
    own_steps = 16
    if args.run:
        graph, own_steps, where = run_graph(args.run)
        print(f"network: {where}")
    else:
        graph = random_graph(np.random.default_rng(0))
        print("network: random weights (no run given)")
    data = load_dataset("mnist")
    x = data.test_x.reshape(len(data.test_x), -1).astype(np.float64) / 255.0
    x = x[:args.images]
    layers = quantize_chain(to_chain(graph), args.encoding)
    T = args.timesteps or own_steps
    graded = args.encoding == "graded"
    steps = T + len(layers) - 1 + graded
    k = args.lava_samples

    def inputs(batch: np.ndarray) -> dict[str, np.ndarray | None]:
        if not graded:
            return {"host_bias": layers[0].input_bias(batch)[0], "input_spikes": None}
        spikes = np.zeros((steps, len(batch), batch.shape[1]), dtype=np.int16)
        spikes[0] = layers[0].graded_payload(batch)
        return {"host_bias": None, "input_spikes": spikes}

    first = inputs(x[:k])
    recorder = Recorder()
    print(f"layers: {[fx.layer.neurons for fx in layers]} neurons, T={T}, {steps} steps/sample, "
          f"{args.encoding} input; {threads.usable_cores()} cores, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'not set')}")
    print(f"start: {load_text()}")

    marks: list[float] = []
    start = time.perf_counter()
    lava = run_in_lava(layers, steps, first["host_bias"], first["input_spikes"], k,
                       on_sample=lambda _: marks.append(time.perf_counter()))
    first_s = marks[0] - start
    lava_s = (marks[-1] - marks[0]) / (k - 1)
    print(f"Lava (fixed_pt): compile + first sample {first_s:.2f} s; "
          f"{lava_s * 1e3:.1f} ms/sample over the next {k - 1} ({load_text()}); "
          f"all {len(x)} images extrapolated from that: {lava_s * len(x):.0f} s")
    emulated = emulate(layers, steps, **first)
    same = all(np.array_equal(emulated.spikes[i][:, j], lava[j][i])
               for j in range(k) for i in range(len(layers)))
    print(f"emulator and Lava spikes identical on the {k} samples: {same}")

    def small() -> float:
        return timed(lambda: emulate(layers, steps, **first), args.repeats) / k

    def full() -> float:
        return timed(lambda: [emulate(layers, steps, **inputs(x[i:i + args.batch]))
                              for i in range(0, len(x), args.batch)])

    phases = [("quiet", contextlib.nullcontext, None)]
    if not args.no_load:
        phases.append(("one core busy", one_busy_core, None))
    for n in args.fixed_threads:
        phases.append((f"quiet, fixed {n} threads", contextlib.nullcontext, n))
        if not args.no_load:
            phases.append((f"one core busy, fixed {n} threads", one_busy_core, n))
    quiet: dict[str, float] = {}
    for name, load, fixed in phases:
        if fixed:
            os.environ[threads.FIXED] = str(fixed)
        with load():
            mark = len(recorder.chosen)
            per = small()
            small_line = (f"{name:>34}: batch of {k}: {per * 1e3:8.2f} ms/sample "
                          f"({recorder.since(mark)}), Lava/emulator {lava_s / per:6.0f}x")
            mark = len(recorder.chosen)
            whole = full()
            full_line = (f"{'':>34}  all {len(x)} (batches of {args.batch}): {whole:7.1f} s, "
                         f"{whole / len(x) * 1e3:.2f} ms/sample ({recorder.since(mark)}), "
                         f"Lava/emulator {lava_s * len(x) / whole:.0f}x")
            state = load_text()
        os.environ.pop(threads.FIXED, None)
        if not quiet:
            quiet = {"small": per, "full": whole}
            print(f"{small_line}\n{full_line}; {state}")
        else:
            print(f"{small_line}, {per / quiet['small']:.2f}x quiet\n{full_line}, "
                  f"{whole / quiet['full']:.2f}x quiet; {state}")


if __name__ == "__main__":
    main()
