"""A trained multi-style stylizer, opened by zoo.open in whatever form a user has it, run on one
image.

`stylizer_model` turns the bundle into the stylizer's network, its tile network for big photos,
and its style names in input order. The names are not in the network (its `style_weights` input
is just N numbers): they come from the bundle's manifest (the export's manifest.json, or the
run's configuration under Keras); a model whose names and input width disagree is refused rather
than run with styles silently swapped.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from zoo.deploy.bundle import Bundle
from zoo.errors import ZooError
from zoo.images import to_float, to_uint8
from zoo.style.tiling import (IMAGE, NORM_CHANNELS, STYLE_WEIGHTS, STYLIZED, run_network, statistics_plan,
                              stylize_tiled)

MAIN, TILE = "stylizer", "stylizer_tile"  # the exportables of a stylizer (zoo.models.stylizer.deployables)
TILE_ABOVE_PIXELS = 1_000_000  # bigger photos go through in tiles (the card gives the memory figures)
TILE_SIDE = 1024  # tiles of about this side: fewer margins to pay than smaller ones, about 1 GB at most
TILE_MARGIN = 64  # context around each tile: wider than the network's receptive field, so cores match one pass


class Model(NamedTuple):
    runner: object  # a zoo.deploy.runtime Runner, or exporters.keras_runtime's KerasRunner
    how: str  # "keras", "onnx: stylizer.onnx": for messages and picture labels
    styles: list  # style names, in the order of the network's style_weights input
    tile_runner: object = None  # the network for tiles of big photos (None: one pass for any size)
    norm_channels: list = None  # the layout of its normalisation statistics (tiles refine them by layer)


def stylizer_model(bundle: Bundle) -> Model:
    """The multi-style stylizer of `bundle` (zoo.open), ready to run, or a ZooError if it is
    another kind of model."""
    if MAIN not in bundle:
        raise ZooError(f"{bundle.how} is {'a ' + bundle.model if bundle.model else 'a model'} with "
                       f"{', '.join(bundle.runners)}, not a multi-style stylizer (it has no {MAIN} network)")
    return Model(bundle[MAIN], bundle.how, style_names(bundle), bundle.get(TILE), bundle.manifest.get(NORM_CHANNELS))


def style_names(bundle: Bundle) -> list:
    """The style names of the stylizer, checked against the width of its style input."""
    inputs = {s.name: s for s in bundle[MAIN].inputs}
    if set(inputs) != {IMAGE, STYLE_WEIGHTS}:
        raise ZooError(f"{bundle.how} takes inputs {sorted(inputs)}, where a stylizer takes {IMAGE!r} and "
                       f"{STYLE_WEIGHTS!r} (single-style models from before multi-style stylizers need training and "
                       "exporting again)")
    names = bundle.manifest.get("styles")
    if not names:
        raise ZooError(f"{bundle.how} does not say its style names: its manifest.json has no \"styles\" (a .keras "
                       "file needs the config.json of its run beside it); export the run again")
    width = inputs[STYLE_WEIGHTS].shape[-1]
    if len(names) != width:
        raise ZooError(f"{bundle.how} names {len(names)} styles but its network takes {width}; export the run again")
    return list(names)


def stylize_image(model: Model, image: np.ndarray, weights: np.ndarray, progress=None,
                  exact_stats: bool = False) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [H, W, 3] in the style (or blend) of `weights` [N]. Photos above
    `TILE_ABOVE_PIXELS` go through in tiles when the model has a tile network (memory stays that
    of a tile, see zoo.style.tiling), normalised with the whole photo's statistics as
    `statistics_plan(exact_stats)` takes them; others in one pass, reflect-padded to the
    network's grid (zoo.style.tiling.MULTIPLE)."""
    inputs = {STYLE_WEIGHTS: np.asarray(weights, np.float32)[None]}
    if model.tile_runner is not None and image.shape[0] * image.shape[1] > TILE_ABOVE_PIXELS:
        return stylize_tiled(model.runner, model.tile_runner, image, inputs, norm_channels=model.norm_channels,
                             tile=TILE_SIDE, margin=TILE_MARGIN, progress=progress,
                             **statistics_plan(exact_stats))
    return to_uint8(run_network(model.runner, to_float(image)[0], inputs)[STYLIZED])
