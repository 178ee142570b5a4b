"""Opening a trained stylizer in whatever form a user has it, and running it on one image.

A stylizer comes as a run folder, a released folder, or a single `.keras`, `.onnx` or `.tflite`
file. Whatever the form, the caller gets the same thing back: a Runner (the zoo.deploy.runtime calling
convention), a word on how it runs, and the model's style names in input order. The names are
not in the network (its `style_weights` input is just N numbers), so they come from the export's
manifest.json (`"styles"`) for ONNX and TFLite, and from the run's config.json (`style_names`)
for Keras; a model whose names and input width disagree is refused rather than run with styles
silently swapped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from zoo.errors import ZooError
from zoo.images import to_float, to_uint8
from zoo.style.tiling import IMAGE, NORM_CHANNELS, STYLE_WEIGHTS, STYLIZED, run_network, stylize_tiled

MAIN, TILE = "stylizer", "stylizer_tile"  # the exportables of a stylizer (zoo.models.stylizer.deployables)
TILE_ABOVE_PIXELS = 1_000_000  # bigger photos go through in tiles (the card gives the memory figures)


class Model(NamedTuple):
    runner: object  # a zoo.deploy.runtime Runner, or a zoo.deploy.serving.KerasRunner for --runtime keras
    how: str  # "keras", "onnx: stylizer.onnx": for messages and picture labels
    styles: list  # style names, in the order of the network's style_weights input
    tile_runner: object = None  # the network for tiles of big photos (None: one pass for any size)
    norm_channels: list = None  # the layout of its normalisation statistics (tiles refine them by layer)


def open_model(path, runtime_name=None, threads=None) -> Model:
    """The stylizer at `path` (a run or released folder, or a model file), ready to run."""
    path = Path(path)
    runner, how = _open_runner(path, runtime_name, threads)
    return Model(runner, how, style_names(path, runner), _tile_runner(runner, threads),
                 getattr(runner, "manifest", {}).get(NORM_CHANNELS))


def _tile_runner(runner, threads):
    """The tile network that goes with `runner`: the same format and quantization from the same
    export, or the same Keras model; None where there is none (exports from before tiling)."""
    from zoo.deploy import runtime

    if hasattr(runner, "tile_variant"):  # Keras
        return runner.tile_variant
    return runtime.sibling(runner, TILE, threads, low_memory=True)


def _open_runner(path: Path, runtime_name, threads):
    from zoo.deploy import runtime

    if not path.exists():
        raise ZooError(f"no model at {path}: give a run folder, a released stylizer folder, or a .keras/.onnx/.tflite file")
    if path.is_file():
        by_suffix = {suffix: name for name, suffix in runtime.SUFFIXES.items()}
        if path.suffix not in by_suffix:
            raise ZooError(f"{path} is not a {', '.join(by_suffix)} file")
        if runtime_name and runtime_name != by_suffix[path.suffix]:
            raise ZooError(f"--runtime {runtime_name} cannot run {path.name}; leave --runtime out or give a folder")
        runtime_name = by_suffix[path.suffix]
        if runtime_name != "keras":
            return runtime.load(path, threads=threads), f"{runtime_name}: {path.name}"
        return keras_runner(path), "keras"
    runtime_name = runtime_name or "onnx"
    if runtime_name == "keras":
        if (path / "config.json").is_file():
            runners = runtime.keras_runners(path, threads)
            if MAIN not in runners:
                raise ZooError(f"{path} is a {runners[next(iter(runners))].manifest['model']} run, not a stylizer")
            runner = runners[MAIN]
            runner.tile_variant = runners.get(TILE)
            return runner, "keras"
        return keras_runner(path / "model.keras"), "keras"
    runner = runtime.load_exported(path, ["stylizer"], runtime_name, threads=threads)
    return runner, f"{runtime_name}: {runner.path.name}"


def keras_runner(model_file):
    """A Runner over a `.keras` file (the Stylizer trainer or the bare transformation network),
    with the tile network of the same weights as its `tile_variant`."""
    from zoo.deploy.serving import KerasRunner, serving_function
    from zoo.models.stylizer import deployables, norm_channels_of
    from zoo.training.runs import load_keras_model

    model = load_keras_model(model_file)
    networks = deployables(getattr(model, "transformer", model))
    runner = KerasRunner(serving_function(networks[MAIN], True))
    runner.tile_variant = KerasRunner(serving_function(networks[TILE], True))
    runner.manifest = {NORM_CHANNELS: norm_channels_of(networks[MAIN])}
    return runner


def style_names(path: Path, runner) -> list:
    """The style names of the model at `path`, checked against the width of its style input."""
    inputs = {s.name: s for s in runner.inputs}
    if set(inputs) != {IMAGE, STYLE_WEIGHTS}:
        raise ZooError(f"{path} takes inputs {sorted(inputs)}, where a stylizer takes {IMAGE!r} and {STYLE_WEIGHTS!r} "
                       "(single-style models from before multi-style stylizers need training and exporting again)")
    names = getattr(runner, "manifest", {}).get("styles") or _config_style_names(path)
    if not names:
        raise ZooError(f"{path} does not say its style names: neither its manifest.json has \"styles\" nor a "
                       "config.json next to it has style_names; export the run again")
    width = inputs[STYLE_WEIGHTS].shape[-1]
    if len(names) != width:
        raise ZooError(f"{path} names {len(names)} styles but its network takes {width}; export the run again")
    return list(names)


def _config_style_names(path: Path):
    config = (path if path.is_dir() else path.parent) / "config.json"
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("style_names")
    except ValueError as e:
        raise ZooError(f"{config} is not valid JSON: {e}") from None


def stylize_image(model: Model, image: np.ndarray, weights: np.ndarray, progress=None) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [H, W, 3] in the style (or blend) of `weights` [N]. Photos above
    `TILE_ABOVE_PIXELS` go through in tiles when the model has a tile network (memory stays that
    of a tile, see zoo.style.tiling); others in one pass, reflect-padded to the network's grid
    (zoo.style.tiling.MULTIPLE)."""
    inputs = {STYLE_WEIGHTS: np.asarray(weights, np.float32)[None]}
    if model.tile_runner is not None and image.shape[0] * image.shape[1] > TILE_ABOVE_PIXELS:
        return stylize_tiled(model.runner, model.tile_runner, image, inputs, norm_channels=model.norm_channels,
                             progress=progress)
    return to_uint8(run_network(model.runner, to_float(image)[0], inputs)[STYLIZED])
