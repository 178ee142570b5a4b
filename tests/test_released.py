"""The models committed in saved_models/ are complete, load in safe mode, and still score what
their model cards say on the real Fashion-MNIST test set."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from zoo.data.sources import DEBIAN_FASHION_MNIST

RELEASED = ROOT / "saved_models"
needs_full_test_set = pytest.mark.skipif(not DEBIAN_FASHION_MNIST.exists(),
                                         reason="needs Debian's dataset-fashion-mnist (installed by .ci/run)")


def released(name):
    folder = RELEASED / f"{name}-fashion_mnist"
    assert folder.is_dir(), f"{folder} is not committed"
    return folder


@pytest.mark.parametrize("name", ["cnn", "vae", "dcgan"])
def test_released_folder_is_complete(name):
    folder = released(name)
    for item in ("model.keras", "config.json", "metrics.json", "MODEL_CARD.md"):
        assert (folder / item).is_file(), item
    card = (folder / "MODEL_CARD.md").read_text()
    assert "python -m zoo.train" in card and "MIT licence" in card
    for picture in Path(folder / "images").glob("*.png"):
        assert f"images/{picture.name}" in card
    assert (folder / "model.keras").stat().st_size < 20_000_000


def test_cards_name_no_path_of_the_machine_that_made_them():
    """A card is read on other machines: data folders as ~/.cache/..., the VGG weights as
    PACKAGE/FILE, runs relative to the project (scripts/release_model.portable_paths)."""
    import sysconfig

    machine = [str(ROOT), str(Path.home()), *(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))]
    cards = sorted(RELEASED.glob("*/MODEL_CARD.md"))
    assert len(cards) >= 5
    for card in cards:
        text = card.read_text(encoding="utf-8")
        assert not [p for p in machine if p in text], card


@pytest.mark.parametrize("name", ["cnn", "vae", "dcgan"])
def test_released_model_loads_in_safe_mode_without_warnings(name):
    """Released for inference: uncompiled, so Keras has no optimizer state to miss and warn about."""
    import keras

    import zoo.models  # noqa: F401  (registers the zoo's layers and models)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.saving.load_model(released(name) / "model.keras", safe_mode=True)
    assert [str(w.message) for w in caught] == []
    assert not model.compiled


def evaluate(name, *flags):
    result = run_cli("zoo.evaluate", released(name), "--dataset", DEBIAN_FASHION_MNIST, "--json", *flags)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), json.loads((released(name) / "metrics.json").read_text())


@needs_full_test_set
def test_released_cnn_scores_what_its_card_says():
    measured, card = evaluate("cnn")
    assert measured["test_images"] == 10000
    assert measured["test_accuracy"] >= 0.930
    assert measured["test_accuracy"] == pytest.approx(card["test_accuracy"], abs=1e-4)


@needs_full_test_set
def test_released_vae_elbo_matches_its_card():
    measured, card = evaluate("vae")
    # One z sample per image: the estimate moves by a fraction of a nat between runs.
    assert measured["test_negative_elbo_nats"] == pytest.approx(card["test_negative_elbo_nats"], abs=1.5)


@needs_full_test_set
def test_released_dcgan_frechet_distance_matches_its_card():
    measured, card = evaluate("dcgan", "--classifier", released("cnn"))
    assert measured["test_frechet_distance_floor"] == pytest.approx(card["test_frechet_distance_floor"], rel=1e-3)
    assert measured["test_frechet_distance_zoo_cnn"] == pytest.approx(card["test_frechet_distance_zoo_cnn"], rel=1e-3)
    assert measured["test_frechet_distance_zoo_cnn"] > measured["test_frechet_distance_floor"]
