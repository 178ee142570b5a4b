"""zoo.style.borders: the border-band measure reads a blur that pads with zeros as a dark band
along the borders, the same blur over reflected pixels as none, and a change of the whole
picture's statistics with the context as no band."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from conftest import SKIMAGE_DATA
from zoo.style.borders import band, border_profile


def photo(name="astronaut.png"):
    return np.asarray(Image.open(SKIMAGE_DATA / name).convert("RGB"))


def blur(mode):
    """A 15 x 15 box blur per channel, its edges padded as `mode` says (scipy's `mirror` is
    numpy's `reflect`)."""
    return lambda rgb: ndimage.uniform_filter(rgb.astype(np.float32), size=(15, 15, 1), mode=mode, cval=0.0)


def test_a_network_without_a_border_has_no_band():
    profile = border_profile(lambda rgb: rgb, photo())
    assert profile.shape == (64,) and profile.max() == 0.0 and band(profile) == 0.0
    assert band(border_profile(blur("mirror"), photo())) == pytest.approx(0.0, abs=1e-3)


def test_zero_padding_draws_a_dark_band_seven_pixels_deep():
    profile = border_profile(blur("constant"), photo("coffee.png"))
    assert band(profile) > 15 and profile[0] > 40
    assert profile[0] > profile[3] > profile[6] > 1.0 and profile[7:].max() < 1e-3  # the blur's half width


def test_statistics_of_the_whole_picture_are_not_a_band():
    """A stylizer that shifts every pixel by the picture's mean differs with the context
    everywhere alike: a deep difference, no band."""
    profile = border_profile(lambda rgb: np.clip(rgb - rgb.mean() + 128, 0, 255), photo("chelsea.png"))
    assert profile[48:].mean() > 0.5 and abs(band(profile)) < 0.1


def test_a_photo_too_small_for_the_depth_is_refused():
    with pytest.raises(ValueError, match="too small to measure a border 64 pixels deep"):
        border_profile(lambda rgb: rgb, photo()[:120, :200])
