"""AdaIN's photo and painting pairs without TensorFlow (zoo.style.pairs). A whole run on JAX with
TensorFlow unimportable, as on an accelerator machine that has JAX alone: test_backends_style.py."""

from __future__ import annotations


import numpy as np
import pytest
from PIL import Image

from conftest import SKIMAGE_DATA
from zoo.errors import ZooError
from zoo.style import pairs


def photo(name="chelsea.png"):
    return np.asarray(Image.open(SKIMAGE_DATA / name).convert("RGB"))


def test_resize_shorter_and_centre_square_match_the_tf_data_recipe():
    from zoo.style.pipelines import centre_square as tf_centre_square

    image = photo()  # 300 x 451
    assert pairs.resize_shorter(image, 128).shape == (128, 193, 3)
    assert pairs.resize_shorter(np.ascontiguousarray(image.transpose(1, 0, 2)), 128).shape == (193, 128, 3)
    square = pairs.centre_square(image, 128)
    assert square.shape == (128, 128, 3) and square.dtype == np.float32 and 0 <= square.min() and square.max() <= 1
    # Pillow's and TensorFlow's antialiased resizes differ by rounding, not by content.
    assert np.abs(square - np.asarray(tf_centre_square(image, 128))).mean() < 0.01


def test_random_pairs_are_crops_of_the_images_and_depend_on_the_index_alone():
    photos = [pairs.resize_shorter(photo(n), 64) for n in ("chelsea.png", "coffee.png", "astronaut.png")]
    paintings = [pairs.resize_shorter(photo(n), 64) for n in ("gravel.png", "hubble_deep_field.jpg")]
    data = pairs.RandomPairs(photos, paintings, crop=32, batch_size=6, seed=3)
    assert data.num_batches is None  # endless: fit() takes steps_per_epoch batches an epoch
    first, again, second = data[0], data[0], data[1]
    for images in first:
        assert images.shape == (6, 32, 32, 3) and images.dtype == np.float32
        assert 0 <= images.min() and images.max() <= 1
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], second[0])
    # Every crop is a window of one of the images, flipped or not.
    sources = [image.astype(np.float32) / 255 for image in photos]
    windows = [s[i:i + 32, j:j + 32] for s in sources for i in range(s.shape[0] - 31) for j in range(s.shape[1] - 31)]
    for crop in first[0]:
        assert any(np.allclose(window, c) for c in (crop, crop[:, ::-1]) for window in windows)


def test_held_out_pairs_go_round_the_paintings():
    photos = [np.full((8, 8, 3), i, np.float32) for i in range(5)]
    paintings = [np.full((8, 8, 3), 10 + i, np.float32) for i in range(2)]
    held = pairs.HeldOutPairs(photos, paintings, batch_size=2)
    assert len(held) == 3
    batches = [held[i] for i in range(3)]
    assert [b[0].shape[0] for b in batches] == [2, 2, 1]
    assert [float(x[0, 0, 0]) for b in batches for x in b[1]] == [10, 11, 10, 11, 10]


def test_undecodable_files_are_skipped_and_none_left_is_an_error(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(photo()).save(good)
    jpeg = (SKIMAGE_DATA / "retina.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(jpeg[:len(jpeg) // 3])
    images = pairs.load_resized([good, tmp_path / "truncated.jpg"], 64)
    assert len(images) == 1 and min(images[0].shape[:2]) == 64
    with pytest.raises(ZooError, match="none of the 1 images could be decoded"):
        pairs.load_resized([tmp_path / "truncated.jpg"], 64)
