"""Writes small binary ONNX models as seeds for the importer's fuzzer."""
import sys
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def main(out):
    out = Path(out)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    shape = numpy_helper.from_array(np.array([0, -1], np.int64), "shape")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Reshape", ["r", "shape"], ["f"]),
        helper.make_node("Softmax", ["f"], ["y"], axis=-1),
    ]
    graph = helper.make_graph(nodes, "seed", [x], [y], [w, shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (out / "seed_conv.onnx").write_bytes(model.SerializeToString())

    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["b", "s", 8])
    nodes = [
        helper.make_node("Shape", ["a"], ["sh"]),
        helper.make_node("Gather", ["sh", "zero"], ["b0"], axis=0),
        helper.make_node("Unsqueeze", ["b0", "axes"], ["b1"]),
        helper.make_node("Concat", ["b1", "rest"], ["target"], axis=0),
        helper.make_node("Reshape", ["a", "target"], ["y"]),
    ]
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "axes"),
             numpy_helper.from_array(np.array([-1, 2, 4], np.int64), "rest")]
    graph = helper.make_graph(nodes, "seed2", [a], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (out / "seed_shape.onnx").write_bytes(model.SerializeToString())


if __name__ == "__main__":
    main(sys.argv[1])
