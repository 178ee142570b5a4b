"""zoo.style.texture: the periodic-texture measure tells a photo from the same photo with a faint
grid of 2, 4 or 8 pixels printed on it, whatever the picture's size."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

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


@pytest.mark.parametrize("name", PHOTOS)
def test_photos_score_low_at_every_period(name):
    scores = grid_scores(photo(name))
    assert set(scores) == set(PERIODS)
    assert max(scores.values()) < 30, scores


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("name", PHOTOS)  # 512x512, 600x400 and 451x300: sides not all divisible by the period
def test_a_faint_grid_scores_high_at_its_period(name, period):
    """+-2 grey levels at period 2 to +-8 at period 8 (a photo holds more power at longer periods)."""
    clean, gridded = grid_scores(photo(name)), grid_scores(with_grid(photo(name), period, amplitude=period))
    assert gridded[period] > 100 and gridded[period] > 10 * clean[period], (clean, gridded)


def test_grey_pictures_and_one_number():
    grey = photo("coffee.png").mean(axis=-1)
    assert grid_score(grey) == pytest.approx(max(grid_scores(grey).values()))
    with pytest.raises(ValueError, match="at least 32 x 32"):
        grid_scores(np.zeros((16, 64, 3)))


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
