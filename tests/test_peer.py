"""zoo.style.peer's FLOP count, on ONNX graphs small enough to count by hand: a float convolution,
and the same convolution with int8 weights dequantized in the graph, as the peer's arbitrary-style
networks store theirs."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from zoo.style.peer import conv_flops

EXPECTED = 2 * (4 * 8 * 8) * (3 * 3 * 3)  # 2 x output elements x (Cin x kH x kW)


def conv_model(path, quantized):
    weight = np.ones((4, 3, 3, 3), np.float32)
    nodes, initializers = [], []
    if quantized:
        initializers += [numpy_helper.from_array(weight.astype(np.int8), "w_q"),
                         numpy_helper.from_array(np.array(0.5, np.float32), "w_scale"),
                         numpy_helper.from_array(np.array(0, np.int8), "w_zero")]
        nodes.append(helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w"]))
    else:
        initializers.append(numpy_helper.from_array(weight, "w"))
    nodes.append(helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1]))
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], initializers)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), path)
    return path


def test_conv_flops_of_float_and_dequantized_weights(tmp_path):
    feed = {"x": np.zeros((1, 3, 8, 8), np.float32)}
    for quantized in (False, True):
        assert conv_flops(conv_model(tmp_path / f"q{quantized}.onnx", quantized), feed, 1) == EXPECTED
