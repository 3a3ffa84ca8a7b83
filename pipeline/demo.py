"""``make demo``: the main job end to end on a short budget, with a summary table at the end."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from neuropipe.pipeline.cli import main as cli

DEMO_ROOT = Path("runs") / "demo"


def run_demo(root: Path = DEMO_ROOT) -> int:
    """Train ``mlp`` and ``snn-mlp``, deploy both to Loihi, and print what each costs.

    Returns:
        0 on success, else the failing command's exit status.
    """
    steps = [
        ["train", "mlp", "--epochs", "1", "--out", str(root / "mlp"), "--force"],
        ["train", "snn-mlp", "--epochs", "1", "--out", str(root / "snn-mlp"), "--force"],
        ["convert", str(root / "mlp"), "--target", "loihi", "--samples", "2000",
         "--verify-samples", "8", "--force"],
        ["convert", str(root / "snn-mlp"), "--target", "loihi", "--samples", "2000",
         "--verify-samples", "8", "--force"],
    ]
    for args in steps:
        print(f"\n$ neuropipe {' '.join(args)}", flush=True)
        code = cli(args)
        if code != 0:
            return code
    summary(root)
    return 0


def summary(root: Path) -> None:
    """Print one row per run: accuracy, training energy, and Loihi figures."""
    from neuropipe.models.records import TrainMetrics
    from neuropipe.pipeline.rundir import RunDir
    from neuropipe.reports.energy_record import EnergyRecord
    from neuropipe.targets.base import DeploymentRecord

    table = Table(title="neuropipe demo: MNIST, trained here, deployed to simulated Loihi")
    for col in ("run", "test acc", "training energy", "Loihi acc (ref)", "synops/inf",
                "Loihi energy/inf", "of which host", "Lava spike match"):
        table.add_column(col)
    for name in ("mlp", "snn-mlp"):
        run = RunDir(root / name)
        metrics = TrainMetrics.read(run.metrics)
        energy = EnergyRecord.read(run.energy)
        dep = DeploymentRecord.read(run.deployment("loihi"))
        methods = sorted({c.method for c in energy.total.components})
        host = sum(t.joules_per_inference for t in dep.energy_breakdown if t.kind == "host")
        table.add_row(
            name, f"{metrics.test_accuracy:.4f}",
            f"{energy.total.total_j:.0f} J ({'/'.join(methods)})",
            f"{dep.accuracy:.4f} ({dep.reference_accuracy:.4f})",
            f"{dep.synops_per_inference:,.0f}",
            f"{dep.energy_per_inference_j * 1e6:.1f} uJ", f"{host * 1e6:.1f} uJ",
            f"{dep.verification.get('spike_match', float('nan')):.4f}")
    console = Console()
    console.print(table)
    console.print("Loihi energy: Davies et al. 2018 per-op costs (Loihi 1) for synaptic ops and "
                  "neuron updates; 'host' is the first layer computed on the CPU for analogue "
                  "input (Degnan et al. 2015 cost). Static power, routing and I/O are not "
                  "included; training energy is an estimate where the machine has no counter. "
                  "Details: each run's energy.json and targets/loihi/deployment.json.")


if __name__ == "__main__":
    sys.exit(run_demo())
