"""zoo.style.texture: the periodic-texture measure tells a photo from the same photo with a faint
grid of 2, 4 or 8 pixels printed on it, whatever the picture's size; measured against its axis
line, it tells a drawing's straight edges from a grid too."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import SKIMAGE_DATA
from zoo.style.texture import PERIODS, grid_score, grid_scores

PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png")


def photo(name):
    return np.asarray(Image.open(SKIMAGE_DATA / name).convert("RGB"), np.float64)


def with_grid(rgb, period, amplitude):
    """`rgb` plus lines every `period` pixels across and down, +-amplitude grey levels: the
    fundamental of what a network's upsampling prints."""
    y, x = np.mgrid[:rgb.shape[0], :rgb.shape[1]]
    lines = np.cos(2 * np.pi * x / period) + np.cos(2 * np.pi * y / period)
    return np.clip(rgb + amplitude / 2 * lines[..., None], 0, 255)


def drawing(seed):
    """Outlined rectangles on paper, 512 x 448: long horizontal and vertical edges, no period."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (512, 448), (235, 230, 220))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x0, y0 = (int(v) for v in rng.integers(0, 450, 2))
        w, h = (int(v) for v in rng.integers(20, 160, 2))
        draw.rectangle([x0, y0, x0 + w, y0 + h], outline=tuple(int(v) for v in rng.integers(0, 120, 3)),
                       width=int(rng.integers(2, 9)))
    return np.asarray(image, np.float64)


@pytest.mark.parametrize("against", ["ring", "line"])
@pytest.mark.parametrize("name", PHOTOS)
def test_photos_score_low_at_every_period(name, against):
    scores = grid_scores(photo(name), against=against)
    assert set(scores) == set(PERIODS)
    assert max(scores.values()) < 30, scores


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_straight_edges_score_high_on_the_ring_and_low_on_their_line(seed):
    """The ring's confound, and the line's answer to it: no grid, hundreds to thousands on the ring."""
    ring, line = grid_scores(drawing(seed)), grid_scores(drawing(seed), against="line")
    assert max(ring.values()) > 300, ring
    assert max(line.values()) < 15, line


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_grid_on_a_drawing_scores_high_on_its_line(seed, period):
    """+-2 grey levels per pixel of period: an edge raises the axis line evenly, a grid at its period."""
    clean = grid_scores(drawing(seed), against="line")
    gridded = grid_scores(with_grid(drawing(seed), period, amplitude=4 * period), against="line")
    assert gridded[period] > 30 and gridded[period] > 5 * clean[period], (clean, gridded)


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("name", PHOTOS)  # 512x512, 600x400 and 451x300: sides not all divisible by the period
def test_a_faint_grid_scores_high_at_its_period(name, period):
    """+-2 grey levels at period 2 to +-8 at period 8 (a photo holds more power at longer periods)."""
    for against in ("ring", "line"):
        clean = grid_scores(photo(name), against=against)
        gridded = grid_scores(with_grid(photo(name), period, amplitude=period), against=against)
        assert gridded[period] > 100 and gridded[period] > 10 * clean[period], (against, clean, gridded)


def test_grey_pictures_and_one_number():
    grey = photo("coffee.png").mean(axis=-1)
    assert grid_score(grey) == pytest.approx(max(grid_scores(grey).values()))
    assert grid_score(grey, against="line") == pytest.approx(max(grid_scores(grey, against="line").values()))
    with pytest.raises(ValueError, match="at least 32 x 32"):
        grid_scores(np.zeros((16, 64, 3)))
    with pytest.raises(ValueError, match="against must be one of"):
        grid_scores(grey, against="circle")


@pytest.mark.parametrize("period", PERIODS)
def test_the_grid_loss_prices_the_faint_grids_the_measure_sees_and_not_the_photo(period):
    """zoo.style.losses.grid_loss, the training term: the faint grids above (+-2 to +-8 grey
    levels) raise it by several times the photo's own (only the noise of averaging a photo over
    its blocks), and descending its gradient removes the grid."""
    import tensorflow as tf

    from zoo.style.losses import grid_loss

    clean = photo("astronaut.png")[None] / 255.0
    gridded = with_grid(photo("astronaut.png"), period, amplitude=period)[None] / 255.0
    assert float(grid_loss(gridded)[0]) > 20 * float(grid_loss(clean)[0])
    x = tf.Variable(gridded, dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = grid_loss(x)[0]
    step = tape.gradient(loss, x).numpy()[0].mean(axis=-1)
    mesh = (gridded - clean)[0].mean(axis=-1)
    assert np.corrcoef(step.ravel(), mesh.ravel())[0, 1] > 0.75


def test_the_grid_loss_prices_short_periods_highest():
    """The same +-2 grey levels cost more the shorter the period, as a photo holds less power
    there for a grid to stand out from (what the measure divides by)."""
    from zoo.style.losses import grid_loss

    base = float(grid_loss(photo("astronaut.png")[None] / 255.0)[0])
    added = [float(grid_loss(with_grid(photo("astronaut.png"), p, amplitude=2)[None] / 255.0)[0]) - base
             for p in PERIODS]
    assert added[0] > 4 * added[1] > 8 * added[2] > 0, added
