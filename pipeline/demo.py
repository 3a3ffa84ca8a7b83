"""``make demo``: the main job end to end on a short budget, with a summary table at the end."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from neuropipe.pipeline.cli import main as cli

DEMO_ROOT = Path("runs") / "demo"


def run_demo(root: Path = DEMO_ROOT) -> int:
    """Train ``mlp`` and ``snn-mlp``, deploy both to every target available here, and report.

    Returns:
        0 on success, else the failing command's exit status.
    """
    steps = [
        ["train", "mlp", "--epochs", "1", "--out", str(root / "mlp"), "--force"],
        ["train", "snn-mlp", "--epochs", "1", "--out", str(root / "snn-mlp"), "--force"],
        ["convert", str(root / "mlp"), "--target", "all", "--samples", "2000",
         "--verify-samples", "8", "--force"],
        ["convert", str(root / "snn-mlp"), "--target", "all", "--samples", "2000",
         "--verify-samples", "8", "--force"],
        ["energy-report", str(root / "mlp"), str(root / "snn-mlp"), "--out",
         str(root / "report")],
    ]
    for args in steps:
        print(f"\n$ neuropipe {' '.join(args)}", flush=True)
        code = cli(args)
        if code != 0:
            return code
    summary(root)
    print(f"\nThe report: {root / 'report' / 'report.html'} (also report.md, report.json, "
          "report.csv and the plots beside them)")
    return 0


def summary(root: Path) -> None:
    """Print one row per run and target: accuracy and the default energy figure with its level."""
    from neuropipe.core.rundir import RunDir
    from neuropipe.models.records import TrainMetrics
    from neuropipe.reports.energy_record import EnergyRecord
    from neuropipe.reports.report.text import joules
    from neuropipe.targets.records import DeploymentRecord

    table = Table(title="neuropipe demo: MNIST, trained here, deployed to every target here")
    for column in ("run", "target", "accuracy", "energy / inference", "level"):
        table.add_column(column, justify="left" if column in ("run", "target") else "right")
    for name in ("mlp", "snn-mlp"):
        run = RunDir(root / name)
        metrics = TrainMetrics.read(run.metrics)
        energy = EnergyRecord.read(run.energy)
        methods = "/".join(sorted({c.method for c in energy.total.components}))
        table.add_row(name, "training", f"{metrics.test_accuracy:.4f}",
                      f"{joules(energy.total.total_j)} total", methods)
        for path in sorted((run.root / "targets").glob("*/deployment.json")):
            dep = DeploymentRecord.read(path)
            main = dep.default_estimate
            table.add_row("", dep.target, f"{dep.accuracy:.4f}", joules(main.total_j),
                          main.level)
    console = Console()
    console.print(table)
    console.print("Each figure is the target's default cost model (named in its "
                  "deployment.json); levels differ (chip, system, arithmetic, measured) and are "
                  "not comparable across: the report compares like with like. Training energy "
                  "is an estimate where the machine has no counter. Details: each run's "
                  "energy.json and targets/*/deployment.json.")


if __name__ == "__main__":
    sys.exit(run_demo())
