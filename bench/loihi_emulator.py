"""Lava versus the batched fixed-point emulator: time per sample on the same samples, and the
emulator over the whole MNIST test set.

Run: .venv/bin/python bench/loihi_emulator.py [--run runs/x] [--lava-samples 16]
Uses the run's ``model.nir`` (default ``runs/readme/snn-mlp`` where it exists), else a
784-512-10 LIF network with random weights scaled to spike (the size of snn-mlp); T=16, constant
input (``--encoding graded``: Loihi 2 graded input, one graded spike per pixel into a first layer
whose current holds; the same samples in both). Prints Lava's time to compile and run the first
sample, its time per further sample (compiled once, reset between samples), the emulator's time
per sample on the same samples, the ratio of the two per-sample times, whether their spikes
agree, and the emulator's time for all 10,000 test images (goal: under 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import nir
import numpy as np

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", default=DEFAULT_RUN if Path(DEFAULT_RUN, "model.nir").is_file()
                        else None, help="a run directory whose model.nir to use")
    parser.add_argument("--lava-samples", type=int, default=16)
    parser.add_argument("--timesteps", type=int, default=16)
    parser.add_argument("--encoding", choices=("constant", "graded"), default="constant")
    args = parser.parse_args()
    if args.run:
        graph = nir.read(f"{args.run}/model.nir")
        print(f"network: {args.run}/model.nir")
    else:
        graph = random_graph(np.random.default_rng(0))
        print("network: random weights (no run given)")
    data = load_dataset("mnist")
    x = data.test_x.reshape(len(data.test_x), -1).astype(np.float64) / 255.0
    layers = quantize_chain(to_chain(graph), args.encoding)
    T = args.timesteps
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

    if k < 2:
        parser.error("--lava-samples must be at least 2 (the first sample includes compiling)")
    marks: list[float] = []
    start = time.perf_counter()
    lava = run_in_lava(layers, steps, first["host_bias"], first["input_spikes"], k,
                       on_sample=lambda _: marks.append(time.perf_counter()))
    first_s = marks[0] - start
    lava_s = (marks[-1] - marks[0]) / (k - 1)
    start = time.perf_counter()
    emulated = emulate(layers, steps, **first)
    emu_s = (time.perf_counter() - start) / k
    same = all(np.array_equal(emulated.spikes[i][:, j], lava[j][i])
               for j in range(k) for i in range(len(layers)))
    print(f"layers: {[fx.layer.neurons for fx in layers]} neurons, T={T}, {steps} steps/sample, "
          f"{args.encoding} input")
    print(f"Lava (fixed_pt): compile + first sample {first_s:.2f} s")
    print(f"Lava (fixed_pt)              {lava_s * 1e3:9.2f} ms/sample over the next {k - 1}")
    print(f"emulator (one batch of {k})    {emu_s * 1e3:9.2f} ms/sample")
    print(f"Lava / emulator per sample = {lava_s / emu_s:.1f}x; spikes identical: {same}")

    start = time.perf_counter()
    for i in range(0, len(x), 500):
        emulate(layers, steps, **inputs(x[i:i + 500]))
    full = time.perf_counter() - start
    print(f"emulator, all {len(x)} test images: {full:.1f} s (goal < 120 s)")


if __name__ == "__main__":
    main()
