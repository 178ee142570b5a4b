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

Like the rest of zoo.style's running side, nothing here imports TensorFlow: zoo.open opens the
model in any runtime.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from zoo.deploy.bundle import Bundle
from zoo.errors import ZooError
from zoo.images import load_rgb, to_float, to_uint8
from zoo.style.tiling import NORM_CHANNELS, STYLIZED, run_network, statistics_plan, stylize_tiled
from zoo.style.weights import parse_blend

# Exportables and the tensors of their own (zoo.style.tiling names the photo, result and moments).
STYLE_ENCODER, TRANSFER, TRANSFER_TILE = "style_encoder", "transfer", "transfer_tile"
STYLE_IMAGE, STYLE_STATS, ALPHA = "style_image", "style_stats", "alpha"
MULTIPLE = 8  # the encoder halves the resolution three times: photo sides must be multiples of 8
MIN_STYLE_SIDE = 64  # a smaller painting has no texture left to learn or to transfer
# The recipe of the small model: its release is what `zoo.stylize --style PAINTING.jpg` runs
# when no --model is given.
PHONE_RECIPE = "arbitrary"
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


def is_arbitrary(bundle: Bundle) -> bool:
    """Whether `bundle` (zoo.open) holds an arbitrary-style model (AdaIN or `arbitrary`): one
    whose style network turns a painting into the statistics its transfer network takes."""
    return STYLE_ENCODER in bundle and TRANSFER in bundle


def arbitrary_model(bundle: Bundle) -> ArbitraryModel:
    """The arbitrary-style model of `bundle`, ready to run, or a ZooError if it is another kind."""
    if not is_arbitrary(bundle):
        raise ZooError(f"{bundle.how} is {'a ' + bundle.model if bundle.model else 'a model'} with "
                       f"{', '.join(bundle.runners)}, not an arbitrary-style model (it needs {STYLE_ENCODER} and "
                       f"{TRANSFER} networks, in the same format)")
    transfer = bundle[TRANSFER]
    return ArbitraryModel(bundle[STYLE_ENCODER], transfer, bundle.how, bundle.get(TRANSFER_TILE),
                          bundle.manifest.get(NORM_CHANNELS))


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
                   progress=None, exact_stats: bool = False) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [H, W, 3] in the style of `statistics` [1, 2C], `alpha` of the
    way from the photo's features to the stylized ones. Photos above TILE_ABOVE_PIXELS go
    through in tiles when the model has a tile network, with the photo's feature moments as
    zoo.style.tiling.statistics_plan(exact_stats) takes them."""
    inputs = {STYLE_STATS: statistics, ALPHA: np.full((1, 1), alpha, np.float32)}
    if model.tile is not None and image.shape[0] * image.shape[1] > TILE_ABOVE_PIXELS:
        return stylize_tiled(model.transfer, model.tile, image, inputs, multiple=MULTIPLE, margin=MARGIN,
                             norm_channels=model.norm_channels, progress=progress, **statistics_plan(exact_stats))
    return to_uint8(run_network(model.transfer, to_float(image)[0], inputs, multiple=MULTIPLE)[STYLIZED])
