"""manifest.json: what a deployment needs to know about every exported file without opening
TensorFlow: checksum and size, inputs and outputs (names, shapes, dtypes, int8 scale and zero
point), preprocessing, class names, GPU-delegate compatibility, the operators of ONNX files and
those that onnxruntime-web's WebGPU provider lacks (`webgpu_operator_list` names the list's
source), validation figures, versions.

It is written last and atomically, and removed before an export starts replacing files, so a
manifest on disk always describes the files next to it (zoo.deploy.runtime checks the sha256)."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

from exporters.onnx import webgpu_source
from zoo.fileio import read_json, write_json
from zoo.training.runs import versions
from zoo.fileio import sha256
from zoo.names import MANIFEST

NAMING = ("one exportable: saved_model/, model.tflite, model_<quantization>.tflite, model.onnx, "
          "model_<quantization>.onnx; several: the same names prefixed with the exportable's name "
          "(encoder_saved_model/, encoder.tflite, decoder_int8.tflite, decoder_fp16.onnx)")


def file_digest(path: Path):
    """(sha256, bytes) of a file, or of a SavedModel folder (its files' hashes, in path order)."""
    if path.is_file():
        return sha256(path), path.stat().st_size
    h, size = hashlib.sha256(), 0
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path).as_posix()} {sha256(f)}\n".encode())
        size += f.stat().st_size
    return h.hexdigest(), size


def tensor_specs(specs) -> list:
    """Manifest entries for runner specs, with the dtype stored in the file (int8 tensors carry
    their scale and zero point: real = scale * (q - zero_point))."""
    entries = []
    for s in specs:
        entry = {"name": s.name, "shape": [d if d is None else int(d) for d in s.shape], "dtype": s.dtype}
        if s.quantization:
            entry.update(dtype="int8", quantization={"scale": s.quantization[0], "zero_point": s.quantization[1]})
        entries.append(entry)
    return entries


def preprocessing(image_shape, dynamic_hw: bool) -> dict:
    h, w, c = image_shape
    return {
        "layout": "NHWC", "dtype": "float32", "value_range": [0.0, 1.0],
        "image_size": None if dynamic_hw else [h, w], "channels": c,
        "color": {1: "grayscale", 3: "RGB"}.get(c, f"{c} channels"),
        "resize": "any height and width" if dynamic_hw else "bilinear with antialiasing to image_size, as in training",
    }


def previous_entries(folder: Path, loaded) -> dict:
    """Entries of an earlier manifest whose files are still there unchanged and were exported
    from the same model.keras (kept on re-export, reused by the benchmark)."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        previous = read_json(path)
    except ValueError:
        return {}
    if previous.get("source", {}).get("sha256") != loaded.model_sha256:
        return {}
    return {name: e for name, e in previous.get("files", {}).items()
            if (folder / name).exists() and file_digest(folder / name)[0] == e.get("sha256")}


def write(folder: Path, loaded, files: dict):
    """Write manifest.json for `files` ({name: entry}) exported from `loaded` (a LoadedRun)."""
    config, task = loaded.config, loaded.task
    names = [ex.name for ex in loaded.exportables]
    manifest = {
        "manifest_version": 1,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": config["model"], "task": task, "dataset": config.get("dataset"),
        "source": {"run": str(loaded.run.root), "file": loaded.run.model_path.name, "sha256": loaded.model_sha256},
        "preprocessing": preprocessing(loaded.image_shape, loaded.dynamic_hw),
        "class_names": loaded.class_names,
        **loaded.metadata,
        "exportables": {name: sorted(n for n, e in files.items() if e["exportable"] == name) for name in names},
        "file_names": {"prefixed_with_exportable": len(names) > 1, "rule": NAMING},
        "files": dict(sorted(files.items())),
        "versions": versions(),
    }
    if not loaded.class_names:
        del manifest["class_names"]
    if any("webgpu_unsupported" in e for e in files.values()):
        manifest["webgpu_operator_list"] = webgpu_source()
    write_json(folder / MANIFEST, manifest)
    return manifest
