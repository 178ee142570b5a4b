"""Big photos as phones take them, through the released stylizer: tiled by default on the fast
path (statistics from a downscaled copy, refined on a sample of full-resolution tiles) without
seams and close to the untiled result; and a 108-megapixel JPEG read at reduced size when
--max-size asks for a small result, refused in one line when it does not."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import error_line, run_cli
from exporters.validate import psnr

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "saved_models" / "stylizer-paintings"
pytestmark = pytest.mark.slow  # photos of several megapixels through the released stylizer
PHOTO = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data" / "coffee.png"


def seam(image, rows=(), cols=()) -> float:
    """Mean absolute change across the given pixel rows and columns (between each and the one before)."""
    return float(np.mean([np.abs(image[:, c] - image[:, c - 1]).mean() for c in cols] +
                         [np.abs(image[r] - image[r - 1]).mean() for r in rows]))


class Counting:
    """A runner that counts the pixels it is given (with those of its cut-down copies)."""

    def __init__(self, runner, counts=None):
        self.runner, self.counts = runner, counts if counts is not None else [0]

    @property
    def pixels(self):
        return self.counts[0]

    def __call__(self, **feed):
        self.counts[0] += feed["image"].shape[1] * feed["image"].shape[2]
        return self.runner(**feed)

    def only(self, outputs):
        return Counting(self.runner.only(outputs), self.counts)


def test_the_last_pass_runs_the_tile_network_cut_down_to_its_picture():
    """onnxruntime runs every node of a graph whatever outputs are asked for: the tiles' last
    pass, which needs no statistics, runs the ONNX tile network cut down to its picture (same
    inputs, the same picture); a TFLite runner, which cannot be cut, is itself."""
    from zoo.api import open as open_bundle
    from zoo.style.model import MAIN, TILE
    from zoo.style.tiling import CORE_BOX, NORM_STATS, STYLE_WEIGHTS, STYLIZED

    bundle = open_bundle(RELEASE, "onnx")
    tile = bundle[TILE]
    final = tile.only([STYLIZED])
    assert [s.name for s in final.inputs] == [s.name for s in tile.inputs]
    assert [s.name for s in final.outputs] == [STYLIZED] and len(tile.outputs) == 2
    assert tile.only([STYLIZED]) is final  # cut once: the photos of a folder, the frames of a video reuse it
    photo = np.asarray(Image.open(PHOTO).convert("RGB").resize((256, 192)), np.float32)[None] / 255
    weights = np.eye(bundle[MAIN].inputs[1].shape[-1], dtype=np.float32)[:1]
    feed = {"image": photo, STYLE_WEIGHTS: weights, NORM_STATS: bundle[MAIN](image=photo, style_weights=weights)[NORM_STATS],
            CORE_BOX: np.array([[0.1, 0.1, 0.9, 0.9]], np.float32)}
    np.testing.assert_array_equal(final(**feed)[STYLIZED], tile(**feed)[STYLIZED])
    tflite = open_bundle(RELEASE, "tflite")[TILE]
    assert tflite.only([STYLIZED]) is tflite


def test_default_tiling_is_the_fast_path_and_seamless():
    """A real photo (coffee, 600x400, enlarged to 1800x1200: above the one-pass limit, 2 x 2
    tiles) through zoo.stylize's default: its refining pass reads a sample of the photo, not the
    whole photo once per layer as --exact-stats does; every tile is normalised alike, so the
    borders between tiles look like any other row of pixels; the result is close to the untiled
    one."""
    from zoo.api import open as open_bundle
    from zoo.images import load_rgb, to_float, to_uint8
    from zoo.style.model import TILE, TILE_ABOVE_PIXELS, TILE_SIDE, stylize_image, stylizer_model
    from zoo.style.tiling import STYLE_WEIGHTS, STYLIZED, run_network, stylize_tiled, tile_grid

    model = stylizer_model(open_bundle(RELEASE, "onnx", threads=2, low_memory=(TILE,)))
    photo = np.asarray(Image.fromarray(load_rgb(PHOTO)).resize((1800, 1200), Image.LANCZOS))
    assert photo.shape[0] * photo.shape[1] > TILE_ABOVE_PIXELS
    weights = np.eye(len(model.styles), dtype=np.float32)[model.styles.index("starry_night")]
    inputs = {STYLE_WEIGHTS: weights[None]}
    whole = to_uint8(run_network(model.runner, to_float(photo)[0], inputs)[STYLIZED]).astype(np.float32)
    counting = Counting(model.tile_runner)
    tiled = stylize_image(model._replace(tile_runner=counting), photo, weights).astype(np.float32)
    one_pass = Counting(model.tile_runner)  # the tiles once, with the downscaled copy's statistics
    coarse = stylize_tiled(model.runner, one_pass, photo, inputs, norm_channels=model.norm_channels, tile=TILE_SIDE)
    assert counting.pixels < 2 * one_pass.pixels  # --exact-stats: 16 passes
    assert psnr(whole / 255, tiled / 255) > max(32, psnr(whole / 255, coarse / 255) + 0.5)
    rows, cols = [y0 for y0, _ in tile_grid(1200, TILE_SIDE)[1:]], [x0 for x0, _ in tile_grid(1800, TILE_SIDE)[1:]]
    assert len(rows) == len(cols) == 1
    assert seam(tiled, rows, cols) <= 1.1 * seam(whole, rows, cols) + 0.5
    # ...and at the borders no worse than across any other rows and columns of the picture
    elsewhere = seam(tiled, range(100, 1100, 50), range(100, 1700, 50))
    assert seam(tiled, rows, cols) <= 1.25 * elsewhere


def test_108_megapixel_jpeg_with_max_size(tmp_path):
    """--max-size asks for a small picture: a 12000x9000 JPEG is decoded at 1/8 scale (Pillow's
    draft mode), quickly and in little memory, not refused for its full pixel count; without
    --max-size it stays one clear error line."""
    big = tmp_path / "phone108.jpg"
    Image.open(PHOTO).convert("RGB").resize((12000, 9000), Image.BILINEAR).save(big, quality=75)
    # peak memory from /proc (VmHWM): getrusage's would count the pytest process it was forked from
    probe = ("import re, sys, time; from zoo.images import load_rgb; t = time.perf_counter(); "
             "a = load_rgb(sys.argv[1], max_side=1024); seconds = time.perf_counter() - t; "
             "peak = re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1); "
             "print(a.shape[1], a.shape[0], seconds, peak)")
    result = subprocess.run([sys.executable, "-c", probe, str(big)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    width, height, seconds, peak_kb = result.stdout.split()
    assert (int(width), int(height)) == (1024, 768)
    # decoding the whole file would take 324 MB for its pixels alone
    assert float(seconds) < 10 and int(peak_kb) < 150_000, (seconds, peak_kb)

    out = tmp_path / "small.png"
    result = run_cli("zoo.stylize", big, "--model", RELEASE, "--style", "starry_night", "--max-size", 1024,
                     "--out", out, env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert Image.open(out).size == (1024, 768)

    refused = run_cli("zoo.stylize", big, "--model", RELEASE, "--style", "starry_night", "--out", tmp_path / "full.png",
                      env={"HOME": str(tmp_path)})
    assert "12000x9000 (108 megapixels)" in error_line(refused) and not (tmp_path / "full.png").exists()


def test_only_jpegs_skip_the_full_size_limit(tmp_path):
    """Other formats are decoded whole whatever size is asked for: still refused from the header,
    saying why; a JPEG above the limit is read when a smaller size is asked for."""
    from test_images import png_header_only
    from zoo.errors import ZooError
    from zoo.images import load_rgb

    png_header_only(tmp_path / "big.png", 10000, 6000)
    with pytest.raises(ZooError, match=r"60 megapixels.*downscale it first \(only JPEGs are decoded at reduced"):
        load_rgb(tmp_path / "big.png", max_side=1024)
    Image.fromarray(np.zeros((3000, 2000, 3), np.uint8)).save(tmp_path / "six.jpg")
    with pytest.raises(ZooError, match=r"2000x3000 \(6 megapixels\).*or ask for a smaller size"):
        load_rgb(tmp_path / "six.jpg", max_pixels=5_000_000)
    assert load_rgb(tmp_path / "six.jpg", max_pixels=5_000_000, max_side=512).shape == (512, 341, 3)
