"""Gatys et al.'s optimisation with real VGG19 weights, on small images so it takes seconds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from zoo.images import load_rgb, to_float

SKIMAGE_DATA = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data"


@pytest.fixture(scope="module")
def gatys():
    from zoo.style.gatys import Gatys
    from zoo.style.losses import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, PerceptualLoss
    from zoo.style.vgg import VGGFeatures

    style = to_float(load_rgb(SKIMAGE_DATA / "ihc.png", max_side=96))
    features = VGGFeatures(GATYS_STYLE_LAYERS + GATYS_CONTENT_LAYERS)
    # No XLA here: compiling takes longer than these few small steps (the CLI test covers XLA).
    loss = PerceptualLoss(features, style, content_layers=GATYS_CONTENT_LAYERS, style_layers=GATYS_STYLE_LAYERS,
                          content_weight=1.0, style_weight=1e-4, tv_weight=1e5)
    return Gatys(loss, jit_compile=False)


@pytest.fixture(scope="module")
def content():
    return to_float(load_rgb(SKIMAGE_DATA / "chelsea.png", max_side=64))


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_optimisation_moves_towards_the_style(gatys, content, optimizer):
    before = gatys.evaluate(content, content)
    image, history = gatys.run(content, steps=12, optimizer=optimizer, learning_rate=0.03)
    after = gatys.evaluate(image, content)
    assert image.shape == content.shape and 0 <= image.min() and image.max() <= 1
    assert len(history) >= 10 and history[-1][1] < history[0][1]
    assert after[0] < 0.5 * before[0], (before, after)  # total loss at least halved
    assert after[2] < 0.5 * before[2]  # mostly by matching the style's Gram matrices
    assert after[1] > before[1] == 0.0  # paid for with some content


def test_multiscale_starts_fine_scale_from_the_coarse_result(gatys, content):
    image, history = gatys.run(content, steps=4, scales=(0.5, 1.0))
    assert image.shape == content.shape and len(history) == 8
    # the fine scale starts from the upsampled coarse result, well below the photo's own loss
    assert history[4][1] < gatys.evaluate(content, content)[0]


@pytest.mark.slow
def test_cli_optimize_writes_result_and_comparison(tmp_path):
    out = tmp_path / "result.png"
    result = run_cli("zoo.stylize", SKIMAGE_DATA / "coffee.png", "--style", SKIMAGE_DATA / "ihc.png",
                     "--method", "optimize", "--size", 64, "--steps", 5, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Image.open(out).size == (64, 43)
    assert Image.open(tmp_path / "result_compare.png").width > 3 * 43
    assert "VGG19 weights:" in result.stderr and "losses: total" in result.stderr
    assert "step" in result.stderr  # the progress bar


def test_cli_bad_input(tmp_path, capsys):
    from zoo.stylize import main

    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tiny)
    photo = str(SKIMAGE_DATA / "coffee.png")
    for argv, message in [
        ([photo, "--method", "optimize"], "needs --style"),
        ([photo, "--style", str(tiny), "--size", "64"], "at least 32 pixels"),
        ([str(tmp_path / "nope.jpg"), "--style", str(tiny)], "does not exist"),
        ([photo, "--style", photo, "--scales", "2"], "--scales"),
    ]:
        assert main(argv) == 2
        assert message in capsys.readouterr().err
