"""Arbitrary style transfer (AdaIN, zoo.models.adain) on what users have: any painting is a style.

An AdaIN model runs as two networks: `style_encoder` turns a painting into its style statistics
(the mean and standard deviation of each VGG19 relu4_1 channel), once per painting, and
`transfer` stylizes a photo with them. So `--style a.jpg:0.7,b.jpg:0.3` is a weighted mean of
two paintings' statistics (the paper's style interpolation: the AdaIN output is linear in them),
and the strength is the paper's alpha, which blends the photo's features with the stylized ones
before decoding rather than blending pixels. Big photos go through `transfer_tile` in tiles
(zoo.style.tiling) with the whole photo's feature moments, which one refining pass makes exact.

The small `arbitrary` model (zoo.models.arbitrary_mobile) exports the same two networks under the
same tensor names, its style statistics being a learned style vector, and runs the same way (no
tile network: its memory is small at any size).

Like the rest of zoo.style, nothing here imports TensorFlow except the Keras runtime itself.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from zoo.errors import ZooError
from zoo.images import load_rgb, to_float, to_uint8
from zoo.style.tiling import NORM_CHANNELS, STYLIZED, run_network, stylize_tiled
from zoo.style.weights import parse_blend

ADAIN, ARBITRARY = "adain", "arbitrary"  # the registered arbitrary-style models
# Their Keras models' class names, which a bare .keras file's config.json names.
KERAS_CLASSES = {"StyleTransferNetwork": ADAIN, "ArbitraryMobileNetwork": ARBITRARY}
# Exportables and the tensors of their own (zoo.style.tiling names the photo, result and moments).
STYLE_ENCODER, TRANSFER, TRANSFER_TILE = "style_encoder", "transfer", "transfer_tile"
STYLE_IMAGE, STYLE_STATS, ALPHA = "style_image", "style_stats", "alpha"
MULTIPLE = 8  # the encoder halves the resolution three times: photo sides must be multiples of 8
MIN_STYLE_SIDE = 64  # a smaller painting has no texture left to learn or to transfer
# Paintings are read at this longer side: training saw photos and paintings at the same scale
# (shorter sides twice the crop), and photos are usually stylized at around 512 pixels.
STYLE_SIDE = 512
TILE_ABOVE_PIXELS = 1_000_000  # bigger photos go through in tiles: VGG19's activations are large
MARGIN = 128  # context around each tile: more than the receptive field of relu4_1 and the decoder


class ArbitraryModel(NamedTuple):
    encoder: object  # style image -> style statistics (a zoo.deploy.runtime Runner or KerasRunner)
    transfer: object  # photo, statistics, alpha -> stylized photo, and the photo's feature moments
    how: str  # "keras", "onnx: transfer.onnx": for messages and picture labels
    tile: object = None  # the tile network of big photos (None: one pass at any size)
    norm_channels: list = None  # the layout of the feature moments that tiles refine


def is_arbitrary(path) -> bool:
    """Whether `path` (a run or released folder, or a model file) holds an arbitrary-style model
    (AdaIN or `arbitrary`), read from its config.json, its export manifest or, for a bare .keras
    file, the model's class in the file's own config (read as JSON: nothing is deserialised)."""
    path = Path(path)
    folder = path.parent if path.is_file() else path
    for config in (folder / "config.json", folder / "manifest.json", folder / "export" / "manifest.json"):
        if config.is_file():
            try:
                return json.loads(config.read_text(encoding="utf-8")).get("model") in KERAS_CLASSES.values()
            except ValueError as e:
                raise ZooError(f"{config} is not valid JSON: {e}") from None
    return _keras_class(path) in KERAS_CLASSES


def _keras_class(path: Path):
    """The class name of the model in a .keras file, or None."""
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        try:
            return json.loads(archive.read("config.json")).get("class_name")
        except (KeyError, ValueError):
            return None


def open_arbitrary(path, runtime_name=None, threads=None) -> ArbitraryModel:
    """The arbitrary-style model at `path` ready to run: a run or released folder (`runtime_name` keras,
    onnx or tflite; default onnx), an exported file (its partners come from the same export,
    in the same format and quantization) or a .keras file."""
    from zoo.deploy import runtime

    path = Path(path)
    if path.is_file():
        by_suffix = {suffix: name for name, suffix in runtime.SUFFIXES.items()}
        if runtime_name and runtime_name != by_suffix.get(path.suffix):
            raise ZooError(f"--runtime {runtime_name} cannot run {path.name}; leave --runtime out or give a folder")
        if path.suffix == runtime.SUFFIXES["keras"]:
            return _keras_model(_keras_file_runners(path))
        given = runtime.load(path, threads=threads)
        exportable = given.manifest.get("files", {}).get(path.name, {}).get("exportable")
        if exportable not in (TRANSFER, STYLE_ENCODER, TRANSFER_TILE):
            raise ZooError(f"{path} is not one of an AdaIN model's networks ({STYLE_ENCODER}, {TRANSFER})")
        runners = {name: given if name == exportable else runtime.sibling(given, name, threads,
                                                                         low_memory=name == TRANSFER_TILE)
                   for name in (STYLE_ENCODER, TRANSFER, TRANSFER_TILE)}
        for name in (STYLE_ENCODER, TRANSFER):
            if runners[name] is None:
                raise ZooError(f"the export of {path} has no {name} file beside it in the same format; "
                               "export the run again")
        return ArbitraryModel(runners[STYLE_ENCODER], runners[TRANSFER], f"{by_suffix[path.suffix]}: "
                              f"{runners[TRANSFER].path.name}", runners[TRANSFER_TILE],
                              given.manifest.get(NORM_CHANNELS))
    runtime_name = runtime_name or "onnx"
    if runtime_name == "keras":
        if (path / "config.json").is_file():
            return _keras_model(runtime.keras_runners(path, threads))
        return _keras_model(_keras_file_runners(path / "model.keras"))
    transfer = runtime.load_exported(path, [TRANSFER], runtime_name, threads=threads)
    encoder = runtime.sibling(transfer, STYLE_ENCODER, threads)
    if encoder is None:
        raise ZooError(f"the export of {path} has no {STYLE_ENCODER} in {runtime_name}; export the run again")
    return ArbitraryModel(encoder, transfer, f"{runtime_name}: {transfer.path.name}",
                          runtime.sibling(transfer, TRANSFER_TILE, threads, low_memory=True), transfer.manifest.get(NORM_CHANNELS))


def _keras_model(runners: dict) -> ArbitraryModel:
    transfer = runners[TRANSFER]
    return ArbitraryModel(runners[STYLE_ENCODER], transfer, "keras", runners.get(TRANSFER_TILE),
                          transfer.manifest.get(NORM_CHANNELS))


def _keras_file_runners(model_file) -> dict:
    """{exportable: KerasRunner} of a bare .keras file of an arbitrary-style model (AdaIN's: the
    decoder, with the VGG19 encoder from zoo.style.vgg's weights resolver)."""
    from zoo import registry
    from zoo.training.runs import load_keras_model
    from zoo.deploy.serving import KerasRunner, serving_function

    # No training configuration: only the networks are needed.
    recipe = registry.get(KERAS_CLASSES.get(_keras_class(Path(model_file)), ADAIN))({})
    runners = {name: KerasRunner(serving_function(network, True))
               for name, network in recipe.exportables(load_keras_model(model_file)).items()}
    for runner in runners.values():
        runner.manifest = recipe.export_metadata()
    return runners


def style_statistics(model: ArbitraryModel, spec: str | None, side: int = STYLE_SIDE) -> np.ndarray:
    """float32 [1, 2C]: the style statistics of the painting(s) that `spec` names, `a.jpg` or
    `a.jpg:0.7,b.jpg:0.3`, each read at longer side `side`; several are blended by their
    weights. A painting smaller than MIN_STYLE_SIDE on a side is refused: there is no texture in
    it to transfer. Grey and transparent images are read as RGB (zoo.images.load_rgb)."""
    if not spec:
        raise ZooError("an arbitrary-style model needs --style PAINTING (an image file), or a blend such as "
                       "--style a.jpg:0.7,b.jpg:0.3")
    total = 0.0
    for path, weight in parse_blend(spec):
        painting = load_rgb(path, max_side=side)
        if min(painting.shape[:2]) < MIN_STYLE_SIDE:
            raise ZooError(f"style image {path} is {painting.shape[1]}x{painting.shape[0]} pixels (at most {side} "
                           f"on its longer side); it needs at least {MIN_STYLE_SIDE} on each side to have a texture")
        statistics = model.encoder(**{STYLE_IMAGE: to_float(painting)})[STYLE_STATS]
        total = total + weight * statistics.astype(np.float64)
    return np.asarray(total, np.float32)


def describe_styles(spec: str) -> str:
    """'starry_night' or 'starry_night 70% + great_wave 30%' from the files of a blend."""
    parts = [(Path(path).stem, weight) for path, weight in parse_blend(spec) if weight > 0]
    if len(parts) == 1:
        return parts[0][0]
    return " + ".join(f"{name} {weight:.0%}" for name, weight in parts)


def transfer_image(model: ArbitraryModel, image: np.ndarray, statistics: np.ndarray, alpha: float = 1.0,
                   progress=None) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [H, W, 3] in the style of `statistics` [1, 2C], `alpha` of the
    way from the photo's features to the stylized ones. Photos above TILE_ABOVE_PIXELS go
    through in tiles when the model has a tile network."""
    inputs = {STYLE_STATS: statistics, ALPHA: np.full((1, 1), alpha, np.float32)}
    if model.tile is not None and image.shape[0] * image.shape[1] > TILE_ABOVE_PIXELS:
        return stylize_tiled(model.transfer, model.tile, image, inputs, multiple=MULTIPLE, margin=MARGIN,
                             norm_channels=model.norm_channels, progress=progress)
    return to_uint8(run_network(model.transfer, to_float(image)[0], inputs, multiple=MULTIPLE)[STYLIZED])
