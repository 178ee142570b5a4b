"""The models committed in saved_models/ are complete, load in safe mode, and still give the
outputs they gave when released, in Keras and in their exported files."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from conftest import ROOT

RELEASED = ROOT / "saved_models"


def released(name):
    folder = RELEASED / f"{name}-fashion_mnist"
    assert folder.is_dir(), f"{folder} is not committed"
    return folder


@pytest.mark.parametrize("name", ["cnn", "vae", "dcgan", "vqvae", "stylegan"])
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


@pytest.mark.parametrize("name", ["cnn", "vae", "dcgan", "vqvae", "stylegan"])
def test_released_model_loads_in_safe_mode_without_warnings(name):
    """Released for inference: uncompiled, so Keras has no optimizer state to miss and warn about."""
    import keras

    import zoo.models  # noqa: F401  (registers the zoo's layers and models)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.saving.load_model(released(name) / "model.keras", safe_mode=True)
    assert [str(w.message) for w in caught] == []
    assert not model.compiled


RELEASES = sorted(p.parent.name for p in RELEASED.glob("*/MODEL_CARD.md"))


@pytest.mark.slow
@pytest.mark.parametrize("name", RELEASES)
def test_released_files_give_their_reference_outputs(name):
    """Every released model, in Keras and in its float32 ONNX and TFLite files, gives the outputs
    recorded when it was released (exporters.reference): the same model after any refactor or
    upgrade. Its card's figures on the whole test set: scripts/check_released_metrics.py."""
    import zoo
    from exporters import FORMATS
    from exporters.reference import REFERENCE, load
    from exporters.validate import compare

    folder = RELEASED / name
    assert (folder / REFERENCE).is_file(), f"python -m exporters.reference {folder}"
    reference = load(folder / REFERENCE)
    tolerance = {"keras": 1e-5, **{f.format: f.tolerance for f in FORMATS if f.quantize is None}}
    for runtime_name in ("keras", "onnx", "tflite"):
        bundle = zoo.open(folder, runtime_name)
        assert sorted(bundle.runners) == sorted(reference), runtime_name
        for network, (inputs, outputs) in reference.items():
            compare(f"{name} {runtime_name} {network}", outputs, bundle[network](**inputs), tolerance[runtime_name])


@pytest.mark.slow
def test_recorded_references_feed_every_input_of_every_network(tmp_path, capsys):
    """`python -m exporters.reference` on a copy of the released stylizer (whose tile network takes
    statistics that its main network computes) draws the inputs it drew at release, every input
    of every network, and records the outputs the Keras model gives for them."""
    import shutil

    from exporters.reference import REFERENCE, load, main
    from exporters.validate import compare

    copy = shutil.copytree(RELEASED / "stylizer-paintings", tmp_path / "stylizer", ignore=shutil.ignore_patterns(
        "export", "images", REFERENCE))
    assert main([str(copy)]) == 0 and "stylizer, stylizer_tile" in capsys.readouterr().out
    recorded, committed = load(copy / REFERENCE), load(RELEASED / "stylizer-paintings" / REFERENCE)
    for network, (inputs, outputs) in recorded.items():
        # the same inputs (the tile network's statistics are the main network's outputs) and
        # outputs, within 1e-5 of their ranges as test_released_files_give_their_reference_outputs
        for got, kept in zip((inputs, outputs), committed[network]):
            compare(f"{network} recorded again", kept, got, 1e-5)
