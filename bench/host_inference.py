"""Host-target inference: samples per second of the `cpu` target at several batch sizes.

Run: .venv/bin/python bench/host_inference.py [--samples 2000]
Uses runs/readme/mlp (its ONNX model in onnxruntime) and runs/readme/snn-mlp (its NIR graph as
dense PyTorch steps) where they exist, else random networks of the same shapes. Each figure is
the target's own measured pass (warm-up excluded) over the same MNIST test images; the ratio is
against batch 256 (the target's default), measured in the same run. Then batch 256 again with
one core kept busy (``bench/busy.py``), against the quiet figure of the same run: the threads
come from ``neuropipe.core.threads``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import nir
import numpy as np

from neuropipe.models.data.datasets import load_dataset
from neuropipe.targets.base import Workload
from neuropipe.targets.host.target import CpuTarget

sys.path.insert(0, str(Path(__file__).parent))
from busy import quiet_and_loaded  # noqa: E402

RUNS = Path("runs/readme")


def workloads(x: np.ndarray, labels: np.ndarray) -> dict[str, Workload]:
    out = {}
    if (RUNS / "mlp" / "model.onnx").is_file():
        out["mlp (onnxruntime)"] = Workload(None, x.reshape(len(x), 1, 28, 28), labels, 1,
                                           onnx=str(RUNS / "mlp" / "model.onnx"))
    graph_file = RUNS / "snn-mlp" / "model.nir"
    if graph_file.is_file():
        graph = nir.read(str(graph_file))
    else:
        from loihi_emulator import random_graph

        graph = random_graph(np.random.default_rng(0))
    out["snn-mlp (PyTorch, 16 dense steps)"] = Workload(graph, x.reshape(len(x), -1), labels,
                                                        16)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    data = load_dataset("mnist")
    x = data.test_x[:args.samples].astype(np.float32) / 255.0
    labels = data.test_y[:args.samples]
    target = CpuTarget()
    for name, workload in workloads(x, labels).items():
        rates = {}
        for batch in (256, 1, 32, 1024):
            with tempfile.TemporaryDirectory() as folder:
                record = target.deploy(workload, Path(folder), batch_size=batch)
            rates[batch] = record.verification["samples_per_s"]
        base = rates[256]
        cells = ", ".join(f"batch {b}: {r:,.0f}/s ({r / base:.2f}x)"
                          for b, r in sorted(rates.items()))
        print(f"{name}: {cells}")

        used: set[int] = set()

        def timed(w: Workload = workload, used: set[int] = used) -> float:
            with tempfile.TemporaryDirectory() as folder:
                record = target.deploy(w, Path(folder), batch_size=256)
            used.add(record.resources.cores)
            return record.verification["wall_s"]

        line = quiet_and_loaded(timed)
        print(f"{name}, batch 256, threads {sorted(used)}: {line}")


if __name__ == "__main__":
    main()
