"""The multi-style stylizer: any image size, styles picked and blended by weights, the tile
variants, safe-mode save/load, and real training steps against the real VGG19 losses. Its exports
(builtin-only TFLite, ONNX) are tested in test_stylize.py."""

from __future__ import annotations

import numpy as np
import pytest

from zoo import models
from zoo.errors import ZooError
from zoo.models.stylizer import (CORE_STATS, NORM_STATS, OUTPUT as STYLIZED, Stylizer, build_transformer, norm_channels,
                                 norm_channels_of, transformer_variant)

def skimage_file(name):
    import importlib.util
    from pathlib import Path

    return Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data" / name


def recipe(tmp_path=None, **overrides):
    cls = models.get("stylizer")
    styles = f"{skimage_file('ihc.png')},{skimage_file('hubble_deep_field.jpg')}"
    config = {**cls.defaults, "seed": 1, "styles": styles, "content": None, "crop_size": 64, "style_size": 128,
              "vgg_weights": None, "content_weight": 1.0, "style_weight": 1e-3, "tv_weight": 1e4,
              "residual_blocks": 2, "widths": "8,16,32", **overrides}
    return cls(config)


def randomised(net, scale=0.2):
    """`net` with its weights perturbed, so that styles differ (they start identical)."""
    rng = np.random.default_rng(0)
    net.set_weights([w + rng.normal(0, scale, w.shape).astype(np.float32) for w in net.get_weights()])
    return net


def test_transformer_keeps_any_size_and_blends_styles():
    net = randomised(build_transformer(3))
    rng = np.random.default_rng(0)
    for shape in [(1, 64, 96, 3), (2, 40, 56, 3)]:
        x = rng.random(shape, dtype=np.float32)
        y = np.asarray(net([x, np.eye(3, dtype=np.float32)[:shape[0]]]))
        assert y.shape == shape and 0 <= y.min() and y.max() <= 1
    assert [i.name for i in net.inputs] == ["image", "style_weights"] and net.output_names == ["stylized"]
    assert net.count_params() < 1_000_000  # int8 TFLite well under 2 MB
    x = rng.random((1, 32, 32, 3), dtype=np.float32)
    a, b, mid = (np.asarray(net([x, np.array([w], np.float32)])) for w in ([1, 0, 0], [0, 1, 0], [0.5, 0.5, 0]))
    assert np.abs(a - b).mean() > 1e-3  # two styles, two results
    assert np.abs(mid - a).mean() < np.abs(b - a).mean() and np.abs(mid - b).mean() < np.abs(b - a).mean()


def test_tile_variant_with_the_photos_statistics_matches():
    net = randomised(build_transformer(2, (8, 16, 32), 2), 0.1)
    stats_net = transformer_variant(net, "stats")
    tile_net = transformer_variant(net, "tile")
    assert norm_channels_of(net) == norm_channels((8, 16, 32), 2)
    x = np.random.default_rng(1).random((1, 48, 64, 3), dtype=np.float32)
    w = np.array([[0.3, 0.7]], np.float32)
    whole = np.asarray(net([x, w]))
    out = {k: np.asarray(v) for k, v in stats_net([x, w]).items()}
    # the stats and tile variants take the variance as E[x^2] - E[x]^2, which rounds differently in
    # float32 from the plain network's mean of squared deviations
    np.testing.assert_allclose(out[STYLIZED], whole, atol=1e-4)
    full_box = np.array([[0, 0, 1, 1]], np.float32)
    tiled = {k: np.asarray(v) for k, v in tile_net([x, w, out[NORM_STATS], full_box]).items()}
    np.testing.assert_allclose(tiled[STYLIZED], out[STYLIZED], atol=1e-5)  # the same arithmetic
    np.testing.assert_allclose(tiled[STYLIZED], whole, atol=1e-4)
    np.testing.assert_allclose(tiled[CORE_STATS], out[NORM_STATS], rtol=1e-4, atol=1e-5)
    # other statistics change the result: the tile network really uses them
    assert np.abs(np.asarray(tile_net([x, w, 2 * out[NORM_STATS], full_box])[STYLIZED]) - whole).max() > 1e-3
    # the cores' moments, weighted by their areas, are the whole image's
    halves = [np.array([[0, 0, 1, 0.25]], np.float32), np.array([[0, 0.25, 1, 1]], np.float32)]
    parts = [np.asarray(tile_net([x, w, out[NORM_STATS], box])[CORE_STATS]) for box in halves]
    np.testing.assert_allclose(0.25 * parts[0] + 0.75 * parts[1], out[NORM_STATS], rtol=1e-4, atol=1e-5)


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
    from zoo.training.runs import load_keras_model

    _, _, model, _, _ = trained
    model.save(tmp_path / "m.keras")
    size = (tmp_path / "m.keras").stat().st_size
    assert size < 2_000_000, size  # the 80 MB VGG19 of the loss is not saved with it
    loaded = load_keras_model(tmp_path / "m.keras")
    assert isinstance(loaded, Stylizer)
    x = np.random.default_rng(2).random((1, 32, 40, 3), dtype=np.float32)
    w = np.array([[0.0, 1.0]], np.float32)
    np.testing.assert_allclose(np.asarray(loaded((x, w))), np.asarray(model((x, w))), atol=1e-6)
    with pytest.raises(RuntimeError, match="perceptual_loss"):
        loaded.perceptual_losses(x, w)


def test_data_and_exportables(trained):
    r, splits, model, _, _ = trained
    assert "held out" in splits.info.source
    train, test = r.pipelines(splits, 3)
    images, weights = next(iter(train))
    assert images.shape == (3, 64, 64, 3) and images.dtype.name == "float32"
    assert weights.shape == (3, 2) and set(np.asarray(weights).sum(axis=1)) == {1.0}
    tests = [(x.numpy(), w.numpy()) for x, w in test]
    assert len(tests) == splits.info.num_test and tests[0][0].shape == (1, 256, 256, 3)
    assert [w.argmax() for _, w in tests[:2]] == [0, 1]  # held-out photos cycle through the styles
    assert list(r.exportables(model)) == ["stylizer", "stylizer_tile"] and r.task == "image-to-image"
    assert r.export_metadata(r.exportables(model)) == {"styles": ["ihc", "hubble_deep_field"],
                                   "norm_stats_channels": norm_channels_of(model.transformer)}


def test_style_image_too_small(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((40, 300, 3), np.uint8)).save(tmp_path / "strip.png")
    r = recipe(styles=f"{skimage_file('ihc.png')},{tmp_path / 'strip.png'}")
    with pytest.raises(ZooError, match="needs at least 64 pixels"):
        r.build(r.load_data().info)


def test_styles_from_a_folder_by_name_and_count(tmp_path):
    import shutil

    styles = tmp_path / "styles"
    styles.mkdir()
    for name in ("ihc.png", "hubble_deep_field.jpg", "gravel.png"):
        shutil.copy(skimage_file(name), styles / name)
    (styles / "PROVENANCE.csv").write_text("file,licence\n")  # not an image: left out
    r = recipe(styles=str(styles))
    assert r.style_names == ["gravel", "hubble_deep_field", "ihc"]
    assert recipe(styles=str(styles), num_styles=2).style_names == ["gravel", "hubble_deep_field"]
    with pytest.raises(ZooError, match="--num-styles 4 asks for more styles than the 3"):
        recipe(styles=str(styles), num_styles=4)
    with pytest.raises(ZooError, match="does not exist"):
        recipe(styles=str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="holds no images"):
        recipe(styles=str(tmp_path / "empty"))


@pytest.mark.slow
def test_mixed_precision_trains_a_float32_transformer():
    """--mixed-precision runs the loss's VGG19 in bfloat16 (much faster on CPUs with bfloat16
    units) but keeps the transformer, its normalisation statistics, the losses and hence the
    exports in float32."""
    import keras

    from zoo.models.common import global_policy

    with global_policy("mixed_bfloat16"):
        r = recipe()
        splits = r.load_data()
        model = r.build(splits.info)
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"  # restored after building
        assert model.perceptual_loss.features.model.layers[-1].dtype_policy.name == "mixed_bfloat16"
        content, weights = next(iter(r.pipelines(splits, 2)[0]))
        history = model.fit(_repeat((content, weights), 2), epochs=1, verbose=0)
        losses = model.perceptual_losses(content, weights)
    assert {layer.dtype_policy.name for layer in model.transformer.layers} == {"float32"}
    assert all(np.isfinite(v) for v in history.history["loss"])
    assert {keras.backend.standardize_dtype(v.dtype) for v in losses} == {"float32"}


def test_new_runs_upsample_bilinear_and_every_variant_keeps_the_upsampling():
    """Bilinear and the final blur for new runs (nearest printed a grid, and so did bilinear
    alone); a network built without them (the first releases) keeps what it had in its stats and
    tile variants, so its exports match it."""
    from zoo.layers import BinomialBlur2D
    from zoo.models.stylizer import OUTPUT, UPSAMPLING, build_transformer, transformer_variant
    from zoo.train import build_parser

    args = build_parser("stylizer").parse_args(["stylizer"])
    assert args.upsampling == "bilinear" and args.antialias is not False
    older = models.get("stylizer")({"style_files": [], "style_names": []}).hp
    assert (older.upsampling, older.antialias, older.grid_weight) == ("nearest", False, 0.0)
    for (name, layer), antialias in zip(UPSAMPLING.items(), (False, True)):
        network = build_transformer(2, (8, 16, 32), 1, upsampling=name, antialias=antialias)
        for variant in ("plain", "stats", "tile"):
            built = network if variant == "plain" else transformer_variant(network, variant)
            assert isinstance(built.get_layer("up1"), layer) and isinstance(built.get_layer("up2"), layer)
            assert isinstance(built.get_layer(OUTPUT), BinomialBlur2D) == antialias
