"""Host operation counts of a spiking layer with an asymmetric recurrent synapse and a readout,
worked out by hand: inputs, columns and encodings chosen so that a swapped axis, a missed
recurrent input or a readout counted as ACs gives another number."""

import numpy as np
import pytest

from neuropipe.targets.chain import Layer, Neuron, Readout
from neuropipe.targets.host.ops import dense_ops, spiking_layer_ops, totals

# 2 inputs -> 3 neurons. Fan-out of input 0 is 3 (1, 2, 5), of input 1 is 1 (3): 4 synapses.
W = np.array([[1.0, 0.0], [2.0, 3.0], [5.0, 0.0]])
# Recurrent (post, pre): fan-out (columns) 2, 1, 0; fan-in (rows) 0, 1, 2. 3 synapses of 9.
R = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.25, 1.0, 0.0]])
# Readout 2 classes x 3 neurons: nonzero weights per neuron (columns) 1, 1, 2; 4 of 6.
RO = Readout(name="ro", weight=np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 4.0]]), bias=np.zeros(2))
T = 4


def layer():
    neuron = Neuron(kind="if", alpha=1.0, r=1.0, v_leak=0.0, v_threshold=1.0)
    return Layer(name="fc", kind="dense", weight=W, bias=np.zeros(3), in_shape=(2,),
                 out_shape=(3,), neuron=neuron, recurrent=R, recurrent_name="rec")


def ops(encoding, fed=True, readout_nonzero=True):
    return spiking_layer_ops(
        [layer()], [np.array([2.0, 5.0])], [np.array([1.0, 2.0, 3.0])], T, encoding,
        recurrent_inputs=[np.array([3.0, 1.0, 5.0])] if fed else None, readout=RO,
        readout_nonzero=np.array([0.5, 1.0, 2.0]) if readout_nonzero else None)


def test_a_recurrent_layer_and_readout_by_hand():
    fc, rec, ro = ops("poisson")
    # fc: 6 weights x 4 steps dense; effective 2 x 3 + 5 x 1 = 11 (every weight: 2x3 + 5x3 = 21).
    assert (fc.name, fc.kind, fc.binary_input, fc.neurons, fc.synapses) == (
        "fc", "dense", True, 3, 4)
    assert (fc.dense, fc.effective, fc.neuron_updates, fc.spikes) == (24.0, 11.0, 12.0, 6.0)
    # rec: 9 x 4 dense; its fed-back spikes 3, 1, 5 x fan-out 2, 1, 0 = 7 (rows: 11).
    assert (rec.name, rec.kind, rec.binary_input, rec.neurons, rec.synapses) == (
        "rec", "recurrent", True, 0, 3)
    assert (rec.dense, rec.effective, rec.neuron_updates) == (36.0, 7.0, 0.0)
    # readout: 6 dense MACs once per inference; 0.5 x 1 + 1 x 1 + 2 x 2 = 5.5 effective.
    assert (ro.name, ro.kind, ro.binary_input, ro.neurons, ro.synapses) == (
        "ro", "readout", False, 0, 4)
    assert (ro.dense, ro.effective) == (6.0, 5.5)
    assert totals([fc, rec, ro]) == {"dense_macs": 6.0, "dense_acs": 60.0,
                                     "effective_macs": 5.5, "effective_acs": 18.0,
                                     "neuron_updates": 12.0}


def test_without_fed_back_counts_the_layers_spikes_feed_back_and_every_readout_input_counts():
    _, rec, ro = ops("poisson", fed=False, readout_nonzero=False)
    assert rec.effective == 1 * 2 + 2 * 1 + 3 * 0  # its own spikes 1, 2, 3
    assert ro.effective == 4.0  # every input nonzero once: its 4 nonzero weights


def test_constant_input_makes_the_first_layer_macs():
    fc, rec, ro = ops("constant")
    assert (fc.binary_input, rec.binary_input, ro.binary_input) == (False, True, False)
    assert totals([fc, rec, ro]) == {"dense_macs": 30.0, "dense_acs": 36.0,
                                     "effective_macs": 16.5, "effective_acs": 7.0,
                                     "neuron_updates": 12.0}


def test_dense_ops_of_a_conv_is_every_weight_at_every_output_position():
    neuron = Neuron(kind="if", alpha=1.0, r=1.0, v_leak=0.0, v_threshold=1.0)
    conv = Layer(name="c", kind="conv", weight=np.ones((2, 1, 2, 3)), bias=np.zeros(2),
                 in_shape=(1, 3, 3), out_shape=(2, 2, 1), neuron=neuron)
    assert dense_ops(conv) == 12 * 2  # 12 weights at 2 x 1 positions (not x 4 neurons)
    assert dense_ops(layer()) == 6



def conv_onnx():
    """image (1, 3, 3) -> Conv of 2 channels of 2 x 3 kernels (stride 1, no padding) -> Flatten.

    Channel 0 is dense (6 weights), channel 1 has 2 (at (0, 0) and (1, 2)): output 2 x 2 x 1.
    Fan-out of the 9 pixels: 2, 1, 1, 3, 2, 3, 1, 1, 2 (see test_asymmetric_by_hand).
    """
    from onnx import TensorProto, helper, numpy_helper

    w = np.zeros((2, 1, 2, 3), dtype=np.float32)
    w[0, 0] = [[1, 2, 3], [4, 5, 6]]
    w[1, 0, 0, 0], w[1, 0, 1, 2] = 7, 8
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["y"], name="conv", strides=[1, 1],
                          pads=[0, 0, 0, 0]),
         helper.make_node("Flatten", ["y"], ["scores"], name="flat")],
        "conv", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 1, 3, 3])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", 4])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("batch_size", [1, 2])
def test_an_onnx_conv_by_hand_over_batches(batch_size):
    from neuropipe.targets.host.ops import ann_layer_ops, onnx_layers, run_probed

    model = conv_onnx()
    layers = onnx_layers(model)
    assert [(la.node, la.input_name, la.kind, la.stride, la.padding) for la in layers] == [
        ("conv", "image", "conv", (1, 1), (0, 0))]
    # Image 1: pixels 0, 2, 4, 7, 8 nonzero (fan-out 2 + 1 + 2 + 1 + 2 = 8); image 2: pixel 5
    # alone, negative (fan-out 3). Dense: 12 weights at 2 x 1 output positions = 24.
    x = np.zeros((2, 1, 3, 3), dtype=np.float32)
    x[0].flat[[0, 2, 4, 7, 8]] = [1, 2, 3, 1, 4]
    x[1].flat[5] = -1
    activity = run_probed(model, layers, x, batch_size)
    assert activity.shapes == {"image": (1, 3, 3)}
    assert activity.nonzero["image"].reshape(-1).tolist() == [1, 0, 1, 0, 1, 1, 0, 1, 1]
    (conv,) = ann_layer_ops(layers, activity.shapes,
                            {k: v / len(x) for k, v in activity.nonzero.items()})
    assert (conv.name, conv.kind, conv.neurons, conv.synapses, conv.binary_input) == (
        "conv", "conv", 4, 8, False)
    assert (conv.dense, conv.effective) == (24.0, (8 + 3) / 2)


@pytest.mark.parametrize(("ort_has_cuda", "cuda_here", "want"), [
    (True, True, (["CUDAExecutionProvider"], True)),
    (True, False, (["CPUExecutionProvider"], False)),
    (False, True, (["CPUExecutionProvider"], False))])
def test_the_gpu_runs_on_cuda_only_where_both_onnxruntime_and_a_device_have_it(
        ort_has_cuda, cuda_here, want, monkeypatch):
    import onnxruntime
    import torch

    from neuropipe.targets.host import target as host_target
    from neuropipe.targets.registry import get_target

    providers = ["CUDAExecutionProvider"] * ort_has_cuda + ["CPUExecutionProvider"]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: providers)
    monkeypatch.setattr(host_target, "cuda_status", lambda: (cuda_here, "why"))
    assert get_target("gpu")._providers() == want
    assert get_target("cpu")._providers() == (["CPUExecutionProvider"], True)
    # One GPU is one device; the CPU has as many as PyTorch's threads.
    assert get_target("gpu")._cores() == 1
    assert get_target("cpu")._cores() == torch.get_num_threads()


def _model(nodes, inputs, outputs, weights):
    from onnx import helper, numpy_helper

    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              [numpy_helper.from_array(w, n) for n, w in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def test_onnx_layers_read_strides_pads_and_gemm_transposes_by_hand():
    from onnx import TensorProto, helper

    from neuropipe.targets.host.ops import NO_NEURON, OnnxLayer, onnx_layers

    conv_w = np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2)  # 2 out, 2 in, 2 x 2
    gemm_w = np.arange(24, dtype=np.float32).reshape(12, 2)  # (in, out): transB 0
    gemm_t = np.arange(6, dtype=np.float32).reshape(3, 2)  # (out, in): transB 1
    mm_w = np.arange(6, dtype=np.float32).reshape(3, 2)  # MatMul (in, out)
    tensor = helper.make_tensor_value_info
    model = _model(
        [helper.make_node("Conv", ["x", "cw"], ["c"], name="conv", strides=[2, 1],
                          pads=[1, 0, 1, 0]),
         helper.make_node("Relu", ["c"], ["r"], name="relu"),
         helper.make_node("Flatten", ["r"], ["f"], name="flat"),
         helper.make_node("Gemm", ["f", "gw"], ["g"], name="gemm"),
         helper.make_node("Gemm", ["g", "gt"], ["h"], name="", transB=1),
         helper.make_node("MatMul", ["h", "mw"], ["y"], name="mm")],
        [tensor("x", TensorProto.FLOAT, ["n", 2, 4, 3])],
        [tensor("y", TensorProto.FLOAT, ["n", 2])],
        {"cw": conv_w, "gw": gemm_w, "gt": gemm_t, "mw": mm_w})
    conv, gemm, gemm2, mm = onnx_layers(model)
    assert (conv.node, conv.input_name, conv.kind, conv.stride, conv.padding) == (
        "conv", "x", "conv", (2, 1), (1, 0))
    assert conv.weight.dtype == np.float64 and np.array_equal(conv.weight, conv_w)
    # Gemm without transB holds (in, out): the layer keeps (out, in) = its transpose
    assert (gemm.node, gemm.input_name, gemm.kind) == ("gemm", "f", "dense")
    assert np.array_equal(gemm.weight, gemm_w.T)
    # transB = 1 holds (out, in) already; a node without a name is named by its output
    assert (gemm2.node, gemm2.input_name) == ("h", "g") and np.array_equal(gemm2.weight, gemm_t)
    assert (mm.node, mm.input_name, mm.kind) == ("mm", "h", "dense")
    assert np.array_equal(mm.weight, mm_w.T)
    # Conv on (2, 5, 3): h = (5 + 2*1 - 2) // 2 + 1 = 3, w = (3 + 2*0 - 2) // 1 + 1 = 2
    layer = conv.as_layer((2, 5, 3))
    assert (layer.name, layer.kind, layer.in_shape, layer.out_shape) == (
        "conv", "conv", (2, 5, 3), (2, 3, 2))
    assert (layer.stride, layer.padding, layer.neuron) == ((2, 1), (1, 0), NO_NEURON)
    assert np.array_equal(layer.bias, np.zeros(2)) and layer.weight is conv.weight
    # 3 output channels from 2 inputs, padded along the width only, strided by 2 there:
    # h = (3 + 2*0 - 2) // 1 + 1 = 2, w = (5 + 2*1 - 2) // 2 + 1 = 3; one bias per output
    wide = OnnxLayer("k", "x", np.ones((3, 2, 2, 2)), "conv", (1, 2), (0, 1)).as_layer((2, 3, 5))
    assert (wide.out_shape, wide.bias.shape) == ((3, 2, 3), (3,))
    dense = gemm.as_layer((2, 3, 2))  # 12 inputs flattened, 2 outputs
    assert (dense.name, dense.kind, dense.in_shape, dense.out_shape) == (
        "gemm", "dense", (12,), (2,))
    assert np.array_equal(dense.bias, np.zeros(2)) and dense.neuron == NO_NEURON


def test_onnx_layers_refuse_what_they_cannot_count_in_one_line():
    from onnx import TensorProto, helper

    from neuropipe.core.errors import GraphError
    from neuropipe.targets.host.ops import onnx_layers

    tensor = helper.make_tensor_value_info
    w = np.ones((1, 1, 1, 1), dtype=np.float32)
    x = [tensor("x", TensorProto.FLOAT, ["n", 1, 2, 2])]
    y = [tensor("y", TensorProto.FLOAT, None)]
    for attrs in ({"group": 2}, {"dilations": [1, 2]}, {"pads": [1, 0, 0, 0]}):
        model = _model([helper.make_node("Conv", ["x", "w"], ["y"], name="c", **attrs)], x, y,
                       {"w": w})
        with pytest.raises(GraphError) as e:
            onnx_layers(model)
        assert str(e.value) == ("ONNX node 'c' (Conv) uses groups, dilation or asymmetric "
                                "padding, which are not counted here")
    model = _model([helper.make_node("Sigmoid", ["x"], ["y"], name="s")], x, y, {})
    with pytest.raises(GraphError) as e:
        onnx_layers(model)
    assert str(e.value).startswith("ONNX node 's' (Sigmoid) has no operation count here; "
                                   "supported: Gemm, MatMul, Conv, Relu, Flatten")
    model = _model([helper.make_node("Relu", ["x"], ["y"], name="r")], x, y, {})
    with pytest.raises(GraphError) as e:
        onnx_layers(model)
    assert str(e.value) == "the ONNX model has no Gemm, MatMul or Conv node to count"
    # defaults: no strides, no pads -> (1, 1) and (0, 0)
    (conv,) = onnx_layers(_model([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], x, y,
                                 {"w": w}))
    assert (conv.stride, conv.padding) == ((1, 1), (0, 0))
