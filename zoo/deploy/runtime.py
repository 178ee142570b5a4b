"""Deploy-only runtime: run an exported `.onnx` or `.tflite` file without TensorFlow or Keras.

    runner = zoo.deploy.runtime.load("export/model_int8.tflite", threads=2)
    runner.inputs, runner.outputs    # [Spec(name, shape, dtype, quantization)], None = any size;
                                     # outputs sorted by name, whatever the file's order
    out = runner(image=batch)        # float32 in, {output name: float32 array} out
    runner.manifest                  # the export's manifest.json ({} when the file has none)

Everything a phone or a server without TensorFlow needs to run a zoo model lives here: the
callers hand over float32 arrays and get float32 arrays back whatever the file stores, because
full-integer files are quantized and dequantized here with the scale and zero point that the
file itself declares, and inputs whose size differs from the one the file was saved with are
resized (dynamic batch, and dynamic height and width for image-to-image models).

Only numpy, onnxruntime and ai_edge_litert are imported (the `[deploy]` extra), lazily, so that
importing this module costs nothing and never pulls TensorFlow in.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np

from zoo.errors import ZooError, first_line
from zoo.fileio import sha256
from zoo.names import EXPORT_DIR, MANIFEST


@dataclasses.dataclass(frozen=True)
class Spec:
    """One input or output as the caller sees it.

    `shape` holds None for a dimension of any size; `dtype` is what the caller passes or gets
    (always float32: int8 files are (de)quantized inside); `quantization` is the (scale,
    zero_point) of an int8 tensor inside the file, None for a float one.
    """

    name: str
    shape: tuple
    dtype: str = "float32"
    quantization: tuple | None = None


class Runner:
    """Common part of the ONNX and TFLite runners: input checks and int8 (de)quantization."""

    def __init__(self, path, inputs, outputs, manifest=None):
        self.path = Path(path)
        # Sorted by name: TFLite signatures list outputs alphabetically, ONNX in model order.
        self.inputs, self.outputs = inputs, sorted(outputs, key=lambda s: s.name)
        self.manifest = manifest or {}

    def __call__(self, **arrays):
        names = [s.name for s in self.inputs]
        if sorted(arrays) != sorted(names):
            raise ZooError(f"{self.path.name} takes inputs {names}, got {sorted(arrays)}")
        feed = {}
        for spec in self.inputs:
            x = arrays[spec.name]
            if not isinstance(x, np.ndarray) or x.dtype != np.float32:
                got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
                raise ZooError(f"input {spec.name!r} of {self.path.name} must be a float32 numpy array, got {got}")
            if x.ndim != len(spec.shape) or any(d is not None and d != n for d, n in zip(spec.shape, x.shape)):
                want = "x".join("?" if d is None else str(d) for d in spec.shape)
                raise ZooError(f"input {spec.name!r} of {self.path.name} must have shape {want}, got "
                               f"{'x'.join(map(str, x.shape))}")
            feed[spec.name] = _quantize(x, spec.quantization) if spec.quantization else np.ascontiguousarray(x)
        raw = self._run(feed)
        return {s.name: _dequantize(raw[s.name], s.quantization) if s.quantization else
                np.asarray(raw[s.name], np.float32) for s in self.outputs}

    def only(self, outputs) -> "Runner":
        """A runner that computes only `outputs` of this network (same inputs), where the runtime
        can leave out the rest; else this runner."""
        return self

    def __repr__(self):
        return (f"{type(self).__name__}({self.path.name}: {', '.join(s.name for s in self.inputs)} -> "
                f"{', '.join(s.name for s in self.outputs)})")

    def _run(self, feed: dict) -> dict:
        raise NotImplementedError


def _quantize(x, quantization):
    scale, zero_point = quantization
    return np.clip(np.round(x / scale + zero_point), -128, 127).astype(np.int8)


def _dequantize(q, quantization):
    scale, zero_point = quantization
    return ((q.astype(np.float32) - zero_point) * scale).astype(np.float32)


class OnnxRunner(Runner):
    """`low_memory` is for networks that run on big inputs (the tiles of zoo.style.tiling):
    without onnxruntime's blocked-layout (NCHWc) rewrite, which copies every activation into
    and out of its layout, and without a memory pattern planned ahead for each input shape, a
    tile takes a third of the memory, and on these CPUs no longer."""

    def __init__(self, path, threads=None, manifest=None, low_memory=False, model=None):
        import onnxruntime as ort

        self._options, self._cut = (threads, manifest, low_memory), {}  # `only`'s runners by outputs
        options = ort.SessionOptions()
        # No memory arena: it would keep the peak activations of the largest input ever run (a
        # photo's statistics pass, then every tile) for the session's life; freed memory is
        # what lets zoo.style.tiling stylize big photos in little memory.
        options.enable_cpu_mem_arena = False
        if low_memory:
            options.enable_mem_pattern = False
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(model or str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for damaged files
            raise ZooError(f"cannot load {path}: {first_line(e)}") from None
        inputs = [Spec(i.name, _dims(i.shape)) for i in self.session.get_inputs()]
        outputs = [Spec(o.name, _dims(o.shape)) for o in self.session.get_outputs()]
        super().__init__(path, inputs, outputs, manifest)

    def _run(self, feed):
        names = [s.name for s in self.outputs]
        return dict(zip(names, self.session.run(names, feed)))

    def only(self, outputs):
        """The graph cut down to what `outputs` need, in a session of its own: onnxruntime runs
        every node of a graph whatever outputs are asked for (a tile network's statistics branch
        costs almost as much as its picture). Made once per set of outputs, so that every photo of
        a folder or frame of a video reuses it. Needs the onnx package; without it, this runner."""
        key = tuple(sorted(outputs))
        if key == tuple(sorted(s.name for s in self.outputs)):
            return self
        if key not in self._cut:
            try:
                import onnx
                from onnx.utils import Extractor
            except ImportError:
                return self
            model = Extractor(onnx.load(str(self.path))).extract_model([s.name for s in self.inputs], list(key))
            threads, manifest, low_memory = self._options
            self._cut[key] = OnnxRunner(self.path, threads, manifest, low_memory, model=model.SerializeToString())
        return self._cut[key]


class TFLiteRunner(Runner):
    """Runs the file's serving signature: inputs and outputs by signature name, since the order
    of the interpreter's tensor details is not the model's. The signature runner resizes its
    input tensors to each call's shapes, which gives dynamic batch and image sizes."""

    def __init__(self, path, threads=None, manifest=None, low_memory=False):  # noqa: ARG002 (its arena fits each call)
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
            signatures = self.interpreter.get_signature_list()
        except (ValueError, RuntimeError) as e:
            raise ZooError(f"cannot load {path}: {first_line(e)}") from None
        if not signatures:
            raise ZooError(f"{path} has no signature; export it with `python -m exporters`")
        self.signature = "serving_default" if "serving_default" in signatures else next(iter(signatures))
        self.runner = self.interpreter.get_signature_runner(self.signature)
        inputs = [_tflite_spec(n, d) for n, d in self.runner.get_input_details().items()]
        outputs = [_tflite_spec(n, d) for n, d in self.runner.get_output_details().items()]
        super().__init__(path, inputs, outputs, manifest)

    def _run(self, feed):
        return self.runner(**feed)


def _tflite_spec(name, detail):
    shape = tuple(None if d < 0 else int(d) for d in detail["shape_signature"])
    quantization = None
    if detail["dtype"] == np.int8:
        scales, zero_points = detail["quantization_parameters"]["scales"], detail["quantization_parameters"]["zero_points"]
        quantization = (float(scales[0]), int(zero_points[0]))
    elif detail["dtype"] != np.float32:
        raise ZooError(f"tensor {name!r} is {np.dtype(detail['dtype']).name}; the runtime handles float32 and int8 tensors")
    return Spec(name, shape, "float32", quantization)


def _dims(shape):
    """ONNX shapes name their dynamic dimensions ('batch', 'unk__12') or leave them None."""
    return tuple(d if isinstance(d, int) and d > 0 else None for d in shape)


@dataclasses.dataclass(frozen=True)
class FileFormat:
    """A model file the zoo runs: its name (as --runtime and the manifest's "format" say it), its
    suffix, and the Runner that runs it without TensorFlow (None: Keras runs it). The exporters'
    table names its files by these suffixes; a new format is one row here and one there."""

    name: str
    suffix: str
    runner: type | None


FILE_FORMATS = (FileFormat("onnx", ".onnx", OnnxRunner), FileFormat("tflite", ".tflite", TFLiteRunner),
                FileFormat("keras", ".keras", None))
RUNTIMES = tuple(f.name for f in FILE_FORMATS)
SUFFIXES = {f.name: f.suffix for f in FILE_FORMATS}
RUNNERS = {f.suffix: f.runner for f in FILE_FORMATS if f.runner}


def manifest_files(manifest: dict, exportable: str, format: str, quantizations=("float32",)) -> dict:
    """{file name: entry} of the manifest's files of one network in one format and any of
    `quantizations` ("float32", "fp16", "dynamic", "int8"): how every reader of an export finds
    a network's file."""
    return {name: entry for name, entry in manifest.get("files", {}).items()
            if entry.get("exportable") == exportable and entry.get("format") == format
            and entry.get("quantization") in quantizations}


def read_manifest(folder) -> dict:
    """The manifest.json of an export folder, or {} when there is none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ZooError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
        raise ZooError(f"{path} is not an export manifest (no table of files); export the run again")
    return manifest


def load(path, threads=None, strict=False, low_memory=False) -> Runner:
    """Open an exported file by its extension, with the manifest of its folder.

    When the manifest lists the file, its sha256 must match: a file replaced or damaged after
    the export is refused rather than run with the wrong preprocessing or class names. With
    `strict` (zoo.load), a file that no manifest lists is refused too, since nothing can vouch
    for it; without (the CLIs' --model), it runs as it is. `low_memory`: see `OnnxRunner`.
    """
    path = Path(path)
    runner_cls = RUNNERS.get(path.suffix)
    if runner_cls is None:
        raise ZooError(f"cannot run {path.name}: the runtime loads {' and '.join(RUNNERS)} files "
                       "(a SavedModel needs TensorFlow)")
    if not path.is_file():
        raise ZooError(f"no exported model at {path}")
    manifest = read_manifest(path.parent)
    entry = manifest.get("files", {}).get(path.name)
    if strict and not entry:
        raise ZooError(f"{path} is not listed in a {MANIFEST} next to it, so its checksum cannot be checked; "
                       "keep exported files in their export folder")
    if entry and entry.get("sha256") != sha256(path):
        raise ZooError(f"{path} does not match the sha256 in its {MANIFEST}; re-export it")
    return runner_cls(path, threads=threads, manifest=manifest, low_memory=low_memory)


def keras_class(path) -> str | None:
    """The class name of the model in a .keras file, read from the file's own config.json as
    JSON (nothing is deserialised: no Keras needed), or None."""
    path = Path(path)
    if path.suffix != SUFFIXES["keras"] or not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        try:
            return json.loads(archive.read("config.json")).get("class_name")
        except (KeyError, ValueError):
            return None


def export_folder(path) -> Path:
    """The export folder given itself or the run folder that holds it as export/."""
    path = Path(path)
    for folder in (path, path / EXPORT_DIR):
        if (folder / MANIFEST).is_file():
            return folder
    raise ZooError(f"no {MANIFEST} in {path} or {path / EXPORT_DIR}; export the run first: python -m exporters {path}")
