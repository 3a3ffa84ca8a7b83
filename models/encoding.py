"""Input encodings that turn an image into what a spiking network receives at each timestep."""

from __future__ import annotations

import torch

ENCODINGS = ("constant", "poisson")


def encode_step(x: torch.Tensor, encoding: str, generator: torch.Generator | None = None
                ) -> torch.Tensor:
    """Return one timestep of input for pixels ``x`` in [0, 1].

    Args:
        x: Pixel intensities in [0, 1].
        encoding: ``constant`` gives ``x`` itself every step (a constant input current);
            ``poisson`` gives a Bernoulli spike with probability ``x`` (rate coding).
        generator: Random generator for ``poisson`` (reproducible runs).
    """
    if encoding == "constant":
        return x
    if encoding == "poisson":
        noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (noise < x).to(x.dtype)
    raise ValueError(f"unknown encoding {encoding!r}")
