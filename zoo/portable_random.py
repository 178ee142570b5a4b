"""Random numbers that a browser draws the same: the latent vectors of a seed, and the uniform
draws that pick a prior's codes.

`python -m zoo.generate --seed S` and the web pages of the DCGAN and the VAE
(exporters/web/page/zoo.js, `standardNormal`) must show the same samples for the same seed, so
both draw them with this generator rather than NumPy's or JavaScript's own: mulberry32, a
counter-based 32-bit generator (the i-th number is a pure function of seed + i * 0x6D2B79F5,
so NumPy computes all of them at once), then the Box-Muller transform on consecutive pairs,
in float64, rounded to float32. Both sides use only 32-bit integer arithmetic and IEEE doubles,
so they agree to the last bit of float32 except where libm's log, cos or sin differ in the last
bit of a double.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = 0x6D2B79F5


def uint32(seed: int, count: int) -> np.ndarray:
    """The first `count` outputs of mulberry32 started at `seed` (0 to 2**32 - 1)."""
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be from 0 to {2**32 - 1}, got {seed}")
    with np.errstate(over="ignore"):
        state = (np.uint64(seed) + np.uint64(_GOLDEN) * np.arange(1, count + 1, dtype=np.uint64)).astype(np.uint32)
        t = (state ^ (state >> np.uint32(15))) * (state | np.uint32(1))
        t = t ^ (t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61)))
        return t ^ (t >> np.uint32(14))


def standard_normal(seed: int, shape) -> np.ndarray:
    """float32 N(0, 1) samples of `shape` for `seed`, filled in C order."""
    count = int(np.prod(shape))
    u = (uint32(seed, count + count % 2).astype(np.float64) + 0.5) / 2.0**32
    r, theta = np.sqrt(-2.0 * np.log(u[0::2])), 2.0 * np.pi * u[1::2]
    pairs = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1).reshape(-1)
    return pairs[:count].astype(np.float32).reshape(shape)


def uniform(seed: int, shape) -> np.ndarray:
    """float64 uniform samples in (0, 1) of `shape` for `seed`, filled in C order: the draws
    that pick an autoregressive prior's codes (zoo.deploy.autoregressive)."""
    count = int(np.prod(shape))
    return ((uint32(seed, count).astype(np.float64) + 0.5) / 2.0**32).reshape(shape)
