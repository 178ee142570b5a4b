"""Typed hyper-parameters (zoo.hparams): each model's dataclass is the one place its flags,
defaults, checks, create_model's keyword arguments and the model card's table come from."""

from __future__ import annotations

import dataclasses
import json

import pytest

import zoo
from conftest import ROOT
from zoo import hparams, models
from zoo.errors import ZooError
from zoo.train import build_parser


@pytest.mark.parametrize("name", models.names())
def test_flags_defaults_and_help_come_from_the_dataclass(name):
    recipe = models.get(name)
    cls = recipe.Hyperparameters
    assert dataclasses.is_dataclass(cls) and issubclass(cls, hparams.Hyperparameters)
    assert recipe.defaults == {f.name: f.default for f in dataclasses.fields(cls)}
    parser = build_parser(name)
    actions = {a.dest: a for a in parser._actions}
    for field, _ in hparams.fields(cls):
        assert field.metadata["help"], field.name
        action = actions[field.name]
        if field.name in hparams.COMMON:  # zoo.train's shared flags: None, so presets and resumed runs keep theirs
            assert action.default is None
            if field.default is not None:
                assert f"(default: {field.default})" in action.help
        else:
            assert action.default == field.default, field.name
    for preset in recipe.presets.values():
        assert set(preset) <= set(recipe.defaults) | set(recipe.data_options)


def test_values_are_checked_by_their_declared_type_choices_and_bounds():
    with pytest.raises(ZooError, match="--dropout takes a number, got 'x'"):
        zoo.create_model("cnn", dropout="x")
    with pytest.raises(ZooError, match="--tta must be one of none, flip, flip\\+shift"):
        zoo.create_model("cnn", tta="flips")
    with pytest.raises(ZooError, match="--latent-dim must be at least 1, got 0"):
        zoo.create_model("vae", latent_dim=0)
    with pytest.raises(ZooError, match="--style-mixing must be at most 1.0, got 1.5"):
        zoo.create_model("stylegan", style_mixing=1.5)
    with pytest.raises(ZooError, match="--spectral-norm takes bool values"):
        zoo.create_model("dcgan", spectral_norm=1)
    assert zoo.create_model("vae", latent_dim=2, learning_rate=1).decoder.inputs[0].shape[-1] == 2


def test_a_preset_that_sets_no_hyper_parameter_is_refused_when_the_model_is_declared():
    from zoo.recipe import Recipe

    with pytest.raises(TypeError, match="preset 'fast' sets \\['dropuot'\\]"):
        type("Misspelt", (Recipe,), {"presets": {"fast": {"dropuot": 0.5}}})


def test_cards_table_the_values_each_release_was_trained_with():
    """Every field with the run's value, and for a run from before a field existed the value it
    used (the stylizer released before --upsampling: nearest), not today's default."""
    for card in sorted((ROOT / "saved_models").glob("*/MODEL_CARD.md")):
        config = json.loads((card.parent / "config.json").read_text())
        recipe = models.get(config["model"])
        rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1]
                for line in card.read_text().splitlines() if line.startswith("| ") and line.count(" | ") == 3}
        for name, value in recipe.hyperparameter_values(config).items():
            assert rows[name] == ("none" if value is None else str(value)), (card, name)
    stylizer = json.loads((ROOT / "saved_models" / "stylizer-paintings" / "config.json").read_text())
    assert "upsampling" not in stylizer and models.get("stylizer")(stylizer).hp.upsampling == "nearest"


@pytest.mark.parametrize("model", ["cnn", "stylizer", "adain", "arbitrary"])
def test_widths_are_three_positive_channel_counts_for_every_model_that_has_them(model):
    recipe = models.get(model)
    config = {**recipe.defaults, "style_files": []}  # a stylizer run's resolved --styles
    assert recipe({**config, "widths": "8,16,32"}).widths == (8, 16, 32)
    for bad in ("8,16", "8,16,x", "8,0,32", ""):
        with pytest.raises(ZooError, match=f"--widths needs 3 positive channel counts, got '{bad}'"):
            recipe({**config, "widths": bad}).widths
