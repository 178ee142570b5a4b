"""Export a run folder: load it, turn each exportable into a serving function, then for every
selected row of FORMATS convert, validate and describe the file before it gets its final name.

Atomicity: every file (or SavedModel folder) is written under a temporary name, validated there,
and renamed only when it passed; the manifest is removed before the first file is replaced and
written last, so after a crash or `kill -9` it is either absent or true.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from exporters import FORMAT_NAMES, QUANTIZATIONS, manifest, onnx, savedmodel, select, tflite
from exporters.keras_runtime import KerasRunner, network_feed, serving_function
from exporters.validate import ValidationError, accuracy, validate
from zoo import models
from zoo.deploy import runtime
from zoo.errors import ZooError, check_at_least
from zoo.fileio import atomic_dir, atomic_path, make_dir, sha256
from zoo.log import log
from zoo.models.common import float32_copy
from zoo.names import EXPORT_DIR, LOGITS, MANIFEST, Task
from zoo.training.runs import Run

VALIDATION_BATCH = 16  # more than one: proves the batch axis is dynamic in every file
CALIBRATION_SAMPLES = 100  # TFLite's guide suggests 100 to 500 representative samples


@dataclasses.dataclass
class Exportable:
    """One model to export, with what its validation needs: inputs, the Keras outputs on them,
    and for classifiers a labelled test set and the Keras accuracy on it."""

    name: str
    model: object
    serve: object  # tf.function: named float32 inputs -> {output name: float32}
    checks: list  # [(inputs, Keras outputs on them)]: image-to-image models get a second size
    calibration: Callable  # representative dataset for full-integer conversion
    eval_images: np.ndarray | None = None
    eval_labels: np.ndarray | None = None
    keras_accuracy: float | None = None
    quantizations: tuple | None = None  # the quantized variants it may have (Recipe.quantizations); None: any
    _saved_model: object = dataclasses.field(default=None, repr=False)
    _onnx_graphs: dict = dataclasses.field(default_factory=dict, repr=False)

    def saved_model(self) -> str:
        """A SavedModel of `serve` in a temporary folder (removed with this object), written once
        for all the TFLite variants, which the converter makes from it."""
        if self._saved_model is None:
            self._saved_model = tempfile.TemporaryDirectory(prefix=f"zoo-{self.name}-")
            savedmodel.export(self, self._saved_model.name, None, None)
        return self._saved_model.name

    def onnx_graph(self, opset: int):
        """A copy of the float32 ONNX graph of `serve`, converted once per opset for all the ONNX
        variants (tf2onnx takes minutes on a VGG19-sized network)."""
        import onnx as onnx_lib

        if opset not in self._onnx_graphs:
            self._onnx_graphs[opset] = onnx.float32_graph(self, opset)
        copy = onnx_lib.ModelProto()
        copy.CopyFrom(self._onnx_graphs[opset])
        return copy


@dataclasses.dataclass
class LoadedRun:
    """A run folder opened for export: what the manifest says about it, and its exportables."""

    run: Run
    config: dict
    task: str
    dynamic_hw: bool  # exports take images of any height and width
    image_shape: tuple
    class_names: list | None
    exportables: list
    model_sha256: str
    metadata: dict  # the recipe's extra manifest entries


def open_runner(path: Path, threads=None):
    """Open any exported file the way validation and the benchmark run it."""
    if path.is_dir():
        return savedmodel.SavedModelRunner(path)
    return runtime.RUNNERS[path.suffix](path, threads=threads)


def _images(ds, count):
    """Up to `count` images (and labels, if the pipeline has them) from a batched pipeline."""
    xs, ys, n = [], [], 0
    for batch in ds:
        x, y = batch if isinstance(batch, (tuple, list)) else (batch, None)
        xs.append(x.numpy())
        ys.append(None if y is None else y.numpy())
        n += len(xs[-1])
        if n >= count:
            break
    if not xs:
        raise ZooError("the run's dataset yielded no images to validate and calibrate the export with")
    labels = None if ys[0] is None else np.concatenate(ys)[:count]
    return np.concatenate(xs)[:count].astype(np.float32), labels


def load_run(run_dir, *, validate=True, eval_images=1000) -> LoadedRun:
    """Open the run, its model and its data, and prepare every exportable."""
    check_at_least("eval_images", eval_images)
    run = Run.open(run_dir)
    config = run.config
    if "model" not in config:
        raise ZooError(f"{run.config_path} does not say which model the run trained (no 'model' key)")
    recipe = models.get(config["model"])(config)
    model = run.load_model()
    splits = recipe.load_data()
    train_ds, test_ds = recipe.pipelines(splits, 100)
    classifier = recipe.task == Task.CLASSIFIER
    test_x, test_y = _images(test_ds, eval_images if validate and classifier else VALIDATION_BATCH)
    calib_x, _ = _images(train_ds, CALIBRATION_SAMPLES)
    rng = np.random.default_rng(0)
    dynamic_hw = recipe.dynamic_hw

    exportables = []
    networks = recipe.exportables(model)
    for name, m in networks.items():
        m = float32_copy(m)
        serve = serving_function(m, dynamic_hw)
        specs = serve.input_signature
        # Image inputs get real images; other inputs what the recipe draws (latent vectors: N(0, I)).
        images = test_x[:VALIDATION_BATCH]
        inputs = network_feed(recipe, specs, images, rng)
        calibration = network_feed(recipe, specs, calib_x, rng)

        def representative(calibration=calibration, specs=specs):
            # By name: a converted signature need not keep the network's input order.
            for i in range(CALIBRATION_SAMPLES):
                yield {s.name: calibration[s.name][i:i + 1] for s in specs}

        keras_runner = KerasRunner(serve)
        variants = [inputs]
        if dynamic_hw:  # a non-square size other than the training one proves the dynamic height and width
            h, w = test_x.shape[1:3]
            crop = (slice(None), slice(max(8, h // 2 // 8 * 8)), slice(max(8, w * 3 // 4 // 8 * 8)))
            variants.append({k: np.ascontiguousarray(v[crop]) if v.ndim == 4 else v for k, v in inputs.items()})
        checks = [(x, keras_runner(**x)) for x in variants] if validate else []
        ex = Exportable(name, m, serve, checks, representative, quantizations=recipe.quantizations.get(name))
        if validate and classifier and LOGITS in checks[0][1] and test_y is not None:
            ex.eval_images, ex.eval_labels = test_x, test_y
            ex.keras_accuracy = accuracy(keras_runner, test_x, test_y)
        exportables.append(ex)
    return LoadedRun(run, config, recipe.task, dynamic_hw, splits.info.image_shape, splits.info.class_names,
                     exportables, sha256(run.model_path), recipe.export_metadata(networks))


def export_file(ex: Exportable, fmt, target: Path, *, opset: int, check: bool) -> dict:
    """Convert, validate and describe one file; it appears under `target` only if all went well."""
    writer = atomic_dir(target) if fmt.format == "savedmodel" else atomic_path(target, suffix=target.suffix)
    with writer as tmp:
        start = time.perf_counter()
        fmt.export(ex, tmp, fmt, opset)
        seconds = time.perf_counter() - start
        runner = open_runner(tmp)
        sha, size = manifest.file_digest(tmp)
        entry = {
            "exportable": ex.name, "format": fmt.format, "quantization": fmt.quantize or "float32",
            "sha256": sha, "size_bytes": size,
            "inputs": manifest.tensor_specs(runner.inputs), "outputs": manifest.tensor_specs(runner.outputs),
            "export_seconds": round(seconds, 2),
        }
        if fmt.format == "onnx":
            entry.update(opset=opset, **onnx.describe(tmp))
        if fmt.format == "tflite":
            entry["gpu_delegate"] = tflite.gpu_compatibility(tmp)
        if check:
            try:
                entry["validation"] = validate(target.name, ex, fmt, runner)
            except ValidationError as e:
                if not fmt.quantize:
                    raise
                others = ",".join(q for q in QUANTIZATIONS if q != fmt.quantize)
                raise ValidationError(f"{e}; leave this lossy variant out with --quantize {others}") from None
    return entry


@dataclasses.dataclass
class ExportJob:
    """An export under way, as `python -m exporters` and `python -m exporters.benchmark` both
    run it: the selected rows of FORMATS, the opened run, the export folder, and the manifest
    entries ({file name: entry}) of the files done so far, starting with those kept from an
    earlier export of the same model.keras."""

    rows: list
    loaded: LoadedRun
    folder: Path
    files: dict

    def filename(self, ex: Exportable, fmt) -> str:
        return fmt.filename(ex.name, several=len(self.loaded.exportables) > 1)

    def rows_of(self, ex: Exportable) -> list:
        """The selected rows that `ex` is exported in: float32, and the quantizations it allows."""
        return [fmt for fmt in self.rows if not fmt.quantize or ex.quantizations is None or fmt.quantize in ex.quantizations]

    def write_manifest(self) -> dict:
        return manifest.write(self.folder, self.loaded, self.files)


def start_export(run_dir, *, formats, quantize, out, opset, check, eval_images) -> ExportJob:
    """Check the selection, find the run and make the export folder (`out`, default
    RUN_DIR/export), so that what can be refused is refused before the slow loading of the
    run's model and data; then load them, and remove the folder's manifest before any file is
    replaced (see the module's docstring)."""
    rows = select(formats, quantize)
    if not rows:
        raise ZooError("nothing to export: no format selected")
    if any(f.format == "onnx" for f in rows):
        onnx.check_opset(opset)
    run = Run.open(run_dir)
    folder = make_dir(out or run.root / EXPORT_DIR)
    loaded = load_run(run_dir, validate=check, eval_images=eval_images)
    files = manifest.previous_entries(folder, loaded)
    (folder / MANIFEST).unlink(missing_ok=True)
    return ExportJob(rows, loaded, folder, files)


def export_run(run_dir, *, formats=FORMAT_NAMES, quantize=QUANTIZATIONS, out=None, opset=onnx.DEFAULT_OPSET,
               check=True, eval_images=1000) -> tuple[Path, dict]:
    """Export the run in `run_dir`; return the export folder and the manifest written in it.
    A float32 file that fails its check stops the export (the model or a converter is wrong); a
    quantized one is left out and the others go on, and after the manifest of those that passed
    is written, one ValidationError names every file left out and why."""
    job = start_export(run_dir, formats=formats, quantize=quantize, out=out, opset=opset, check=check,
                       eval_images=eval_images)
    left_out = []
    for ex in job.loaded.exportables:
        for fmt in job.rows_of(ex):
            name = job.filename(ex, fmt)
            log.info(f"exporting {ex.name} -> {job.folder / name}")
            try:
                job.files[name] = export_file(ex, fmt, job.folder / name, opset=opset, check=check)
            except ValidationError as e:
                if not fmt.quantize:
                    raise
                left_out.append(str(e))
    written = job.write_manifest()
    if left_out:
        raise ValidationError(f"{len(left_out)} quantized file(s) left out, the other {len(written['files'])} passed "
                              f"and are in {job.folder / MANIFEST}: " + " | ".join(left_out))
    return job.folder, written
