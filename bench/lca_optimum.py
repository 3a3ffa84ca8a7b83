"""How close a trained ``lca`` run's spiking codes come to the exact sparse codes of its dictionary.

For the first ``--images`` test images it compares the codes the spiking network reads out
(``a = theta * count / T``, what the readout and every target use) with the exact minimiser of
the same objective ``E(a) = 1/2 ||x - Phi a||^2 + lambda sum(a)``, ``a >= 0``, found by
projected FISTA (Beck & Teboulle 2009; 1,000 iterations, step ``1 / ||Phi^T Phi||``). It
prints the mean objective of both and their mean ratio, the active units per image, the
relative residual ``||x - Phi a|| / ||x||`` and the sum of the codes.

Without ``RUN`` (as ``make bench`` calls it) it first trains a default ``lca`` for one epoch
on the first ``--train`` training images (5,000), in memory.

Usage: ``OMP_NUM_THREADS=1 .venv/bin/python bench/lca_optimum.py [RUN] [--images 1000]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from neuropipe.core.rundir import RunDir
from neuropipe.models.checkpoint import load_trained
from neuropipe.models.data.datasets import load_dataset
from neuropipe.models.lca import SparseCoding
from neuropipe.models.training import to_tensor


def exact_codes(x: torch.Tensor, phi: torch.Tensor, lam: float, iterations: int = 1000
                ) -> torch.Tensor:
    """Non-negative sparse codes of ``x`` (rows) by projected FISTA."""
    gram, drive = phi.T @ phi, x @ phi
    step = 1.0 / float(torch.linalg.eigvalsh(gram).max())
    a = torch.zeros(len(x), phi.shape[1], dtype=x.dtype)
    z, t = a.clone(), 1.0
    for _ in range(iterations):
        a_next = torch.clamp(z - step * (z @ gram - drive + lam), min=0)
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        z = a_next + (t - 1) / t_next * (a_next - a)
        a, t = a_next, t_next
    return a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, nargs="?")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--train", type=int, default=5000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_dataset("mnist")
    if args.run is not None:
        model, _ = load_trained(RunDir(args.run))
    else:
        torch.manual_seed(0)
        model = SparseCoding(32, "constant")
        model.fit_epoch(to_tensor(data.train_x[:args.train]),
                        torch.from_numpy(data.train_y[:args.train]), 500, seed=1)
        print(f"a default lca trained for one epoch on {args.train} training images")
    x = to_tensor(data.test_x[:args.images]).reshape(args.images, -1).double()
    phi = model.dictionary.double()
    with torch.no_grad():
        spiking = model.codes(model.features(x.float())).double()
    exact = exact_codes(x, phi, model.lam)

    def objective(a: torch.Tensor) -> torch.Tensor:
        r = x - a @ phi.T
        return 0.5 * (r * r).sum(1) + model.lam * a.sum(1)

    def residual(a: torch.Tensor) -> float:
        return float(((x - a @ phi.T).norm(dim=1) / x.norm(dim=1)).mean())

    e_spiking, e_exact = objective(spiking), objective(exact)
    print(f"{args.images} test images, {phi.shape[1]} atoms, lambda {model.lam:g}, "
          f"theta {model.threshold:g}, {model.timesteps} steps")
    print(f"objective: spiking {e_spiking.mean():.3f}, exact {e_exact.mean():.3f}, "
          f"mean ratio {(e_spiking / e_exact).mean():.3f}")
    print(f"active units per image: spiking {(spiking > 0).sum(1).double().mean():.1f}, "
          f"exact {(exact > 1e-6).sum(1).double().mean():.1f}")
    print(f"relative residual: spiking {residual(spiking):.3f}, exact {residual(exact):.3f}")
    print(f"sum of codes: spiking {spiking.sum(1).mean():.2f}, exact {exact.sum(1).mean():.2f}")


if __name__ == "__main__":
    main()
