"""`python -m zoo.train` and `python -m zoo.evaluate` end to end, as a user runs them: a complete
run folder of every model, its metrics, and one error line for every mistake (the refusals by
their `main()` in this process; test_cli_errors.py checks a real process's exit). Resuming is in
test_train_resume.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import call_cli, error_line, run_cli
from zoo import models
from zoo.names import Task


def read(path):
    return json.loads(path.read_text())


def assert_picture(path):
    with Image.open(path) as im:
        assert im.format == {".png": "PNG", ".jpg": "JPEG"}[path.suffix] and im.width > 20 and im.height > 20


# Pictures beyond loss_curves.png that a finished two-epoch run of each model holds; a model
# not listed is checked for loss_curves.png and for every other picture being readable.
PICTURES = {
    "cnn": ["confusion_matrix.png", "worst_predictions.png"],
    "vae": ["samples_epoch_001.png", "samples_epoch_002.png", "reconstructions.png", "latent_walk.png", "samples.png"],
    "dcgan": ["samples_epoch_001.png", "samples_epoch_002.png", "samples.png"],
    "stylegan": ["samples_epoch_001.png", "samples_epoch_002.png", "samples.png", "style_mixing.png",
                 "truncation_sweep.png"],
    "stylizer": ["stylized-epoch-0001.png", "stylized-epoch-0002.png", "contact_sheet.jpg"],
    "adain": ["stylized-epoch-0001.png", "stylized-epoch-0002.png"],
    "vqvae": ["samples_epoch_001.png", "samples_epoch_002.png", "reconstructions.png", "codebook_usage.png",
              "samples.png"],
}


@pytest.mark.parametrize("model", models.names())
def test_train_writes_a_complete_run_folder(train_run, model):
    run = train_run(model)
    config = read(run / "config.json")
    assert config["model"] == model and config["epochs"] == 2
    assert config["versions"]["keras"].startswith("3.") and config["device"]  # what the training times were on
    assert (run / "model.keras").is_file()
    state = read(run / "checkpoint" / "state.json")
    assert state["epoch"] == 2 and (run / "checkpoint" / state["weights"]).is_file()
    assert len(state["history"]) == 2
    assert list((run / "logs").rglob("events.out.tfevents.*")), "no TensorBoard logs"
    metrics = read(run / "metrics.json")
    assert metrics["epochs"] == 2 and any(k.startswith("test_") for k in metrics)
    assert metrics["wall_seconds_this_session"] > metrics["train_seconds_this_session"] > 0
    pictures = {p.name for p in (run / "images").iterdir()}
    assert {"loss_curves.png", *PICTURES.get(model, [])} <= pictures
    for name in pictures:
        assert_picture(run / "images" / name)


@pytest.mark.parametrize("model", models.names())
def test_evaluate_prints_the_runs_test_metrics_as_json(train_run, model, capsys):
    """zoo.evaluate measures what the finished run measured, with each metric's note (its main()
    in this process: its exit status and error lines are checked from a shell elsewhere)."""
    from zoo.evaluate import main

    run = train_run(model)
    capsys.readouterr()
    assert main([str(run), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    tested = sorted(k for k in read(run / "metrics.json") if k.startswith("test_"))
    assert tested and sorted(k for k in metrics if k.startswith("test_")) == tested
    assert all(np.isfinite(metrics[k]) for k in tested)
    recipe = models.get(model)
    for metric, note in recipe.metric_notes.items():
        assert metric not in metrics or note in metrics["note"]
    if recipe.task == Task.CLASSIFIER:
        assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_images"] > 0
    if recipe.task == Task.VQ_VAE:  # pixels in [0, 1]; nats per code below log(K), uniform codes' entropy
        assert 0 < metrics["test_reconstruction_mse"] < 0.2
        assert 0 < metrics["test_prior_nll_nats_per_code"] < np.log(recipe.defaults["num_codes"])
        assert 1 <= metrics["test_perplexity"] <= metrics["test_codes_used"] <= recipe.defaults["num_codes"]
    if recipe.task == Task.VAE:
        # Negative ELBO of 28x28 images in nats: below the ~543 nats of a decoder that knows nothing.
        assert 0 < metrics["test_negative_elbo_nats"] < 784 * np.log(2)
        assert metrics["test_negative_elbo_nats"] == pytest.approx(
            metrics["test_reconstruction_nats"] + metrics["test_kl_nats"], rel=1e-4)


def test_dcgan_frechet_distance_uses_the_zoo_cnn(train_run):
    # monitored after every epoch on the validation images, with the released CNN's features
    history = read(train_run("dcgan") / "checkpoint" / "state.json")["history"]
    assert [h["epoch"] for h in history] == [1, 2] and all(h["val_frechet_distance"] > 0 for h in history)
    result = run_cli("zoo.evaluate", train_run("dcgan"), "--classifier", train_run("cnn"), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert "not Inception" in metrics["note"]
    assert metrics["test_frechet_distance_zoo_cnn"] > metrics["test_frechet_distance_floor"] >= 0


@pytest.mark.parametrize("args,expected", [
    (["nope"], "invalid choice: 'nope'"),
    (["vae", "--dataset", "no_such_dataset"], "unknown dataset 'no_such_dataset'"),
    (["vae", "--dataset", "./missing-folder"], "does not exist"),
    (["vae", "--epochs", "-3"], "--epochs must be at least 1"),
    (["vae", "--learning-rate", "0"], "--learning-rate must be positive"),
    (["vae", "--time-limit", "0"], "--time-limit must be a positive number of minutes"),
    (["vae", "--out", "/proc/version/run"], "cannot write /proc/version/run: "),
])
def test_bad_input_gets_one_line(args, expected, capsys):
    assert expected in error_line(call_cli(capsys, "zoo.train", *args))


def test_bad_data_folders_get_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert "no usable images" in error_line(call_cli(capsys, "zoo.train", "vae", "--dataset", tmp_path / "empty"))
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "readme.txt").write_text("hi")
    assert "no usable images" in error_line(call_cli(capsys, "zoo.train", "dcgan", "--dataset", tmp_path / "text"))
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    (idx / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    assert "cannot read IDX" in error_line(call_cli(capsys, "zoo.train", "cnn", "--dataset", idx))


def test_a_batch_bigger_than_the_training_set_is_refused_before_the_run_folder(tmp_path, capsys):
    """Training sees whole batches only (zoo.recipe.Recipe.pipelines). The refused run, in this
    process, leaves Keras's global dtype policy as it was (mixed precision was set by then)."""
    import keras

    result = call_cli(capsys, "zoo.train", "vae", "--limit", 50, "--batch-size", 64, "--mixed-precision",
                      "--out", tmp_path / "run")
    assert "--batch-size 64 is more than the 45 training images" in error_line(result)
    assert not (tmp_path / "run").exists()
    assert keras.mixed_precision.global_policy().name == "float32"


def test_unlabelled_folder_is_refused_for_the_cnn(tmp_path, capsys):
    for i in range(3):
        Image.fromarray(np.full((30, 30, 3), i * 40, np.uint8)).save(tmp_path / f"{i}.png")
    assert "needs labelled images" in error_line(call_cli(capsys, "zoo.train", "cnn", "--dataset", tmp_path))


def test_resume_and_evaluate_refuse_the_wrong_folders(train_run, tmp_path, capsys):
    vae = train_run("vae")
    resumed_as_cnn = call_cli(capsys, "zoo.train", "cnn", "--resume", vae)
    assert "is a 'vae' run; cannot resume it as 'cnn'" in error_line(resumed_as_cnn)
    assert "not a zoo run folder" in error_line(call_cli(capsys, "zoo.evaluate", tmp_path))
    assert "--limit must be at least 1, got 0" in error_line(call_cli(capsys, "zoo.evaluate", vae, "--limit", 0))
    assert "already holds a run" in error_line(call_cli(capsys, "zoo.train", "vae", "--out", vae))


def test_mixed_precision_auto_default_and_flags(monkeypatch):
    """The CNN's, VAE's and DCGAN's 'auto' mixed precision is on where the CPU has bfloat16
    instructions (or a GPU computes), and either flag overrides it; models without the default
    stay in float32."""
    from zoo import train

    def config(*argv):
        args = train.parse(list(argv))
        return train.make_config(args, models.get(args.model))

    assert {config(name)["mixed_precision"] for name in ("cnn", "vae", "dcgan")} == {"auto"}
    assert config("cnn", "--no-mixed-precision")["mixed_precision"] is False
    assert config("adain")["mixed_precision"] is None and config("adain", "--mixed-precision")["mixed_precision"]
    monkeypatch.setattr(train, "has_gpu", lambda backend: False)
    for has_bf16 in (True, False):
        monkeypatch.setattr(train, "cpu_has_bfloat16", lambda: has_bf16)
        assert train.resolve_precision("auto", "tensorflow") is has_bf16
    assert train.resolve_precision(None, "tensorflow") is False and train.resolve_precision(True, "jax") is True


def test_a_preset_sets_defaults_that_flags_override(capsys):
    """--preset long: the CNN's named defaults, which flags given on the command line still
    override, and which zoo.list shows as flags; a model without presets, or an unknown preset,
    is refused in one line."""
    from zoo import models
    from zoo.list import main as list_models
    from zoo.train import make_config, parse

    cnn = models.get("cnn")
    long = cnn.presets["long"]
    config = make_config(parse(["cnn", "--preset", "long"]), cnn)
    assert {key: config[key] for key in long} == long and config["preset"] == "long"
    assert make_config(parse(["cnn", "--preset", "long", "--epochs", "3"]), cnn)["epochs"] == 3
    assert make_config(parse(["cnn"]), cnn)["widths"] == cnn.defaults["widths"]
    assert list_models() == 0
    assert f"--preset long: --epochs {long['epochs']} " in capsys.readouterr().out
    for argv in (["cnn", "--preset", "nope"], ["vae", "--preset", "long"]):
        assert "--preset" in error_line(call_cli(capsys, "zoo.train", *argv))
