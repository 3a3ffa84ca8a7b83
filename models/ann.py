"""Conventional networks trained with backprop: ``mlp`` and ``cnn``.

Both are plain ``torch.nn.Sequential`` stacks of Linear/Conv2d and ReLU, the form ANN-to-SNN
conversion reads. The CNN uses strided convolutions instead of pooling, because Loihi (and Lava)
have no pooling layer.
"""

from __future__ import annotations

from torch import nn


def build_mlp(hidden: int = 256) -> nn.Sequential:
    """784-``hidden``-10 multilayer perceptron with ReLU."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 10),
    )


def build_cnn(channels: tuple[int, int] = (16, 32), hidden: int = 128) -> nn.Sequential:
    """Two strided 5x5 convolutions (28->14->7) and two linear layers, with ReLU."""
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, kernel_size=5, stride=2, padding=2),
        nn.ReLU(),
        nn.Conv2d(c1, c2, kernel_size=5, stride=2, padding=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(c2 * 7 * 7, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 10),
    )
