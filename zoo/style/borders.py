"""A band along a stylized picture's borders, in grey levels by the distance from the border.

A network trained through VGG19, whose convolutions pad with zeros, can learn to draw its
picture's edges for that grey frame: a bright or dark band some tens of pixels deep, which the
grid measure (`zoo.style.texture`) does not see and a person does. The measure stylizes a photo
twice, as it is and inside `context` pixels of its own reflection, and compares the first
picture with the centre of the second: deep inside, the two differ only as much as the whole
photo's statistics change with the context; near the border, by as much as the network draws
for the border itself. `band` is the first minus the second: about 0 for a network that knows
no border.
"""

from __future__ import annotations

import numpy as np

CONTEXT = 64  # pixels of reflection around the photo: more than the band is deep
EDGE = 8  # the band: the mean difference within EDGE pixels of the border ...
DEEP = (48, 64)  # ... over that between these distances from it


def border_profile(stylize, photo: np.ndarray, context: int = CONTEXT, depth: int = DEEP[1]) -> np.ndarray:
    """[depth]: the mean absolute difference (grey levels, over RGB) between `stylize(photo)`
    and the centre of `stylize(photo inside its reflection)`, by distance from the nearest
    border. `stylize`: uint8 [H, W, 3] -> uint8 [H, W, 3]; the photo is cropped to a multiple of
    8 on each side (what the networks take) and must be larger than 2 x depth."""
    h, w = photo.shape[0] // 8 * 8, photo.shape[1] // 8 * 8
    if min(h, w) <= 2 * depth:
        raise ValueError(f"a {w}x{h} photo is too small to measure a border {depth} pixels deep")
    photo = photo[:h, :w]
    framed = np.pad(photo, ((context, context), (context, context), (0, 0)), mode="reflect")
    alone = stylize(photo).astype(np.float32)
    inside = stylize(framed)[context:context + h, context:context + w].astype(np.float32)
    difference = np.abs(alone - inside).mean(axis=2)
    yy, xx = np.mgrid[:h, :w]
    distance = np.minimum(np.minimum(yy, h - 1 - yy), np.minimum(xx, w - 1 - xx))
    return np.array([difference[distance == k].mean() for k in range(depth)])


def band(profile: np.ndarray) -> float:
    """Grey levels that the border adds: the mean within EDGE pixels of it, less the mean deep
    inside (DEEP)."""
    return float(profile[:EDGE].mean() - profile[DEEP[0]:DEEP[1]].mean())
