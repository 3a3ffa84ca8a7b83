"""Help texts that name models, targets and encodings, read from their registries, not by hand.

The model registry (``models.zoo``) and the targets' modules import torch: reading them while the
CLI is built would slow every command down, so a command of class ``with_help(...)`` fills these
texts in only when its help is shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from typer.core import TyperCommand

# What the encodings beyond the training ones (core.spike_codes) mean, for --encoding's help.
DEVICE_ENCODINGS = {
    "graded": "Loihi 2 graded spikes, the first layer on the chip",
    "sdnn": "a conventional network run as a sigma-delta network",
}


class RegistryHelp(TyperCommand):
    """A command whose parameters' help is computed (from the registries) when it is shown."""

    fills: ClassVar[dict[str, Callable[[], str]]] = {}

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Fill in the registry-made help texts, then format the help as usual."""
        for param in self.params:
            fill = self.fills.get(param.name or "")
            if fill is not None:
                param.help = fill()
        return super().format_help(ctx, formatter)


def with_help(**fills: Callable[[], str]) -> type[RegistryHelp]:
    """A command class whose parameter ``name`` gets the help ``fills[name]()``."""
    return type("RegistryHelp", (RegistryHelp,), {"fills": fills})


def listing(items: Sequence[Any], last: str = "or") -> str:
    """``a, b or c``."""
    words = [str(item) for item in items]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _specs() -> list[Any]:
    from neuropipe.models.zoo import MODELS

    return list(MODELS.values())


def _defaults(attribute: str) -> str:
    """``default 16, stdp 96``: the spiking models' usual default and the exceptions."""
    specs = [s for s in _specs() if s.kind == "snn"]
    usual = Counter(getattr(s, attribute) for s in specs).most_common(1)[0][0]
    return ", ".join([f"default {usual}", *(f"{s.name} {getattr(s, attribute)}" for s in specs
                                           if getattr(s, attribute) != usual)])


def model_help() -> str:
    """``train``'s MODEL: every registered model."""
    return f"{listing([s.name for s in _specs()])}."


def timesteps_help() -> str:
    """``train --timesteps``."""
    return f"Steps per sample (spiking models; {_defaults('default_timesteps')})."


def train_encoding_help() -> str:
    """``train --encoding``."""
    from neuropipe.core.spike_codes import TRAINING_ENCODINGS

    return (f"{listing(TRAINING_ENCODINGS)} (spiking models; {_defaults('default_encoding')}; "
            "latency: one spike per nonzero pixel, earlier for brighter).")


def hidden_help() -> str:
    """``train --hidden``: the models with a hidden width, and their defaults."""
    specs = [s for s in _specs() if s.default_hidden is not None]
    return (f"Hidden width of {listing([s.name for s in specs], 'and')} (default: "
            f"{listing([s.default_hidden for s in specs], 'and')}).")


def modules_help() -> str:
    """``train --modules``."""
    from neuropipe.models.zoo import modular_models

    return (f"{listing(modular_models())}: split the hidden layer into K modules, module k fed "
            "only band k of K horizontal bands of image rows (no synapses between modules).")


def target_help() -> str:
    """``convert --target``: every registered target."""
    from neuropipe.targets.registry import target_names

    return (f"Deployment target: {listing(target_names())}; several separated by commas; or "
            "all (those available here; see 'neuropipe doctor').")


def convert_encoding_help() -> str:
    """``convert --encoding``: the training encodings, then those only some targets run."""
    from neuropipe.core.spike_codes import TRAINING_ENCODINGS
    from neuropipe.targets.registry import get_target, target_names

    takes = {name: tuple(get_target(name).encodings) for name in target_names()}
    others = dict.fromkeys(e for encodings in takes.values() for e in encodings
                           if e not in TRAINING_ENCODINGS)
    parts = [f"{listing(TRAINING_ENCODINGS)} (constant: the analogue image every step; the "
             "others spike codes)"]
    for encoding in others:
        takers = listing([name for name, encodings in takes.items() if encoding in encodings],
                         "and")
        what = DEVICE_ENCODINGS.get(encoding)
        parts.append(f"{encoding} ({takers} only{': ' + what if what else ''})")
    return "; ".join(parts) + "."


def handoff_target_help() -> str:
    """``handoff --target``: the targets with a handoff hook."""
    from neuropipe.targets.registry import handoff_names

    return f"{listing(handoff_names())}."
