"""What users adjust after the network has run: how much style, and whose colours.

Both work on the finished pixels, not inside the network, so they cost nothing, apply to every
runtime and to `--method optimize` alike, and need no retraining:

- strength blends in pixel space, (1 - s) * photo + s * stylized: 0 gives back the photo
  exactly, 1 the network's result; in between keeps the photo's detail under the texture;
- preserving colour (Gatys et al. 2016, "Preserving Color in Neural Artistic Style Transfer",
  luminance-only transfer) keeps the photo's chroma and takes only the stylized luminance, so a
  portrait keeps its skin tones while gaining the painting's strokes and contrast.
"""

from __future__ import annotations

import numpy as np


def blend(photo: np.ndarray, stylized: np.ndarray, strength: float, rows: int = 256) -> np.ndarray:
    """uint8 (1 - strength) * photo + strength * stylized, rounded; exact at 0 and 1. Blended
    `rows` rows at a time: a 24-megapixel photo in float32 would take 300 MB per copy."""
    if strength in (0.0, 1.0):
        return (stylized if strength else photo).copy()
    out = np.empty_like(photo)
    for y in range(0, photo.shape[0], rows):
        mixed = (1.0 - strength) * photo[y:y + rows].astype(np.float32) + strength * stylized[y:y + rows].astype(np.float32)
        out[y:y + rows] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return out


def preserve_color(photo: np.ndarray, stylized: np.ndarray) -> np.ndarray:
    """The luminance (Y) of `stylized` with the chroma (Cb, Cr) of `photo`, both uint8 RGB of one
    size, through Pillow's JPEG (BT.601 full-range) YCbCr."""
    from PIL import Image

    luma = Image.fromarray(stylized).convert("YCbCr").getchannel("Y")
    _, cb, cr = Image.fromarray(photo).convert("YCbCr").split()
    return np.asarray(Image.merge("YCbCr", (luma, cb, cr)).convert("RGB"))


def apply_controls(photo: np.ndarray, stylized: np.ndarray, strength: float = 1.0,
                   keep_color: bool = False) -> np.ndarray:
    """The result a user asked for: colours first, then the strength blend with the photo."""
    if keep_color:
        stylized = preserve_color(photo, stylized)
    return blend(photo, stylized, strength)
