"""TFLite for phones: tf.lite.TFLiteConverter restricted to builtin ops, float32 or quantized.

`model.export(format="litert")` always allows SELECT_TF_OPS (Flex), which phones' stock LiteRT
runtime cannot run; with builtins only, a model that needs more fails here, naming the op.

Quantizations (https://ai.google.dev/edge/litert/models/post_training_quantization):
  fp16     float16 weights, float32 compute on CPU (half the size; GPU delegates run fp16).
  dynamic  int8 weights, activations quantized on the fly (a quarter of the size, faster on CPU).
  int8     full integer: int8 weights, activations, inputs and outputs, calibrated on a
           representative dataset from the model's own tf.data pipeline (for NPUs and DSPs).
"""

from __future__ import annotations

import contextlib
import io
import re

from exporters.savedmodel import SIGNATURE
from zoo.errors import ZooError


def export(exportable, path, fmt, opset):
    """Convert from a SavedModel of the serving function: converting the concrete function
    directly drops the weights of a model loaded from .keras (the file comes out with NaNs)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(exportable.saved_model(), signature_keys=[SIGNATURE])
    _configure(converter, fmt, exportable)
    try:
        content = converter.convert()
    except Exception as e:  # ConverterError, or RuntimeError from the int8 calibrator
        raise ZooError(f"cannot convert {exportable.name} to {fmt.key}: {_conversion_problem(str(e))}") from None
    path.write_bytes(content)


def _configure(converter, fmt, exportable):
    import tensorflow as tf

    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if fmt.quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if fmt.quantize == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif fmt.quantize == "int8":
        converter.representative_dataset = exportable.calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8


def _conversion_problem(message: str) -> str:
    """The one useful line of a converter error: which ops are missing from TFLite builtins."""
    flex = re.search(r"TF Select ops: (.+)", message)
    if flex:
        return (f"needs TensorFlow ops that are not TFLite builtins ({flex.group(1).strip()}); phones' LiteRT "
                "runtime cannot run Flex ops, so change the layers that produce them")
    op = re.search(r"'([\w.]+)' op is neither a custom op nor a flex op", message)
    if op:
        return f"op {op.group(1)} has no TFLite builtin kernel for this quantization"
    lines = [line.strip() for line in message.splitlines() if "error" in line.lower()]
    return (lines or message.strip().splitlines() or ["unknown converter error"])[0][:500]


def gpu_compatibility(path) -> dict:
    """Ask TF's TFLite analyzer whether every op can run on the GPU delegate.

    The analyzer only prints its report; we keep the verdict and the lines about the GPU."""
    import tensorflow as tf

    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        tf.lite.experimental.Analyzer.analyze(model_path=str(path), gpu_compatibility=True)
    text = report.getvalue()
    return {
        "compatible": "looks compatible with GPU delegate" in text and "GPU COMPATIBILITY WARNING" not in text,
        "analyzer": [line.strip() for line in text.splitlines() if "GPU" in line],
    }
