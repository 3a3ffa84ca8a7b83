"""What one inference does on the accelerator, per layer, as operations with their costs.

An ANN layer (Lemaire's count): one weight read and one MAC per connection, its inputs read,
one bias read and add and one output write per output; ``dense`` executes every connection,
``zero-skip`` only those with a nonzero input and a nonzero weight (and reads only the nonzero
inputs). An SNN layer: per synaptic event a weight read, an add, and a read and a write of the
target's potential; per neuron and step the potential read and written, the bias read and added,
the leak (LIF) and the threshold compare; every spike written to and read from a queue. An
analogue first layer is graded: MACs on its nonzero inputs once per sample into a held current,
which each neuron then reads every step in place of its bias.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuropipe.targets.asic import costs as c
from neuropipe.targets.asic.costs import Op, access, arithmetic
from neuropipe.targets.chain import Layer, Readout
from neuropipe.targets.counting import fan_out, recurrent_fan_out
from neuropipe.targets.host.ops import dense_ops, effective_ops
from neuropipe.targets.records import EnergyEstimate, EnergyTerm

VARIANTS = ("dense", "zero-skip")


def quantise(weight: np.ndarray) -> tuple[np.ndarray, float]:
    """8-bit symmetric per-tensor quantisation: the values the accelerator stores, and the scale.

    ``w_q = round(w / s) * s`` with ``s = max|w| / 127``: a weight below ``s / 2`` becomes 0
    (no synapse).
    """
    w = np.asarray(weight, dtype=np.float64)
    top = float(np.abs(w).max()) if w.size else 0.0
    if top == 0.0:
        return w.copy(), 0.0
    scale = top / 127.0
    return np.round(w / scale) * scale, scale


def ann_layer_ops(layer: Layer, nonzero_inputs: np.ndarray, variant: str) -> list[Op]:
    """Operations of one ANN layer per inference.

    Args:
        layer: The layer, with its 8-bit (quantised) weights and the input shape it sees.
        nonzero_inputs: Mean times each input was nonzero per inference ``(inputs,)``.
        variant: ``dense`` (every connection) or ``zero-skip`` (nonzero input x nonzero weight).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown ANN variant {variant!r}: choose {', '.join(VARIANTS)}")
    name, n = layer.name, layer.neurons
    if variant == "dense":
        connections, reads = float(dense_ops(layer)), float(layer.inputs)
    else:
        connections = effective_ops(layer, nonzero_inputs)
        reads = float(np.sum(nonzero_inputs))
    return [
        access("ann_weight_read", name, connections, layer.weight.size * c.WEIGHT_BYTES),
        arithmetic("ann_mac", name, connections, c.MAC_PJ),
        access("ann_input_read", name, reads, layer.inputs * c.ACTIVATION_BYTES),
        access("ann_bias_read", name, n, layer.weight.shape[0] * c.WORD_BYTES),
        arithmetic("ann_bias_add", name, n, c.ADD_PJ),
        access("ann_output_write", name, n, n * c.ACTIVATION_BYTES),
    ]


def snn_layer_ops(layer: Layer, nonzero_inputs: np.ndarray, spikes: float, steps: int,
                  graded: bool, fed_back: np.ndarray | None = None) -> list[Op]:
    """Operations of one SNN layer (and its recurrent synapse) per inference.

    Args:
        layer: The layer with its 8-bit (quantised) weights.
        nonzero_inputs: Mean times each input was nonzero per inference, summed over steps
            ``(inputs,)``: delivered spikes, or, for a graded layer, nonzero pixels x steps.
        spikes: Mean spikes the layer's neurons emit per inference (all pass the queue).
        steps: Steps per inference.
        graded: True for an analogue (constant-input) first layer: MACs once per sample.
        fed_back: Mean spikes per inference of each neuron delivered through the layer's
            recurrent synapse (None without one).
    """
    name, n = layer.name, layer.neurons
    pot = n * c.WORD_BYTES
    weights = layer.weight.size * c.WEIGHT_BYTES
    updates = float(n * steps)
    ops: list[Op] = []
    if graded:
        pixels = np.asarray(nonzero_inputs, dtype=np.float64) / steps  # held all run: once
        events = float(np.dot(pixels, fan_out(layer)))
        ops += [access("graded_input_read", name, pixels.sum(), layer.inputs * c.ACTIVATION_BYTES),
                access("graded_weight_read", name, events, weights),
                arithmetic("graded_mac", name, events, c.MAC_PJ),
                access("graded_current_rw", name, 2 * events, pot),
                access("graded_bias_read", name, n, layer.bias.size * c.WORD_BYTES),
                arithmetic("graded_bias_add", name, n, c.ADD_PJ),
                access("neuron_bias_read", name, updates, pot)]  # the held current
    else:
        events = float(np.dot(nonzero_inputs, fan_out(layer)))
        ops += _synops(name, events, weights, pot)
        ops.append(access("neuron_bias_read", name, updates, layer.bias.size * c.WORD_BYTES))
    ops += [access("neuron_potential_rw", name, 2 * updates, pot),
            arithmetic("neuron_bias_add", name, updates, c.ADD_PJ)]
    if layer.neuron.kind == "lif":
        ops.append(arithmetic("neuron_leak", name, updates, c.LEAK_PJ))
    ops += [arithmetic("neuron_threshold", name, updates, c.ADD_PJ),
            access("spike_queue_write", name, spikes, pot),
            access("spike_queue_read", name, spikes, pot)]
    if layer.recurrent is not None:
        fed = fed_back if fed_back is not None else np.zeros(n)
        recurrent_events = float(np.dot(fed, recurrent_fan_out(layer)))
        ops += _synops(layer.recurrent_name, recurrent_events,
                       layer.recurrent.size * c.WEIGHT_BYTES, pot)
    return ops


def _synops(name: str, events: float, weight_bytes: int, potential_bytes: int) -> list[Op]:
    return [access("synops_weight_read", name, events, weight_bytes),
            arithmetic("synops_add", name, events, c.ADD_PJ),
            access("synops_potential_rw", name, 2 * events, potential_bytes)]


def input_queue_ops(input_spikes: float, inputs: int) -> list[Op]:
    """Poisson input spikes entering the first layer through a queue."""
    return [access("spike_queue_write", "input", input_spikes, inputs * c.WORD_BYTES),
            access("spike_queue_read", "input", input_spikes, inputs * c.WORD_BYTES)]


def readout_ops(readout: Readout) -> list[Op]:
    """A host readout costed as ANN MACs on the same silicon (its nonzero weights, once)."""
    macs = float(readout.macs)
    return [access("readout_weight_read", readout.name, macs,
                   readout.weight.size * c.WEIGHT_BYTES),
            arithmetic("readout_mac", readout.name, macs, c.MAC_PJ)]


def estimate(ops: Sequence[Op], cost_model: str, default: bool, notes: Sequence[str]
             ) -> EnergyEstimate:
    """One energy term per kind of operation, summed over layers; each layer's share in its note.

    A term's ``quantity`` is the operations per inference, ``unit_cost`` their mean energy (the
    layers' memories differ in size). Readout terms are kind ``host`` (listed apart), the rest
    ``dynamic``; every term is at level ``chip``.
    """
    by_name: dict[str, list[Op]] = {}
    for op in ops:
        by_name.setdefault(op.name, []).append(op)
    terms = []
    for name, group in by_name.items():
        quantity = float(sum(o.count for o in group))
        pj = float(sum(o.count * o.pj for o in group))
        memory = any(o.memory_bytes for o in group)
        parts = "; ".join(
            f"{o.layer}: {o.count:,.2f} x {o.pj:.4g} pJ"
            + (f" ({o.memory_bytes:,} B SRAM)" if o.memory_bytes else "") for o in group)
        terms.append(EnergyTerm(
            name=name, joules_per_inference=pj * 1e-12,
            kind="host" if name.startswith("readout") else "dynamic", method="cost-model",
            quantity=quantity,
            unit_cost=pj / quantity if quantity else float(np.mean([o.pj for o in group])),
            unit="pJ/access" if memory else "pJ/op", source=c.TERM_SOURCES[name],
            level="chip", cost_model=cost_model, note=parts))
    sources = [c.HOROWITZ, c.LEMAIRE]
    return EnergyEstimate.of(terms, cost_model, "chip", sources, list(notes),
                             list(c.CHIP_LEAVES_OUT), default)
