"""A trained model opened for running: its networks, and what its export says about them.

    bundle = zoo.open("stylizer-paintings", runtime="onnx")     # see zoo.api.open
    bundle["stylizer"](image=x, style_weights=w)               # a Runner per exported network
    bundle.manifest["styles"], bundle.how                      # extras; "onnx: stylizer.onnx"

A model reaches a user as a released name, a run folder, an export folder or a single file, and
runs as ONNX, TFLite or Keras. Whatever the form, the CLIs, the library and the pages get one
`Bundle` back: the runners of the networks it exports, by exportable name, and the manifest with
the model's extras (its task, class names, style names, the layout of its normalisation
statistics). `open_export` here opens ONNX and TFLite files without TensorFlow; the Keras
runtime (exporters.keras_runtime) returns the same kind of bundle.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from zoo.deploy.runtime import export_folder, load, manifest_files, read_manifest
from zoo.errors import ZooError
from zoo.names import MANIFEST


@dataclasses.dataclass
class Bundle:
    """`runners`: {exportable name: Runner}; `manifest`: the export's manifest.json (for Keras:
    the same extras, from the run's configuration); `how`: "keras" or "onnx: stylizer.onnx",
    for messages and picture labels."""

    runners: dict
    manifest: dict
    how: str

    def __getitem__(self, exportable):
        return self.runners[exportable]

    def __contains__(self, exportable):
        return exportable in self.runners

    def get(self, exportable):
        return self.runners.get(exportable)

    @property
    def model(self) -> str | None:
        """The registered model that made it ("stylizer", "adain"...), None for an unlisted file."""
        return self.manifest.get("model")

    def first(self, exportables, what: str):
        """The runner of the first of `exportables` the bundle has (a generator or a decoder),
        or of its one network when the bundle is a single file no manifest names; else a
        ZooError that says the model is no `what`."""
        for name in exportables:
            if name in self.runners:
                return self.runners[name]
        if len(self.runners) == 1 and not self.model:
            return next(iter(self.runners.values()))
        raise ZooError(f"{self.how} is a {self.model or 'model'} with {', '.join(self.runners)}, not {what} "
                       f"(it has no {' or '.join(exportables)} network)")


def open_export(source, runtime: str, threads=None, low_memory=(), strict=False) -> Bundle:
    """The exported networks of `source`: an export folder or a run folder that holds export/
    (each network's float32 `runtime` file, "onnx" or "tflite"), or one .onnx or .tflite file
    (with the networks exported beside it in the same format and quantization: a stylizer's
    tile network, AdaIN's style encoder). `low_memory`: exportables to open with
    `OnnxRunner`'s low-memory options (tile networks); `strict`: see `runtime.load`."""
    source = Path(source)
    if source.is_file():
        return _open_file(source, threads, low_memory, strict)
    folder = export_folder(source)
    manifest = read_manifest(folder)
    names = manifest.get("exportables") or {}
    if not names:
        raise ZooError(f"{folder / MANIFEST} lists no exported networks; export the run again")
    runners = {}
    for name in names:
        file = next(iter(manifest_files(manifest, name, runtime)), None)
        if file is None:
            raise ZooError(f"the export in {folder} has no float32 {runtime} file of {name}; "
                           f"run: python -m exporters RUN_DIR --format {runtime}")
        runners[name] = load(folder / file, threads=threads, low_memory=name in low_memory)
    main = next(iter(runners.values()))
    return Bundle(runners, manifest, f"{runtime}: {main.path.name}")


def _open_file(path: Path, threads, low_memory, strict) -> Bundle:
    given = load(path, threads=threads, strict=strict)
    manifest = given.manifest
    files = manifest.get("files", {})
    entry = files.get(path.name)
    if not entry:
        return Bundle({path.stem: given}, {}, f"{path.suffix[1:]}: {path.name}")
    runners = {entry["exportable"]: given}
    for name, other in files.items():
        exportable = other.get("exportable")
        if exportable not in runners and all(other.get(k) == entry.get(k) for k in ("format", "quantization")):
            runners[exportable] = load(path.parent / name, threads=threads, low_memory=exportable in low_memory)
    return Bundle(runners, manifest, f"{entry.get('format', path.suffix[1:])}: {path.name}")

