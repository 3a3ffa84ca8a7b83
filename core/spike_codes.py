"""Spike codes: how a pixel in [0, 1] becomes binary input spikes, the same for every target.

- ``poisson``: a Bernoulli spike with probability ``x`` each step (stochastic rate code).
- ``rate``: a deterministic rate code: one integrate-and-fire encoder per pixel that adds ``x``
  each step and spikes when its sum crosses the next integer, i.e. a spike at step ``t``
  (0-based) exactly when ``floor((t + 1) x) > floor(t x)``: ``floor(T x)`` regular spikes in
  ``T`` steps, no sampling noise, at most one spike per step (poisson's peak rate).
- ``latency``: time to first spike: one spike per pixel with ``x > 0``, at step
  ``min(T - 1, floor((1 - x) T))`` (brighter pixels earlier, ``x = 1`` at step 0); pixels at 0
  never spike.

The deterministic codes are computed in float64 from float32 pixels, here (numpy: what every
target is fed) and in ``neuropipe.models.encoding`` (torch: training and the trained model's
reference), so a network trained with them sees on a target exactly the spikes it trained on.
"""

from __future__ import annotations

import numpy as np

# Every input encoding a model can be trained (and its float reference simulated) with.
TRAINING_ENCODINGS = ("constant", "poisson", "rate", "latency")
# The encodings that turn each pixel into binary spikes (constant: analogue input).
SPIKE_ENCODINGS = ("poisson", "rate", "latency")
# Codes read through the timing of each spike, not its rate: only a network trained with one
# reads it (a converted ANN, read through rates, does not).
TIMING_ENCODINGS = ("latency",)


def spike_raster(x: np.ndarray, steps: int, encoding: str,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Bool spikes ``(steps, N, inputs)`` of a batch ``x`` ``(N, ...)`` in [0, 1].

    Args:
        x: Pixels in [0, 1].
        steps: Steps per sample.
        encoding: One of ``SPIKE_ENCODINGS``.
        rng: Random generator (``poisson`` only; the others are deterministic).

    Raises:
        ValueError: For an encoding that gives no spikes, or poisson without a generator.
    """
    flat = np.asarray(x).reshape(len(x), -1)
    if encoding == "poisson":
        if rng is None:
            raise ValueError("poisson spikes need a random generator")
        return rng.random((steps, *flat.shape)) < flat[None]
    x64 = flat.astype(np.float32).astype(np.float64)
    t = np.arange(steps, dtype=np.float64)[:, None, None]
    if encoding == "rate":
        return np.floor((t + 1) * x64[None]) > np.floor(t * x64[None])
    if encoding == "latency":
        first = np.minimum(np.floor((1.0 - x64) * steps), steps - 1)
        return (x64[None] > 0) & (first[None] == t)
    raise ValueError(f"encoding {encoding!r} gives no spikes")
