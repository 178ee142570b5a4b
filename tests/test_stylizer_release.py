"""The released stylizers in saved_models/stylizer-*/: complete, small, and every file stylizes a
photo like the Keras model does, so a new user can stylize offline without training."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from exporters.validate import psnr

ROOT = Path(__file__).resolve().parents[1]
RELEASES = sorted(ROOT.glob("saved_models/stylizer-*/"))
FILES = ("model.keras", "model.onnx", "model.tflite", "model_fp16.tflite", "model_dynamic_int8.tflite",
         "manifest.json", "MODEL_CARD.md", "style.jpg", "config.json")
PHOTO = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data" / "coffee.png"  # held out


def test_at_least_two_styles_are_released():
    assert len(RELEASES) >= 2, RELEASES


@pytest.fixture(scope="module", params=RELEASES, ids=lambda p: p.name)
def release(request):
    return request.param


def test_release_is_complete_and_small(release):
    for name in FILES:
        assert (release / name).is_file(), f"{release.name} lacks {name}"
    assert (release / "model_dynamic_int8.tflite").stat().st_size < 2_000_000
    assert all(f.stat().st_size < 20_000_000 for f in release.iterdir() if f.is_file())
    card = (release / "MODEL_CARD.md").read_text()
    for needed in ("Licence", "VGG19 weights", "PSNR", "style loss"):
        assert needed in card, f"MODEL_CARD.md of {release.name} does not mention {needed}"
    assert list(release.glob("images/*.png")), "no sample pictures"


def test_every_file_stylizes_like_keras(release, tmp_path, monkeypatch):
    from zoo.images import load_rgb
    from zoo.stylize import open_model, stylize

    monkeypatch.setenv("HOME", str(tmp_path))  # onnxruntime writes a cache under $HOME
    photo = load_rgb(PHOTO, max_side=200)
    reference = stylize(open_model(release, "keras")[0], photo).astype(np.float32)
    assert reference.shape == photo.shape and reference.std() > 5  # an image, not a flat colour
    for name, floor_db in (("model.onnx", 40), ("model.tflite", 40), ("model_fp16.tflite", 30),
                           ("model_dynamic_int8.tflite", 20)):
        out = stylize(open_model(release / name)[0], photo).astype(np.float32)
        db = psnr(reference / 255, out / 255)
        assert db > floor_db, (name, db)
