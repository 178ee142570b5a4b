"""Export zoo runs to SavedModel, TFLite and ONNX, validated against Keras.

`FORMATS` is the one table that drives everything: the CLI's --format and --quantize choices,
the file names, the validation tolerances, the manifest and the benchmark loop (as ultralytics'
exporter does). Each format's conversion lives in its own small module (savedmodel, tflite,
onnx), as in keras/src/export/.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before anything imports TensorFlow

from exporters import onnx, savedmodel, tflite  # noqa: E402
from zoo.deploy.runtime import SUFFIXES  # noqa: E402
from zoo.errors import ZooError  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Format:
    """One exported variant.

    `pattern` is the file name without its suffix (the runtime's for `format`, see
    zoo.deploy.runtime.FILE_FORMATS; a SavedModel is a folder), `{stem}` being "model" when the run has
    one exportable and the exportable's name when it has several (encoder.onnx,
    decoder_int8.tflite), `{prefix}` being "" or "encoder_". `tolerance` bounds
    |exported - Keras| as a fraction of the range of the Keras output; `min_psnr` (dB, against the Keras output) applies to image outputs and
    `max_accuracy_drop` (points) to classifiers: the task-level checks that keep quantized files
    honest where a per-value bound has to be loose. `outliers`: the fraction of an image output's
    values that may lie beyond `tolerance` (int8's outlier pixels), 0 for none.
    """

    key: str
    format: str
    quantize: str | None
    pattern: str
    export: Callable
    tolerance: float
    min_psnr: float
    max_accuracy_drop: float = 0.5
    outliers: float = 0.0

    def filename(self, exportable: str, several: bool) -> str:
        name = self.pattern.format(stem=exportable if several else "model", prefix=f"{exportable}_" if several else "")
        return name + SUFFIXES.get(self.format, "")


# Float32 formats must match Keras to 3e-4 of each output's range (float summation order is the
# only difference: the Fashion-MNIST models stay within 1e-5, the trained multi-style stylizer,
# 22 instance normalisations deep, reached 1.2e-4 in TFLite's XNNPACK kernels). The quantized
# bounds come from measurements: on the zoo's Fashion-MNIST models fp16 differs by at most 3e-4
# of the range, dynamic-range int8 by 1e-2, full int8 by 2e-2; on the stylizer's transformer
# (random weights, 64x64) fp16 by 3e-3, dynamic int8 by 6e-2 (41 dB) and full int8 by 0.32 of the
# range at 25 dB PSNR; on trained multi-style stylizers fp16 by 1.3e-2 and dynamic int8 by up to
# a quarter of the range, at a few pixels. Int8 images have outlier pixels, so the int8 value
# bounds (half the range, on all but a thousandth of an image's values) only catch a wrong scale,
# zero point or sign, and the PSNR (images) and accuracy (classifiers) checks decide: a stylizer
# that draws fine texture moves a stroke's edge by a pixel under int8, and that pixel differs by
# most of the range in a picture a person cannot tell from the Keras one. ONNX's fp16 and dynamic
# int8 files are held to their TFLite namesakes' bounds.
FORMATS = (
    Format("savedmodel", "savedmodel", None, "{prefix}saved_model", savedmodel.export, 3e-4, 60.0),
    Format("tflite", "tflite", None, "{stem}", tflite.export, 3e-4, 60.0),
    Format("tflite_fp16", "tflite", "fp16", "{stem}_fp16", tflite.export, 3e-2, 40.0),
    Format("tflite_dynamic", "tflite", "dynamic", "{stem}_dynamic_int8", tflite.export, 0.5, 30.0, outliers=1e-3),
    Format("tflite_int8", "tflite", "int8", "{stem}_int8", tflite.export, 0.5, 20.0, outliers=1e-3),
    Format("onnx", "onnx", None, "{stem}", onnx.export, 3e-4, 60.0),
    Format("onnx_fp16", "onnx", "fp16", "{stem}_fp16", onnx.export, 3e-2, 40.0),
    Format("onnx_dynamic", "onnx", "dynamic", "{stem}_dynamic_int8", onnx.export, 0.5, 30.0, outliers=1e-3),
)
FORMAT_NAMES = tuple(dict.fromkeys(f.format for f in FORMATS))
QUANTIZATIONS = tuple(dict.fromkeys(f.quantize for f in FORMATS if f.quantize))


def select(formats, quantize) -> list[Format]:
    """The rows of FORMATS for --format and --quantize: each chosen format's float32 file, and
    its variants in the chosen quantizations that it has (int8 is TFLite's alone)."""
    for name in formats:
        if name not in FORMAT_NAMES:
            raise ZooError(f"unknown format {name!r}; choose from {', '.join(FORMAT_NAMES)}")
    for q in quantize:
        if q not in QUANTIZATIONS:
            raise ZooError(f"unknown quantization {q!r}; choose from {', '.join(QUANTIZATIONS)}")
    return [f for f in FORMATS if f.format in formats and (f.quantize is None or f.quantize in quantize)]
