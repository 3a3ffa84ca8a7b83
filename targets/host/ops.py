"""Operations of a network run the conventional way, counted NeuroBench's way, per layer.

``dense`` operations are what a CPU or GPU executes: every weight of a layer once per pass (a
convolution's kernel at every output position, padding included), and a spiking network does
one pass per step. ``effective`` operations pair a nonzero input with a nonzero weight: for a
spiking layer, spikes times fan-out (its synops). Inputs that are spikes (0 or 1) make
accumulates (ACs), any other input multiply-accumulates (MACs). Biases are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuropipe.core.errors import GraphError
from neuropipe.targets.chain import Layer, Neuron, Readout
from neuropipe.targets.counting import fan_out, recurrent_fan_out

# ONNX operators an ANN may contain: the weighted ones are counted, the rest cost nothing here.
WEIGHTED_OPS = ("Gemm", "MatMul", "Conv")
FREE_OPS = ("Relu", "Flatten", "Reshape", "Identity", "Add", "Constant", "Shape", "Gather",
            "Unsqueeze", "Concat", "Squeeze")
# The neurons of a layer counted only for its synapses (a conventional layer, ops counts).
NO_NEURON = Neuron("if", 1.0, 1.0, 0.0, 1.0)


@dataclass
class LayerOps:
    """Operations of one layer per inference.

    Attributes:
        name: Layer (ONNX node or NIR synapse node) name.
        kind: ``dense`` or ``conv``.
        binary_input: True if its inputs are spikes (ACs), False for analogue input (MACs).
        neurons: Output units (neurons of a spiking layer).
        synapses: Nonzero weights.
        dense: Operations the hardware executes per inference.
        effective: Operations with a nonzero input and a nonzero weight per inference.
        neuron_updates: Neuron updates per inference (spiking layers; 0 for an ANN).
        spikes: Output spikes per inference (spiking layers).
    """

    name: str
    kind: str
    binary_input: bool
    neurons: int
    synapses: int
    dense: float
    effective: float
    neuron_updates: float = 0.0
    spikes: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def dense_ops(layer: Layer) -> int:
    """Operations of one dense-equivalent pass: every weight at every output position."""
    if layer.kind == "dense":
        return int(layer.weight.size)
    positions = int(np.prod(layer.out_shape[1:]))
    return int(layer.weight.size * positions)


def effective_ops(layer: Layer, nonzero_inputs: np.ndarray) -> float:
    """Operations pairing a nonzero input with a nonzero weight, edges exact (conv).

    Args:
        layer: The layer.
        nonzero_inputs: How often each input was nonzero per inference ``(inputs,)``.
    """
    return float(np.dot(np.asarray(nonzero_inputs, dtype=np.float64), fan_out(layer)))


def spiking_layer_ops(layers: list[Layer], nonzero_inputs: list[np.ndarray],
                      spikes: list[np.ndarray], timesteps: int, encoding: str,
                      recurrent_inputs: list[np.ndarray | None] | None = None,
                      readout: Readout | None = None,
                      readout_nonzero: np.ndarray | None = None) -> list[LayerOps]:
    """Per-layer operations of a spiking network run as ``timesteps`` dense passes.

    A recurrent synapse is a pass of its own each step (kind ``recurrent``, spikes in: ACs),
    listed after its layer; a host readout is one pass per inference over the last layer's
    spike counts (kind ``readout``, integer inputs: MACs), listed last.

    Args:
        layers: The chain's layers.
        nonzero_inputs: Per layer, mean times each input was nonzero per inference.
        spikes: Per layer, mean spikes of each neuron per inference.
        timesteps: Steps per inference.
        encoding: ``constant`` (the first layer gets analogue input: MACs) or a spike code.
        recurrent_inputs: Per layer, mean spikes per inference of each neuron fed back through
            its recurrent synapse (None for a layer without one).
        readout: The chain's host readout, if any.
        readout_nonzero: Mean times each readout input (spike count) was nonzero per inference.
    """
    out = []
    for i, layer in enumerate(layers):
        binary = not (i == 0 and encoding == "constant")
        out.append(LayerOps(
            name=layer.name, kind=layer.kind, binary_input=binary, neurons=layer.neurons,
            synapses=int(np.count_nonzero(layer.weight)),
            dense=float(dense_ops(layer) * timesteps),
            effective=effective_ops(layer, nonzero_inputs[i]),
            neuron_updates=float(layer.neurons * timesteps), spikes=float(spikes[i].sum())))
        if layer.recurrent is not None:
            fed = (recurrent_inputs[i] if recurrent_inputs is not None
                   and recurrent_inputs[i] is not None else spikes[i])
            out.append(LayerOps(
                name=layer.recurrent_name, kind="recurrent", binary_input=True, neurons=0,
                synapses=int(np.count_nonzero(layer.recurrent)),
                dense=float(layer.recurrent.size * timesteps),
                effective=float(np.dot(fed, recurrent_fan_out(layer)))))
    if readout is not None:
        nonzero = (readout_nonzero if readout_nonzero is not None
                   else np.ones(readout.weight.shape[1]))
        out.append(LayerOps(
            name=readout.name, kind="readout", binary_input=False, neurons=0,
            synapses=readout.macs, dense=float(readout.weight.size),
            effective=float(np.dot(nonzero, (readout.weight != 0).sum(axis=0)))))
    return out


@dataclass
class OnnxLayer:
    """A weighted node of an ONNX model, as a layer the counting functions read."""

    node: str
    input_name: str
    weight: np.ndarray  # dense (out, in) or conv (out_ch, in_ch, kh, kw)
    kind: str
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)

    def as_layer(self, in_shape: tuple[int, ...]) -> Layer:
        """The node as a chain ``Layer`` for an input of shape ``in_shape`` (no batch)."""
        if self.kind == "dense":
            return Layer(self.node, "dense", self.weight, np.zeros(self.weight.shape[0]),
                         (int(np.prod(in_shape)),), (self.weight.shape[0],), NO_NEURON)
        kh, kw = self.weight.shape[2:]
        h = (in_shape[1] + 2 * self.padding[0] - kh) // self.stride[0] + 1
        w = (in_shape[2] + 2 * self.padding[1] - kw) // self.stride[1] + 1
        return Layer(self.node, "conv", self.weight, np.zeros(self.weight.shape[0]),
                     tuple(in_shape), (self.weight.shape[0], h, w), NO_NEURON,
                     stride=self.stride, padding=self.padding)


def onnx_layers(model: Any) -> list[OnnxLayer]:
    """The weighted nodes of an ONNX model, in graph order.

    Raises:
        GraphError: Naming a node whose operator has no op count here.
    """
    from onnx import numpy_helper
    from onnx.helper import get_attribute_value

    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    layers = []
    for node in model.graph.node:
        attrs = {a.name: get_attribute_value(a) for a in node.attribute}
        label = node.name or node.output[0]
        if node.op_type in FREE_OPS:
            continue
        if node.op_type not in WEIGHTED_OPS or node.input[1] not in weights:
            raise GraphError(f"ONNX node '{label}' ({node.op_type}) has no operation count here; "
                             f"supported: {', '.join(WEIGHTED_OPS + FREE_OPS)}")
        w = np.asarray(weights[node.input[1]], dtype=np.float64)
        if node.op_type == "Gemm":
            w = w if attrs.get("transB", 0) else w.T
            layers.append(OnnxLayer(label, node.input[0], w, "dense"))
        elif node.op_type == "MatMul":
            layers.append(OnnxLayer(label, node.input[0], w.T, "dense"))
        else:
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            if (attrs.get("group", 1) != 1 or any(d != 1 for d in attrs.get("dilations", [1, 1]))
                    or pads[:2] != pads[2:]):
                raise GraphError(f"ONNX node '{label}' (Conv) uses groups, dilation or "
                                 "asymmetric padding, which are not counted here")
            layers.append(OnnxLayer(label, node.input[0], w, "conv",
                                    tuple(attrs.get("strides", [1, 1])), tuple(pads[:2])))
    if not layers:
        raise GraphError("the ONNX model has no Gemm, MatMul or Conv node to count")
    return layers


def probe_model(model: Any, layers: list[OnnxLayer]) -> bytes:
    """The model with every weighted node's input added as an output (for counting)."""
    import onnx

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    existing = {o.name for o in probe.graph.output}
    for layer in layers:
        if layer.input_name not in existing:
            probe.graph.output.append(onnx.helper.make_tensor_value_info(
                layer.input_name, onnx.TensorProto.FLOAT, None))
    return probe.SerializeToString()


@dataclass
class OnnxActivity:
    """What an ONNX model did over a test set, from a probed run.

    Attributes:
        preds: Predicted class of every sample.
        nonzero: Per layer input (by ONNX tensor name), how many samples had each input value
            nonzero (summed over every batch).
        shapes: Per layer input, its shape without the batch dimension.
    """

    preds: np.ndarray
    nonzero: dict[str, np.ndarray]
    shapes: dict[str, tuple[int, ...]]


def run_probed(model: Any, layers: list[OnnxLayer], x: np.ndarray, batch_size: int,
               progress: Any = None, label: str = "counting") -> OnnxActivity:
    """Run ``model`` on ``x`` in batches with every layer's input exposed, and tally it.

    Args:
        model: The ONNX model (``onnx.ModelProto``) whose ``layers`` are counted.
        layers: Its weighted layers (``onnx_layers``).
        x: Samples, float32 ``(N, *input_shape)``.
        batch_size: Samples per onnxruntime call.
        progress: A rich ``Progress`` to report on, or None.
        label: The progress task's description.
    """
    import onnxruntime as ort

    from neuropipe.core.threads import onnx_session_options

    options = onnx_session_options(batch_size)  # threads: core.threads
    options.log_severity_level = 3
    session = ort.InferenceSession(probe_model(model, layers), options,
                                   providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    input_name = model.graph.input[0].name
    n = len(x)
    nonzero: dict[str, np.ndarray] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    preds = np.zeros(n, dtype=np.int64)
    task = progress.add_task(label, total=n) if progress else None
    for start in range(0, n, batch_size):
        batch = x[start:start + batch_size]
        results = dict(zip(outputs, session.run(None, {input_name: batch}), strict=True))
        preds[start:start + len(batch)] = np.argmax(results[outputs[0]], axis=1)
        for layer in layers:
            act = results[layer.input_name]
            shapes[layer.input_name] = tuple(act.shape[1:])
            nonzero[layer.input_name] = nonzero.get(layer.input_name, 0) + (act != 0).sum(0)
        if progress:
            progress.update(task, advance=len(batch))
    return OnnxActivity(preds, nonzero, shapes)


def ann_layer_ops(layers: list[OnnxLayer], shapes: dict[str, tuple[int, ...]],
                  nonzero: dict[str, np.ndarray]) -> list[LayerOps]:
    """Per-layer MACs of an ANN: dense (every weight) and effective (nonzero input x weight).

    Args:
        layers: The weighted nodes.
        shapes: Each node's input shape without the batch dimension.
        nonzero: Each node's mean count of nonzero values per input position per inference.
    """
    out = []
    for layer in layers:
        chain_layer = layer.as_layer(shapes[layer.input_name])
        out.append(LayerOps(
            name=layer.node, kind=layer.kind, binary_input=False,
            neurons=chain_layer.neurons, synapses=int(np.count_nonzero(layer.weight)),
            dense=float(dense_ops(chain_layer)),
            effective=effective_ops(chain_layer, nonzero[layer.input_name].reshape(-1))))
    return out


def totals(ops: list[LayerOps]) -> dict[str, float]:
    """Counts by the keys the host cost models read."""
    return {
        "dense_macs": float(sum(o.dense for o in ops if not o.binary_input)),
        "dense_acs": float(sum(o.dense for o in ops if o.binary_input)),
        "effective_macs": float(sum(o.effective for o in ops if not o.binary_input)),
        "effective_acs": float(sum(o.effective for o in ops if o.binary_input)),
        "neuron_updates": float(sum(o.neuron_updates for o in ops)),
    }
