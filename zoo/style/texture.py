"""Periodic texture ("grid") in a stylized picture, as one number per period.

Nearest-neighbour upsampling and transposed convolutions print patterns with periods of 2, 4
and 8 pixels into a generator's pictures: a fine mesh, looked at enlarged. A photo has no such
peaks in its spectrum; a picture with a grid has sharp ones. The measure:

1. luminance (Rec. 601), minus its Gaussian blur of sigma 2: the high frequencies, where a grid
   lives and a photo's large shapes do not;
2. a Hann window (the picture's edges would otherwise put a cross of power on both axes, right
   where horizontal and vertical periods lie), then the power spectrum;
3. for a period p, the power at frequency 1/p horizontally, vertically and diagonally (the
   largest of the 3x3 bins around each, so that a size not divisible by p is measured alike),
   over the median power of the same ring. Rings are squares (|fx| or |fy| equal to 1/p, the
   larger of the two): the diagonal of period 2 lies in a corner of the spectrum, where a round
   ring has no other bins to compare with.

`grid_scores` gives the largest of the three directions per period: a few to a few tens for
photos (more for enlarged or heavily compressed ones), hundreds to thousands where a network
prints a grid.

The ring misreads long straight edges: a drawing's horizontal and vertical lines put a line of
power along both axes of the spectrum, through the horizontal and vertical peaks, at every
period, and those bins are few on the ring; drawings of block letters score a few hundred there
with no grid at all, and a network that keeps their edges crisp scores higher than one that
blurs them. `against="line"` compares the horizontal and vertical peaks with the median of their
own axis line instead, 3 to 8 bins away on either side (outside the window's main lobe): an edge
raises that line evenly, a grid only at its period. The diagonal peak, off both axes, keeps its
ring. A photo and a drawing both score a few there; a printed grid, tens to thousands.
"""

from __future__ import annotations

import numpy as np

PERIODS = (2, 4, 8)
MEASURES = ("ring", "line")
LINE_OFFSETS = (3, 4, 5, 6, 7, 8)
SCORE_COLUMNS = tuple(f"{against}_{period}" for against in MEASURES for period in PERIODS)  # a benchmark row's
BLUR_SIGMA = 2.0
LUMA = np.array([0.299, 0.587, 0.114], np.float64)


def high_pass_luminance(rgb) -> np.ndarray:
    """[H, W] float64: an RGB picture's luminance minus its Gaussian blur (sigma BLUR_SIGMA)."""
    from scipy.ndimage import gaussian_filter

    rgb = np.asarray(rgb, np.float64)
    luminance = rgb[..., :3] @ LUMA if rgb.ndim == 3 else rgb
    return luminance - gaussian_filter(luminance, BLUR_SIGMA, mode="reflect")


def power_spectrum(rgb) -> np.ndarray:
    """|FFT|^2 of the windowed high-pass luminance, zero frequency in the centre."""
    high = high_pass_luminance(rgb)
    window = np.outer(np.hanning(high.shape[0]), np.hanning(high.shape[1]))
    return np.abs(np.fft.fftshift(np.fft.fft2(high * window))) ** 2


def grid_scores(rgb, periods=PERIODS, against: str = "ring") -> dict[int, float]:
    """{period: peak power / median power of its reference}, the largest of the horizontal,
    vertical and diagonal peaks, for an RGB (or grey) picture of at least 32 x 32 pixels. The
    reference is the period's square ring (`against="ring"`, the issue's measure) or, for the
    horizontal and vertical peaks, their own axis line nearby (`against="line"`)."""
    return _peak_ratios(power_spectrum(rgb), periods, against)


def _peak_ratios(power, periods, against) -> dict[int, float]:
    """`grid_scores` of a picture's `power_spectrum`."""
    if against not in MEASURES:
        raise ValueError(f"against must be one of {MEASURES}, got {against!r}")
    height, width = power.shape
    if min(height, width) < 32:
        raise ValueError(f"grid_scores needs at least 32 x 32 pixels, got {width} x {height}")
    cy, cx = height // 2, width // 2
    fy = (np.arange(height) - cy) / height
    fx = (np.arange(width) - cx) / width
    chebyshev = np.maximum(np.abs(fy)[:, None], np.abs(fx)[None, :])
    bin_width = 1.0 / min(height, width)
    offsets = np.array([sign * o for o in LINE_OFFSETS for sign in (-1, 1)])
    scores = {}
    for period in periods:
        ring = np.median(power[np.abs(chebyshev - 1.0 / period) <= bin_width / 2])
        ky, kx = height / period, width / period
        ratios = []
        for dy, dx in ((0, kx), (ky, 0), (ky, kx)):
            y, x = int(round(cy + dy)) % height, int(round(cx + dx)) % width  # period 2: +Nyquist is -Nyquist
            peak = power[np.ix_((y + np.arange(-1, 2)) % height, (x + np.arange(-1, 2)) % width)].max()
            reference = ring
            if against == "line" and dy == 0:
                reference = np.median(power[y, (x + offsets) % width])
            elif against == "line" and dx == 0:
                reference = np.median(power[(y + offsets) % height, x])
            ratios.append(peak / max(reference, 1e-30))
        scores[period] = float(max(ratios))
    return scores


def score_columns(rgb) -> dict[str, float]:
    """Both measures at every period as flat columns (SCORE_COLUMNS: `ring_2` ... `line_8`), a
    benchmark's row, from one spectrum."""
    power = power_spectrum(rgb)
    return {f"{against}_{period}": round(value, 2) for against in MEASURES
            for period, value in _peak_ratios(power, PERIODS, against).items()}


def grid_score(rgb, against: str = "ring") -> float:
    """The largest of `grid_scores` over PERIODS: one number per picture."""
    return max(grid_scores(rgb, against=against).values())
