"""The one registry of deployment targets: CLI choices, docs and contract tests all read it."""

from __future__ import annotations

import importlib
from typing import Any

from neuropipe.core.errors import TargetError
from neuropipe.targets.base import Target

# name -> "module:Class". Modules are imported only when the target is used, so a missing SDK
# never breaks the CLI.
TARGETS: dict[str, str] = {
    "asic": "neuropipe.targets.asic.target:AsicTarget",
    "cpu": "neuropipe.targets.host.target:CpuTarget",
    "gpu": "neuropipe.targets.host.target:GpuTarget",
    "loihi": "neuropipe.targets.loihi.target:LoihiTarget",
    "spinnaker": "neuropipe.targets.spinnaker.target:SpiNNakerTarget",
    "spinnaker2": "neuropipe.targets.spinnaker.target:SpiNNaker2Target",
}


def target_names() -> list[str]:
    """Return the registered target names, sorted."""
    return sorted(TARGETS)


def get_target(name: str) -> Target:
    """Instantiate a registered target.

    Raises:
        TargetError: If ``name`` is not registered.
    """
    if name not in TARGETS:
        raise TargetError(f"unknown target '{name}': choose one of {', '.join(target_names())}")
    return _instantiate(TARGETS[name])


# name -> "module:Class" of the target's handoff hook (``targets.handoff.Handoff``): the targets
# whose deployments ``neuropipe handoff`` bundles for a hardware team.
HANDOFFS: dict[str, str] = {
    "loihi": "neuropipe.targets.loihi.handoff:LoihiHandoff",
    "spinnaker": "neuropipe.targets.spinnaker.handoff:SpiNNakerHandoff",
}


def handoff_names() -> list[str]:
    """The targets with a handoff hook, sorted."""
    return sorted(HANDOFFS)


def get_handoff(name: str) -> Any:
    """Instantiate the handoff hook of a target (a ``targets.handoff.Handoff``).

    Raises:
        TargetError: If ``name`` has no handoff hook.
    """
    if name not in HANDOFFS:
        raise TargetError(f"unknown handoff target '{name}': choose "
                          f"{' or '.join(handoff_names())}")
    return _instantiate(HANDOFFS[name])


def _instantiate(spec: str) -> Any:
    """An instance of the class ``"module:Class"`` names (its module imported only now)."""
    module_name, _, class_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), class_name)()
