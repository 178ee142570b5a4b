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
statistics the pass used. Each such pass makes one more layer exact (see `stylize_tiled`): as
many passes as layers give the one-pass result at any size, up to rounding, at the price of as
many passes over the photo (zoo.stylize --exact-stats). By default (`statistics_plan`) a
refining pass reads only a sample of full-resolution cores spread over the photo and corrects
the downscaled copy's statistics with them: a fraction of a pass, and however far from the
exact statistics that leaves a photo, every tile still gets the same ones, so no seam can show.
scripts/benchmark_tiling.py measures how close to a one-pass run each plan comes, and what it
costs. (Updating every layer after each pass instead diverges.)

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


def downscaled(image: np.ndarray, pixels: int, multiple: int = MULTIPLE) -> np.ndarray:
    """uint8 [H, W, 3] scaled down (Lanczos) to at most `pixels`, or as it is if it is not bigger."""
    h, w = image.shape[:2]
    if h * w <= pixels:
        return image
    from PIL import Image

    scale = (pixels / (h * w)) ** 0.5
    size = (max(multiple, round(w * scale)), max(multiple, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.LANCZOS))


def photo_statistics(runner, image: np.ndarray, inputs: dict, stats_pixels: int, multiple: int = MULTIPLE):
    """The `norm_stats` of the whole photo (uint8 [H, W, 3]), taken at most at `stats_pixels`."""
    small = downscaled(image, stats_pixels, multiple)
    return run_network(runner, small.astype(np.float32) / 255.0, inputs, multiple=multiple)[NORM_STATS]


def tile_grid(length: int, core: int, multiple: int = MULTIPLE):
    """Start and stop of the cores along one side: as few as `core`-long steps need, made
    equally long (multiples of the grid), so no thin last tile pays a whole margin for a strip."""
    count = -(-length // core)
    step = -(-length // (count * multiple)) * multiple
    return [(start, min(start + step, length)) for start in range(0, length, step)]


def sample_grid(h: int, w: int, core: int, fraction: float, multiple: int = MULTIPLE):
    """Cores of `core` x `core` pixels (multiples of the grid), one in the middle of each cell of
    a regular lattice over the photo, together about `fraction` of its area: where a sampled
    refining pass measures the moments. Spread evenly, they see sky and ground in proportion."""
    count = max(1, round(fraction * h * w / core ** 2))
    nx = max(1, min(round((count * w / h) ** 0.5), -(-w // core)))
    ny = max(1, min(round(count / nx), -(-h // core)))

    def starts(length, n):
        side = min(core, length)
        return [(start, start + side) for start in
                (min(max(0, int((i + 0.5) * length / n - side / 2)), length - side) // multiple * multiple
                 for i in range(n))]

    return [(y, x) for y in starts(h, ny) for x in starts(w, nx)]


def random_core_boxes(n: int, rng) -> np.ndarray:
    """float32 [n, 4]: cores (top, left, bottom, right as fractions of a tile's sides) such as
    tiling gives a tile network, to validate its exports on."""
    low, high = rng.uniform(0, 0.3, (n, 2)), rng.uniform(0.7, 1, (n, 2))
    return np.concatenate([low, high], axis=1).astype(np.float32)


# By default a tiled photo's statistics come from its copy at STATS_PIXELS, then FAST_REFINE
# refining passes (the first layers, whose statistics a change of scale moves most directly)
# over FAST_REFINE_AREA of the photo: more passes or a bigger sample cost more time than they
# win back (scripts/benchmark_tiling.py measures both plans against the exact statistics).
STATS_PIXELS, FAST_REFINE, FAST_REFINE_AREA = 1_000_000, 1, 0.0625


def statistics_plan(exact: bool = False) -> dict:
    """`stylize_tiled`'s settings for the statistics: the fast default (the downscaled copy's,
    the first layer corrected by a sample of the photo at full resolution), or `exact`, a pass
    over every tile per layer (zoo.stylize --exact-stats): the untiled result to rounding, for a
    whole pass's time per layer."""
    if exact:
        return {"refine": None, "refine_area": 1.0}
    return {"refine": FAST_REFINE, "refine_area": FAST_REFINE_AREA}


def stylize_tiled(runner, tile_runner, image: np.ndarray, inputs: dict, *, multiple: int = MULTIPLE,
                  norm_channels=None, refine: int | None = 0, refine_area: float = 1.0, tile: int = 640,
                  margin: int = 96, stats_pixels: int = STATS_PIXELS, progress=None) -> np.ndarray:
    """Stylize uint8 [H, W, 3] in tiles of about `tile` x `tile` output pixels, each run with
    `margin` pixels of context (both multiples of the network's grid `multiple`, the margin wider
    than its receptive field); returns uint8 [H, W, 3]. `inputs` are the networks' other inputs,
    the same for every tile. Only one tile is ever in float32, so memory stays that of a tile
    whatever the photo's size.

    The statistics come from the photo downscaled to `stats_pixels`. Above that, `refine` passes
    (None: one per layer) each make one more layer's statistics those of the full-resolution
    photo: pass k measures the moments of layer k, which are right because those of the layers
    before it already are. The later layers keep the downscaled photo's statistics meanwhile
    (the moments measured for them in the same pass follow from a mix of exact and approximate
    statistics, and are worse). With `refine_area` 1 a refining pass reads every tile and its
    moments are exact: one pass per layer gives the one-pass result at any size, up to rounding.
    Below 1 it reads only cores spread evenly over that fraction of the photo (`sample_grid`),
    for a fraction of a pass's time, and lets them correct the downscaled copy rather than
    replace it (`_corrected`): the copy knows how much of the photo is sky and how much is
    ground, the samples what the full resolution changes. `norm_channels` (the manifest's
    `norm_stats_channels`) gives the layers' places in the statistics; without it there is no
    refinement. `progress(done, total)` follows the full-resolution tiles of all passes."""
    if tile % multiple or margin % multiple or tile < multiple:
        raise ValueError(f"tile and margin must be positive multiples of {multiple}, got {tile} and {margin}")
    h, w = image.shape[:2]
    cores = [(y, x) for y in tile_grid(h, tile, multiple) for x in tile_grid(w, tile, multiple)]
    stats, count = tiled_statistics(runner, tile_runner, image, inputs, multiple=multiple, norm_channels=norm_channels,
                                    refine=refine, refine_area=refine_area, tile=tile, margin=margin,
                                    stats_pixels=stats_pixels, progress=progress, then=len(cores))
    result = np.empty((h, w, 3), np.uint8)
    final = tile_runner.only([STYLIZED])  # the last pass needs no statistics
    for box in cores:
        (y0, y1), (x0, x1) = box
        core = _run_core(final, image, inputs, stats, box, margin, multiple)[1]
        result[y0:y1, x0:x1] = np.clip(core * 255.0 + 0.5, 0, 255).astype(np.uint8)
        count[0] += 1
        if progress:
            progress(*count)
    return result


def tiled_statistics(runner, tile_runner, image: np.ndarray, inputs: dict, *, multiple: int = MULTIPLE,
                     norm_channels=None, refine: int | None = 0, refine_area: float = 1.0, tile: int = 640,
                     margin: int = 96, stats_pixels: int = STATS_PIXELS, progress=None, then: int = 0):
    """(`norm_stats` [1, S] of the photo as `stylize_tiled` describes, [tiles done, tiles in
    all]), counting `then` more tiles to come after these passes."""
    h, w = image.shape[:2]
    small = downscaled(image, stats_pixels, multiple)
    stats = run_network(runner, small.astype(np.float32) / 255.0, inputs, multiple=multiple)[NORM_STATS]
    ends = np.cumsum([2 * c for c in norm_channels or []])  # where each layer's moments end
    refine = 0 if small is image else len(ends) if refine is None else min(refine, len(ends))
    sampled = refine_area < 1
    if sampled:  # at least MIN_SAMPLES cores, however small the photo, none bigger than half a tile
        side = min(tile // 2, int((refine_area * h * w / MIN_SAMPLES) ** 0.5)) // multiple * multiple
        samples = sample_grid(h, w, max(side, 2 * multiple), refine_area, multiple)
    else:
        samples = [(y, x) for y in tile_grid(h, tile, multiple) for x in tile_grid(w, tile, multiple)]
    count = [0, refine * len(samples) + then]

    def moments(picture, boxes):
        """The area-weighted mean of the core moments of `boxes` in `picture` under `stats`."""
        total, area = 0.0, 0
        for box in boxes:
            total = total + _run_core(tile_runner, picture, inputs, stats, box, margin, multiple)[0] * _area(box)
            area += _area(box)
            if picture is image:
                count[0] += 1
                if progress:
                    progress(*count)
        return total / area

    for p in range(refine):
        measured = moments(image, samples)
        if sampled:
            shrink = [(_scaled(y, small.shape[0] / h, small.shape[0], multiple),
                       _scaled(x, small.shape[1] / w, small.shape[1], multiple)) for y, x in samples]
            # the copy's moments under `stats`: before any refinement, the main network's own
            copy = stats.copy() if p == 0 else moments(small, [((0, small.shape[0]), (0, small.shape[1]))])
            measured = _corrected(copy, measured, moments(small, shrink), norm_channels)
        stats[:, :ends[p]] = measured[:, :ends[p]]
    return stats, count


MIN_SAMPLES = 8  # a sampled refining pass reads at least this many cores


def _area(box) -> int:
    (y0, y1), (x0, x1) = box
    return (y1 - y0) * (x1 - x0)


def _scaled(span, factor: float, length: int, multiple: int):
    """(start, stop) of a core scaled by `factor`, on the grid, within `length`, never empty."""
    start = min(int(span[0] * factor) // multiple * multiple, max(0, length - multiple))
    return start, min(length, max(start + multiple, -(-int(span[1] * factor) // multiple) * multiple))


def _run_core(tile_runner, picture, inputs, stats, box, margin, multiple):
    """(core moments [1, S] or None for a runner without them, stylized core float32 [h, w, 3])
    of the core `box` of uint8 `picture`, run with `margin` pixels of context where it has them."""
    (y0, y1), (x0, x1) = box
    h, w = picture.shape[:2]
    top, left = max(0, y0 - margin), max(0, x0 - margin)  # multiples of the network's grid
    bottom, right = min(h, y1 + margin), min(w, x1 + margin)
    crop = picture[top:bottom, left:right].astype(np.float32) / 255.0
    out = run_network(tile_runner, crop, inputs, stats, (y0 - top, x0 - left, y1 - top, x1 - left), multiple)
    return out.get(CORE_STATS), out[STYLIZED][y0 - top:y1 - top, x0 - left:x1 - left]


def _corrected(copy, full, copy_samples, norm_channels):
    """The photo's moments estimated from those of its downscaled `copy` (whole), corrected by
    what the same sampled cores give at full resolution (`full`) against the copy
    (`copy_samples`): means shift by the difference, variances scale by the ratio (a scale's
    effect on contrast is a factor, and a ratio of variances stays positive). All are
    [1, S] moments, [mean (C), mean square (C)] per layer."""
    is_mean = np.concatenate([np.repeat([True, False], c) for c in norm_channels])

    def split(m):
        mean = m[..., is_mean]
        return mean, np.maximum(m[..., ~is_mean] - mean ** 2, 0.0)

    (mean, var), (mean_full, var_full), (mean_copy, var_copy) = split(copy), split(full), split(copy_samples)
    mean = mean + mean_full - mean_copy
    var = var * (var_full + 1e-8) / (var_copy + 1e-8)
    out = np.empty_like(copy)
    out[..., is_mean], out[..., ~is_mean] = mean, var + mean ** 2
    return out
