"""Stylizing photos bigger than memory allows, in tiles that join without seams.

A 24-megapixel photo through a stylizer in one pass needs several GB of activations. Cut into
tiles it fits in a few hundred MB, but a network with instance normalisation normalises every
tile by that tile's own statistics: sky and ground tiles come out in different contrasts and the
seams show. So the photo's statistics are taken once, on the whole photo (downscaled to at most
`stats_pixels` when it is bigger), by the network's main export, which returns them as
`norm_stats`; every tile then goes through its tile export, which normalises with those. With
the same statistics the network is a plain convolutional function, so a tile that carries
`margin` pixels of context on each side, aligned to the network's grid, reproduces the untiled
result in its core; only the cores are kept, and no seam can show.

The statistics of a downscaled photo are not those of the photo (a 3x3 convolution sees other
gradients at another scale), so above `stats_pixels` they are only the start: the tile network
also returns the moments of its input's core at every normalisation layer (`core_stats`); the
cores cover the photo once, so their area-weighted sum is the photo's moments under the
statistics the pass used. Each such pass makes one more layer exact (see `stylize_tiled`), and
by default there are as many passes as layers: the tiles then give the one-pass result at any
size, up to rounding. Fewer passes are faster and less exact; scripts/benchmark_tiling.py
measures how close to a one-pass run each number comes, and what it costs. (Updating every
layer after each pass instead diverges.)

The multi-style stylizer (zoo.style.model) and AdaIN (zoo.style.arbitrary) both tile this way;
their other inputs (style weights; style statistics and alpha) are the same for every tile.
Only numpy and the runners are used: tiling works on every runtime, TensorFlow-free.
"""

from __future__ import annotations

import numpy as np

MULTIPLE = 4  # the multi-style stylizer halves the resolution twice
STYLIZED, NORM_STATS, STYLE_WEIGHTS, IMAGE = "stylized", "norm_stats", "style_weights", "image"
CORE_BOX, CORE_STATS = "core_box", "core_stats"  # the tile network's extra input and output
NORM_CHANNELS = "norm_stats_channels"  # manifest entry: channels of each layer in norm_stats


def pad_to_multiple(x: np.ndarray, multiple: int = MULTIPLE) -> np.ndarray:
    """[1, H, W, C] -> [1, H', W', C] with H', W' multiples of `multiple` and at least
    `2 * multiple` (the reflection padding at the lowest resolution needs two pixels), edges
    reflected."""
    h, w = x.shape[1:3]
    pad_h, pad_w = max(-h % multiple, 2 * multiple - h), max(-w % multiple, 2 * multiple - w)
    if not (pad_h or pad_w):
        return x
    mode = "reflect" if min(h, w) > multiple else "edge"
    return np.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode=mode)


def run_network(runner, image: np.ndarray, inputs: dict, stats: np.ndarray | None = None, core: tuple | None = None,
                multiple: int = MULTIPLE) -> dict:
    """Run a stylizer runner on float32 [H, W, 3] padded to its grid `multiple`, with `inputs`
    its other inputs ({name: [1, ...]}); the tile network also takes `norm_stats` and the core
    (top, left, bottom, right) in pixels of `image`. The stylized output is cropped back to H x W."""
    h, w = image.shape[:2]
    padded = pad_to_multiple(image[None], multiple)
    feed = {IMAGE: np.ascontiguousarray(padded), **inputs}
    if stats is not None:
        ph, pw = padded.shape[1:3]
        feed[NORM_STATS] = stats
        feed[CORE_BOX] = (np.array(core, np.float32) / np.array([ph, pw, ph, pw], np.float32))[None]
    out = runner(**feed)
    out[STYLIZED] = out[STYLIZED][0, :h, :w]
    return out


def photo_statistics(runner, image: np.ndarray, inputs: dict, stats_pixels: int, multiple: int = MULTIPLE):
    """The `norm_stats` of the whole photo (uint8 [H, W, 3]), taken at most at `stats_pixels`."""
    h, w = image.shape[:2]
    if h * w > stats_pixels:
        from PIL import Image

        scale = (stats_pixels / (h * w)) ** 0.5
        size = (max(multiple, round(w * scale)), max(multiple, round(h * scale)))
        image = np.asarray(Image.fromarray(image).resize(size, Image.LANCZOS))
    return run_network(runner, image.astype(np.float32) / 255.0, inputs, multiple=multiple)[NORM_STATS]


def tile_grid(length: int, core: int):
    """Start and stop of the cores along one side: `core`-long steps (multiples of the grid)."""
    return [(start, min(start + core, length)) for start in range(0, length, core)]


def random_core_boxes(n: int, rng) -> np.ndarray:
    """float32 [n, 4]: cores (top, left, bottom, right as fractions of a tile's sides) such as
    tiling gives a tile network, to validate its exports on."""
    low, high = rng.uniform(0, 0.3, (n, 2)), rng.uniform(0.7, 1, (n, 2))
    return np.concatenate([low, high], axis=1).astype(np.float32)


def stylize_tiled(runner, tile_runner, image: np.ndarray, inputs: dict, *, multiple: int = MULTIPLE,
                  norm_channels=None, refine: int | None = None, tile: int = 640, margin: int = 96,
                  stats_pixels: int = 500_000, progress=None) -> np.ndarray:
    """Stylize uint8 [H, W, 3] in tiles of `tile` x `tile` output pixels, each run with `margin`
    pixels of context (both multiples of the network's grid `multiple`, the margin wider than
    its receptive field); returns uint8 [H, W, 3]. `inputs` are the networks' other inputs, the
    same for every tile. Only one tile is ever in float32, so memory stays that of a tile
    whatever the photo's size.

    The statistics come from the photo downscaled to `stats_pixels`. Above that, `refine` more
    passes over the tiles (default: one per layer, which makes them all exact) each make one
    more layer's statistics exact: pass k measures the moments of layer k at full resolution,
    which are exact because those of the layers before it already are. The later layers keep
    the downscaled photo's statistics meanwhile (the moments measured for them in the same pass
    follow from a mix of exact and approximate statistics, and are worse). `norm_channels` (the
    manifest's `norm_stats_channels`) gives the layers' places in the statistics; without it
    there is no refinement. `progress(done, total)` follows the tiles of all passes."""
    if tile % multiple or margin % multiple or tile < multiple:
        raise ValueError(f"tile and margin must be positive multiples of {multiple}, got {tile} and {margin}")
    stats = photo_statistics(runner, image, inputs, stats_pixels, multiple)
    h, w = image.shape[:2]
    ends = np.cumsum([2 * c for c in norm_channels or []])  # where each layer's moments end
    refine = len(ends) if refine is None else min(refine, len(ends))
    passes = 1 + (refine if h * w > stats_pixels else 0)
    result = np.empty((h, w, 3), np.uint8)
    cores = [(y, x) for y in tile_grid(h, tile) for x in tile_grid(w, tile)]
    for p in range(passes):
        last = p == passes - 1
        measured = np.zeros(stats.shape, np.float64)
        for done, ((y0, y1), (x0, x1)) in enumerate(cores, start=1):
            top, left = max(0, y0 - margin), max(0, x0 - margin)  # multiples of the network's grid
            bottom, right = min(h, y1 + margin), min(w, x1 + margin)
            crop = image[top:bottom, left:right].astype(np.float32) / 255.0
            out = run_network(tile_runner, crop, inputs, stats, (y0 - top, x0 - left, y1 - top, x1 - left), multiple)
            if last:
                core = out[STYLIZED][y0 - top:y1 - top, x0 - left:x1 - left]
                result[y0:y1, x0:x1] = np.clip(core * 255.0 + 0.5, 0, 255).astype(np.uint8)
            else:
                measured += out[CORE_STATS] * ((y1 - y0) * (x1 - x0) / (h * w))
            if progress:
                progress(p * len(cores) + done, passes * len(cores))
        if not last:
            stats[:, :ends[p]] = measured[:, :ends[p]]
    return result
