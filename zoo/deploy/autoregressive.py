"""Ancestral sampling of a grid of discrete codes from an autoregressive prior (the VQ-VAE's
PixelCNN), one position at a time in raster order, every image of the batch at once.

The prior is any function from codes [N, H, W] (float32 holding integers, as every runtime and
the browser feed them) to logits [N, H, W, K]: the Keras network while training, an ONNX or TFLite
runner in `zoo.generate`. A position's code is drawn by inverting the cumulative softmax at one
uniform number of zoo.portable_random, so a seed gives the same codes whatever runtime computes
the logits (up to the runtimes' rounding where two codes' cumulative probabilities straddle it).
"""

from __future__ import annotations

import numpy as np

from zoo.portable_random import uniform


def sample_codes(prior, count: int, grid: tuple, seed: int = 0, temperature: float = 1.0) -> np.ndarray:
    """`count` grids of codes of shape `grid` (H, W) drawn from `prior`, as float32 [N, H, W].

    H x W calls of `prior`: position (i, j) reads the logits of the grid filled up to it (the
    prior is causal, so what lies after it, still 0, is not seen)."""
    height, width = grid
    draws = uniform(seed, (count, height, width))
    codes = np.zeros((count, height, width), np.float32)
    for i in range(height):
        for j in range(width):
            logits = np.asarray(prior(codes), np.float64)[:, i, j] / temperature
            p = np.exp(logits - logits.max(-1, keepdims=True))
            cdf = np.cumsum(p / p.sum(-1, keepdims=True), axis=-1)
            codes[:, i, j] = np.minimum((cdf < draws[:, i, j, None]).sum(-1), cdf.shape[-1] - 1)
    return codes
