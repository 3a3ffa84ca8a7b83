"""Samples/s of STDP training: the vectorised rule against a plain per-sample loop, same run.

Both present the same MNIST images with the same input spikes (one generator seed each) to
the default ``stdp`` network (400 neurons, 48 steps, Diehl & Cook parameters) from the same
initial weights, one sample at a time, learning as they go:

- vectorised (``StdpTrainer``, what ``neuropipe train stdp`` runs): the input spikes of a
  sample drawn at once, the current as a sum of the active inputs' weight rows, weight
  updates only on the rows of active inputs and the columns of neurons that fired;
- reference (``reference_sample``): per step, dense matrix-vector products for the input and
  the lateral inhibition, and outer products over all 784 x 400 synapses for the updates.

It checks that both end with the same weights and thresholds (they must: same rule), then
prints each one's samples/s and the ratio. Samples are interleaved (A, B, A, B...) so that
load from other processes affects both alike; the load average is printed beside.

Usage: ``OMP_NUM_THREADS=2 .venv/bin/python bench/stdp_speed.py [--samples 30]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from neuropipe.models.data.datasets import load_dataset
from neuropipe.models.stdp import DiehlCook, StdpTrainer, reference_sample
from neuropipe.models.zoo import MODELS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--skip", type=int, default=0,
                        help="Train the vectorised rule on this many samples first (a network "
                        "further into training fires less).")
    args = parser.parse_args()
    spec = MODELS["stdp"]
    torch.manual_seed(0)
    model = DiehlCook(spec.default_timesteps, spec.default_encoding)
    steps, p = model.timesteps, model.p
    data = load_dataset("mnist")
    images = data.train_x[:args.skip + args.samples].reshape(-1, 784) / 255.0
    w0 = model.weight.double().numpy().T.copy()
    theta0 = np.zeros(model.neurons)
    if args.skip:
        warm = StdpTrainer(w0, theta0, p, steps)
        rng = np.random.default_rng(123)
        for image in images[:args.skip]:
            warm.learn(image, rng)
        w0, theta0 = warm.w.copy(), warm.theta.copy()
    fast = StdpTrainer(w0.copy(), theta0.copy(), p, steps)
    w_ref, theta_ref = w0.copy(), theta0.copy()
    rng_fast, rng_ref = np.random.default_rng(1), np.random.default_rng(1)
    t_fast = t_ref = 0.0
    spikes = 0.0
    load_start = os.getloadavg()
    for image in images[args.skip:]:
        start = time.perf_counter()
        counts = fast.learn(image, rng_fast)
        t_fast += time.perf_counter() - start
        start = time.perf_counter()
        reference_sample(w_ref, theta_ref, image, rng_ref, p, steps)
        t_ref += time.perf_counter() - start
        spikes += counts.sum()
    load_end = os.getloadavg()
    same = (np.allclose(fast.w, w_ref, rtol=0, atol=1e-9)
            and np.allclose(fast.theta, theta_ref, rtol=0, atol=1e-9))
    print(f"stdp: {model.neurons} neurons, {steps} steps, {args.samples} samples "
          f"(after {args.skip} warm-up), {spikes / args.samples:.1f} spikes/sample; "
          f"torch threads {torch.get_num_threads()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'not set')}")
    print(f"same weights and thresholds after {args.samples} samples: {same} "
          f"(max |dw| {np.abs(fast.w - w_ref).max():.2e})")
    print(f"vectorised {args.samples / t_fast:8.1f} samples/s")
    print(f"reference  {args.samples / t_ref:8.1f} samples/s")
    print(f"ratio      {t_ref / t_fast:8.1f}x  (load average {load_start[0]:.2f} -> "
          f"{load_end[0]:.2f})")
    if not same:
        raise SystemExit("the vectorised rule and the reference loop disagree")


if __name__ == "__main__":
    main()
