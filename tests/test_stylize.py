"""`zoo.stylize --model` on a copy of the released ten-style stylizer (`conftest.run_dir`: its run
folder with model.keras and the exports of `python -m exporters`): Keras, ONNX and TFLite agree;
styles are named, listed and blended; strength and preserve-colour do what they promise to the
pixel; folders of photos carry on past bad files; the TFLite and ONNX paths run with TensorFlow
made unimportable; bad input gives one `error:` line and writes nothing. Videos are in
test_video.py, on the same run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import zoo

from conftest import RELEASED_STYLIZER, SKIMAGE_DATA, run_cli, run_without_tensorflow
from exporters.validate import psnr

PHOTO = SKIMAGE_DATA / "chelsea.png"  # 451x300: 451 is not a multiple of 4, so padding is exercised
STYLES = json.loads((RELEASED_STYLIZER / "config.json").read_text())["style_names"]


def padded(weights) -> np.ndarray:
    """Style weights for the first styles, zero for the others."""
    return np.pad(np.asarray(weights, np.float32), (0, len(STYLES) - len(weights)))


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # onnxruntime writes a cache under $HOME


def stylize_cli(capsys, *argv):
    """(exit status, stdout, stderr) of zoo.stylize's main() run in this process."""
    from zoo.stylize import main

    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def read(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_run_folder_names_its_styles(run_dir):
    assert len(STYLES) == 10 and all((run_dir / "styles" / f"{name}.jpg").is_file() for name in STYLES)
    assert json.loads((run_dir / "export" / "manifest.json").read_text())["styles"] == STYLES
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert all(metrics[f"test_style_loss/{name}"] > 0 for name in STYLES)


def test_runtimes_agree_with_keras(run_dir):
    from zoo.images import load_rgb
    from zoo.style.model import stylize_image, stylizer_model

    photo = load_rgb(PHOTO)
    keras = stylizer_model(zoo.open(run_dir, "keras"))
    assert keras.styles == STYLES
    for weights in (np.eye(len(STYLES))[1], padded([0.2, 0.5, 0.3])):
        reference = stylize_image(keras, photo, weights).astype(np.float32)
        assert reference.shape == (300, 451, 3)
        for model, runtime in ((run_dir, "onnx"), (run_dir, "tflite"), (run_dir / "export" / "stylizer.tflite", None),
                               (run_dir / "model.keras", None)):
            opened = stylizer_model(zoo.open(model, runtime))
            assert opened.styles == STYLES, (model, runtime)
            out = stylize_image(opened, photo, weights).astype(np.float32)
            assert psnr(reference / 255, out / 255) > 40, (model, runtime, weights)


def test_list_styles(run_dir, capsys):
    for runtime in ("onnx", "tflite", "keras"):
        rc, out, _ = stylize_cli(capsys, "--model", run_dir, "--runtime", runtime, "--list-styles")
        assert rc == 0 and out.splitlines() == STYLES, (runtime, out)


def test_blends_weigh_styles(run_dir, tmp_path, capsys):
    """'great_wave:1,composition_viii:0' is 'great_wave' bit for bit; weights are relative; a blend
    lies between its styles."""
    from zoo.style.weights import parse_weights

    assert STYLES[1:3] == ["great_wave", "composition_viii"]
    np.testing.assert_allclose(parse_weights("great_wave:2,composition_viii:1", STYLES), padded([0, 2 / 3, 1 / 3]),
                               rtol=1e-6)
    np.testing.assert_array_equal(parse_weights("great_wave,composition_viii", STYLES), padded([0, 0.5, 0.5]))
    results = {}
    for spec in ("great_wave", "great_wave:1,composition_viii:0", "composition_viii",
                 "great_wave:0.5,composition_viii:0.5"):
        out = tmp_path / f"{spec.replace(':', '_').replace(',', '+')}.png"
        rc, stdout, err = stylize_cli(capsys, PHOTO, "--model", run_dir, "--runtime", "onnx", "--style", spec,
                                      "--out", out)
        assert rc == 0, err
        results[spec] = read(out).astype(np.float32)
    np.testing.assert_array_equal(results["great_wave"], results["great_wave:1,composition_viii:0"])
    wave, composition = results["great_wave"], results["composition_viii"]
    mixed = results["great_wave:0.5,composition_viii:0.5"]
    assert np.abs(wave - composition).mean() > 10  # two paintings far apart
    assert np.abs(mixed - wave).mean() < np.abs(composition - wave).mean()
    assert np.abs(mixed - composition).mean() < np.abs(composition - wave).mean()


def test_strength(run_dir, tmp_path, capsys):
    """0 gives back the photo bit for bit; 0.5 is the pixel-space midpoint of photo and style."""
    photo = read(PHOTO).astype(np.float32)
    outs = {}
    for strength in ("0", "0.5", "1"):
        outs[strength] = tmp_path / f"s{strength}.png"
        rc, _, err = stylize_cli(capsys, PHOTO, "--model", run_dir, "--runtime", "tflite", "--style", "great_wave",
                                 "--strength", strength, "--out", outs[strength])
        assert rc == 0, err
    np.testing.assert_array_equal(read(outs["0"]), photo.astype(np.uint8))
    full, half = read(outs["1"]).astype(np.float32), read(outs["0.5"]).astype(np.float32)
    assert np.abs(half - (photo + full) / 2).max() <= 1.0  # rounding only
    assert np.abs(full - photo).mean() > 5


def test_preserve_color_keeps_the_photos_chroma(run_dir, tmp_path, capsys):
    def ycbcr(image):
        return np.asarray(Image.fromarray(image).convert("YCbCr"), np.float32)

    plain, kept = tmp_path / "plain.png", tmp_path / "kept.png"
    for out, extra in ((plain, []), (kept, ["--preserve-color"])):
        rc, _, err = stylize_cli(capsys, PHOTO, "--model", run_dir, "--runtime", "onnx", "--style", "starry_night",
                                 "--out", out, *extra)
        assert rc == 0, err
    photo, stylized, result = ycbcr(read(PHOTO)), ycbcr(read(plain)), ycbcr(read(kept))
    chroma_error = np.abs(result[..., 1:] - photo[..., 1:]).mean()
    assert chroma_error < 1.5, chroma_error  # RGB rounding and gamut clipping only
    assert np.abs(stylized[..., 1:] - photo[..., 1:]).mean() > 3 * chroma_error  # the style did change them
    assert np.abs(result[..., 0] - stylized[..., 0]).mean() < 1.5  # the luminance is the stylized one


def test_max_size_and_big_jpegs(run_dir, tmp_path, capsys, monkeypatch):
    """Without --max-size a photo keeps its size (no silent cap); with it the longer side is the
    cap, and a big JPEG is decoded at a reduced scale (Pillow draft), never whole."""
    from PIL import JpegImagePlugin

    big = tmp_path / "big.jpg"
    Image.open(PHOTO).convert("RGB").resize((4510, 3000), Image.BILINEAR).save(big, quality=80)
    drafts = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size, *args):
        result = original(self, mode, size, *args)
        drafts.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    out = tmp_path / "small.png"
    rc, _, err = stylize_cli(capsys, big, "--model", run_dir, "--runtime", "onnx", "--style", "great_wave",
                             "--max-size", 400, "--out", out)
    assert rc == 0, err
    assert Image.open(out).size == (400, 266)
    assert drafts and max(drafts[-1]) <= 4510 / 4 + 1, drafts  # decoded at 1/4 scale or less
    rc, _, err = stylize_cli(capsys, PHOTO, "--model", run_dir, "--runtime", "onnx", "--style", "great_wave",
                             "--out", tmp_path / "full.png")
    assert rc == 0 and Image.open(tmp_path / "full.png").size == (451, 300)


def test_folder_of_photos(run_dir, tmp_path, capsys):
    photos, results = tmp_path / "photos", tmp_path / "results"
    photos.mkdir()
    Image.open(PHOTO).save(photos / "cat.png")
    Image.open(SKIMAGE_DATA / "coffee.png").convert("RGB").save(photos / "coffee.jpg")
    (photos / ".hidden").write_text("ignored")
    rc, out, err = stylize_cli(capsys, photos, "--model", run_dir, "--runtime", "onnx", "--style", "great_wave",
                               "--max-size", 128, "--out", results)
    assert rc == 0, err
    assert sorted(p.name for p in results.iterdir()) == ["cat.png", "coffee.png"]
    assert Image.open(results / "cat.png").size == (128, 85)
    assert "2 of 2 photos" in out and "photo/s" in err  # the summary and the progress bar
    (photos / "cut.jpg").write_bytes((SKIMAGE_DATA / "rocket.jpg").read_bytes()[:3000])
    (photos / "notes.txt").write_text("not a photo")
    rc, out, err = stylize_cli(capsys, photos, "--model", run_dir, "--runtime", "onnx", "--style", "great_wave",
                               "--max-size", 64, "--out", results)
    assert rc == 1, err
    assert "skipped cut.jpg: cannot decode image" in err and "skipped notes.txt" in err
    assert "2 of 4 photos" in out and "2 skipped" in out
    assert sorted(p.name for p in results.iterdir()) == ["cat.png", "coffee.png"]
    assert Image.open(results / "cat.png").size == (64, 43)  # rewritten
    (photos / "cat.jpg").write_bytes(b"")
    rc, _, err = stylize_cli(capsys, photos, "--model", run_dir, "--runtime", "onnx", "--style", "great_wave",
                             "--out", results)
    assert rc == 2 and "cat.jpg and cat.png would both be written" in err


@pytest.mark.parametrize("runtime", ["tflite", "onnx"])
def test_deploy_path_needs_no_tensorflow(tmp_path, run_dir, runtime):
    out = tmp_path / "phone.png"
    result = run_without_tensorflow(tmp_path, "zoo.stylize", PHOTO, "--model", run_dir, "--runtime", runtime,
                                    "--style", "great_wave:0.7,composition_viii:0.3", "--strength", 0.8,
                                    "--preserve-color", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Image.open(out).size == (451, 300)
    result = run_without_tensorflow(tmp_path, "zoo.stylize", "--model", run_dir, "--runtime", runtime, "--list-styles")
    assert result.returncode == 0 and result.stdout.split() == STYLES, result.stderr[-3000:]


def test_bad_input_is_one_error_line_and_writes_nothing(tmp_path, run_dir, capsys):
    photo, out = str(PHOTO), tmp_path / "out"
    model = ["--model", str(run_dir), "--runtime", "onnx"]
    (tmp_path / "broken.onnx").write_bytes(b"not onnx")
    unlisted = tmp_path / "unlisted" / "tile.onnx"  # a tile network alone: no manifest names a stylizer beside it
    unlisted.parent.mkdir()
    unlisted.write_bytes((run_dir / "export" / "stylizer_tile.onnx").read_bytes())
    (tmp_path / "cut.jpg").write_bytes((SKIMAGE_DATA / "rocket.jpg").read_bytes()[:5000])
    known = ", ".join(STYLES)
    for argv, message in [
        ([photo, "--model", str(tmp_path / "missing")], "no released model or file"),
        ([photo, "--model", str(tmp_path / "broken.onnx")], "broken.onnx"),
        ([photo, "--model", str(run_dir / "export" / "stylizer.onnx"), "--runtime", "tflite"], "cannot run stylizer.onnx"),
        ([photo, "--model", str(tmp_path)], "no manifest.json"),
        ([str(tmp_path / "cut.jpg"), *model, "--style", "great_wave"], "cannot decode image"),
        ([photo, *model], f"this model has {len(STYLES)} styles; choose with --style NAME or --style NAME:0.7,OTHER:0.3: {known}"),
        ([photo, *model, "--style", "hubble_deep_field"], f"unknown style 'hubble_deep_field' in --style 'hubble_deep_field'; "
                                                     f"this model's styles: {known}"),
        ([photo, *model, "--style", "great_wave:0.5,great_wave:0.5"], "named twice"),
        ([photo, *model, "--style", "great_wave:-0.3,composition_viii:1"],
         "weight of style 'great_wave' in --style 'great_wave:-0.3,composition_viii:1' must be"),
        ([photo, *model, "--style", "great_wave:lots"], "must be a number >= 0, got 'lots'"),
        ([photo, *model, "--style", "great_wave:nan"], "must be a number >= 0, got 'nan'"),
        ([photo, *model, "--style", "great_wave:0,composition_viii:0"], "all zero"),
        ([photo, *model, "--style", "great_wave", "--strength", "1.5"], "--strength must be between 0 and 1"),
        ([photo, *model, "--style", "great_wave", "--strength", "-0.1"], "--strength must be between 0 and 1"),
        ([photo, *model, "--style", "great_wave", "--max-size", "4"], "--max-size must be at least 8"),
        ([photo, *model, "--style", "great_wave", "--deflicker", "0.5"], "--deflicker applies to videos only"),
        (["--list-styles"], "--list-styles needs --model"),
        ([*model, "--style", "great_wave"], "give a photo, a folder of photos or a video"),
        ([photo, "--model", str(unlisted)], "not a multi-style stylizer (it has no stylizer network)"),
    ]:
        rc, _, err = stylize_cli(capsys, *argv, "--out", out)
        assert rc == 2, (argv, err)
        assert message in err and err.startswith("error: ") and len(err.strip().splitlines()) == 1, (argv, err)
        assert not list(tmp_path.glob("out*")), argv


def test_cli_writes_result_and_comparison(tmp_path, run_dir):
    out = tmp_path / "cat.jpg"
    result = run_cli("zoo.stylize", PHOTO, "--model", run_dir, "--runtime", "keras", "--style", "composition_viii",
                     "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Image.open(out).size == (451, 300) and Image.open(out).format == "JPEG"
    assert (tmp_path / "cat_compare.png").is_file()


def seam(image, at):
    """Mean absolute change between the pixel rows and the columns on either side of `at`."""
    return float(np.abs(image[:, at] - image[:, at - 1]).mean() + np.abs(image[at] - image[at - 1]).mean())


def big_photo_and_whole(model, inputs):
    """A photo of 3 x 2 tiles of 256 px (704 x 468) and its one-pass stylization. zoo.stylize
    tiles only above `TILE_ABOVE_PIXELS`, in bigger tiles (test_big_photos.py); the arithmetic
    of tiles, margins and statistics is the same at any tile size, at a fraction of the time."""
    from zoo.images import load_rgb, to_float, to_uint8
    from zoo.style.tiling import STYLIZED, run_network

    photo = np.asarray(Image.fromarray(load_rgb(PHOTO)).resize((704, 468), Image.LANCZOS))
    return photo, to_uint8(run_network(model.runner, to_float(photo)[0], inputs)[STYLIZED]).astype(np.float32)


def test_big_photos_go_through_in_tiles_without_seams(run_dir):
    """Tiles are normalised with the same statistics. With --exact-stats they are refined layer
    by layer from the tiles' own moments until they are the photo's: the tiles rebuild the
    one-pass result, and no seam shows. zoo.stylize's default (a sample of the tiles refines the
    first layer) is checked on a released photo-sized case in test_big_photos.py."""
    from zoo.style.model import stylizer_model
    from zoo.style.tiling import STYLE_WEIGHTS, statistics_plan, stylize_tiled, tile_grid

    model = stylizer_model(zoo.open(run_dir, "onnx"))
    assert model.tile_runner is not None and model.tile_runner.path.name == "stylizer_tile.onnx"
    inputs = {STYLE_WEIGHTS: padded([0.2, 0.8])[None]}
    photo, whole = big_photo_and_whole(model, inputs)
    tiles = []
    tiled = stylize_tiled(model.runner, model.tile_runner, photo, inputs, norm_channels=model.norm_channels, tile=256,
                          stats_pixels=80_000, progress=lambda done, total: tiles.append((done, total)),
                          **statistics_plan(exact=True))
    layers = len(model.norm_channels)
    assert tiles[-1] == (6 * (1 + layers),) * 2  # 6 tiles, a pass for the downscaled statistics and one per layer
    assert psnr(whole / 255, tiled / 255) >= 45  # the photo's own statistics: only rounding differs
    border = tile_grid(photo.shape[0], 256)[1][0]  # where the second row of tiles starts, and the second column
    assert border == tile_grid(photo.shape[1], 256)[1][0]
    assert seam(tiled.astype(np.float32), border) <= 1.1 * seam(whole, border) + 0.5
    # without the refining passes the downscaled photo's statistics leave the result further off
    coarse = stylize_tiled(model.runner, model.tile_runner, photo, inputs, norm_channels=model.norm_channels, refine=0,
                           tile=256, stats_pixels=80_000)
    assert psnr(whole / 255, tiled / 255) > psnr(whole / 255, coarse / 255) + 3


def test_tflite_tiles_rebuild_the_one_pass_result(run_dir):
    """The TFLite tile network, given the photo's statistics (taken in one pass), gives the
    one-pass result: what the refining passes converge to, checked above on ONNX."""
    from zoo.style.model import stylizer_model
    from zoo.style.tiling import STYLE_WEIGHTS, stylize_tiled

    model = stylizer_model(zoo.open(run_dir, "tflite"))
    assert model.tile_runner.path.name == "stylizer_tile.tflite"
    inputs = {STYLE_WEIGHTS: padded([0.2, 0.8])[None]}
    photo, whole = big_photo_and_whole(model, inputs)
    exact = stylize_tiled(model.runner, model.tile_runner, photo, inputs, tile=256, stats_pixels=photo.size)
    assert psnr(whole / 255, exact / 255) >= 45


def test_style_names_find_the_released_stylizer(tmp_path, capsys):
    """No --model: `--style starry_night` (or a blend of names) runs the released stylizer that
    knows the names, as `--model stylizer-paintings` does; a name no release knows is one error
    line that lists the released styles (an image file: test_arbitrary_mobile)."""
    out = tmp_path / "out.png"
    rc, stdout, err = stylize_cli(capsys, PHOTO, "--style", "starry_night:0.7,great_wave:0.3", "--max-size", 64,
                                  "--out", out)
    assert rc == 0, err
    by_name = tmp_path / "by_name.png"
    rc, _, err = stylize_cli(capsys, PHOTO, "--model", "stylizer-paintings", "--style", "starry_night:0.7,great_wave:0.3",
                             "--max-size", 64, "--out", by_name)
    assert rc == 0, err
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(by_name)))
    rc, _, err = stylize_cli(capsys, PHOTO, "--style", "starry_nite", "--out", tmp_path / "x.png")
    assert rc == 2 and "no released stylizer knows the style 'starry_nite'" in err and "starry_night" in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "x.png").exists()
