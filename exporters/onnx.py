"""ONNX through tf2onnx, from the same serving function as the SavedModel, so input and output
names are the signature's. Dynamic dimensions get readable names (batch, height, width) and the
result must pass onnx.checker before it is written.

Quantizations, made from the float32 graph with onnxruntime's own tools (inputs and outputs stay
float32, so every runtime feeds them alike):
  fp16     float16 weights and activations (`convert_float_to_float16`, keep_io_types): half the
           size; onnxruntime's CPU provider runs the ops it has no float16 kernel for in float32
           behind inserted casts, so it is slower there; it is meant for GPUs (WebGPU, CUDA).
  dynamic  int8 weights, activations quantized on the fly (`quantize_dynamic`: ConvInteger,
           MatMulInteger, DynamicQuantizeLinear): a quarter of the size.

Every file's manifest entry lists its operators and those that onnxruntime-web's WebGPU provider
lacks (`webgpu_operators.json`), which a browser runs on WebAssembly instead.
"""

from __future__ import annotations

import functools
import json
import math
import tempfile
from pathlib import Path

from zoo.errors import ZooError

# tf2onnx 1.17 refuses opsets above 18; below 13 it lacks ops the zoo's models use.
MIN_OPSET, MAX_OPSET, DEFAULT_OPSET = 13, 18, 17
WEBGPU_OPERATORS = Path(__file__).with_name("webgpu_operators.json")
DEFAULT_DOMAIN = "ai.onnx"  # what an empty domain in a node or an opset import means


def check_opset(opset: int):
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ZooError(f"ONNX opset {opset} is not supported: tf2onnx handles opsets {MIN_OPSET} to {MAX_OPSET}")


def export(exportable, path, fmt, opset):
    import onnx

    model_proto = exportable.onnx_graph(opset)
    if fmt.quantize == "fp16":
        model_proto = _float16(model_proto)
    elif fmt.quantize == "dynamic":
        model_proto = _dynamic_int8(model_proto)
    onnx.checker.check_model(model_proto, full_check=True)
    onnx.save(model_proto, str(path))


def float32_graph(exportable, opset):
    """The serving function as a float32 ONNX ModelProto (`Exportable.onnx_graph` keeps it)."""
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
    return model_proto


def _float16(model_proto):
    """float16 weights and activations behind float32 inputs and outputs. The converter appends
    the casts of the inputs after the nodes that read them; onnx.checker and OpenCV want the
    nodes in topological order, so they are sorted again."""
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    model = OnnxModel(convert_float_to_float16(model_proto, keep_io_types=True))
    model.topological_sort()
    return model.model


def _dynamic_int8(model_proto):
    """int8 weights through files: quantize_dynamic reads and writes models on disk (and runs
    shape inference, which needs a file for graphs over 2 GB)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="zoo-onnx-int8-") as tmp:
        source, target = Path(tmp) / "float32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model_proto, str(source))
        quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        return onnx.load(str(target))


def operators(model_proto) -> list[str]:
    """Sorted op types of a model, subgraphs included; ops outside ai.onnx carry their domain
    ("com.microsoft.FusedConv"), since a runtime implements each domain apart."""
    return sorted({_qualified(node.domain, node.op_type) for node in _nodes(model_proto.graph)})


def webgpu_unsupported(model_proto) -> list[str]:
    """The operators of `model_proto` that onnxruntime-web's WebGPU provider has no kernel for at
    the opset the model imports (they fall back to WebAssembly), sorted like `operators`."""
    table = _webgpu_table()
    opsets = {imp.domain or DEFAULT_DOMAIN: imp.version for imp in model_proto.opset_import}
    missing = set()
    for node in _nodes(model_proto.graph):
        domain = node.domain or DEFAULT_DOMAIN
        ranges = table.get(domain, {}).get(node.op_type, ())
        if not any(low <= opsets.get(domain, 1) <= high for low, high in ranges):
            missing.add(_qualified(node.domain, node.op_type))
    return sorted(missing)


def describe(path) -> dict:
    """The manifest's operator entries of an ONNX file."""
    import onnx

    model_proto = onnx.load(str(path))
    return {"onnx_operators": operators(model_proto), "webgpu_unsupported": webgpu_unsupported(model_proto)}


def _nodes(graph):
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            for subgraph in (*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs):
                yield from _nodes(subgraph)


def _qualified(domain, op_type) -> str:
    return op_type if (domain or DEFAULT_DOMAIN) == DEFAULT_DOMAIN else f"{domain}.{op_type}"


def webgpu_source() -> str:
    """Where the WebGPU operator list comes from (package and version), for the manifest."""
    return _webgpu_data()["source"]["package"]


@functools.cache
def _webgpu_data() -> dict:
    return json.loads(WEBGPU_OPERATORS.read_text(encoding="utf-8"))


@functools.cache
def _webgpu_table() -> dict:
    """{domain: {op: [(first opset, last opset)]}} from webgpu_operators.json ("7-12,13,14+")."""
    def span(text):
        low, _, high = text.partition("-")
        return int(low.rstrip("+")), math.inf if text.endswith("+") else int(high or low)

    return {domain: {op: [span(t) for t in versions.split(",")] for op, versions in ops.items()}
            for domain, ops in _webgpu_data()["operators"].items()}
