"""Deploys a conventional ANN to Loihi as a sigma-delta network: emulate, verify in Lava, count.

The class of an image is the argmax of the output layer's final ``sigma + bias``, summed on the
host from its messages. Counts per inference: graded events (every nonzero message times its
nonzero deployed fan-out, summed over the steps: the input's one message per pixel, each layer's
bias-only activation at the first step and its changes after), neuron updates (every sigma-delta
neuron once per step run) and no binary synops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neuropipe.targets.base import Workload
from neuropipe.targets.chain import Layer
from neuropipe.targets.costs import energy_terms
from neuropipe.targets.counting import fan_out
from neuropipe.targets.host.ops import NO_NEURON
from neuropipe.targets.loihi import costs as loihi_costs
from neuropipe.targets.loihi.sdnn.emulator import emulate_sdnn
from neuropipe.targets.loihi.sdnn.network import AnnLayer, forward, read_onnx
from neuropipe.targets.loihi.sdnn.quantize import (
    ACTIVATION_BITS,
    INPUT_SCALE,
    MESSAGE_BITS,
    SdnnLayer,
    input_messages,
    quantize_sdnn,
    with_threshold,
)
from neuropipe.targets.records import (
    Counts,
    DeploymentRecord,
    EnergyEstimate,
    LayerReport,
    deployment_record,
)

TRADE_OFF_THRESHOLDS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)


def _as_layer(layer: AnnLayer, weight: np.ndarray) -> Layer:
    """The layer with ``weight`` as a chain ``Layer`` (for the fan-out counts)."""
    return Layer(layer.name, layer.kind, weight, np.zeros(weight.shape[0]), layer.in_shape,
                 layer.out_shape, NO_NEURON, stride=layer.stride, padding=layer.padding)


def fan_outs(layers: list[SdnnLayer]) -> list[np.ndarray]:
    """Per sender (the input, then every layer), its nonzero deployed fan-out per neuron.

    The output layer sends to the host: fan-out 0.
    """
    outs = [fan_out(_as_layer(fx.layer, fx.weight)) for fx in layers]
    return [*outs, np.zeros(layers[-1].layer.neurons, dtype=np.int64)]


def ann_effective_macs(layers: list[AnnLayer], x: np.ndarray,
                       outputs: list[np.ndarray] | None = None) -> float:
    """The float ANN's MACs with a nonzero input and a nonzero weight, per inference.

    ``outputs`` are ``forward(layers, x)`` when the caller has them already.
    """
    outputs = forward(layers, x) if outputs is None else outputs
    acts = [np.asarray(x, dtype=np.float64).reshape(len(x), -1), *outputs[:-1]]
    total = 0.0
    for layer, a in zip(layers, acts, strict=True):
        total += float(np.dot((a != 0).sum(axis=0), fan_out(_as_layer(layer, layer.weight))))
    return total / len(x)


class _Tally:
    """Sums over batches: nonzero messages per sender neuron, predictions, overflows."""

    def __init__(self, layers: list[SdnnLayer], n: int) -> None:
        inputs = int(np.prod(layers[0].layer.in_shape))
        self.nonzero = [np.zeros(inputs)] + [np.zeros(fx.layer.neurons) for fx in layers]
        self.preds = np.zeros(n, dtype=np.int64)
        self.bias_messages = sum(int(np.count_nonzero(fx.bias)) for fx in layers)
        self.overflows = [0] * len(layers)
        self.max_message = [0] * len(layers)

    def add(self, start: int, x_int: np.ndarray, result: Any) -> None:
        self.nonzero[0] += (x_int != 0).sum(axis=0)
        for i, m in enumerate(result.messages):
            self.nonzero[i + 1] += (m != 0).sum(axis=(0, 1))
            self.overflows[i] += result.state_overflows[i]
            self.max_message[i] = max(self.max_message[i], result.max_message[i])
        self.preds[start:start + len(x_int)] = result.scores.argmax(axis=1)


def _run_all(layers: list[SdnnLayer], x: np.ndarray, steps: int, batch_size: int,
             progress: Any = None, label: str = "") -> tuple[_Tally, Any]:
    """Emulate every sample in batches; return the tallies and the first batch's result."""
    tally, first = _Tally(layers, len(x)), None
    task = progress.add_task(label, total=len(x)) if progress and label else None
    for start in range(0, len(x), batch_size):
        x_int = input_messages(x[start:start + batch_size])
        result = emulate_sdnn(layers, x_int, steps)
        tally.add(start, x_int, result)
        if first is None:
            first = (x_int, result)
        if task is not None:
            progress.update(task, advance=len(x_int))
    return tally, first


def _events(tally: _Tally, fans: list[np.ndarray], n: int) -> list[float]:
    """Graded events per inference: per sender (input first), then the bias messages.

    Each layer's nonzero biases enter once per image as one message per neuron (fan-out 1).
    """
    senders = [float(np.dot(nz, fan)) / n for nz, fan in zip(tally.nonzero, fans, strict=True)]
    return [*senders, float(tally.bias_messages)]


def verify_in_lava(layers: list[SdnnLayer], steps: int, x_int: np.ndarray, emulated: Any,
                   k: int, progress: Any = None) -> dict[str, Any]:
    """Run ``k`` samples in Lava and compare every message of every layer with the emulator."""
    from neuropipe.targets.loihi.sdnn.lava_runner import run_sdnn_in_lava

    task = progress.add_task("loihi sdnn: Lava verification", total=k) if progress else None
    lava = run_sdnn_in_lava(layers, steps, x_int, k, on_sample=(
        lambda _: progress.update(task, advance=1)) if progress else None)
    equal = total = mismatched = 0
    for j, per_layer in enumerate(lava):
        same = True
        for i, got in enumerate(per_layer):
            mine = emulated.messages[i][:, j]
            equal += int((mine == got).sum())
            total += got.size
            same &= bool(np.array_equal(mine, got))
        mismatched += not same
    return {"lava_samples": k, "activation_match": equal / total if total else 1.0,
            "samples_with_mismatch": mismatched,
            "lava_run_config": "Loihi2SimCfg(select_tag='fixed_pt'); lava.proc.sdn SigmaDelta, "
                               "graded Dense/Conv"}


def deploy_sdnn(target: str, workload: Workload, out_dir: Path, verify_samples: int = 16,
                batch_size: int = 500, progress: Any = None, calibration: Any = None,
                delta_threshold: float = 0.0) -> DeploymentRecord:
    """Quantise the run's ANN, emulate every sample, verify the first in Lava, count and cost.

    Args:
        target: The target's name (``loihi``).
        workload: ``workload.onnx`` names the ANN; the inputs and labels are evaluated.
        out_dir: Artefact folder: a copy of the ONNX model (no netx file: see the record's
            ``netx_skipped``).
        verify_samples: Samples also run in Lava and compared message for message.
        batch_size: Samples per emulator batch.
        progress: A rich ``Progress``, or None.
        calibration: Images that set the activation ranges (training images); None uses the
            evaluated images (and says so).
        delta_threshold: Hidden layers' delta threshold, a fraction of their calibrated range.
    """
    x = np.asarray(workload.inputs, dtype=np.float64)
    labels = np.asarray(workload.labels)
    n = len(x)
    ann = read_onnx(workload.onnx, tuple(x.shape[1:]))
    notes = []
    if calibration is None:
        calibration = x[:2000]
        notes.append("activation ranges calibrated on the evaluated images (no training "
                     "images were given)")
    calibration = np.asarray(calibration, dtype=np.float64)
    layers = quantize_sdnn(ann, calibration, delta_threshold)
    steps = len(layers) + 1
    fans = fan_outs(layers)
    tally, first = _run_all(layers, x, steps, batch_size, progress, "loihi sdnn: emulator")
    events = _events(tally, fans, n)
    accuracy = float(np.mean(tally.preds == labels))
    ann_outputs = forward(ann, x)
    ann_preds = ann_outputs[-1].argmax(axis=1)
    verify: dict[str, Any] = {}
    k = min(verify_samples, n)
    if k > 0 and first is not None:
        verify.update(verify_in_lava(layers, steps, first[0], first[1], k, progress))
    macs = ann_effective_macs(ann, x, ann_outputs)
    verify.update({
        "ann_accuracy_float": float(np.mean(ann_preds == labels)),
        "ann_prediction_agreement": float(np.mean(ann_preds == tally.preds)),
        "ann_effective_macs": macs,
        "graded_events_over_effective_macs": sum(events) / macs if macs else None,
        "delta_threshold": delta_threshold,
        "delta_threshold_unit": "fraction of each hidden layer's calibrated activation range "
                                "(vth = rint(X * max activation) message units)",
        "state_overflows": int(sum(tally.overflows)),
        "max_message": [int(m) for m in tally.max_message],
        "message_bits": MESSAGE_BITS,
        "netx_skipped": "no .net file: lava-dl's netx reader (lava.lib.dl.netx.hdf5, neuron "
                        "type SDNN) builds every SigmaDelta with state_exp 6 and scales its bias "
                        "by 2^(spike_exp + 6), and its output layer is a ReLU SigmaDelta or a "
                        "bias-free Sigma; this deployment gives each layer its own state_exp "
                        "(0..7) and bias in sigma units and an identity output layer with a "
                        "bias, which the format cannot hold exactly",
        "threshold_trade_off": _trade_off(layers, x, labels, steps, fans, batch_size,
                                          (delta_threshold, accuracy, sum(events))),
    })
    counts = Counts(synops=0.0, graded_events=float(sum(events)),
                    neuron_updates=float(sum(fx.layer.neurons for fx in layers) * steps),
                    spikes=0.0, input_spikes=float(tally.nonzero[0].sum() / n))
    model = loihi_costs.LOIHI_1
    quantities = {"synops": 0.0, "graded_events": counts.graded_events,
                  "neuron_updates": counts.neuron_updates, "host_macs": 0.0, "seconds": None}
    estimate = EnergyEstimate.from_terms(model, energy_terms(quantities, model), True)
    reports = [_layer_report(fx, events[i], tally.nonzero[i + 1].sum() / n, steps)
               for i, fx in enumerate(layers)]
    notes += _notes(layers, steps, verify, n)
    resources = loihi_costs.loihi_resources([fx.layer.neurons for fx in layers], steps)
    return deployment_record(
        target, accuracy=accuracy, reference_accuracy=workload.reference_accuracy, samples=n,
        timesteps=steps, counts=counts, estimates=[estimate], layers=reports,
        verification=verify, resources=resources, leaves_out=list(model.leaves_out),
        artifacts={"onnx": _copy_onnx(workload.onnx, out_dir)}, notes=notes, network="ann")


def _copy_onnx(source: str, out_dir: Path) -> str:
    """Copy the deployed ANN beside its record; return its name there."""
    import shutil

    shutil.copyfile(source, Path(out_dir) / "model.onnx")
    return "model.onnx"


def _trade_off(layers: list[SdnnLayer], x: np.ndarray, labels: np.ndarray, steps: int,
               fans: list[np.ndarray], batch_size: int, chosen: tuple[float, float, float]
               ) -> list[dict[str, float]]:
    """Accuracy and graded events per inference at several delta thresholds (emulator).

    ``chosen`` is the deployment's own ``(threshold, accuracy, events)``, already computed.
    """
    rows = [dict(zip(("delta_threshold", "accuracy", "graded_events"), chosen, strict=True))]
    for fraction in sorted(set(TRADE_OFF_THRESHOLDS) - {chosen[0]}):
        tally, _ = _run_all(with_threshold(layers, fraction), x, steps, batch_size)
        rows.append({"delta_threshold": fraction,
                     "accuracy": float(np.mean(tally.preds == labels)),
                     "graded_events": float(sum(_events(tally, fans, len(x))))})
    return sorted(rows, key=lambda row: row["delta_threshold"])


def _layer_report(fx: SdnnLayer, events_in: float, messages: float, steps: int) -> LayerReport:
    """One layer's counts: the events its input messages caused, its messages, its updates."""
    layer = fx.layer
    return LayerReport(
        name=layer.name, kind=layer.kind, neurons=layer.neurons,
        synapses=int(np.count_nonzero(fx.weight)), synapses_on="chip",
        spikes_per_inference=float(messages), synops_per_inference=0.0,
        neuron_updates_per_inference=float(layer.neurons * steps),
        quantisation={
            "neuron": "SigmaDelta (ReLU)" if fx.relu else "SigmaDelta (UNIT: identity)",
            "weight_bits": fx.weight_bits(), "weight_exp": fx.weight_exp,
            "state_exp": fx.state_exp, "vth_messages": fx.vth,
            "input_scale": fx.in_scale, "weight_scale": fx.weight_scale,
            "activation_scale": fx.act_scale, "calibration_max": fx.calib_max,
            "max_abs_weight_error": fx.max_weight_error,
            "bias_bits": int(np.ceil(np.log2(np.abs(fx.bias).max() + 1))) + 1,
            "graded_events_in": float(events_in),
            "zero_after_quantisation": int(np.count_nonzero(layer.weight)
                                           - np.count_nonzero(fx.weight))},
        ops={"graded_messages_out": float(messages),
             "bias_messages_in": int(np.count_nonzero(fx.bias))})


def _notes(layers: list[SdnnLayer], steps: int, verify: dict[str, Any], n: int) -> list[str]:
    """What the record's figures mean."""
    notes = [
        "sigma-delta network (Loihi 2, lava.proc.sdn): the ANN runs as itself with graded "
        "messages; no conversion to spikes. Each hidden neuron integrates its input (sigma), "
        "applies ReLU and sends the change of its activation (delta) when it reaches the "
        "delta threshold; the output layer (identity) sends every change to the host, which "
        "sums them into the class scores",
        f"fixed point: input messages rint({INPUT_SCALE} x) (8 bits, exact for MNIST); "
        "8-bit mixed-sign weight mantissas with a per-layer weight exponent (Dense) and "
        f"state exponent; hidden activations of about {ACTIVATION_BITS} bits at their "
        "calibration maximum (more on a conv layer, whose Lava Conv has no weight exponent to "
        f"shift with: see activation_scale and max_message), sent as {MESSAGE_BITS}-bit graded "
        "messages; 24-bit state",
        f"each image runs {steps} steps ({len(layers)} layers + 1): layer i (from 0) receives "
        "its input at step i + 1 (one step of delay per synapse layer), so the output layer has "
        "settled at the last step. Each layer's bias enters its neurons at that same step, as "
        "one message per neuron from a bias source (the SigmaDelta's own bias, which Lava "
        "applies from the first step, is 0): so each neuron sends its activation once and, at "
        "delta threshold 0, nothing after (with the bias from step 0, every layer would first "
        "send its bias-only activation and then corrections)",
        "graded events = nonzero messages x nonzero deployed fan-out, summed over the steps "
        "(the input's one message per nonzero pixel, every hidden layer's messages, and one "
        "event per nonzero bias message); the output layer's messages go to the host and "
        "cause no events. Costed with Loihi 1's 23.6 pJ "
        "per synaptic op as a stated stand-in (none is published for Loihi 2's graded "
        "events); the sigma/delta updates are costed as neuron updates (81 pJ, Loihi 1, a "
        "stand-in too): every neuron once per step run",
        "compare: ann_effective_macs in the verification is the float ANN's MACs with a "
        "nonzero input and a nonzero weight (as the cpu target counts effective_macs)",
    ]
    if verify.get("state_overflows"):
        notes.append(f"{verify['state_overflows']} neuron updates over {n} samples left the "
                     "24-bit state (Lava's Python model does not wrap sigma; the chip would)")
    notes.append(f"no netx file: {verify['netx_skipped']}")
    return notes
