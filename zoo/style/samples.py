"""The inputs beside the photo that the exporter validates and calibrates the style networks on
(`Recipe.sample_input`): style weights as users give them, real style statistics, and the
normalisation statistics and core boxes that tiling feeds the tile networks. Real values, not
noise: a network's parity is only worth checking where its inputs can be.

Each function takes the networks of the recipe's last `exportables` call, since the statistics
are what those networks compute, and returns None for an input name it does not know (the
recipe then falls back to its base class).
"""

from __future__ import annotations

import numpy as np

from zoo.style.arbitrary import ALPHA, STYLE_ENCODER, STYLE_STATS, TRANSFER
from zoo.style.model import MAIN
from zoo.style.tiling import CORE_BOX, NORM_STATS, STYLE_WEIGHTS, random_core_boxes

BATCH = 8  # images a network call, so that big validation sets fit in memory


def batched(network, output, *inputs) -> np.ndarray:
    """`network`'s output `output` for `inputs`, BATCH images a call."""
    def call(i):
        batch = [x[i:i + BATCH] for x in inputs]
        return np.asarray(network(batch if len(batch) > 1 else batch[0])[output])

    return np.concatenate([call(i) for i in range(0, len(inputs[0]), BATCH)])


def style_weights(count: int, num_styles: int, rng) -> np.ndarray:
    """[count, num_styles]: every other row a single style, the others random blends (weights
    non-negative, summing to 1)."""
    weights = rng.dirichlet(np.ones(num_styles), count).astype(np.float32)
    weights[::2] = np.eye(num_styles, dtype=np.float32)[rng.integers(0, num_styles, len(weights[::2]))]
    return weights


def stylizer_input(name: str, shape: tuple, images, rng, networks: dict):
    """The stylizer's style weights, and the normalisation statistics of `images` in random
    styles, as its main network computes them for the tile network."""
    if name == STYLE_WEIGHTS:
        return style_weights(len(images), shape[0], rng)
    if name == NORM_STATS:
        num_styles = next(x.shape[-1] for x in networks[MAIN].inputs if x.name == STYLE_WEIGHTS)
        return batched(networks[MAIN], NORM_STATS, images, style_weights(len(images), num_styles, rng))
    if name == CORE_BOX:
        return random_core_boxes(len(images), rng)
    return None


def arbitrary_input(name: str, images, rng, networks: dict):
    """The arbitrary-style networks' style statistics (those of the other images of the batch,
    by the style encoder), content-style trade-offs in [0, 1] (every other one 1, the default),
    and for AdaIN's tile network the photos' own moments and core boxes."""
    if name == STYLE_STATS:
        return batched(networks[STYLE_ENCODER], STYLE_STATS, np.roll(images, 1, axis=0))
    if name == ALPHA:
        alpha = rng.uniform(0, 1, (len(images), 1)).astype(np.float32)
        alpha[::2] = 1.0
        return alpha
    if name == NORM_STATS:
        style = arbitrary_input(STYLE_STATS, images, rng, networks)
        return batched(networks[TRANSFER], NORM_STATS, images, style, np.ones((len(images), 1), np.float32))
    if name == CORE_BOX:
        return random_core_boxes(len(images), rng)
    return None
