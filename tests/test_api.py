"""The library API: zoo.create_model and zoo.list_models on the real registry, zoo.load on the
released models of saved_models/ in every runtime, from any working folder, without TensorFlow
where it is not needed, and one ZooError naming the culprit for every mistake."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import ROOT, STYLE_FILES, STYLIZER_STYLES

import zoo
from zoo import models
from zoo.deploy import runtime
from zoo.data import DatasetInfo
from zoo.data.idx import find_idx_split, read_idx
from zoo.data.sources import SAMPLE_DIR
from zoo.errors import ZooError

RELEASED = ["adain-paintings", "cnn-fashion_mnist", "dcgan-fashion_mnist", "stylegan-fashion_mnist", "stylizer-paintings",
            "vae-fashion_mnist", "vqvae-fashion_mnist"]
SAVED = ROOT / "saved_models"
# Logits of the released CNN's Keras model (bfloat16, as trained) against its float32 exports.
BFLOAT16_ATOL = 0.05
# What each model needs to be created (the stylizer's paintings) and a batch to call it on.
NEEDS = {"stylizer": {"styles": ",".join(map(str, STYLE_FILES))}}


@pytest.fixture(autouse=True)
def project_models_only(monkeypatch):
    """The tests see the project's released models only, whatever the caller's environment."""
    monkeypatch.delenv("ZOO_MODELS_DIR", raising=False)


def fashion_images(n=8):
    """n real Fashion-MNIST test images of the embedded sample, float32 NHWC in [0, 1], and labels."""
    images, labels = (read_idx(p) for p in find_idx_split(SAMPLE_DIR, "t10k"))
    return (images[:n, :, :, None] / 255.0).astype(np.float32), labels[:n]


def keras_batch(name, model, n=2):
    """A batch `model` (a zoo model called as training calls it) takes: images, latent vectors,
    or images with style weights."""
    rng = np.random.default_rng(0)
    if name in ("dcgan", "stylegan"):
        return rng.standard_normal((n, model.latent_dim)).astype(np.float32)
    if name == "stylizer":
        styles = model.transformer.inputs[1].shape[-1]
        return [rng.random((n, 32, 32, 3), dtype=np.float32), np.eye(styles, dtype=np.float32)[:n]]
    if name in ("adain", "arbitrary"):  # (photos, paintings)
        return [rng.random((n, 32, 32, 3), dtype=np.float32), rng.random((n, 64, 64, 3), dtype=np.float32)]
    return fashion_images(n)[0]


def runner_inputs(runner, n=2, side=32):
    """Inputs for every input of a runner: the batch and any free image side filled in."""
    rng = np.random.default_rng(0)
    arrays = {}
    for spec in runner.inputs:
        shape = [n, *(side if d is None else d for d in spec.shape[1:])]
        arrays[spec.name] = (np.eye(shape[1], dtype=np.float32)[:n] if spec.name == "style_weights"
                             else rng.random(shape, dtype=np.float32))
    return arrays


# --- create_model and list_models ---------------------------------------------------------------

def test_list_models():
    assert zoo.list_models() == models.names()
    assert {"adain", "cnn", "vae", "dcgan", "stylizer"} <= set(zoo.list_models())
    assert zoo.list_models(released=True) == RELEASED  # saved_models/runs/ holds runs, not releases


@pytest.mark.parametrize("name", models.names())
def test_create_model_builds_every_registered_model_uncompiled(name):
    model = zoo.create_model(name, **NEEDS.get(name, {}))
    assert isinstance(model, keras.Model) and model.built and not model.compiled
    out = model(keras_batch(name, model))
    image = {"adain": "stylized", "arbitrary": "stylized", "vqvae": "reconstruction"}  # models that return a dict
    out = out[image[name]] if name in image else out
    expected = {"cnn": (2, 10), "vae": (2, 28, 28, 1), "dcgan": (2, 28, 28, 1), "stylizer": (2, 32, 32, 3),
                "adain": (2, 32, 32, 3), "arbitrary": (2, 32, 32, 3), "vqvae": (2, 28, 28, 1),
                "stylegan": (2, 28, 28, 1)}
    assert tuple(out.shape) == expected[name]
    assert np.all(np.isfinite(np.asarray(out)))


@pytest.mark.parametrize("name", ["cnn", "vae", "dcgan"])
def test_create_model_is_the_model_training_builds_for_fashion_mnist(name):
    """Same class and weights as the recipe's compiled model for Fashion-MNIST's real shapes."""
    info = DatasetInfo("fashion_mnist", "test", (28, 28, 1), 10, None, 60000, 10000)
    cls = models.get(name)
    trained = cls({**cls.defaults, "seed": 0}).build(info)
    created = zoo.create_model(name)
    assert trained.compiled and not created.compiled
    assert type(created) is type(trained)
    assert [tuple(w.shape) for w in created.weights] == [tuple(w.shape) for w in trained.weights]


def test_create_model_hyper_parameters_override_the_config():
    vae = zoo.create_model("vae", latent_dim=2, image_size=32, channels=3)
    assert vae.encoder.output["z_mean"].shape[-1] == 2 and vae.decoder.output.shape[1:] == (32, 32, 3)
    assert zoo.create_model("cnn", num_classes=3)(fashion_images(4)[0]).shape == (4, 3)
    assert zoo.create_model("dcgan", latent_dim=8).latent_dim == 8
    long = zoo.create_model("cnn", preset="long")  # the preset's widths, then the hyper-parameters' over them
    assert long.get_layer("stem_conv").filters == 32 and long.get_layer("block3b_conv").filters == 256
    assert zoo.create_model("cnn", preset="long", widths="8,16,32").get_layer("block3b_conv").filters == 32


def test_create_model_stylizer_takes_its_paintings_and_widths():
    stylizer = zoo.create_model("stylizer", **NEEDS["stylizer"], widths="8,16,32", residual_blocks=2)
    assert stylizer.transformer.inputs[1].shape[-1] == len(STYLIZER_STYLES)
    assert stylizer.transformer.get_layer("in_conv").filters == 8
    assert stylizer([np.zeros((1, 20, 36, 3), np.float32), np.eye(3, dtype=np.float32)[:1]]).shape == (1, 20, 36, 3)


@pytest.mark.parametrize("name,hparams,message", [
    ("nope", {}, "unknown model 'nope'; known models: adain, arbitrary, cnn, dcgan, stylegan, stylizer, vae, vqvae"),
    ("vae", {"latnet_dim": 2}, "vae has no hyper-parameter 'latnet_dim'; it takes "),
    ("vae", {"latent_dim": 0}, "--latent-dim must be at least 1, got 0"),
    ("vae", {"learning_rate": -1.0}, "--learning-rate must be positive"),
    ("cnn", {"num_classes": 0}, "cannot create cnn with {'num_classes': 0}: the CNN needs a labelled dataset"),
    ("stylizer", {}, "the stylizer needs --styles"),
    ("cnn", {"preset": "short"}, "cnn has no preset 'short'; it has 'long'"),
    ("vae", {"preset": "long"}, "vae has no preset 'long'; it has none"),
])
def test_create_model_mistakes_are_one_zoo_error(name, hparams, message):
    with pytest.raises(ZooError) as error:
        zoo.create_model(name, **hparams)
    assert message in str(error.value)


# --- load: the released models, in every runtime ---------------------------------------------------

@pytest.mark.parametrize("name", RELEASED)
def test_load_released_model_in_keras(name):
    model = zoo.load(name)
    assert isinstance(model, keras.Model)
    kind = name.split("-")[0]
    out = model(keras_batch(kind, model))
    if isinstance(out, dict):  # AdaIN and the VQ-VAE return what their losses need too
        out = out["reconstruction" if kind == "vqvae" else "stylized"]
    out = np.asarray(out)
    assert out.shape[0] == 2 and np.all(np.isfinite(out))
    assert zoo.load(name, runtime="keras").count_params() == model.count_params()


@pytest.mark.parametrize("kind", ["onnx", "tflite"])
@pytest.mark.parametrize("name", RELEASED)
def test_load_released_model_as_runners(name, kind):
    """One runner per exported network, by name when there are several, each running the
    float32 file of that format with the outputs its manifest lists."""
    loaded = zoo.load(name, runtime=kind)
    manifest = runtime.read_manifest(SAVED / name / "export")
    runners = loaded if isinstance(loaded, dict) else {next(iter(manifest["exportables"])): loaded}
    assert list(runners) == list(manifest["exportables"])
    assert (len(runners) > 1) == isinstance(loaded, dict)
    for exportable, runner in runners.items():
        entry = manifest["files"][runner.path.name]
        assert (entry["exportable"], entry["format"], entry["quantization"]) == (exportable, kind, "float32")
        if exportable.endswith("_tile"):  # its inputs include the whole photo's statistics, from the main network
            continue
        outputs = runner(**runner_inputs(runner))
        assert sorted(outputs) == sorted(o["name"] for o in entry["outputs"])
        assert all(v.dtype == np.float32 and len(v) == 2 and np.all(np.isfinite(v)) for v in outputs.values())


def test_the_three_runtimes_of_a_released_model_agree():
    """The exports compute in float32 and agree closely; the Keras model computes in bfloat16, as
    it was trained (mixed precision), so it agrees to bfloat16's precision and in every class."""
    images, labels = fashion_images(16)
    logits = np.asarray(zoo.load("cnn-fashion_mnist")(images), np.float32)
    exported = {kind: zoo.load("cnn-fashion_mnist", runtime=kind)(image=images)["logits"] for kind in ("onnx", "tflite")}
    np.testing.assert_allclose(exported["onnx"], exported["tflite"], atol=1e-3)
    for got in exported.values():
        np.testing.assert_allclose(got, logits, atol=BFLOAT16_ATOL)
        assert np.array_equal(got.argmax(-1), logits.argmax(-1))
    assert np.mean(logits.argmax(-1) == labels) >= 0.8
    vae = zoo.load("vae-fashion_mnist", runtime="onnx")
    z = vae["encoder"](image=images)["z_mean"]
    assert vae["decoder"](z=z)["image"].shape == images.shape


# --- load: folders, files, working folders and $ZOO_MODELS_DIR -------------------------------------

@pytest.fixture
def run_copy(tmp_path):
    """A copy of the released CNN's run folder (config.json, model.keras, export/) elsewhere."""
    run = tmp_path / "runs" / "my-cnn"
    shutil.copytree(SAVED / "cnn-fashion_mnist", run, ignore=shutil.ignore_patterns("images", "*.md"))
    return run


@pytest.mark.slow
def test_load_a_run_folder_an_export_folder_and_files(run_copy):
    images = fashion_images(4)[0]
    want = np.asarray(zoo.load("cnn-fashion_mnist")(images))
    for model in (zoo.load(run_copy), zoo.load(str(run_copy))):
        assert isinstance(model, keras.Model)
        np.testing.assert_allclose(np.asarray(model(images)), want, atol=1e-5)
    network = zoo.load(run_copy / "model.keras")  # the file as saved: without the run's test-time views
    assert isinstance(network, keras.Model) and network.count_params() == zoo.load(run_copy).count_params()
    for source, kind in ((run_copy, "onnx"), (run_copy / "export", "tflite"), (run_copy / "export/model.onnx", None),
                         (run_copy / "export/model.onnx", "onnx"), (run_copy / "export/model_int8.tflite", None)):
        runner = zoo.load(source, runtime=kind)
        assert isinstance(runner, runtime.Runner), (source, kind)
        tolerance = 0.05 * np.ptp(want) if "int8" in str(source) else BFLOAT16_ATOL  # int8: a twentieth of the range
        np.testing.assert_allclose(runner(image=images)["logits"], want, atol=tolerance)
    assert zoo.load(run_copy / "export/model_int8.tflite").inputs[0].quantization is not None


def test_load_finds_released_models_from_any_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert zoo.list_models(released=True) == RELEASED
    assert isinstance(zoo.load("dcgan-fashion_mnist"), keras.Model)
    assert set(zoo.load("vae-fashion_mnist", runtime="onnx")) == {"encoder", "decoder"}
    monkeypatch.chdir(SAVED / "cnn-fashion_mnist")  # a relative path is relative to the working folder
    assert zoo.load("export/model.onnx").path.resolve() == (SAVED / "cnn-fashion_mnist/export/model.onnx").resolve()


def test_models_dir_variable_is_searched_first(run_copy, tmp_path, monkeypatch):
    mine, shadow = run_copy.parent, tmp_path / "shadow"
    shutil.copytree(run_copy, shadow / "cnn-fashion_mnist")
    monkeypatch.setenv("ZOO_MODELS_DIR", os.pathsep.join([str(shadow), str(mine)]))
    assert zoo.list_models(released=True) == sorted([*RELEASED, "my-cnn"])
    assert zoo.load("my-cnn", runtime="onnx").path == mine / "my-cnn/export/model.onnx"
    assert zoo.load("cnn-fashion_mnist", runtime="onnx").path == shadow / "cnn-fashion_mnist/export/model.onnx"
    assert zoo.load("dcgan-fashion_mnist", runtime="onnx").path.parent == SAVED / "dcgan-fashion_mnist/export"


# --- without TensorFlow ----------------------------------------------------------------------------

LIGHT = '''
import sys

import numpy as np

import zoo

def heavy():
    return sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras", "tf_keras"})

after_import = heavy()
print("modules after import zoo:", len(sys.modules))
vae = zoo.load("vae-fashion_mnist", runtime="onnx")
out = vae["decoder"](z=np.zeros((2, vae["decoder"].inputs[0].shape[-1]), "float32"))["image"]
cnn = zoo.load("cnn-fashion_mnist", runtime="tflite")
released = zoo.list_models(released=True)
print("heavy:", after_import, heavy(), out.shape, type(cnn).__name__, len(released))
'''


def test_import_zoo_and_onnx_tflite_loads_import_neither_tensorflow_nor_keras(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ZOO_MODELS_DIR", None)
    result = subprocess.run([sys.executable, "-c", LIGHT], cwd=tmp_path, env=env, capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"heavy: [] [] (2, 28, 28, 1) TFLiteRunner {len(RELEASED)}" in result.stdout, result.stdout


def test_package_attributes_are_lazy_and_listed():
    assert set(zoo.__all__) <= set(dir(zoo))
    from zoo import api  # submodules still import through the module's __getattr__

    assert zoo.load is api.load
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        zoo.nope  # noqa: B018


# --- load: mistakes --------------------------------------------------------------------------------

def test_unknown_name_lists_the_released_models(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ZooError) as error:
        zoo.load("cnn-mnist")
    message = str(error.value)
    assert message.startswith("no released model or file 'cnn-mnist'; released models: " + ", ".join(RELEASED))
    assert str(SAVED) in message and "$ZOO_MODELS_DIR" in message


@pytest.fixture
def export_copy(tmp_path):
    return shutil.copytree(SAVED / "cnn-fashion_mnist" / "export", tmp_path / "export")


def test_a_tampered_file_is_named(export_copy):
    onnx = export_copy / "model.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    for source, kind in ((onnx, None), (export_copy, "onnx")):
        with pytest.raises(ZooError, match="does not match the sha256") as error:
            zoo.load(source, runtime=kind)
        assert str(onnx) in str(error.value)
    assert zoo.load(export_copy, runtime="tflite").path.name == "model.tflite"  # the others are intact


def test_a_file_without_its_manifest_is_named(export_copy):
    shutil.copy(export_copy / "model.onnx", export_copy / "renamed.onnx")  # not listed in the manifest
    with pytest.raises(ZooError, match="is not listed in a manifest.json") as error:
        zoo.load(export_copy / "renamed.onnx")
    assert str(export_copy / "renamed.onnx") in str(error.value)
    (export_copy / "manifest.json").unlink()
    with pytest.raises(ZooError, match="is not listed in a manifest.json") as error:
        zoo.load(export_copy / "model.onnx")
    assert str(export_copy / "model.onnx") in str(error.value)
    with pytest.raises(ZooError, match="no manifest.json in") as error:
        zoo.load(export_copy, runtime="onnx")
    assert str(export_copy) in str(error.value)


def test_a_listed_file_that_is_missing_or_a_damaged_manifest_is_named(export_copy):
    (export_copy / "model.onnx").unlink()
    with pytest.raises(ZooError, match="no exported model at") as error:
        zoo.load(export_copy, runtime="onnx")
    assert str(export_copy / "model.onnx") in str(error.value)
    for text, message in (("{not json", "is not valid JSON"), ('["model.tflite"]', "is not an export manifest")):
        (export_copy / "manifest.json").write_text(text)
        for source, kind in ((export_copy / "model.tflite", None), (export_copy, "tflite")):
            with pytest.raises(ZooError, match=message) as error:
                zoo.load(source, runtime=kind)
            assert str(export_copy / "manifest.json") in str(error.value)


@pytest.mark.parametrize("source,kind,message", [
    ("cnn-fashion_mnist", "torch", "runtime must be one of onnx, tflite, keras, got 'torch'"),
    ("cnn-fashion_mnist/export/model.onnx", "tflite", "runtime='tflite' cannot run model.onnx"),
    ("cnn-fashion_mnist/model.keras", "onnx", "runtime='onnx' cannot run model.keras"),
    ("cnn-fashion_mnist/metrics.json", None, "give a .keras, .onnx or .tflite file, or a folder"),
    ("cnn-fashion_mnist/export", "keras", "is not a zoo run folder (no config.json)"),
])
def test_load_mistakes_are_one_zoo_error(source, kind, message):
    with pytest.raises(ZooError, match=re.escape(message)):
        zoo.load(SAVED / source if "/" in source else source, runtime=kind)


def test_a_run_without_export_needs_exporting(run_copy):
    shutil.rmtree(run_copy / "export")
    with pytest.raises(ZooError, match=re.escape(f"no manifest.json in {run_copy} or {run_copy / 'export'}; "
                                                 f"export the run first: python -m exporters {run_copy}")):
        zoo.load(run_copy, runtime="onnx")
