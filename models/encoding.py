"""Input encodings that turn an image into what a spiking network receives at each timestep.

The codes are defined in ``neuropipe.core.spike_codes`` (numpy: what every target is fed);
this is their torch form, step by step, for training, computed the same way (float64 from the
float32 pixels) so that the deterministic codes give the very same spikes.
"""

from __future__ import annotations

import torch

from neuropipe.core.spike_codes import SPIKE_ENCODINGS, TIMING_ENCODINGS, TRAINING_ENCODINGS

ENCODINGS = TRAINING_ENCODINGS
__all__ = ["ENCODINGS", "SPIKE_ENCODINGS", "TIMING_ENCODINGS", "encode_step"]


def encode_step(x: torch.Tensor, encoding: str, generator: torch.Generator | None = None,
                step: int = 0, steps: int = 1) -> torch.Tensor:
    """Return one timestep of input for pixels ``x`` in [0, 1].

    Args:
        x: Pixel intensities in [0, 1].
        encoding: ``constant`` gives ``x`` itself every step (a constant input current);
            ``poisson``, ``rate`` and ``latency`` give binary spikes (``core.spike_codes``).
        generator: Random generator for ``poisson`` (reproducible runs).
        step: The step (0-based), for ``rate`` and ``latency``.
        steps: Steps per sample, for ``latency``.
    """
    if encoding == "constant":
        return x
    if encoding == "poisson":
        noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (noise < x).to(x.dtype)
    x64 = x.to(torch.float64)
    if encoding == "rate":
        return (torch.floor((step + 1) * x64) > torch.floor(step * x64)).to(x.dtype)
    if encoding == "latency":
        first = torch.clamp(torch.floor((1.0 - x64) * steps), max=steps - 1)
        return ((x64 > 0) & (first == step)).to(x.dtype)
    raise ValueError(f"unknown encoding {encoding!r}")
