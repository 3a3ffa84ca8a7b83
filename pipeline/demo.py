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
    from neuropipe.core.rundir import RunDir
    from neuropipe.models.records import TrainMetrics
    from neuropipe.reports.energy_record import EnergyRecord
    from neuropipe.targets.records import DeploymentRecord

    names = ("mlp", "snn-mlp")
    table = Table(title="neuropipe demo: MNIST, trained here, deployed to simulated Loihi")
    table.add_column("")
    for name in names:
        table.add_column(name, justify="right")
    rows: dict[str, list[str]] = {}
    for name in names:
        run = RunDir(root / name)
        metrics = TrainMetrics.read(run.metrics)
        energy = EnergyRecord.read(run.energy)
        dep = DeploymentRecord.read(run.deployment("loihi"))
        methods = "/".join(sorted({c.method for c in energy.total.components}))
        host, chip = dep.host_energy_per_inference_j, dep.chip_energy_per_inference_j
        for label, value in (
                ("test accuracy (PyTorch)", f"{metrics.test_accuracy:.4f}"),
                ("training energy", f"{energy.total.total_j:.0f} J ({methods})"),
                ("Loihi accuracy", f"{dep.accuracy:.4f}"),
                ("reference on the same images", f"{dep.reference_accuracy:.4f}"),
                ("synops / inference", f"{dep.synops_per_inference:,.0f}"),
                ("neuron updates / inference", f"{dep.neuron_updates_per_inference:,.0f}"),
                ("chip energy / inference", f"{chip * 1e6:.2f} uJ"),
                ("host first layer / inference", f"{host * 1e6:.1f} uJ"),
                ("Lava spike match", f"{dep.verification.get('spike_match', float('nan')):.4f}")):
            rows.setdefault(label, []).append(value)
    for label, values in rows.items():
        table.add_row(label, *values)
    console = Console()
    console.print(table)
    console.print("Loihi energy: Davies et al. 2018 per-op costs (Loihi 1) for synaptic ops and "
                  "neuron updates; 'host' is the first layer computed on the CPU for analogue "
                  "input (Degnan et al. 2015 cost). Static power, routing and I/O are not "
                  "included; training energy is an estimate where the machine has no counter. "
                  "Details: each run's energy.json and targets/loihi/deployment.json.")


if __name__ == "__main__":
    sys.exit(run_demo())
