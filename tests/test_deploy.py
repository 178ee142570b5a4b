"""The deploy-only side: zoo.deploy.runtime, zoo.generate and zoo.classify on exported files, with
TensorFlow and Keras made unimportable to prove that a phone-or-server install works without them."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import error_line, run_cli, run_without_tensorflow
from zoo.deploy import runtime
from zoo.errors import ZooError

# The first test to ask for an exported classifier waits for its training and export (conftest.exported).
pytestmark = pytest.mark.timeout(1800)

def photos(tmp_path):
    """A colour JPEG of another size and an RGBA PNG: not what the 28x28 grayscale CNN takes."""
    rng = np.random.default_rng(0)
    jpeg, png = tmp_path / "photo.jpg", tmp_path / "icon.png"
    Image.fromarray(rng.integers(0, 255, (120, 90, 3), dtype=np.uint8)).save(jpeg)
    Image.fromarray(rng.integers(0, 255, (40, 64, 4), dtype=np.uint8), "RGBA").save(png)
    return [jpeg, png]


@pytest.mark.parametrize("model,runtime_name", [("dcgan", "onnx"), ("dcgan", "tflite"), ("vae", "onnx"),
                                                ("vae", "tflite"), ("vqvae", "onnx"), ("vqvae", "tflite"),
                                                ("stylegan", "onnx"), ("stylegan", "tflite")])
def test_generate_without_tensorflow(exported, tmp_path, model, runtime_name):
    out = tmp_path / "grid.png"
    result = run_without_tensorflow(tmp_path, "zoo.generate", exported(model), "--runtime", runtime_name,
                                    "-n", 64, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(out) as im:  # 8 x 8 images of 28 px, 2 px apart, enlarged twice
        assert im.size == (2 * (8 * 30 + 2),) * 2 and im.mode == "L"


def test_generate_writes_the_samples_themselves(exported, tmp_path):
    """--out FILE.npy: the images, N x 28 x 28 x 1 float32 in [0, 1], for anyone's own scoring. The
    VQ-VAE's prior, run position by position in ONNX and in TFLite, draws the same images for a
    seed (the uniform draws are zoo.portable_random's; the runtimes differ in rounding only)."""
    samples = {}
    for runtime_name in ("onnx", "tflite"):
        out = tmp_path / f"{runtime_name}.npy"
        result = run_without_tensorflow(tmp_path, "zoo.generate", exported("vqvae"), "--runtime", runtime_name,
                                        "-n", 16, "--seed", 3, "--out", out)
        assert result.returncode == 0, result.stderr[-2000:]
        samples[runtime_name] = np.load(out)
    onnx = samples["onnx"]
    assert onnx.shape == (16, 28, 28, 1) and onnx.dtype == np.float32 and 0 <= onnx.min() and onnx.max() <= 1
    assert np.abs(onnx - samples["tflite"]).mean() < 1e-3


@pytest.mark.parametrize("runtime_name", ["onnx", "tflite"])
def test_generate_truncates_a_stylegans_samples(exported, tmp_path, runtime_name):
    """--truncation 0 draws the average image for every z, 1 (the default) the untruncated
    samples, and between them images nearer the average; a model without truncation refuses it."""

    def samples(*flags):
        out = tmp_path / "samples.npy"
        result = run_without_tensorflow(tmp_path, "zoo.generate", exported("stylegan"), "--runtime", runtime_name,
                                        "-n", 8, "--seed", 5, "--out", out, *flags)
        assert result.returncode == 0, result.stderr[-2000:]
        return np.load(out)

    average, half, full = samples("--truncation", 0), samples("--truncation", 0.5), samples()
    assert np.abs(average - average[:1]).max() < 1e-5
    np.testing.assert_array_equal(full, samples("--truncation", 1))
    spread = [np.abs(x - average).mean() for x in (half, full)]
    assert 0 < spread[0] < spread[1]
    result = run_without_tensorflow(tmp_path, "zoo.generate", exported("dcgan"), "--runtime", runtime_name,
                                    "--truncation", 0.5, "--out", tmp_path / "g.png")
    assert result.returncode != 0 and "--truncation is for StyleGAN generators" in result.stderr


@pytest.mark.parametrize("runtime_name", ["onnx", "tflite"])
def test_classify_without_tensorflow(exported, tmp_path, runtime_name):
    images = photos(tmp_path)
    result = run_without_tensorflow(tmp_path, "zoo.classify", exported("cnn"), *images, "--runtime", runtime_name)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(tmp_path))]
    assert len(lines) == 2 and all(line.count("%") == 3 for line in lines)
    class_names = runtime.read_manifest(exported("cnn") / "export")["class_names"]
    assert all(line.split(": ")[1].split(", ")[0].rsplit(" ", 1)[0] in class_names for line in lines)


def test_classify_agrees_across_runtimes(exported, tmp_path):
    """onnx and tflite give Keras's top class for every image; the full-integer file keeps it
    among its top two (the images are noise, where int8 rounding may swap two close classes)."""
    run, images = exported("cnn"), photos(tmp_path)

    def top(flags, k):
        result = run_cli("zoo.classify", run, *images, "--top", k, *flags, env={"HOME": str(tmp_path)})
        assert result.returncode == 0, result.stderr[-2000:]
        return [[c.rsplit(" ", 1)[0] for c in line.split(": ")[1].split(", ")] for line in result.stdout.splitlines()]

    keras = top(["--runtime", "keras"], 1)
    assert top(["--runtime", "onnx"], 1) == keras and top(["--runtime", "tflite"], 1) == keras
    int8 = top(["--model", run / "export" / "model_int8.tflite"], 2)
    assert all(k[0] in two for k, two in zip(keras, int8)), (keras, int8)


def test_runtime_runs_every_file_at_any_batch_size(exported):
    folder = exported("vae") / "export"
    latent = json.loads((folder.parent / "config.json").read_text())["latent_dim"]
    for name in ("decoder.onnx", "decoder.tflite", "decoder_fp16.tflite", "decoder_dynamic_int8.tflite",
                 "decoder_int8.tflite"):
        runner = runtime.load(folder / name, threads=1)
        assert [s.name for s in runner.inputs] == ["z"] and [s.name for s in runner.outputs] == ["image"]
        assert runner.inputs[0].shape == (None, latent) and runner.manifest["model"] == "vae"
        assert (runner.inputs[0].quantization is not None) == (name == "decoder_int8.tflite")
        z = np.random.default_rng(0).standard_normal((5, latent)).astype(np.float32)
        reference = runtime.load(folder / "decoder.onnx")(z=z)["image"]
        for batch in (5, 1):
            image = runner(z=z[:batch])["image"]
            assert image.shape == (batch, 28, 28, 1) and image.dtype == np.float32
            assert np.abs(image - reference[:batch]).max() < 0.05, name
    encoder = runtime.load(folder / "encoder_int8.tflite")
    out = encoder(image=np.random.default_rng(1).random((3, 28, 28, 1), dtype=np.float32))
    assert sorted(out) == ["z_log_var", "z_mean"] and out["z_mean"].dtype == np.float32


def test_runtime_refuses_bad_inputs_and_files(exported, tmp_path):
    folder = exported("cnn") / "export"
    runner = runtime.load(folder / "model.tflite")
    good = np.zeros((2, 28, 28, 1), np.float32)
    with pytest.raises(ZooError, match=r"input 'image' of model.tflite must be a float32 numpy array, got float64"):
        runner(image=good.astype(np.float64))
    with pytest.raises(ZooError, match=r"input 'image' of model.tflite must have shape \?x28x28x1, got 2x32x32x1"):
        runner(image=np.zeros((2, 32, 32, 1), np.float32))
    with pytest.raises(ZooError, match=r"must have shape \?x28x28x1, got 28x28x1"):
        runner(image=good[0])
    with pytest.raises(ZooError, match=r"takes inputs \['image'\], got \['x'\]"):
        runner(x=good)
    with pytest.raises(ZooError, match="a SavedModel needs TensorFlow"):
        runtime.load(folder / "saved_model")
    with pytest.raises(ZooError, match="no exported model at"):
        runtime.load(folder / "nope.onnx")
    # A file changed after the export no longer matches the manifest's sha256.
    copy = tmp_path / "export"
    shutil.copytree(folder, copy)
    with open(copy / "model.onnx", "r+b") as f:
        f.seek(-1, os.SEEK_END)
        f.write(b"\x00")
    with pytest.raises(ZooError, match="does not match the sha256 in its manifest.json"):
        runtime.load(copy / "model.onnx")
    (copy / "junk.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(ZooError, match="cannot load"):
        runtime.load(copy / "junk.tflite")


def test_cli_errors_are_one_line(exported, tmp_path):
    cnn = exported("cnn")
    assert "is a cnn with classifier, not a generative model" in error_line(run_cli("zoo.generate", cnn))
    assert "model.onnx is a cnn with classifier, not a generative model" in error_line(
        run_cli("zoo.generate", cnn, "--model", cnn / "export" / "model.onnx", "--out", tmp_path / "g.png"))
    assert "no manifest.json in" in error_line(run_cli("zoo.generate", tmp_path))
    assert "is not an image file" in error_line(run_cli("zoo.classify", cnn, cnn / "config.json"))
    assert "--top must be at least 1, got 0" in error_line(run_cli("zoo.classify", cnn, cnn / "config.json", "--top", 0))
