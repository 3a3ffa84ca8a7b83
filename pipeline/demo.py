"""``make demo``: the main job end to end on a short budget, with a summary table at the end."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from neuropipe.pipeline.cli import main as cli

DEMO_ROOT = Path("runs") / "demo"


def run_demo(root: Path = DEMO_ROOT) -> int:
    """Train ``mlp`` and ``snn-mlp``, deploy both to every target, and report.

    On Loihi the ANN runs as itself (``--encoding sdnn``) and the SNN takes its input as graded
    spikes (``--encoding graded``), so that each runs its whole inference on the chip.

    Returns:
        0 on success, else the failing command's exit status.
    """
    hosts = "cpu,gpu,spinnaker,spinnaker2,asic"  # every target but loihi, each as trained
    common = ["--samples", "2000", "--verify-samples", "8", "--force"]
    steps = [
        ["train", "mlp", "--epochs", "1", "--out", str(root / "mlp"), "--force"],
        ["train", "snn-mlp", "--epochs", "1", "--out", str(root / "snn-mlp"), "--force"],
        # The ANN as itself on Loihi (sigma-delta), the SNN with its first layer on the chip
        # (graded input): the whole inference on the chip, so both have a chip-level figure.
        ["convert", str(root / "mlp"), "--target", hosts, *common],
        ["convert", str(root / "mlp"), "--target", "loihi", "--encoding", "sdnn", *common],
        ["convert", str(root / "snn-mlp"), "--target", hosts, *common],
        ["convert", str(root / "snn-mlp"), "--target", "loihi", "--encoding", "graded",
         *common],
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
    """Print one row per run and target: accuracy and its figure at each level, one column each.

    Figures of different levels never share a column; host work costed at another level (a
    first layer on the host) has its own. Training energy is shown as the report shows it.
    """
    from neuropipe.pipeline.stages.energy_report import read_runs
    from neuropipe.reports.report.text import joules, training_energy

    comparison = read_runs([root / "mlp", root / "snn-mlp"])
    levels = comparison.levels
    table = Table(title="neuropipe demo: MNIST, trained here, deployed to every target here")
    for column in ("run", "target", "net", "accuracy", *levels, "host work",
                   "training incl. PUE"):
        table.add_column(column, justify="left" if column in ("run", "target", "net")
                         else "right")
    seen: set[str] = set()
    for c in comparison.configs:
        cells = [joules(e.figure_j) if (e := c.at_level(lv)) is not None else "—"
                 for lv in levels]
        host = max((e.off_level_j for e in c.estimates), default=0.0)
        train = joules(c.training.joules_pue) if c.run not in seen else ""
        seen.add(c.run)
        table.add_row(c.run if train else "", c.target, "ANN" if c.conventional else "SNN",
                      f"{c.accuracy:.4f}", *cells, joules(host) if host else "—", train)
    console = Console()
    if not console.is_terminal:  # a log or a pipe: wide enough that no name is cut short
        console = Console(width=130)
    console.print(table)
    console.print(f"Energy per inference, one level per column ({', '.join(levels)}): levels "
                  "are not comparable across columns. 'host work' is a first layer computed on "
                  "the host (system level), never summed into a chip figure. 'training incl. "
                  "PUE' is each run's training energy × PUE, as the report shows it ("
                  + "; ".join(f"{c.run}: {training_energy(c)}, {c.training.method}"
                              for c in {c.run: c for c in comparison.configs}.values())
                  + "). The answer at equal accuracy opens the report.")


if __name__ == "__main__":
    sys.exit(run_demo())
