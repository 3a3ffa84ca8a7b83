"""Forward-Forward budget: test accuracy of the deployed ``ff`` stack after each epoch, and time.

Trains ``ForwardForward(hidden, layers)`` (the training ``neuropipe train ff`` runs, default
constants of ``models/forward_forward.py``) on the first ``--train`` MNIST training images and
prints, after every epoch, one JSON line: layers, width, epoch, the Forward-Forward loss, the
seconds of training so far (the readout's solve included, the test evaluation not), the test
accuracy of the deployed Linear/ReLU stack on all 10,000 test images, and the load average.

Usage: ``OMP_NUM_THREADS=1 .venv/bin/python bench/ff_budget.py --layers 3 --hidden 1000
--epochs 8 [--batch-size 100] [--train 60000]``
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from neuropipe.models.data.datasets import load_dataset
from neuropipe.models.forward_forward import ForwardForward
from neuropipe.models.training import to_tensor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--train", type=int, default=60000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    data = load_dataset("mnist")
    x = to_tensor(data.train_x[:args.train])
    y = torch.from_numpy(data.train_y[:args.train]).long()
    test_x, test_y = to_tensor(data.test_x), torch.from_numpy(data.test_y).long()
    torch.manual_seed(args.seed)
    model = ForwardForward(args.hidden, args.layers)
    seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        result = model.fit_epoch(x, y, args.batch_size, seed=args.seed * 1000 + epoch)
        seconds += result.seconds
        with torch.no_grad():
            accuracy = float((model(test_x).argmax(1) == test_y).float().mean())
        print(json.dumps({"layers": args.layers, "hidden": args.hidden, "epoch": epoch,
                          "loss": round(result.loss, 4), "train_s": round(seconds, 1),
                          "test_accuracy": round(accuracy, 4),
                          "load": round(os.getloadavg()[0], 1)}), flush=True)


if __name__ == "__main__":
    main()
