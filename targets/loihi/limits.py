"""What the Loihi target cannot hold, beyond what the shared graph reader refuses."""

from __future__ import annotations

import numpy as np

from neuropipe.targets.chain import Chain

# Per-neuron values that fold into a dense layer's weight rows and biases (row scaling to one
# shared threshold, see quantize.py); the others a Lava LIF process holds once per population.
ROW_SCALED = ("v_threshold", "r", "v_leak")


def loihi_problems(chain: Chain) -> list[str]:
    """List the layers Loihi's LIF processes cannot run here, naming the node and the fix.

    A Lava LIF process shares ``du``, ``dv`` and ``vth`` between its neurons, resets to 0 and
    needs a positive threshold. Per-neuron thresholds, ``r`` and ``v_leak`` of a dense layer
    are carried by scaling each neuron's incoming rows to one shared threshold.
    """
    problems = []
    for layer in chain.layers:
        n, name = layer.neuron, layer.neuron_name
        label = "LIF" if n.kind == "lif" else "IF"
        for attr in n.per_neuron():
            if layer.kind == "dense" and attr in ROW_SCALED:
                continue
            values = np.asarray(getattr(n, attr))
            shown = "tau (dt/tau " if attr == "alpha" else f"{attr} ("
            where = ("only one shared value per layer is supported (a Loihi LIF process "
                     "shares them)")
            if attr in ROW_SCALED:
                where = ("per-neuron values are supported on dense layers only (row scaling); "
                         "this layer is convolutional")
            problems.append(f"node '{name}' ({label}) has per-neuron {shown}from "
                            f"{values.min():.4g} to {values.max():.4g}); {where}")
        reset = np.asarray(n.v_reset)
        if np.any(reset != 0.0) and "v_reset" not in n.per_neuron():
            problems.append(f"node '{name}' ({label}) resets to v_reset={float(reset.max()):g}; "
                            "Loihi's LIF can only reset to 0")
        vth = np.asarray(n.v_threshold)
        if np.any(vth <= 0) and ("v_threshold" not in n.per_neuron()
                                  or layer.kind == "dense"):
            shown = f"{float(vth.min()):g}" if vth.ndim == 0 or np.all(vth == vth.min()) \
                else f"down to {float(vth.min()):g}"
            problems.append(f"node '{name}' ({label}) has v_threshold={shown}; Loihi's "
                            "threshold must be positive")
    return problems
