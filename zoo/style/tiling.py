"""Stylizing photos bigger than memory allows, in tiles that join without seams.

A 24-megapixel photo through the stylizer in one pass needs several GB of activations. Cut into
tiles it fits in a few hundred MB, but a network with instance normalisation normalises every
tile by that tile's own statistics: sky and ground tiles come out in different contrasts and the
seams show. So the photo's statistics are taken once, on the whole photo (downscaled to at most
`stats_pixels` when it is bigger), by the exported `stylizer`, which returns them as
`norm_stats`; every tile then goes through `stylizer_tile`, which normalises with those. With
the same statistics the network is a plain convolutional function, so a tile that carries
`margin` pixels of context on each side, aligned to the network's 8-pixel grid, reproduces the
untiled result in its core; only the cores are kept, and no seam can show.

The statistics of a downscaled photo are not quite those of the photo (fine detail is lost), so
above `stats_pixels` the result differs a little from a one-pass run everywhere alike;
scripts/benchmark_tiling.py measures by how much. Sampling the photo at full resolution instead
(a mosaic of crops) or re-measuring the moments tile by tile at full resolution (one pass per
normalisation layer to be exact) did worse or cost too much; see the stylizer's model card.

Only numpy and the runners are used: tiling works on every runtime, TensorFlow-free.
"""

from __future__ import annotations

import numpy as np

MULTIPLE = 8  # the stylizer halves the resolution three times
STYLIZED, NORM_STATS, STYLE_WEIGHTS, IMAGE = "stylized", "norm_stats", "style_weights", "image"


def pad_to_multiple(x: np.ndarray, multiple: int = MULTIPLE) -> np.ndarray:
    """[1, H, W, C] -> [1, H', W', C] with H', W' multiples of `multiple` (reflected edges)."""
    h, w = x.shape[1:3]
    pad_h, pad_w = -h % multiple, -w % multiple
    if not (pad_h or pad_w):
        return x
    mode = "reflect" if min(h, w) > multiple else "edge"
    return np.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode=mode)


def run_network(runner, image: np.ndarray, weights: np.ndarray, stats: np.ndarray | None = None) -> dict:
    """Run a stylizer runner on float32 [H, W, 3] with style weights [N] (and `norm_stats` for
    the tile network); outputs are cropped back to H x W."""
    h, w = image.shape[:2]
    feed = {IMAGE: np.ascontiguousarray(pad_to_multiple(image[None])), STYLE_WEIGHTS: weights[None].astype(np.float32)}
    if stats is not None:
        feed[NORM_STATS] = stats
    out = runner(**feed)
    out[STYLIZED] = out[STYLIZED][0, :h, :w]
    return out


def photo_statistics(runner, image: np.ndarray, weights: np.ndarray, stats_pixels: int) -> np.ndarray:
    """The `norm_stats` of the whole photo (uint8 [H, W, 3]), taken at most at `stats_pixels`."""
    h, w = image.shape[:2]
    if h * w > stats_pixels:
        from PIL import Image

        scale = (stats_pixels / (h * w)) ** 0.5
        size = (max(MULTIPLE, round(w * scale)), max(MULTIPLE, round(h * scale)))
        image = np.asarray(Image.fromarray(image).resize(size, Image.LANCZOS))
    return run_network(runner, image.astype(np.float32) / 255.0, weights)[NORM_STATS]


def tile_grid(length: int, core: int):
    """Start and stop of the cores along one side: `core`-long steps (multiples of 8)."""
    return [(start, min(start + core, length)) for start in range(0, length, core)]


def stylize_tiled(runner, tile_runner, image: np.ndarray, weights: np.ndarray, *, tile: int = 640,
                  margin: int = 96, stats_pixels: int = 1_000_000, progress=None) -> np.ndarray:
    """Stylize uint8 [H, W, 3] in tiles of `tile` x `tile` output pixels, each run with `margin`
    pixels of context; returns uint8 [H, W, 3]. Only one tile is ever in float32, so memory
    stays that of a tile whatever the photo's size. `progress(done, total)` follows the tiles."""
    if tile % MULTIPLE or margin % MULTIPLE or tile < MULTIPLE:
        raise ValueError(f"tile and margin must be positive multiples of {MULTIPLE}, got {tile} and {margin}")
    stats = photo_statistics(runner, image, weights, stats_pixels)
    h, w = image.shape[:2]
    result = np.empty((h, w, 3), np.uint8)
    cores = [(y, x) for y in tile_grid(h, tile) for x in tile_grid(w, tile)]
    for done, ((y0, y1), (x0, x1)) in enumerate(cores, start=1):
        top, left = max(0, y0 - margin), max(0, x0 - margin)  # multiples of 8: the network's grid
        bottom, right = min(h, y1 + margin), min(w, x1 + margin)
        crop = image[top:bottom, left:right].astype(np.float32) / 255.0
        out = run_network(tile_runner, crop, weights, stats)[STYLIZED]
        core = out[y0 - top:y1 - top, x0 - left:x1 - left]
        result[y0:y1, x0:x1] = np.clip(core * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if progress:
            progress(done, len(cores))
    return result
