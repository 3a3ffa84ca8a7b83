"""``make demo``: the main job on a short budget, end to end, printing where everything went."""

from __future__ import annotations

import sys
from pathlib import Path

from neuropipe.pipeline.cli import main as cli

DEMO_ROOT = Path("runs") / "demo"


def run_demo(root: Path = DEMO_ROOT) -> int:
    """Train ``mlp`` and ``snn-mlp`` on a short budget and print their accuracy and run folders.

    Returns:
        0 on success, else the failing command's exit status.
    """
    steps = [
        ["train", "mlp", "--epochs", "1", "--limit-train", "20000", "--out", str(root / "mlp"),
         "--force"],
        ["train", "snn-mlp", "--epochs", "1", "--limit-train", "20000",
         "--out", str(root / "snn-mlp"), "--force"],
    ]
    for args in steps:
        print(f"\n$ neuropipe {' '.join(args)}", flush=True)
        code = cli(args)
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
