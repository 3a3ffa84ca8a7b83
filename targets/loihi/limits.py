"""What the Loihi target cannot hold, beyond what the shared graph reader refuses."""

from __future__ import annotations

import numpy as np

from neuropipe.targets.chain import Chain


def loihi_problems(chain: Chain) -> list[str]:
    """List the layers Loihi's LIF processes cannot run here, naming the node and the fix.

    A Lava LIF process shares ``du``, ``dv`` and ``vth`` between its neurons, resets to 0 and
    needs a positive threshold.
    """
    problems = []
    for layer in chain.layers:
        n, name = layer.neuron, layer.neuron_name
        label = "LIF" if n.kind == "lif" else "IF"
        for attr in n.per_neuron():
            if attr in ("alpha", "v_threshold", "r", "v_leak", "v_reset"):
                values = np.asarray(getattr(n, attr))
                shown = "tau (dt/tau" if attr == "alpha" else f"{attr} ("
                problems.append(
                    f"node '{name}' ({label}) has per-neuron {shown} from {values.min():.4g} to "
                    f"{values.max():.4g}); only one shared value per layer is supported (a "
                    "Loihi LIF process shares them)")
        if not n.per_neuron():
            if n.v_reset != 0.0:
                problems.append(f"node '{name}' ({label}) resets to v_reset={n.v_reset:g}; "
                                "Loihi's LIF can only reset to 0")
            if n.v_threshold <= 0:
                problems.append(f"node '{name}' ({label}) has v_threshold={n.v_threshold:g}; "
                                "Loihi's threshold must be positive")
    return problems
