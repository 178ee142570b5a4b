"""The JAX backend: the models whose training differs on it train two steps with KERAS_BACKEND=jax
(a subprocess each: Keras picks its backend when it is imported), their run folders say so, their
model.keras load on TensorFlow, and the TensorFlow exporters export a JAX-trained run. Here the
CNN with --strategy mirrored (keras.distribution.DataParallel over two CPU devices), the DCGAN
(its two optimizers' step written per backend) in mixed precision and resumed, and the StyleGAN
(its R1 penalty differentiates a gradient, taken per backend, inside that step); the style models
in test_backends_style.py (a file of its own, so that the two run side by side). The VAE's and
AdaIN's steps are the same Keras `compute_loss` code as the stylizer's. Then the one-line errors
of what JAX does not do."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import error_line, run_cli, run_without, tiny_flags

JAX = {"KERAS_BACKEND": "jax"}
TENSORFLOW = {"KERAS_BACKEND": "tensorflow"}
FLAGS = {  # beyond the tiny run's (conftest.TINY_RUNS): what these models also try on JAX
    "cnn": ["--strategy", "mirrored", "--cpu-devices", 2],
    "dcgan": ["--mixed-precision"],
}
# Models whose data come without tf.data (zoo.style.pairs): they train where JAX is alone.
WITHOUT_TENSORFLOW = {"adain", "arbitrary"}
_runs: dict = {}


def jax_run(model, tmp_path_factory):
    """A run folder of `model` trained for one epoch of two steps on JAX (once per session), and
    the training's stderr."""
    if model not in _runs:
        out = tmp_path_factory.mktemp(f"jax-{model}") / "run"
        args = [model, *tiny_flags(model, tmp_path_factory), *FLAGS.get(model, []), "--epochs", 1,
                "--steps-per-epoch", 2, "--out", out]
        if model in WITHOUT_TENSORFLOW:
            result = run_without(("tensorflow",), "zoo.train", *args, env=JAX, timeout=900)
        else:
            result = run_cli("zoo.train", *args, env=JAX)
        assert result.returncode == 0, result.stderr[-3000:]
        _runs[model] = out, result.stderr
    return _runs[model]


pytestmark = pytest.mark.slow  # every test here trains or exports in a subprocess


def check_jax_run(model, tmp_path_factory):
    """`model` trains on JAX: its run folder says so, its loss is finite, its model.keras loads on
    TensorFlow, and what differs per model (devices, precision, no TensorFlow) shows."""
    import zoo.models  # noqa: F401  (registers the classes model.keras names)
    from zoo.training.runs import load_keras_model

    run, stderr = jax_run(model, tmp_path_factory)
    config = json.loads((run / "config.json").read_text())
    assert config["backend"] == "jax" and config["jit_compile"] and "jax" in config["versions"]
    assert "Keras backend: jax" in stderr
    history = json.loads((run / "checkpoint" / "state.json").read_text())["history"]
    assert len(history) == 1 and all(np.isfinite(v) for v in history[0].values())
    assert (run / "metrics.json").is_file()  # the JAX process reloaded model.keras to evaluate it
    assert load_keras_model(run / "model.keras").built  # on this process's TensorFlow
    if model == "cnn":
        assert "mirrored strategy: 2 replicas" in stderr
    if model == "dcgan":
        assert "mixed precision: mixed_bfloat16" in stderr
    if model in WITHOUT_TENSORFLOW:
        assert "TensorFlow is not installed: no TensorBoard logs" in stderr
        assert not list(run.rglob("events.out.tfevents.*"))
        assert {"stylized-epoch-0001.png", "loss_curves.png"} <= {p.name for p in (run / "images").iterdir()}


@pytest.mark.parametrize("model", ["cnn", "dcgan", "stylegan"])
def test_trains_on_jax(model, tmp_path_factory):
    check_jax_run(model, tmp_path_factory)


def test_jax_run_exports_with_tensorflow(tmp_path_factory):
    run, _ = jax_run("dcgan", tmp_path_factory)
    result = run_cli("exporters", run, "--format", "onnx,tflite", "--quantize", "none", env=TENSORFLOW)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((run / "export" / "manifest.json").read_text())
    assert sorted(manifest["files"]) == ["model.onnx", "model.tflite"]


def test_resume_on_jax_keeps_both_optimizers(tmp_path_factory):
    """The DCGAN's two optimizers travel through JAX's compiled step as one optimizer's state:
    their step counts survive the checkpoint and the resume."""
    from zoo.training.runs import load_keras_model

    run, _ = jax_run("dcgan", tmp_path_factory)
    resumed = tmp_path_factory.mktemp("resumed") / "run"
    shutil.copytree(run, resumed)
    result = run_cli("zoo.train", "dcgan", "--resume", resumed, "--epochs", 2, env=JAX)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "restored checkpoint of epoch 1" in result.stderr
    model = load_keras_model(resumed / "model.keras")
    assert int(model.d_optimizer.iterations) == int(model.g_optimizer.iterations) == 4
    assert "KERAS_BACKEND=jax" in error_line(run_cli("zoo.train", "dcgan", "--resume", resumed, "--epochs", 3,
                                                     env=TENSORFLOW))


def test_what_jax_does_not_do(monkeypatch):
    multiworker = run_cli("zoo.train", "vae", "--strategy", "multiworker", env=JAX)
    assert "needs the TensorFlow backend" in error_line(multiworker)
    assert "not numpy" in error_line(run_cli("zoo.train", "vae", env={"KERAS_BACKEND": "numpy"}))
    import keras

    from zoo.errors import ZooError
    from zoo.style.gatys import Gatys

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ZooError, match="TensorFlow backend only"):
        Gatys(loss=None)
