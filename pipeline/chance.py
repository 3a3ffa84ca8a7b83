"""A warning for an accuracy that cannot be told from guessing."""

from __future__ import annotations

import math

CLASSES = 10  # MNIST and Fashion-MNIST, neuropipe's datasets (Dataset.num_classes)


def chance_warning(accuracy: float, samples: int, classes: int = CLASSES) -> str | None:
    """A one-line warning when ``accuracy`` is within three standard deviations of guessing.

    Guessing among ``classes`` scores ``p = 1 / classes`` on average, with a standard deviation
    of ``sqrt(p (1 - p) / samples)`` over ``samples`` images.
    """
    p = 1 / classes
    limit = p + 3 * math.sqrt(p * (1 - p) / max(samples, 1))
    if accuracy > limit:
        return None
    return (f"warning: accuracy {accuracy:.4f} on {samples} images is at chance level "
            f"({p:.2f} for {classes} classes; anything up to {limit:.4f} can come from "
            "guessing): the network has not learned, so its energy figures describe a network "
            "that does not classify; train longer or check --lr")
