"""The one registry of deployment targets: CLI choices, docs and contract tests all read it."""

from __future__ import annotations

import importlib

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
    module_name, _, class_name = TARGETS[name].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()
