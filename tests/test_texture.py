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
