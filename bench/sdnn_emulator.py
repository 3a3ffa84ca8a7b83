"""Lava versus the batched sigma-delta emulator: time per sample on the same samples.

Run: .venv/bin/python bench/sdnn_emulator.py [--run /work/runs/mlp] [--lava-samples 16]
Uses the run's ``model.onnx`` (an mlp or cnn run), quantised as ``convert --encoding sdnn`` does
(activation ranges from 2,000 training images, delta threshold 0). Prints Lava's time to compile
and run the first sample, its time per further sample (compiled once, reset between samples),
the emulator's time per sample on the same samples (one small batch), their ratio, whether every
message agrees, and the emulator's time for all test images in batches of 500 (as ``convert``
runs it) with the ratio per sample at that batch size.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neuropipe.models.data.datasets import load_dataset
from neuropipe.models.training import to_tensor
from neuropipe.targets.loihi.sdnn.emulator import emulate_sdnn
from neuropipe.targets.loihi.sdnn.lava_runner import run_sdnn_in_lava
from neuropipe.targets.loihi.sdnn.network import read_onnx
from neuropipe.targets.loihi.sdnn.quantize import input_messages, quantize_sdnn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", default="/work/runs/mlp", help="an mlp or cnn run directory")
    parser.add_argument("--lava-samples", type=int, default=16)
    args = parser.parse_args()
    data = load_dataset("mnist", None)
    x = to_tensor(data.test_x).numpy()
    ann = read_onnx(f"{args.run}/model.onnx", tuple(x.shape[1:]))
    layers = quantize_sdnn(ann, to_tensor(data.train_x[:2000]).numpy())
    steps = len(layers) + 1
    k = args.lava_samples
    x_int = input_messages(x)
    stamps = []
    start = time.perf_counter()
    lava = run_sdnn_in_lava(layers, steps, x_int, k,
                            on_sample=lambda _: stamps.append(time.perf_counter()))
    first = stamps[0] - start
    lava_per = (stamps[-1] - stamps[0]) / max(k - 1, 1)
    start = time.perf_counter()
    emulated = emulate_sdnn(layers, x_int[:k], steps)
    emu_per = (time.perf_counter() - start) / k
    same = all(np.array_equal(emulated.messages[i][:, j], lava[j][i])
               for j in range(k) for i in range(len(layers)))
    start = time.perf_counter()
    for b in range(0, len(x_int), 500):
        emulate_sdnn(layers, x_int[b:b + 500], steps)
    total = time.perf_counter() - start
    print(f"network: {' -> '.join(str(fx.layer.neurons) for fx in layers)}, {steps} steps")
    print(f"Lava: first sample (compile + run) {first:.2f} s; then {lava_per * 1e3:.1f} ms/sample")
    print(f"emulator on the same {k} samples: {emu_per * 1e3:.3f} ms/sample")
    print(f"ratio Lava / emulator per sample: {lava_per / emu_per:.0f}x; messages equal: {same}")
    print(f"emulator, all {len(x_int)} test images in batches of 500: {total:.2f} s "
          f"({total / len(x_int) * 1e3:.3f} ms/sample; Lava / emulator "
          f"{lava_per / (total / len(x_int)):.0f}x)")


if __name__ == "__main__":
    main()
