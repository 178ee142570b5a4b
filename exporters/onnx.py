"""ONNX through tf2onnx, from the same serving function as the SavedModel, so input and output
names are the signature's. Dynamic dimensions get readable names (batch, height, width) and the
result must pass onnx.checker before it is written."""

from __future__ import annotations

from zoo.errors import ZooError

# tf2onnx 1.17 refuses opsets above 18; below 13 it lacks ops the zoo's models use.
MIN_OPSET, MAX_OPSET, DEFAULT_OPSET = 13, 18, 17


def check_opset(opset: int):
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ZooError(f"ONNX opset {opset} is not supported: tf2onnx handles opsets {MIN_OPSET} to {MAX_OPSET}")


def export(exportable, path, fmt, opset):
    import onnx
    import tf2onnx

    check_opset(opset)
    model_proto, _ = tf2onnx.convert.from_function(exportable.serve, input_signature=exportable.serve.input_signature,
                                                   opset=opset)
    # Only the batch is known to be shared by inputs and outputs; an output's height and width
    # may differ from the input's, so they keep tf2onnx's anonymous names.
    for value, names in [*((v, ("batch", "height", "width")) for v in model_proto.graph.input),
                         *((v, ("batch",)) for v in model_proto.graph.output)]:
        for dim, name in zip(value.type.tensor_type.shape.dim, names):
            if not dim.HasField("dim_value"):
                dim.dim_param = name
    onnx.checker.check_model(model_proto, full_check=True)
    onnx.save(model_proto, str(path))
