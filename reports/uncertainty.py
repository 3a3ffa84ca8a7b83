"""How far an accuracy measured on a finite test set can be trusted: Wilson score intervals.

An accuracy ``p`` measured on ``n`` test images is a binomial proportion. Its Wilson score
interval at 95% (z = 1.96) is

    centre = (p + z²/2n) / (1 + z²/n),  half-width = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²).

The report treats a configuration as reaching an accuracy threshold when the threshold lies
within (or below) its interval: the test set cannot tell the two apart. Deployments store no
per-sample predictions, so a paired test (McNemar) is not available.
"""

from __future__ import annotations

import math

# Two-sided 95% normal quantile.
Z95 = 1.959963984540054
TEST = ("a configuration counts as reaching the threshold when its accuracy does, or when the "
        "threshold lies inside the Wilson 95% score interval of its accuracy on its test "
        "images (the test set cannot tell the two apart)")


def wilson_interval(accuracy: float, samples: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ``accuracy`` measured on ``samples`` images.

    Returns:
        ``(low, high)``; ``(accuracy, accuracy)`` when ``samples`` is 0 (unknown: no interval).
    """
    if samples <= 0:
        return accuracy, accuracy
    n, p = float(samples), min(max(accuracy, 0.0), 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def within_interval(accuracy: float, samples: int, threshold: float) -> bool:
    """True if ``threshold`` is no higher than the top of ``accuracy``'s Wilson 95% interval."""
    return wilson_interval(accuracy, samples)[1] >= threshold
