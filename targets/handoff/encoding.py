"""The exact input encoding and output decoding of a bundle (``encoding.json``).

Everything a hardware team needs to turn an image into what the chip receives, and the chip's
output spikes into a class: shapes, steps, the pixel rule, the host-side first layer (analogue
input), the random-number rule of Poisson spikes, and the read-out window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuropipe.core.records import Record

PIXEL_RULE = ("8-bit grey pixels p in 0..255 become floats x = p / 255 in [0, 1] (float32), "
              "shaped (N, 1, 28, 28) and flattened in C-H-W order where a flat vector is needed")
POISSON_RULE = ("input spike of pixel i at step t (0 <= t < timesteps) = (u < x_i) with u "
                "uniform in [0, 1) from numpy.random.default_rng(seed).random((timesteps, N, "
                "inputs)) drawn once for the N samples together; no input spikes in the "
                "remaining steps")
RATE_RULE = ("input spike of pixel i at step t (0 <= t < timesteps) = floor((t + 1) * x_i) > "
             "floor(t * x_i), computed in float64 from the float32 x_i (an integrate-and-fire "
             "encoder per pixel adding x_i each step, threshold 1, reset by subtraction); "
             "deterministic; no input spikes in the remaining steps")
LATENCY_RULE = ("one input spike per pixel with x_i > 0, at step t_i = min(timesteps - 1, "
                "floor((1 - x_i) * timesteps)) computed in float64 from the float32 x_i "
                "(brighter pixels earlier); pixels at 0 never spike; deterministic")
SPIKE_RULES = {"poisson": POISSON_RULE, "rate": RATE_RULE, "latency": LATENCY_RULE}
TIE_RULE = "ties go to the lowest class index (numpy.argmax)"


@dataclass
class InputEncoding(Record):
    """How samples enter the deployed network and how its output is read.

    Attributes:
        target: ``loihi`` or ``spinnaker``.
        dataset: Dataset the reference inputs come from.
        input_shape: Shape of one sample as the model takes it (C, H, W).
        pixel_rule: How raw pixels become the model's input values.
        encoding: ``constant`` (the same analogue value every step) or a spike code.
        timesteps: Steps each input is presented.
        steps: Steps each sample runs on the device (input steps plus one step of delay per
            synapse layer on the device).
        chip_input: ``bias`` (Loihi: the first layer's neurons get the host-computed input as a
            bias mantissa), ``current`` (SpiNNaker: as ``i_offset`` in nA), ``spikes`` or
            ``graded spikes`` (Loihi 2: integer payloads once per sample).
        chip_input_rule: The formula from input values to ``chip_input``.
        host_layer: File holding the first layer's float weights when it runs on the host
            (``host_layer.npz``), else empty.
        constants: Constants of the rule (scale, bias exponent, neuron factors...).
        seed: Seed of the reference inputs' Poisson spikes (``poisson`` only).
        spike_rule: How the input spikes are made (spike codes: poisson, rate, latency).
        step_duration: What one step is (Lava step; 1 ms of real time on SpiNNaker).
        output_layer: Name of the output population or layer.
        classes: Number of classes (output neurons, or the host readout's scores).
        readout: File of the host readout (``readout.npz``: class scores ``W c + b`` of the
            output layer's spike counts ``c`` in the window), else empty: the class is the output
            neuron with the most spikes.
        decode: How the output spikes become a class.
        window_start: First step (0-based) of the read-out window.
        window_stop: One past its last step.
    """

    type_tag = "handoff-encoding"
    schema_version = 2
    target: str = ""
    dataset: str = ""
    input_shape: list[int] = field(default_factory=list)
    pixel_rule: str = PIXEL_RULE
    encoding: str = "constant"
    timesteps: int = 0
    steps: int = 0
    chip_input: str = ""
    chip_input_rule: str = ""
    host_layer: str = ""
    constants: dict[str, float | int | str] = field(default_factory=dict)
    seed: int | None = None
    spike_rule: str = ""
    step_duration: str = ""
    output_layer: str = ""
    classes: int = 0
    readout: str = ""
    decode: str = ""
    window_start: int = 0
    window_stop: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputEncoding:
        """Rebuild a record; one of schema version 1 (before host readouts) reads as none."""
        if data.get("type") == cls.type_tag and data.get("schema_version") == 1:
            data = {**data, "schema_version": cls.schema_version, "readout": ""}
        return super().from_dict(data)


def decode(output_spikes: np.ndarray, window_start: int, window_stop: int,
           readout: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Classes of output spikes ``(N, steps, neurons)``.

    Without a readout: the neuron with the most spikes in the window (ties: the lowest index).
    With a host readout ``(W, b)``: the highest score ``W c + b`` of the window's counts ``c``.
    """
    counts = np.asarray(output_spikes)[:, window_start:window_stop].sum(axis=1)
    if readout is not None:
        weight, bias = readout
        counts = counts.astype(np.float64) @ np.asarray(weight).T + np.asarray(bias)
    return np.argmax(counts, axis=1)


def decode_rule(timesteps: int, window_start: int, window_stop: int, readout: bool = False
                ) -> str:
    """The decode rule in words, with the window's steps."""
    window = (f"steps {window_start}..{window_stop - 1} (0-based; the last {timesteps} steps "
              "of each sample, after the pipeline delay)")
    if readout:
        return (f"c = the output layer's spike counts per neuron in {window}; scores = W @ c + "
                f"b with W, b from readout.npz (run on the host); class = argmax of the "
                f"scores; {TIE_RULE}")
    return f"class = the output neuron with the most spikes in {window}; {TIE_RULE}"
