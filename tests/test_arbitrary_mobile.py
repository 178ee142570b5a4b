"""The small arbitrary-style model (zoo.models.arbitrary_mobile, `arbitrary`): its layers
(bilinear upsampling equal to tf.image.resize, normalisation set by a style vector), the two
networks' size and how they connect, the style corpus split, real training steps on the real
VGG19 loss, and a tiny CLI run exported to ONNX and builtin-only TFLite with dynamic height and
width, whose two networks connect as the manifest says."""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest

import zoo
from conftest import SKIMAGE_PAINTINGS, SKIMAGE_PHOTOS, run_cli, skimage_folder
from zoo import models
from zoo.layers import BilinearUpsampling2D, DepthToSpace2D, SpaceToDepth2D, StyleVectorNormalization
from zoo.models.arbitrary_mobile import STYLE_VECTOR_SIZE, build_style_predictor, build_transfer, deployables
from zoo.style.arbitrary import ALPHA, STYLE_ENCODER, STYLE_IMAGE, STYLE_STATS, TRANSFER
from zoo.style.pipelines import split_styles

TINY = ["--crop-size", 32, "--widths", "8,16,32", "--residual-blocks", 1, "--batch-size", 2]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("arbitrary-data")
    return skimage_folder(root / "photos", SKIMAGE_PHOTOS), skimage_folder(root / "styles", SKIMAGE_PAINTINGS)


def test_bilinear_upsampling_is_tf_image_resize_on_any_size():
    import tensorflow as tf

    x = np.random.default_rng(0).random((2, 5, 7, 3), dtype=np.float32)
    up = np.asarray(BilinearUpsampling2D()(x))
    np.testing.assert_allclose(up, tf.image.resize(x, (10, 14), "bilinear").numpy(), atol=1e-6)


def test_bilinear_upsampling_prints_no_period():
    """A smooth ramp stays a ramp: every step between neighbours is the same (nearest
    upsampling would alternate between 0 and a jump, a period of 2)."""
    ramp = np.tile(np.arange(8, dtype=np.float32)[None, None, :, None], (1, 4, 1, 1))
    steps = np.diff(np.asarray(BilinearUpsampling2D()(ramp))[0, 0, 1:-1, 0])
    np.testing.assert_allclose(steps, 0.5, atol=1e-6)


def test_space_to_depth_and_back_are_tensorflow_s_on_any_size():
    """The sub-pixel output's two reshuffles are tf.nn's (same channel order) on sizes unknown
    to the model, and undo each other."""
    import tensorflow as tf

    x = np.random.default_rng(0).random((2, 6, 10, 3), dtype=np.float32)
    blocks = np.asarray(SpaceToDepth2D()(x))
    np.testing.assert_array_equal(blocks, tf.nn.space_to_depth(x, 2).numpy())
    np.testing.assert_array_equal(np.asarray(DepthToSpace2D()(blocks)), x)
    inputs = keras.Input((None, None, 12))
    model = keras.Model(inputs, DepthToSpace2D()(inputs))
    y = np.random.default_rng(1).random((1, 5, 7, 12), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(model(y)), tf.nn.depth_to_space(y, 2).numpy())


def test_binomial_blur_is_the_1_2_1_filter_and_lets_no_period_of_2_out():
    """zoo.layers.BinomialBlur2D, the stylizers' last layer: [1, 2, 1] / 4 along rows and
    columns with reflected edges (scipy's "mirror"), on any size; a checkerboard of 2 pixels
    comes out flat, a ramp unchanged."""
    from scipy.ndimage import convolve1d

    from zoo.layers import BinomialBlur2D

    x = np.random.default_rng(0).random((2, 5, 7, 3), dtype=np.float32)
    kernel = np.array([1, 2, 1], np.float32) / 4
    expected = convolve1d(convolve1d(x, kernel, axis=1, mode="mirror"), kernel, axis=2, mode="mirror")
    np.testing.assert_allclose(np.asarray(BinomialBlur2D()(x)), expected, atol=1e-6)
    yy, xx = np.mgrid[:8, :8]
    checkerboard = (0.5 + 0.2 * (-1.0) ** (yy + xx)).astype(np.float32)[None, :, :, None]
    np.testing.assert_allclose(np.asarray(BinomialBlur2D()(checkerboard))[0, 1:-1, 1:-1], 0.5, atol=1e-6)
    ramp = np.tile(np.arange(8, dtype=np.float32)[None, None, :, None], (1, 4, 1, 1))
    np.testing.assert_allclose(np.asarray(BinomialBlur2D()(ramp))[0, :, 1:-1], ramp[0, :, 1:-1], atol=1e-6)


def test_style_vector_normalization_starts_as_instance_norm_and_follows_the_vector():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (2, 6, 6, 4)).astype(np.float32)
    layer = StyleVectorNormalization()
    out = np.asarray(layer([x, np.zeros((2, 10), np.float32)]))
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2)), 1, atol=1e-3)
    styled = np.asarray(layer([x, rng.normal(size=(2, 10)).astype(np.float32) * 50]))
    assert np.abs(styled.std(axis=(1, 2)) - 1).max() > 0.05  # the vector sets scale and shift


def test_networks_are_small_and_connect_on_any_size():
    predictor, transfer = build_style_predictor(), build_transfer()
    assert predictor.count_params() + transfer.count_params() < 1_000_000
    networks = deployables(predictor, transfer)
    rng = np.random.default_rng(0)
    vector = np.asarray(networks[STYLE_ENCODER](rng.random((1, 90, 70, 3), dtype=np.float32))[STYLE_STATS])
    assert vector.shape == (1, STYLE_VECTOR_SIZE)
    photo = rng.random((1, 40, 56, 3), dtype=np.float32)  # sides multiples of 8, not square
    out = np.asarray(networks[TRANSFER]({"image": photo, STYLE_STATS: vector, ALPHA: np.ones((1, 1), np.float32)})
                     ["stylized"])
    assert out.shape == photo.shape and 0 <= out.min() and out.max() <= 1


def test_skips_add_the_way_down_s_features_without_weights_and_older_runs_keep_none():
    with_skips, without = build_transfer((8, 16, 32), 1), build_transfer((8, 16, 32), 1, skips=False)
    assert [tuple(w.shape) for w in with_skips.weights] == [tuple(w.shape) for w in without.weights]
    for skip, up, down in (("skip1", "deconv1_relu", "conv2_relu"), ("skip2", "deconv2_relu", "conv1_relu")):
        assert with_skips.get_layer(skip).input == [with_skips.get_layer(up).output, with_skips.get_layer(down).output]
    without.set_weights(with_skips.get_weights())
    rng = np.random.default_rng(2)
    inputs = [rng.random((1, 32, 32, 3), dtype=np.float32), rng.normal(size=(1, STYLE_VECTOR_SIZE)).astype(np.float32)]
    assert np.abs(np.asarray(with_skips(inputs)) - np.asarray(without(inputs))).max() > 1e-3
    recipe = models.get("arbitrary")
    assert recipe.hyperparameter_values({})["skips"] is False  # a run from before --skips: its network had none
    assert recipe.hyperparameter_values({"skips": True})["skips"] is True and recipe.defaults["skips"] is True


def test_alpha_zero_is_the_photo_own_style_vector():
    predictor, transfer = build_style_predictor(), build_transfer((8, 16, 32), 1)
    networks = deployables(predictor, transfer)
    photo = np.random.default_rng(1).random((1, 32, 32, 3), dtype=np.float32)
    own = np.asarray(predictor(photo))
    anything = np.full((1, STYLE_VECTOR_SIZE), 7.0, np.float32)
    inputs = {"image": photo, STYLE_STATS: anything, ALPHA: np.zeros((1, 1), np.float32)}
    at_zero = np.asarray(networks[TRANSFER](inputs)["stylized"])
    np.testing.assert_allclose(at_zero, np.asarray(transfer([photo, own])), atol=1e-5)


def test_split_follows_the_provenance_split_column(tmp_path, data):
    styles = skimage_folder(tmp_path / "styles", SKIMAGE_PAINTINGS)
    with open(styles / "PROVENANCE.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ("file", "package", "split"))
        writer.writeheader()
        writer.writerows({"file": name, "package": "p", "split": "test" if name.startswith("g") else "train"}
                         for name in SKIMAGE_PAINTINGS)
    train, test = split_styles(styles)
    assert [p.name for p in test] == ["grass.png", "gravel.png"]
    assert [p.name for p in train] == ["brick.png", "hubble_deep_field.jpg", "ihc.png", "retina.jpg"]
    train, test = split_styles(data[1])  # no provenance: AdaIN's every 5th
    assert [p.name for p in test] == ["brick.png", "retina.jpg"]


def recipe(data, **overrides):
    cls = models.get("arbitrary")
    photos, styles = data
    return cls({**cls.defaults, "seed": 1, "content": str(photos), "styles": str(styles), "style_weight": 5.0,
                "vgg_weights": None, "limit": None, "crop_size": 32, "widths": "8,16,32", "residual_blocks": 1,
                "loss_context": 8, **overrides})


@pytest.mark.slow
def test_training_steps_lower_the_loss_of_both_networks(data):
    """Real VGG19 loss, real images: 20 steps on one fixed batch lower the loss, and both P and T
    are what is trained (the VGG19 is not)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(1)
    r = recipe(data, learning_rate=1e-3, distillation_weight=0.0)  # the teacher: the test below
    splits = r.load_data()
    model = r.build(splits.info)
    train, _ = r.pipelines(splits, 2)
    batch = next(iter(train))
    assert batch[0].shape == (2, 32, 32, 3) and batch[1].shape == (2, 32, 32, 3)
    one = tf.data.Dataset.from_tensors(batch)
    before = model.evaluate(one, verbose=0, return_dict=True)
    model.fit(one.repeat(20), epochs=1, verbose=0, shuffle=False)
    after = model.evaluate(one, verbose=0, return_dict=True)
    assert after["loss"] < 0.8 * before["loss"], (before, after)
    assert after["loss"] == pytest.approx(after["content_loss"] + 5.0 * after["style_loss"]
                                          + 1e5 * after["grid_loss"], rel=1e-4)
    assert {v.path for v in model.trainable_variables} == \
        {v.path for v in model.predictor.trainable_variables + model.transfer.trainable_variables}


@pytest.mark.slow
def test_the_gram_term_joins_the_loss_and_the_saved_model_keeps_its_weight(data, tmp_path):
    """--gram-weight adds the Gram matrices' term to the loss with its weight, and a saved run
    reloads (safe mode) with the same weight and layers; without it there is no such term;
    --gram-layers 4 keeps relu4_1's term alone."""
    import keras
    import tensorflow as tf

    from zoo.errors import ZooError
    from zoo.models.arbitrary_mobile import STYLE_LAYERS, encode_in_context
    from zoo.style.losses import gram_matrix

    keras.utils.set_random_seed(1)
    r = recipe(data, distillation_weight=0.0, gram_weight=2.0)
    splits = r.load_data()
    model = r.build(splits.info)
    one = tf.data.Dataset.from_tensors(next(iter(r.pipelines(splits, 2)[0])))
    model.fit(one, epochs=1, verbose=0)
    values = model.evaluate(one, verbose=0, return_dict=True)
    assert values["gram_loss"] > 0
    assert values["loss"] == pytest.approx(values["content_loss"] + 5.0 * values["style_loss"]
                                           + 2.0 * values["gram_loss"] + 1e5 * values["grid_loss"], rel=1e-4)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert loaded.gram_weight == 2.0 and loaded.gram_layers == STYLE_LAYERS
    plain = recipe(data, distillation_weight=0.0).build(splits.info)
    assert "gram_loss" not in plain.evaluate(one, verbose=0, return_dict=True)
    # --gram-layers 4: relu4_1's term alone, of the same network on the same batch.
    deep = recipe(data, distillation_weight=0.0, gram_weight=2.0, gram_layers="4").build(splits.info)
    deep.set_weights(model.get_weights())
    photos_paintings = tuple(next(iter(one)))  # (photos, paintings): x without y
    got, painting = (encode_in_context(model.encoder, images, 8)["block4_conv1"]
                     for images in (model(photos_paintings)["stylized"], photos_paintings[1]))
    relu4_1 = float(np.mean(np.square(np.asarray(gram_matrix(got)) - np.asarray(gram_matrix(painting)))))
    assert deep.gram_layers == ("block4_conv1",)
    deep_gram = deep.evaluate(one, verbose=0, return_dict=True)["gram_loss"]
    assert deep_gram == pytest.approx(relu4_1, rel=2e-2)
    assert deep_gram < values["gram_loss"]
    with pytest.raises(ZooError, match="--gram-layers needs distinct blocks among 1,2,3,4"):
        recipe(data, gram_layers="4,5").build(splits.info)


@pytest.mark.slow
def test_content_layers_sum_instance_normalised_terms_and_survive_saving(data, tmp_path):
    """--content-layers 3,4: the content loss is relu3_1's term plus relu4_1's, each on
    instance-normalised features in context; the default is relu4_1's alone."""
    import keras
    import tensorflow as tf

    from zoo.errors import ZooError
    from zoo.models.arbitrary_mobile import encode_in_context, instance_normalized

    keras.utils.set_random_seed(1)
    r = recipe(data, distillation_weight=0.0, content_layers="3,4")
    splits = r.load_data()
    model = r.build(splits.info)
    one = tf.data.Dataset.from_tensors(next(iter(r.pipelines(splits, 2)[0])))
    photos_paintings = tuple(next(iter(one)))
    got, photo = (encode_in_context(model.encoder, images, 8)
                  for images in (model(photos_paintings)["stylized"], photos_paintings[0]))
    term = {n: float(np.mean(np.square(np.asarray(instance_normalized(got[n]))
                                       - np.asarray(instance_normalized(photo[n])))))
            for n in ("block3_conv1", "block4_conv1")}
    both = model.evaluate(one, verbose=0, return_dict=True)["content_loss"]
    assert both == pytest.approx(term["block3_conv1"] + term["block4_conv1"], rel=2e-2)
    alone = recipe(data, distillation_weight=0.0).build(splits.info)
    alone.set_weights(model.get_weights())
    assert alone.evaluate(one, verbose=0, return_dict=True)["content_loss"] == pytest.approx(term["block4_conv1"],
                                                                                          rel=2e-2)
    model.save(tmp_path / "model.keras")
    assert keras.saving.load_model(tmp_path / "model.keras", safe_mode=True).content_layers == ("block3_conv1",
                                                                                                "block4_conv1")
    with pytest.raises(ZooError, match="--content-layers needs distinct blocks among 1,2,3,4"):
        recipe(data, content_layers="3,3").build(splits.info)


def test_coarse_pictures_drop_a_grid_of_2_and_4_pixels():
    """The distillation compares 4x4 block means: a teacher's mesh of period 2 or 4 (zero mean
    over its period) does not reach the student, its colours and shapes do."""
    from zoo.models.arbitrary_mobile import coarse

    rng = np.random.default_rng(0)
    picture = rng.random((1, 32, 32, 3), dtype=np.float32)
    yy, xx = np.mgrid[:32, :32]
    mesh = (0.1 * ((-1.0) ** (yy + xx)) + 0.05 * np.sign(np.sin(np.pi * (xx + 0.5) / 2)))[None, :, :, None]
    np.testing.assert_allclose(np.asarray(coarse(picture + mesh)), np.asarray(coarse(picture)), atol=1e-6)
    assert np.abs(np.asarray(coarse(picture + 0.1)) - np.asarray(coarse(picture))).min() > 0.099  # colour passes


def test_the_loss_sees_pictures_in_reflected_context_instead_of_vgg_s_grey_frame():
    """With a context the loss's features keep the image's own positions, and those along the
    border are no longer drawn from VGG19's zero padding: a flat picture gives flat relu1_1
    features up to its edge (without it, the edge's differ)."""
    from zoo.models.adain import encode
    from zoo.models.arbitrary_mobile import STYLE_LAYERS, encode_in_context
    from zoo.style.vgg import VGGFeatures

    features = VGGFeatures(list(STYLE_LAYERS))
    flat = np.full((1, 48, 40, 3), 0.8, np.float32)
    plain, framed = encode(features, flat), encode_in_context(features, flat, 16)
    assert {n: tuple(v.shape) for n, v in framed.items()} == {n: tuple(v.shape) for n, v in plain.items()}
    first = np.asarray(framed["block1_conv1"])
    np.testing.assert_allclose(first, np.broadcast_to(first[:, 20:21, 20:21], first.shape), rtol=1e-4, atol=1e-4)
    edge = np.asarray(plain["block1_conv1"])
    assert np.abs(edge[:, 0] - edge[:, 20]).max() > 0.1


@pytest.mark.slow
def test_distillation_adds_the_teacher_term_and_the_teacher_stays_out_of_the_model(data, train_run, tmp_path):
    """With --distillation-weight the loss gains the teacher's term (a tiny AdaIN run here),
    while only P and T train and the saved model holds them alone, so its held-out losses are
    the perceptual ones."""
    import keras
    import tensorflow as tf

    from zoo.errors import ZooError

    keras.utils.set_random_seed(1)
    r = recipe(data, distillation_weight=10.0, teacher=str(train_run("adain")))
    splits = r.load_data()
    model = r.build(splits.info)
    batch = next(iter(r.pipelines(splits, 2)[0]))
    one = tf.data.Dataset.from_tensors(batch)
    model.fit(one.repeat(3), epochs=1, verbose=0, shuffle=False)
    values = model.evaluate(one, verbose=0, return_dict=True)
    assert values["distillation_loss"] > 0
    assert values["loss"] == pytest.approx(values["content_loss"] + 5.0 * values["style_loss"]
                                           + 10.0 * values["distillation_loss"] + 1e5 * values["grid_loss"], rel=1e-4)
    assert {v.path for v in model.trainable_variables} == \
        {v.path for v in model.predictor.trainable_variables + model.transfer.trainable_variables}
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert loaded.teacher is None and len(loaded.weights) == len(model.weights)
    with pytest.raises(ZooError, match="is a 'vae' model, not an AdaIN one"):
        recipe(data, distillation_weight=1.0, teacher="vae-fashion_mnist").teacher()


def test_training_crops_come_from_several_scales(data, tmp_path):
    """A photo that is a left-to-right ramp, resized to a shorter side s, rises by 1/s a pixel:
    crops at one scale would all have one slope, random scales in [32, 80] give slopes from 1/80
    to 1/32."""
    from PIL import Image

    ramp = np.repeat(np.linspace(0, 255, 512)[None, :, None], 512, axis=0).repeat(3, axis=2).astype(np.uint8)
    (tmp_path / "ramps").mkdir()
    for name in ("a.png", "b.png"):  # one is held out
        Image.fromarray(ramp).save(tmp_path / "ramps" / name)
    r = recipe(data, content=str(tmp_path / "ramps"))
    train, _ = r.pipelines(r.load_data(), 1)
    slopes = [np.abs(np.diff(np.asarray(photos[0]), axis=1)).mean() for photos, _ in train.take(40)]
    assert min(slopes) > 0.9 / 80 and max(slopes) < 1.1 / 32 and max(slopes) > 1.8 * min(slopes), slopes


@pytest.fixture(scope="module")
def exported(exported):
    """The tiny CLI run (conftest.TINY_RUNS) as released, exported to every format by the
    exporters, which check every file against Keras (on a second, non-square size too)."""
    return exported("arbitrary")


def test_cli_run_has_held_out_grid_metrics_and_a_small_model(exported, train_run):
    assert (train_run("arbitrary") / "images" / "stylized-epoch-0001.png").is_file()
    metrics = json.loads((exported / "metrics.json").read_text())
    assert min(metrics[k] for k in ("test_content_loss", "test_style_loss", "keras_ms_per_512px_image")) > 0
    assert (exported / "model.keras").stat().st_size < 3_000_000  # the networks alone, no VGG19 (80 MB)


def test_release_card_and_example_paintings(exported, tmp_path):
    """scripts/release_model.py on the tiny run as released: a card with the use, the style corpus
    (held out and trained on), the networks and the loss, and the held-out paintings in styles/ with their
    provenance, which the web page offers and benchmark_grid.py stylizes."""
    from pathlib import Path

    from conftest import release

    dest = release(exported, tmp_path / "arbitrary-release")
    card = (dest / "MODEL_CARD.md").read_text()
    for section in ("## Use", "## Style images", "## Networks and loss", "Content loss at block4_conv1"):
        assert section in card
    _, held = split_styles(Path(json.loads((exported / "config.json").read_text())["styles"]))
    with open(dest / "styles" / "PROVENANCE.csv", newline="", encoding="utf-8") as f:
        assert [row["file"] for row in csv.DictReader(f)] == [p.name for p in held[:6]]
    assert sorted(p.name for p in (dest / "styles").glob("*.*") if p.name != "PROVENANCE.csv") == \
        sorted(p.name for p in held[:6])


def test_exports_connect_as_the_manifest_says_and_use_builtin_ops(exported):
    from ai_edge_litert.interpreter import Interpreter

    from zoo.deploy import runtime
    from zoo.training.runs import load_keras_model

    folder_ = exported / "export"
    manifest = json.loads((folder_ / "manifest.json").read_text())
    assert list(manifest["exportables"]) == [STYLE_ENCODER, TRANSFER]
    assert all({f"{name}.onnx", f"{name}.tflite"} <= set(files) for name, files in manifest["exportables"].items())
    assert manifest["connections"] == [{"from": "style_encoder.style_stats", "to": "transfer.style_stats"}]
    assert manifest["image_multiple"] == 8
    for name in ("style_encoder.tflite", "transfer.tflite"):
        ops = {op["op_name"] for op in Interpreter(model_path=str(folder_ / name))._get_ops_details()}
        assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), (name, ops)
        assert "RESIZE_NEAREST_NEIGHBOR" not in ops and "TRANSPOSE_CONV" not in ops, (name, ops)

    r = models.get("arbitrary")(json.loads((exported / "config.json").read_text()))
    keras_nets = r.exportables(load_keras_model(exported / "model.keras"))
    rng = np.random.default_rng(0)
    painting = rng.random((1, 96, 80, 3), dtype=np.float32)  # any size
    photo = rng.random((1, 40, 72, 3), dtype=np.float32)  # sides multiples of 8, not square
    keras_vector = np.asarray(keras_nets[STYLE_ENCODER](painting)[STYLE_STATS])
    reference = np.asarray(keras_nets[TRANSFER]({"image": photo, STYLE_STATS: keras_vector,
                                                 ALPHA: np.ones((1, 1), np.float32)})["stylized"])
    for kind in ("onnx", "tflite"):
        encoder, transfer = (runtime.load(folder_ / f"{n}.{kind}") for n in (STYLE_ENCODER, TRANSFER))
        vector = encoder(**{STYLE_IMAGE: painting})[STYLE_STATS]
        assert vector.shape == (1, STYLE_VECTOR_SIZE)
        out = transfer(image=photo, style_stats=vector, **{ALPHA: np.ones((1, 1), np.float32)})["stylized"]
        assert out.shape == photo.shape
        np.testing.assert_allclose(out, reference, atol=1e-4)


@pytest.mark.parametrize("runtime_name", ["onnx", "tflite"])
def test_zoo_stylize_runs_it_with_a_painting_a_blend_and_a_strength(exported, data, tmp_path, runtime_name):
    """The user's path: `zoo.stylize PHOTO --model RUN --style painting` (no TensorFlow in the
    runtimes), a blend of two paintings at a strength, as for AdaIN."""
    from PIL import Image

    from zoo.style.arbitrary import is_arbitrary

    photos, styles = data
    assert is_arbitrary(zoo.open(exported)) and is_arbitrary(zoo.open(exported / "model.keras"))
    photo, (a, b) = photos / "coffee.png", sorted(styles.iterdir())[:2]
    out = tmp_path / "out.png"
    result = run_cli("zoo.stylize", photo, "--model", exported, "--runtime", runtime_name, "--style", f"{a}:0.7,{b}:0.3",
                     "--strength", 0.5, "--max-size", 96, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    with Image.open(out) as image, Image.open(photo) as original:
        assert max(image.size) == 96 and abs(image.size[0] / image.size[1] - original.size[0] / original.size[1]) < 0.05


def test_a_painting_without_model_runs_the_released_small_model(exported, data, tmp_path, monkeypatch):
    """`zoo.stylize PHOTO --style painting.jpg` with no --model: the released `arbitrary` model
    (here the tiny one, released through $ZOO_MODELS_DIR), the same picture as naming it; with no
    such release, None: Gatys's optimisation, as before."""
    from PIL import Image

    from zoo.stylize import released_stylizer
    from zoo.training import runs

    photos, styles = data
    painting = sorted(styles.iterdir())[0]
    monkeypatch.setenv("ZOO_MODELS_DIR", str(exported.parent))
    assert released_stylizer(str(painting)) == exported.name
    pictures = []
    for model in ([], ["--model", exported]):
        out = tmp_path / f"out{len(pictures)}.png"
        result = run_cli("zoo.stylize", photos / "coffee.png", "--style", painting, *model, "--max-size", 64,
                         "--out", out, env={"ZOO_MODELS_DIR": str(exported.parent)})
        assert result.returncode == 0, result.stderr[-3000:]
        pictures.append(np.asarray(Image.open(out)))
    np.testing.assert_array_equal(*pictures)
    monkeypatch.delenv("ZOO_MODELS_DIR")
    monkeypatch.setattr(runs, "PROJECT_MODELS_DIR", tmp_path / "no-releases")
    assert released_stylizer(str(painting)) is None


def test_quarter_blocks_start_as_the_identity_so_a_trained_network_can_grow_them():
    """Blocks at 1/4 added to a network by --init-from (`Recipe.grown_weights`) keep their
    initial weights, and the grown network draws the source's pictures; any other missing
    weight is still refused."""
    from zoo.errors import ZooError
    from zoo.training.warm_start import copy_weights

    source, grown = build_transfer((8, 16, 32), 1), build_transfer((8, 16, 32), 1, quarter_blocks=2)
    rng = np.random.default_rng(3)
    for v in source.weights:  # a network far from its initial values, as a trained one is
        v.assign(np.asarray(v) + rng.normal(scale=0.1, size=v.shape).astype(np.float32))
    extra = {v.path for v in grown.weights} - {v.path for v in source.weights}
    assert extra and all(p.startswith("quarter_res") for p in extra)
    assert grown.count_params() > source.count_params()
    with pytest.raises(ZooError, match="weights missing from it"):
        copy_weights(grown, source, "source")
    assert copy_weights(grown, source, "source", models.get("arbitrary")({"quarter_blocks": 2}).grown_weights()) == \
        len(source.weights)
    inputs = [rng.random((2, 48, 64, 3), dtype=np.float32), rng.normal(size=(2, STYLE_VECTOR_SIZE)).astype(np.float32)]
    difference = np.abs(np.asarray(grown(inputs)) - np.asarray(source(inputs)))
    assert difference.max() < 1e-6, difference.max()  # the same pictures
    assert models.get("arbitrary")({}).grown_weights() == ()


def test_detail_head_starts_as_nothing_and_draws_at_full_resolution():
    """The detail head (`--detail-channels`) is grown like the blocks at 1/4: a network given one
    draws its source's pictures, and once its weights move it changes single pixels, which the
    blurred half-resolution picture alone cannot."""
    from zoo.training.warm_start import copy_weights

    source, grown = build_transfer((8, 16, 32), 1), build_transfer((8, 16, 32), 1, detail=4)
    extra = {v.path for v in grown.weights} - {v.path for v in source.weights}
    assert extra and all(p.startswith("detail") for p in extra)
    recipe = models.get("arbitrary")({"detail_channels": 4})
    assert recipe.grown_weights() == ("detail",)
    assert copy_weights(grown, source, "source", recipe.grown_weights()) == len(source.weights)
    rng = np.random.default_rng(5)
    inputs = [rng.random((1, 48, 64, 3), dtype=np.float32), rng.normal(size=(1, STYLE_VECTOR_SIZE)).astype(np.float32)]
    before = np.asarray(grown(inputs))
    assert np.abs(before - np.asarray(source(inputs))).max() < 1e-5  # the same pictures (up to the clipped log-odds)
    for v in grown.weights:
        if v.path.startswith("detail"):
            v.assign(rng.normal(scale=0.5, size=v.shape).astype(np.float32))
    after = np.asarray(grown(inputs))
    assert after.min() >= 0.0 and after.max() <= 1.0
    # the change has energy at a period of 2 pixels, which the [1, 2, 1] blur of the picture removes
    change = (after - before)[0].mean(axis=-1)
    alternating = np.abs(change[:, 1:-1] - 0.5 * (change[:, :-2] + change[:, 2:])).mean()
    assert alternating > 1e-3, alternating
