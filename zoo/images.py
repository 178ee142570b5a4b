"""Reading photos the way users have them, and writing results, for the CLIs; and `grid`, the
one picture of many images that runs, CLIs and scripts all draw (sample grids, contact sheets).

Photos come rotated by an EXIF tag, grayscale, with an alpha channel, with 16 bits per channel,
truncated by an interrupted copy, or enormous. `load_rgb` turns every readable one into a uint8
RGB array in display orientation and every other one into a one-line `ZooError`. The size is
checked from the header before any pixel is decoded, so a 20000x20000 file is refused at once
instead of exhausting memory (Pillow's own decompression-bomb guard stays on as a second line).
A JPEG asked for at a smaller size (`max_side`) is the exception: its decoder reads it at 1/2,
1/4 or 1/8 scale directly (Pillow's draft mode), so the limit applies to the reduced image, and
a 108-megapixel phone photo opens at --max-size 1024 in the memory of a small one.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from zoo.errors import ZooError
from zoo.fileio import atomic_path

# 50 megapixels: a 8660x5773 photo, more than any phone camera, is about 150 MB as uint8 RGB
# and ~4 GB of float32 activations in the stylizer's first layers.
MAX_PIXELS = 50_000_000


def load_rgb(path, max_pixels: int = MAX_PIXELS, max_side: int | None = None) -> np.ndarray:
    """Read an image file into uint8 [H, W, 3], upright, downscaled so its longer side is at
    most `max_side` (if given). At most `max_pixels` are decoded: a JPEG with `max_side` counts
    at the scale its decoder reads it, any other file at its full size."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ZooError(f"image {path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        with _open(path, bool(max_side)) as im:
            w, h = im.size  # from the header; nothing decoded yet
            if max_side and max(w, h) > 2 * max_side and im.format == "JPEG":  # decode at a reduced scale directly
                scale = max_side / max(w, h)  # the size asked for keeps the aspect, so the longer side decides
                im.draft("RGB", (max(1, round(w * scale)), max(1, round(h * scale))))
            dw, dh = im.size  # what will be decoded
            if dw * dh > max_pixels:
                hint = ""
                if im.format == "JPEG" and not max_side:
                    hint = " (or ask for a smaller size: a JPEG is then decoded at reduced scale)"
                elif max_side and im.format != "JPEG":
                    hint = " (only JPEGs are decoded at reduced size)"
                raise ZooError(f"image {path} is {w}x{h} ({w * h / 1e6:.0f} megapixels), more than the "
                               f"{max_pixels / 1e6:.0f} megapixels this tool decodes; downscale it first{hint}")
            im.load()
            im = ImageOps.exif_transpose(im)
            im = _to_rgb(im)
    except Image.DecompressionBombError as e:
        raise ZooError(f"image {path} refused, too large to decode safely ({e}); downscale it first") from None
    except UnidentifiedImageError:
        raise ZooError(f"{path} is not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as e:  # truncated or corrupt data
        raise ZooError(f"cannot decode image {path}: {e}") from None
    if max_side and max(im.size) > max_side:
        scale = max_side / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)
    return np.asarray(im, dtype=np.uint8)


def _open(path: Path, reduced: bool):
    """Pillow's image of `path`, header read, nothing decoded. Pillow's decompression-bomb guard
    judges the full size when the file is opened; a JPEG that will be decoded at reduced size
    (`reduced`) is opened by its own plugin instead, which skips that guard (and its warning
    above 89 megapixels), since `load_rgb` checks the size it actually decodes. Other files keep
    the guard's error; its warning is dropped, as `load_rgb` refuses them itself, in one line,
    before anything is decoded."""
    from PIL import Image, JpegImagePlugin

    if reduced:
        with open(path, "rb") as f:
            is_jpeg = f.read(3) == b"\xff\xd8\xff"
        if is_jpeg:
            return JpegImagePlugin.JpegImageFile(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path)


def _to_rgb(im):
    """Any Pillow mode to 8-bit RGB: alpha is composited on white, high bit depths rescaled."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        a = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(a).convert("RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, im).convert("RGB")
    return im.convert("RGB")


def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] -> float32 [1, H, W, 3] in [0, 1], the zoo's image convention."""
    return (image.astype(np.float32) / 255.0)[None]


def to_uint8(image) -> np.ndarray:
    """float [.., H, W, 3] in [0, 1] (batch of one allowed) -> uint8 [H, W, 3]."""
    a = np.asarray(image, dtype=np.float32)
    if a.ndim == 4:
        a = a[0]
    return np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)


def save_image(path, image: np.ndarray):
    """Write uint8 [H, W, 3] (or [H, W, 1]: grayscale) atomically in the format its extension
    names (PNG, JPEG...), as a CLI's --out may be a .jpg."""
    from PIL import Image

    path = Path(path)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    try:
        with atomic_path(path, suffix=path.suffix) as tmp:
            Image.fromarray(image).save(tmp)
    except (OSError, ValueError) as e:
        raise ZooError(f"cannot write {path}: {e}") from None


LABEL_HEIGHT = 14  # pixels above the first row for `grid`'s labels


def grid(rows, labels=None, height: int | None = None, pad: int = 4, min_side: int = 0) -> np.ndarray:
    """The zoo's one picture of many images (contact sheets, sample grids): rows of images on a
    white sheet, `pad` pixels apart, as uint8 [H, W, C] (C = 1 when every image is grayscale).

    Images are uint8, or float in [0, 1]; [H, W], [H, W, 1] or [H, W, 3]; of any size. With
    `height`, each is scaled to that height (Lanczos, aspect kept). `labels` go above the first
    row's images. With `min_side`, a sheet of small images (28-pixel samples) is enlarged pixel
    for pixel (nearest) by the largest whole factor that keeps its images' longer side within
    `min_side`, so that a person can see them.
    """
    from PIL import Image, ImageDraw

    rows = [[_hwc(image) for image in row] for row in rows]
    channels = max(image.shape[2] for row in rows for image in row)
    tiles = [[_tile(image, channels, height) for image in row] for row in rows]
    top = pad + (LABEL_HEIGHT if labels else 0)
    width = max(sum(t.width for t in row) + pad * (len(row) + 1) for row in tiles)
    sheet_height = top + sum(max(t.height for t in row) + pad for row in tiles)
    sheet = Image.new("L" if channels == 1 else "RGB", (width, sheet_height), "white")
    draw, y = ImageDraw.Draw(sheet), top
    for i, row in enumerate(tiles):
        x = pad
        for j, tile in enumerate(row):
            sheet.paste(tile, (x, y))
            if labels and i == 0:
                draw.text((x + 2, pad), labels[j], fill="black")
            x += tile.width + pad
        y += max(t.height for t in row) + pad
    side = max(max(t.size) for row in tiles for t in row)
    if min_side and side < min_side:
        factor = min_side // side
        sheet = sheet.resize((sheet.width * factor, sheet.height * factor), Image.NEAREST)
    out = np.asarray(sheet)
    return out[..., None] if channels == 1 else out


def _hwc(image) -> np.ndarray:
    """An image as uint8 [H, W, C]."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.clip(a.astype(np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return a[..., None] if a.ndim == 2 else a


def _tile(image, channels, height):
    """One cell of `grid`: a Pillow image in the sheet's mode, scaled to `height` if given."""
    from PIL import Image

    if image.shape[2] < channels:
        image = np.repeat(image, channels, axis=2)
    tile = Image.fromarray(image[..., 0] if channels == 1 else image)
    if height and tile.height != height:
        tile = tile.resize((max(1, round(tile.width * height / tile.height)), height), Image.LANCZOS)
    return tile


def rows_of(images, cols: int | None = None) -> list:
    """A batch of images [N, H, W, C] as rows of `cols` for `grid` (default: as square as it gets)."""
    cols = cols or math.ceil(math.sqrt(len(images)))
    return [list(images[i:i + cols]) for i in range(0, len(images), cols)]


def sample_grid(images, cols: int | None = None) -> np.ndarray:
    """Generated or test images [N, H, W, C] in [0, 1], `cols` to a row, 2 pixels apart and
    enlarged towards 64 pixels: the sample pictures of runs and of zoo.generate."""
    return grid(rows_of(images, cols), pad=2, min_side=64)
