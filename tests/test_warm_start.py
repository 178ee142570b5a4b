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
    assert not out.exists()
