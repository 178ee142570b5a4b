"""`zoo.train --init-from`: a new run starts from a trained model's weights (here a tiny
stylizer's, fine-tuned with the other upsampling, as the released stylizer was), its config
records where they came from, and the release card shows both commands. A source that does not
fit is one error line, and no run folder is left."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from conftest import ROOT, error_line, run_cli, tiny_flags

sys.path.insert(0, str(ROOT / "scripts"))


def weights(run):
    import zoo.models  # noqa: F401
    from zoo.training.runs import load_keras_model

    return {v.path: np.asarray(v.value) for v in load_keras_model(run / "model.keras").weights}


@pytest.mark.slow
def test_a_run_starts_from_the_weights_of_another_and_its_card_shows_both_commands(train_run, tmp_path,
                                                                                   tmp_path_factory):
    from release_model import making_of

    source = train_run("stylizer")
    new = tmp_path / "fine-tuned"
    # A learning rate of 1e-12 moves no weight visibly: what the run saved is what it started from.
    result = run_cli("zoo.train", "stylizer", *tiny_flags("stylizer", tmp_path_factory), "--epochs", 1,
                     "--upsampling", "nearest", "--learning-rate", 1e-12, "--init-from", source, "--out", new)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"started from the 26 weights of {source}" in result.stderr
    before, after = weights(source), weights(new)
    assert before.keys() == after.keys() and len(before) == 26
    assert max(float(np.max(np.abs(before[k] - after[k]))) for k in before) < 1e-6

    config = json.loads((new / "config.json").read_text())
    source_config = json.loads((source / "config.json").read_text())
    lineage = config["lineage"]
    assert lineage["init_from"] == str(source) and lineage["command"] == source_config["command"]
    assert lineage["train_seconds"] == json.loads((source / "metrics.json").read_text())["train_seconds"] > 0
    lines = making_of(config, "")
    assert lines[0].startswith(f"# 1. the model that --init-from {source} named (model.keras sha256 ")
    assert lines[1:] == [" ".join(source_config["command"]), "# 2. this model, from its weights:",
                         " ".join(config["command"])]

    wide = tmp_path / "wider"  # --widen: twice the channels at full resolution, the source's in the first half
    result = run_cli("zoo.train", "stylizer", *tiny_flags("stylizer", tmp_path_factory), "--epochs", 1,
                     "--learning-rate", 1e-12, "--init-from", source, "--widen",
                     "--widths", "16,16,32", "--out", wide)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((wide / "config.json").read_text())["lineage"]["widen"] is True
    after = weights(wide)
    assert after["in_conv/kernel"].shape == (5, 5, 3, 16) and after["out_conv/kernel"].shape == (3, 3, 16, 3)
    for name, value in before.items():
        leading = after[name][tuple(slice(0, n) for n in value.shape)]
        assert np.abs(leading - value).max() < 1e-6, name
    assert np.abs(after["out_conv/kernel"][:, :, 8:]).max() < 1e-9  # the new channels reach nothing yet


@pytest.mark.slow
def test_a_source_that_does_not_fit_is_one_error_line_and_leaves_no_run(train_run, tmp_path, tmp_path_factory):
    source = train_run("stylizer")
    flags = [*tiny_flags("stylizer", tmp_path_factory), "--epochs", 1]
    out = tmp_path / "run"
    wider = error_line(run_cli("zoo.train", "stylizer", *flags, "--widths", "8,16,48", "--init-from", source,
                               "--out", out))
    assert f"--init-from {source} does not fit this model: " in wider and "of other shapes" in wider
    assert not out.exists()  # refused after the data and the model were built, before any file was written
    other = error_line(run_cli("zoo.train", "stylizer", *flags, "--init-from", ROOT / "saved_models" / "vae-fashion_mnist",
                               "--out", out))
    assert "is a 'vae' model; this run trains 'stylizer'" in other
    both = error_line(run_cli("zoo.train", "stylizer", "--init-from", source, "--resume", source))
    assert "give one" in both
    assert "give --init-from MODEL" in error_line(run_cli("zoo.train", "stylizer", "--widen", "--out", out))
    assert "cannot start wider than its source" in error_line(
        run_cli("zoo.train", "arbitrary", "--init-from", source, "--widen", "--out", out))
    narrower = error_line(run_cli("zoo.train", "stylizer", *flags, "--widths", "8,16,16", "--init-from", source,
                                  "--widen", "--out", out))
    assert "of other shapes" in narrower and "a wider one than it" in narrower
    assert not out.exists()


def test_a_wider_network_starts_as_its_narrower_source_and_its_new_channels_can_learn():
    """`--widen`: the source's weights fill the leading channels, the new channels' outgoing
    weights are zero (Net2Net), so the wider network draws the source's pictures; and those
    zeros get gradients, so the new channels come into use. Without widen, or to a narrower
    network, the source is refused."""
    import keras
    import tensorflow as tf

    from zoo.errors import ZooError
    from zoo.models.stylizer import build_transformer
    from zoo.training.warm_start import copy_weights

    rng = np.random.default_rng(5)
    source, wide = build_transformer(3, (8, 16, 32), 1), build_transformer(3, (16, 24, 40), 1)
    condition = keras.utils.to_categorical([0, 2], 3).astype(np.float32)
    for v in source.weights:  # a network far from its initial values, as a trained one is
        v.assign(np.asarray(v) + rng.normal(scale=0.1, size=v.shape).astype(np.float32))
    with pytest.raises(ZooError, match="of other shapes .* or --widen for wider ones"):
        copy_weights(wide, source, "source")
    with pytest.raises(ZooError, match="of other shapes .* and a wider one than it"):
        copy_weights(source, wide, "source", widen=True)
    assert copy_weights(wide, source, "source", widen=True) == len(source.weights) == len(wide.weights)

    inputs = [rng.random((2, 48, 64, 3), dtype=np.float32), condition]
    difference = np.abs(np.asarray(wide(inputs)) - np.asarray(source(inputs)))
    assert difference.max() < 1e-5, difference.max()  # the same pictures
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(wide(inputs)))
    kernels = [v for v in wide.trainable_weights if v.path.endswith("kernel") and "depthwise" not in v.path]
    grads = tape.gradient(loss, [v.value for v in kernels])
    zeroed = [(v, g) for v, g in zip(kernels, grads) if not np.asarray(v).any(axis=tuple(range(v.ndim - 2)) + (-1,)).all()]
    assert zeroed  # some kernels have input channels that are all zero: the new ones
    for v, g in zeroed:
        dead = ~np.asarray(v).any(axis=tuple(range(v.ndim - 2)) + (-1,))
        assert np.abs(np.asarray(g)[..., dead, :]).max() > 0, v.path  # and they learn
