"""Counting what a deployed network does: synops (spikes x fan-out), neuron updates, host MACs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuropipe.targets.chain import Layer, Readout
from neuropipe.targets.records import Counts, LayerReport


def fan_out(layer: Layer) -> np.ndarray:
    """Nonzero synapses leaving each input of ``layer`` (flattened input order).

    Dense: nonzero weights in each input's column. Conv: for each input position, the number of
    (output position, output channel) pairs whose kernel covers it with a nonzero weight, edges
    exact (a transposed convolution of the nonzero mask, as sinabs counts it).
    """
    if layer.kind == "dense":
        return (layer.weight != 0).sum(axis=0).astype(np.int64)
    import torch

    mask = torch.as_tensor((layer.weight != 0).astype(np.float64))
    ones = torch.ones((1, *layer.out_shape), dtype=torch.float64)
    fan = torch.nn.functional.conv_transpose2d(
        ones, mask, stride=layer.stride, padding=layer.padding,
        output_padding=_output_padding(layer))
    return fan.round().to(torch.int64).reshape(-1).numpy()


def _output_padding(layer: Layer) -> tuple[int, int]:
    c, h, w = layer.in_shape
    _, oh, ow = layer.out_shape
    kh, kw = layer.weight.shape[2:]
    ph = h - ((oh - 1) * layer.stride[0] - 2 * layer.padding[0] + kh)
    pw = w - ((ow - 1) * layer.stride[1] - 2 * layer.padding[1] + kw)
    return ph, pw


def synops(layer: Layer, input_spikes_per_inference: np.ndarray) -> float:
    """Synaptic operations per inference caused by mean input spike counts ``(inputs,)``."""
    return float(np.dot(input_spikes_per_inference, fan_out(layer)))


def macs(layer: Layer) -> int:
    """Multiply-accumulates of one dense-equivalent pass of the layer (nonzero weights only)."""
    return int(fan_out(layer).sum())


@dataclass
class LayerActivity:
    """What one deployed layer did, per inference, as a target observed it.

    Attributes:
        layer: The layer with the weights actually deployed (quantised, where the device
            quantises them): counts are taken on these, never on the float weights.
        on_chip: False for a first layer computed on the host (analogue input): its work is
            counted as host MACs, not synops.
        input_spikes: Mean spikes per inference of each of its inputs (on-chip layers).
        output_spikes: Mean spikes per inference of each of its neurons.
        steps: Steps the layer's neurons are updated per inference.
        recurrent_spikes: Mean spikes per inference of each neuron that passed through the
            layer's recurrent synapse (on the chip), for a layer with one; None otherwise
            (``output_spikes`` is used).
        graded_inputs: Mean nonzero graded messages per inference of each of its inputs (an
            on-chip layer fed graded spikes, counted as graded events); None otherwise.
    """

    layer: Layer
    on_chip: bool
    input_spikes: np.ndarray | None
    output_spikes: np.ndarray
    steps: int
    recurrent_spikes: np.ndarray | None = None
    graded_inputs: np.ndarray | None = None


def recurrent_fan_out(layer: Layer) -> np.ndarray:
    """Nonzero recurrent synapses leaving each neuron of ``layer`` (its recurrent columns)."""
    assert layer.recurrent is not None
    return (layer.recurrent != 0).sum(axis=0).astype(np.int64)


def recurrent_report(layer: Layer, spikes: np.ndarray) -> LayerReport:
    """Counts of a layer's recurrent synapse: its own spikes x nonzero recurrent fan-out.

    Reported as a layer of kind ``recurrent`` named after the recurrent synapse node; it
    updates no neurons (the layer it feeds back to does) and emits no spikes of its own.
    """
    return LayerReport(
        name=layer.recurrent_name, kind="recurrent", neurons=0,
        synapses=int(np.count_nonzero(layer.recurrent)), synapses_on="chip",
        spikes_per_inference=0.0,
        synops_per_inference=float(np.dot(spikes, recurrent_fan_out(layer))),
        host_macs_per_inference=0.0, neuron_updates_per_inference=0.0)


def readout_report(readout: Readout) -> LayerReport:
    """The host readout: one ``W c + b`` per inference, its nonzero weights as host MACs."""
    return LayerReport(
        name=readout.name, kind="readout", neurons=0, synapses=readout.macs,
        synapses_on="host", spikes_per_inference=0.0, synops_per_inference=0.0,
        host_macs_per_inference=float(readout.macs), neuron_updates_per_inference=0.0)


def count_layers(activity: list[LayerActivity], readout: Readout | None = None
                 ) -> list[LayerReport]:
    """Per-layer counts: synops = input spikes x nonzero fan-out, updates = neurons x steps.

    A layer fed graded spikes counts graded events instead: nonzero graded messages x nonzero
    fan-out (each message is one event per nonzero synapse, whatever its payload).

    A host layer does one dense-equivalent pass per inference: its nonzero weights as MACs.
    A layer's recurrent synapse follows it as a report of kind ``recurrent`` (its spikes x
    recurrent fan-out, on the chip); a host readout comes last as a report of kind
    ``readout`` (its nonzero weights as host MACs, once per inference).
    """
    reports = []
    for act in activity:
        layer = act.layer
        syn = synops(layer, act.input_spikes) if act.on_chip and act.input_spikes is not None \
            else 0.0
        graded = synops(layer, act.graded_inputs) if act.graded_inputs is not None else 0.0
        reports.append(LayerReport(
            name=layer.name, kind=layer.kind, neurons=layer.neurons,
            synapses=int(np.count_nonzero(layer.weight)),
            synapses_on="chip" if act.on_chip else "host",
            spikes_per_inference=float(np.sum(act.output_spikes)),
            synops_per_inference=syn,
            host_macs_per_inference=0.0 if act.on_chip else float(macs(layer)),
            neuron_updates_per_inference=float(layer.neurons * act.steps),
            graded_events_per_inference=graded))
        if layer.recurrent is not None:
            fed = act.output_spikes if act.recurrent_spikes is None else act.recurrent_spikes
            reports.append(recurrent_report(layer, fed))
    if readout is not None:
        reports.append(readout_report(readout))
    return reports


def totals(reports: list[LayerReport], input_spikes: float = 0.0) -> Counts:
    """Sum per-layer reports into the deployment's counts (packets and routes left to targets)."""
    return Counts(
        synops=float(sum(r.synops_per_inference for r in reports)),
        neuron_updates=float(sum(r.neuron_updates_per_inference for r in reports)),
        host_macs=float(sum(r.host_macs_per_inference for r in reports)),
        spikes=float(sum(r.spikes_per_inference for r in reports)),
        input_spikes=float(input_spikes),
        graded_events=float(sum(r.graded_events_per_inference for r in reports)))
