"""The feed-forward stylizer: any image size, safe-mode save/load, and real training steps against
the real VGG19 losses. Its exports (builtin-only TFLite, ONNX) are tested in test_stylize.py."""

from __future__ import annotations

import numpy as np
import pytest

from zoo import registry
from zoo.errors import ZooError
from zoo.models.stylizer import Stylizer, build_transformer

def recipe(tmp_path=None, **overrides):
    import importlib.util
    from pathlib import Path

    cls = registry.get("stylizer")
    style = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data" / "ihc.png"
    config = {**cls.defaults, "seed": 1, "style": str(style), "content": None, "crop_size": 64, "style_size": 128,
              "vgg_weights": None, "content_weight": 1.0, "style_weight": 5e-5, "tv_weight": 1e6,
              "residual_blocks": 4, "widths": "16,32,64", **overrides}
    return cls(config)


def test_transformer_keeps_any_size():
    net = build_transformer()
    for shape in [(1, 64, 96, 3), (2, 40, 56, 3)]:
        y = np.asarray(net(np.random.default_rng(0).random(shape, dtype=np.float32)))
        assert y.shape == shape and 0 <= y.min() and y.max() <= 1
    assert net.input.name == "image" and net.output_names == ["stylized"]
    assert net.count_params() < 100_000  # narrow on purpose: see the speed comparison


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A Stylizer compiled with the real losses, after a few steps on one fixed batch."""
    r = recipe(learning_rate=1e-2)
    splits = r.load_data()
    model = r.build(splits.info)
    train, _ = r.pipelines(splits, 2)
    batch = next(iter(train))
    before = model.evaluate(batch, verbose=0, return_dict=True)
    model.fit(_repeat(batch, 8), epochs=1, verbose=0, shuffle=False)
    after = model.evaluate(batch, verbose=0, return_dict=True)
    return r, splits, model, before, after


def _repeat(batch, n):
    import tensorflow as tf

    return tf.data.Dataset.from_tensors(batch).repeat(n)


def test_training_steps_lower_the_perceptual_loss(trained):
    _, _, _, before, after = trained
    assert after["loss"] < 0.8 * before["loss"], (before, after)
    assert set(after) >= {"loss", "content_loss", "style_loss", "tv_loss"}


def test_saved_model_loads_in_safe_mode_without_vgg(trained, tmp_path):
    from zoo.runs import load_keras_model

    _, _, model, _, _ = trained
    model.save(tmp_path / "m.keras")
    size = (tmp_path / "m.keras").stat().st_size
    assert size < 2_000_000, size  # the 80 MB VGG19 of the loss is not saved with it
    loaded = load_keras_model(tmp_path / "m.keras")
    assert isinstance(loaded, Stylizer)
    x = np.random.default_rng(2).random((1, 32, 40, 3), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    with pytest.raises(RuntimeError, match="perceptual_loss"):
        loaded.perceptual_losses(x)


def test_data_and_exportables(trained):
    r, splits, model, _, _ = trained
    assert "chelsea, coffee held out" in splits.info.source
    train, test = r.pipelines(splits, 3)
    batch = next(iter(train))
    assert batch.shape == (3, 64, 64, 3) and batch.dtype.name == "float32"
    photos = [x.numpy() for x in test]
    assert len(photos) == 2 and photos[0].shape == (1, 256, 256, 3)
    assert list(r.exportables(model)) == ["stylizer"] and r.task == "image-to-image"


def test_style_image_too_small(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((40, 300, 3), np.uint8)).save(tmp_path / "strip.png")
    r = recipe(style=str(tmp_path / "strip.png"))
    with pytest.raises(ZooError, match="needs at least 64 pixels"):
        r.build(r.load_data().info)
