"""Reading photos the way users have them, and writing results, for the CLIs.

Photos come rotated by an EXIF tag, grayscale, with an alpha channel, with 16 bits per channel,
truncated by an interrupted copy, or enormous. `load_rgb` turns every readable one into a uint8
RGB array in display orientation and every other one into a one-line `ZooError`. The size is
checked from the header before any pixel is decoded, so a 20000x20000 file is refused at once
instead of exhausting memory (Pillow's own decompression-bomb guard stays on as a second line).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.errors import ZooError

# 50 megapixels: a 8660x5773 photo, more than any phone camera, is about 150 MB as uint8 RGB
# and ~4 GB of float32 activations in the stylizer's first layers.
MAX_PIXELS = 50_000_000


def load_rgb(path, max_pixels: int = MAX_PIXELS, max_side: int | None = None) -> np.ndarray:
    """Read an image file into uint8 [H, W, 3], upright, downscaled so its longer side is at
    most `max_side` (if given)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ZooError(f"image {path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        with Image.open(path) as im:
            w, h = im.size  # from the header; nothing decoded yet
            if w * h > max_pixels:
                raise ZooError(f"image {path} is {w}x{h} ({w * h / 1e6:.0f} megapixels), more than the "
                               f"{max_pixels / 1e6:.0f} megapixels this tool decodes; downscale it first")
            if max_side and max(w, h) > 2 * max_side:  # JPEG: decode at a reduced scale directly
                scale = max_side / max(w, h)  # the size asked for keeps the aspect, so the longer side decides
                im.draft("RGB", (max(1, round(w * scale)), max(1, round(h * scale))))
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
    """Write uint8 [H, W, 3] atomically in the format its extension names (PNG, JPEG...); unlike
    `zoo.plots.save_png` it takes arrays and any format, as a CLI's --out may be a .jpg."""
    from PIL import Image

    from zoo.fileio import atomic_path

    path = Path(path)
    try:
        with atomic_path(path, suffix=path.suffix) as tmp:
            Image.fromarray(image).save(tmp)
    except (OSError, ValueError) as e:
        raise ZooError(f"cannot write {path}: {e}") from None


def montage(images, labels=None, height: int = 256, pad: int = 4) -> np.ndarray:
    """Images side by side, each scaled to `height`, with an optional label on top of each."""
    from PIL import Image, ImageDraw

    tiles = []
    for image in images:
        im = Image.fromarray(image)
        tiles.append(im.resize((max(1, round(im.width * height / im.height)), height), Image.LANCZOS))
    label_h = 14 if labels else 0
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + pad * (len(tiles) + 1), height + label_h + 2 * pad), "white")
    draw = ImageDraw.Draw(sheet)
    x = pad
    for i, tile in enumerate(tiles):
        sheet.paste(tile, (x, pad + label_h))
        if labels:
            draw.text((x + 2, pad), labels[i], fill="black")
        x += tile.width + pad
    return np.asarray(sheet)


def grid(rows, labels=None, height: int = 192, pad: int = 4) -> np.ndarray:
    """Rows of montages stacked vertically (a contact sheet); `labels` go on the first row."""
    strips = [montage(row, labels if i == 0 else None, height, pad) for i, row in enumerate(rows)]
    width = max(s.shape[1] for s in strips)
    strips = [np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in strips]
    return np.concatenate(strips, axis=0)
