"""NEST versus the SpiNNaker target's fast path: time per sample on the same samples, spike
agreement, and sPyNNaker's mapping time on a virtual SpiNN-5 board.

Run: .venv/bin/python bench/spinnaker_reference.py [--run runs/x] [--nest-samples 32]
       [--images 10000] [--nest-samples 0: the fast path's full pass only]
Uses the run's ``model.nir`` (default ``runs/readme/snn-mlp`` where it exists), else a
784-512-10 LIF network with random weights (the size of snn-mlp); T=16. Both encodings: with
``constant`` input the first layer runs on the host (NEST simulates 512x10 synapses), with
``poisson`` every synapse is in NEST (401k). For each it prints NEST's build time, its time per
sample (reset between samples, spikes read back), the fast path's time per sample on the same
samples, their ratio, whether every spike agrees, and the mapping time. Then the fast path over
``--images`` test images (batches of 500), quiet and with one core busy (``bench/busy.py``), in
the same run: the threads come from ``neuropipe.core.threads``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nir
import numpy as np

from neuropipe.models.data.datasets import load_dataset
from neuropipe.targets.chain import to_chain
from neuropipe.targets.float_sim import poisson_spikes
from neuropipe.targets.spinnaker.fast_path import delay_depth, run_fast_path
from neuropipe.targets.spinnaker.network import network_file, write_network
from neuropipe.targets.spinnaker.target import run_script

sys.path.insert(0, str(Path(__file__).parent))
from busy import quiet_and_loaded  # noqa: E402
from loihi_emulator import DEFAULT_RUN, random_graph  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", default=DEFAULT_RUN if Path(DEFAULT_RUN, "model.nir").is_file()
                        else None, help="a run directory whose model.nir to use")
    parser.add_argument("--nest-samples", type=int, default=32)
    parser.add_argument("--timesteps", type=int, default=16)
    parser.add_argument("--images", type=int, default=10_000,
                        help="test images of the fast path's full pass (0: none)")
    args = parser.parse_args()
    graph = nir.read(f"{args.run}/model.nir") if args.run else random_graph(
        np.random.default_rng(0))
    print(f"network: {args.run + '/model.nir' if args.run else 'random weights (no run given)'}")
    chain = to_chain(graph)
    data = load_dataset("mnist")
    k, T = args.nest_samples, args.timesteps
    x = data.test_x[:k].reshape(-1, 784).astype(np.float64) / 255.0
    every = data.test_x[:args.images].reshape(-1, 784).astype(np.float64) / 255.0
    for encoding in ("constant", "poisson"):
        if every.size:
            print(f"{encoding:8s}: fast path, all {len(every)} images: "
                  f"{quiet_and_loaded(lambda e=encoding: full_pass(chain, every, T, e))}")
        if k == 0:
            continue
        spikes = poisson_spikes(x, T, np.random.default_rng(0)) if encoding == "poisson" \
            else None
        steps = T + delay_depth(chain, encoding)
        started = time.perf_counter()
        fast = run_fast_path(chain, x, T, steps, encoding, spikes, keep_rasters=True)
        fast_s = (time.perf_counter() - started) / k
        with tempfile.TemporaryDirectory() as folder:
            net = Path(folder) / "network.npz"
            write_network(str(net), *network_file(chain, T, encoding, steps, x, spikes))
            run_script(["nest", str(net), "--out", str(Path(folder) / "s.npz")], "NEST")
            with np.load(Path(folder) / "s.npz") as d:
                nest = [d[f"L{i}"] for i in range(len(chain.layers))]
                build_s, nest_s = float(d["build_s"]), float(d["per_sample_s"])
            started = time.perf_counter()
            run_script(["spinnaker", str(net), "--out", str(Path(folder) / "p.json")],
                       "sPyNNaker mapping")
            map_wall = time.perf_counter() - started
        same = all(np.array_equal(f.transpose(1, 0, 2), n)
                   for f, n in zip(fast.rasters, nest, strict=True))
        print(f"{encoding:8s}: NEST build {build_s:.2f} s, {nest_s * 1e3:.1f} ms/sample; fast "
              f"path {fast_s * 1e3:.2f} ms/sample (batch of {k}); NEST/fast = "
              f"{nest_s / fast_s:.0f}x; spikes identical: {same}; sPyNNaker mapping "
              f"{map_wall:.1f} s wall (child process, imports included)")


def full_pass(chain: object, x: np.ndarray, timesteps: int, encoding: str, batch: int = 500
              ) -> float:
    """Seconds of the fast path over ``x`` in batches (input spikes drawn beforehand)."""
    rng = np.random.default_rng(0)
    steps = timesteps + delay_depth(chain, encoding)
    parts = [(x[i:i + batch], poisson_spikes(x[i:i + batch], timesteps, rng)
              if encoding == "poisson" else None) for i in range(0, len(x), batch)]
    started = time.perf_counter()
    for part, spikes in parts:
        run_fast_path(chain, part, timesteps, steps, encoding, spikes)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
