"""`python -m exporters` and `python -m exporters.benchmark` end to end on tiny real runs: every
model x every format, validation, manifest, atomicity under kill -9, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import EVAL_IMAGES, ROOT, each_model, error_line, release_layout, run_cli
from exporters import FORMATS
from zoo import models
from zoo.deploy import runtime
from zoo.errors import ZooError
from zoo.fileio import sha256
from zoo.names import Task

# The classifier's export (eight files) is made in the first test that asks for it, with its
# training: longer than the suite's 900 s a test on a loaded machine.
pytestmark = pytest.mark.timeout(1800)

# Models exported to every format elsewhere, whose every variant here (int8 calibration of a
# VGG19-sized network included) would cost minutes of CI.
EXPORTED_ELSEWHERE = {
    "stylizer": "test_backends_style.py exports runs of either backend to ONNX and TFLite with the exporters' "
                "validation (test_stylizer_exports_pass_parity_from_either_backend); test_stylizer_release.py checks "
                "every file of its release, the quantized ones too (test_every_file_stylizes_like_keras)",
    "adain": "test_adain.py's exported fixture exports it to ONNX and TFLite with the exporters' validation "
             "(test_exports_connect_as_the_manifest_says_and_use_builtin_ops)",
}

def manifest_of(run):
    return json.loads((run / "export" / "manifest.json").read_text())


@pytest.mark.parametrize("model", each_model(EXPORTED_ELSEWHERE))
def test_every_format_is_exported_validated_and_described(exported, model):
    from exporters.manifest import file_digest
    from zoo.training.runs import Run
    from exporters.keras_runtime import serving_function

    run = exported(model)
    folder, manifest = run / "export", manifest_of(run)
    recipe = models.get(model)(Run(run).config)
    networks = recipe.exportables(Run(run).load_model())
    several = len(networks) > 1
    expected = {f.filename(e, several) for e in networks for f in FORMATS
                if not f.quantize or f.quantize in recipe.quantizations.get(e, (f.quantize,))}
    assert set(manifest["files"]) == expected
    assert {p.name for p in folder.iterdir()} == expected | {"manifest.json"}  # no leftovers
    assert list(manifest["exportables"]) == list(networks)
    assert manifest["file_names"]["prefixed_with_exportable"] == several
    assert {"zoo", "tensorflow", "keras", "tf2onnx"} <= set(manifest["versions"])
    assert manifest["source"]["sha256"] == sha256(run / "model.keras")
    assert manifest["preprocessing"]["value_range"] == [0.0, 1.0] and manifest["preprocessing"]["layout"] == "NHWC"
    assert manifest["task"] == recipe.task
    classifier = recipe.task == Task.CLASSIFIER
    if classifier:
        assert manifest["class_names"][:2] == ["T-shirt/top", "Trouser"]
    for name, entry in manifest["files"].items():
        assert file_digest(folder / name) == (entry["sha256"], entry["size_bytes"]), name
        assert all(t["name"] for t in entry["inputs"] + entry["outputs"])
        assert entry["inputs"][0]["shape"][0] is None, f"{name}: batch axis must be dynamic"
        for tensor in entry["inputs"] + entry["outputs"]:
            if entry["quantization"] == "int8":
                assert tensor["dtype"] == "int8" and tensor["quantization"]["scale"] > 0
            else:
                assert tensor["dtype"] == "float32" and "quantization" not in tensor
        if entry["format"] == "tflite":
            assert isinstance(entry["gpu_delegate"]["compatible"], bool) and entry["gpu_delegate"]["analyzer"]
        checks = entry["validation"]
        for outputs in checks["outputs"].values():
            for o in outputs.values():
                assert o.get("held_abs_diff", o["max_abs_diff"]) <= o["allowed"]
                assert o.get("psnr_db", 100) >= checks["min_psnr_db"]
        if classifier:
            assert abs(checks["accuracy"]["value"] - checks["accuracy"]["keras"]) <= 0.5
            assert checks["accuracy"]["images"] == EVAL_IMAGES
        # Every file has the inputs and outputs of the Keras network it came from, by name.
        serve = serving_function(networks[entry["exportable"]], recipe.dynamic_hw)
        assert sorted(t["name"] for t in entry["inputs"]) == sorted(s.name for s in serve.input_signature), name
        outputs = serve.get_concrete_function().structured_outputs
        assert sorted(t["name"] for t in entry["outputs"]) == sorted(outputs), name


def test_onnx_has_named_dynamic_batch_and_requested_opset(exported):
    import onnx

    model = onnx.load(exported("cnn") / "export" / "model.onnx")
    assert model.opset_import[0].version == 17
    assert [i.name for i in model.graph.input] == ["image"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert sorted(o.name for o in model.graph.output) == ["logits", "probabilities"]


def test_savedmodel_has_a_named_serving_signature(exported):
    from exporters.savedmodel import SavedModelRunner

    runner = SavedModelRunner(exported("vae") / "export" / "decoder_saved_model")
    assert [s.name for s in runner.inputs] == ["z"] and [s.name for s in runner.outputs] == ["image"]
    latent = runner.inputs[0].shape[-1]
    assert runner(z=np.zeros((3, latent), np.float32))["image"].shape == (3, 28, 28, 1)


def test_int8_images_may_hold_a_few_outlier_pixels_but_not_a_wrong_scale():
    """A stroke moved by a pixel is a few values off by most of the range; a wrong scale or sign
    is every value off. The lossy int8 bound lets the first through (PSNR decides) and not the
    second, and only for image outputs."""
    from exporters.validate import ValidationError, compare

    rng = np.random.default_rng(0)
    image = rng.random((1, 64, 64, 3)).astype(np.float32)
    moved = image.copy()
    moved[0, 10, 10:13] = 1 - moved[0, 10, 10:13]  # 9 of 12,288 values
    report = compare("stylized", {"x": image}, {"x": moved}, 0.3, outliers=1e-3)["x"]
    assert report["max_abs_diff"] > 0.3 >= report["held_abs_diff"]
    with pytest.raises(ValidationError, match="differs from Keras by up to"):
        compare("stylized", {"x": image}, {"x": moved}, 0.3)
    with pytest.raises(ValidationError, match="on all but 0.001 of its values"):
        compare("stylized", {"x": image}, {"x": 1 - image}, 0.3, outliers=1e-3)
    vector = image.reshape(1, -1)
    with pytest.raises(ValidationError):  # not an image: every value is held to the bound
        compare("latent", {"z": vector}, {"z": moved.reshape(1, -1)}, 0.3, outliers=1e-3)


def test_a_failed_check_names_the_output_and_the_difference(exported, tmp_path):
    """The int8 generator against a float32-sized bound: the validation must say what is off,
    and the file that failed must not appear under its name."""
    import dataclasses

    from exporters.export import export_file, load_run, open_runner
    from exporters.validate import ValidationError, validate

    run = exported("dcgan")
    (ex,) = load_run(run, eval_images=16).exportables
    strict = dataclasses.replace(next(f for f in FORMATS if f.quantize == "int8"), tolerance=1e-6)
    with pytest.raises(ValidationError, match=r"model_int8.tflite \(input 16x100\): output 'image' differs "
                                              r"from Keras by up to [0-9.e-]+( on all but 0.001 of its values)? \(allowed"):
        validate("model_int8.tflite", ex, strict, open_runner(run / "export" / "model_int8.tflite"))
    with pytest.raises(ValidationError, match="leave this lossy variant out with --quantize fp16,dynamic$"):
        export_file(ex, strict, tmp_path / "model_int8.tflite", opset=17, check=True)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_quantized_file_is_left_out_and_the_others_are_kept(exported, tmp_path, monkeypatch):
    """A quantized file that fails its check does not stop the export: the manifest lists the
    files that passed, and one error at the end names the one left out."""
    import dataclasses

    import exporters.export
    from exporters.export import export_run
    from exporters.validate import ValidationError

    run = exported("dcgan")  # before the bound is tightened: the fixture exports it once for every test
    strict = lambda rows: [dataclasses.replace(f, tolerance=1e-6) if f.quantize == "int8" else f  # noqa: E731
                           for f in rows]
    monkeypatch.setattr(exporters.export, "select", lambda *a: strict(exporters.select(*a)))
    out = tmp_path / "export"
    with pytest.raises(ValidationError, match=r"^1 quantized file\(s\) left out, the other 1 passed .*model_int8.tflite "
                                              r"\(input 16x100\): output 'image' differs"):
        export_run(run, formats=("tflite",), quantize=("int8",), out=out)
    assert list(json.loads((out / "manifest.json").read_text())["files"]) == ["model.tflite"]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "model.tflite"]


def _image_to_image_exportable(model, samples):
    from exporters.export import Exportable
    from exporters.keras_runtime import KerasRunner, serving_function

    serve = serving_function(model, dynamic_hw=True)
    keras_runner = KerasRunner(serve)
    checks = [({"image": x}, keras_runner(image=x)) for x in samples]
    return Exportable("stylizer", model, serve, checks, lambda: ([samples[0][i:i + 1]] for i in range(len(samples[0]))))


@pytest.mark.slow
def test_image_to_image_models_keep_dynamic_height_and_width(tmp_path):
    """An image -> image net exported with any height and width runs at sizes it never saw."""
    import keras

    from exporters.export import export_file

    keras.utils.set_random_seed(0)
    x = keras.Input((None, None, 3), name="image")
    y = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    y = keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same", activation="sigmoid", name="stylized")(y)
    model = keras.Model(x, y)
    rng = np.random.default_rng(0)
    samples = [rng.random((4, 32, 32, 3), dtype=np.float32), rng.random((2, 24, 40, 3), dtype=np.float32)]
    ex = _image_to_image_exportable(model, samples)
    for fmt in FORMATS:
        path = tmp_path / fmt.filename("stylizer", several=False)
        entry = export_file(ex, fmt, path, opset=17, check=True)
        assert entry["inputs"][0]["shape"] == [None, None, None, 3]
        assert set(entry["validation"]["outputs"]) == {"4x32x32x3", "2x24x40x3"}
        if fmt.format != "savedmodel":
            out = runtime.load(path)(image=np.full((1, 48, 16, 3), 0.5, np.float32))
            assert out["stylized"].shape == (1, 48, 16, 3) and out["stylized"].dtype == np.float32


def test_flex_ops_fail_the_tflite_export_naming_the_op(tmp_path):
    """UpSampling2D on unknown sizes lowers to ops that only TensorFlow (Flex) can run."""
    import keras

    from exporters import tflite

    x = keras.Input((None, None, 3), name="image")
    y = keras.layers.UpSampling2D()(keras.layers.Conv2D(4, 3, padding="same")(x))
    model = keras.Model(x, keras.layers.Conv2D(3, 3, padding="same", name="out")(y))
    ex = _image_to_image_exportable(model, [np.zeros((1, 8, 8, 3), np.float32)])
    with pytest.raises(ZooError, match=r"cannot convert stylizer to tflite: needs TensorFlow ops that are not "
                                       r"TFLite builtins \(Conv2D\)"):
        tflite.export(ex, tmp_path / "model.tflite", FORMATS[1], 17)
    assert not (tmp_path / "model.tflite").exists()


def test_kill_9_mid_export_leaves_no_partial_file(train_run, tmp_path):
    run = release_layout(train_run("dcgan"), tmp_path / "run")
    out = tmp_path / "export"
    proc = subprocess.Popen([sys.executable, "-m", "exporters", str(run), "--out", str(out)], cwd=ROOT,
                            env={**os.environ, "HOME": str(tmp_path)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (out / "saved_model").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finals = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert [p.name for p in finals] == ["saved_model"], "killed after the first file, before the last"
    assert not (out / "manifest.json").exists()
    from exporters.savedmodel import SavedModelRunner

    assert SavedModelRunner(out / "saved_model")(z=np.zeros((1, 100), np.float32))["image"].shape == (1, 28, 28, 1)
    # A new export into the same folder completes and describes what is there.
    from exporters.__main__ import main

    assert main([str(run), "--out", str(out), "--format", "onnx", "--quantize", "none", "--opset", "13"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["files"]) == ["model.onnx"] and manifest["files"]["model.onnx"]["opset"] == 13
    assert manifest["files"]["model.onnx"]["sha256"] == sha256(out / "model.onnx")


def _lambda_run(tmp_path, config):
    import keras

    x = keras.Input((28, 28, 1), name="image")
    model = keras.Model(x, keras.layers.Lambda(lambda t: t * 2)(x))
    run = tmp_path / "lambda"
    run.mkdir()
    model.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps(config))
    return run


def _unregistered_class_run(tmp_path, config):
    """A run whose model is of a Keras class that nothing registers when it is loaded (Keras
    puts the model's whole config, kilobytes here, in the first line of its error)."""
    import keras

    @keras.saving.register_keras_serializable(package="unregistered")
    class Doubler(keras.Model):
        def __init__(self, factors=tuple(range(300)), **kwargs):
            super().__init__(**kwargs)
            self.factors = list(factors)

        def call(self, t):
            return t * 2

        def get_config(self):
            return {**super().get_config(), "factors": self.factors}

    model = Doubler()
    model(np.zeros((1, 28, 28, 1), np.float32))
    run = tmp_path / "unregistered"
    run.mkdir()
    model.save(run / "model.keras")
    del keras.saving.get_custom_objects()["unregistered>Doubler"]
    (run / "config.json").write_text(json.dumps(config))
    return run


def test_bad_runs_and_options_get_one_line(exported, tmp_path, capsys):
    from exporters.__main__ import main

    good = exported("cnn")
    config = json.loads((good / "config.json").read_text())
    no_model, corrupt = tmp_path / "no_model", tmp_path / "corrupt"
    for folder in (no_model, corrupt):
        folder.mkdir()
        shutil.copy(good / "config.json", folder / "config.json")
    (corrupt / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    cases = [
        ([str(tmp_path / "missing")], "does not exist"),
        ([str(tmp_path)], "is not a zoo run folder (no config.json)"),
        ([str(no_model)], "no model file at"),
        ([str(corrupt)], f"cannot load {corrupt / 'model.keras'}"),
        ([str(_lambda_run(tmp_path, config))], "Lambda layer"),
        ([str(_unregistered_class_run(tmp_path, config))], "it needs the Keras class 'Doubler', which no loaded module registers"),
        ([str(good), "--format", "coreml"], "unknown format 'coreml'; choose from savedmodel, tflite, onnx"),
        ([str(good), "--quantize", "int4"], "unknown quantization 'int4'"),
        ([str(good), "--format", "onnx", "--opset", "19"], "ONNX opset 19 is not supported: tf2onnx handles opsets 13 to 18"),
    ]
    for argv, expected in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], (argv, err)
        assert len(err[0]) < 500, err[0]  # a line a person reads
    # The same from a shell: exit status 2, one line, no traceback.
    assert "unknown format 'tfjs'" in error_line(run_cli("exporters", good, "--format", "tfjs"))


def test_benchmark_times_every_variant_and_saves_the_table(exported, tmp_path):
    run = tmp_path / "cnn-fashion_mnist"  # a copy: the benchmark rewrites the manifest that other tests read
    shutil.copytree(exported("cnn"), run)
    result = run_cli("exporters.benchmark", run, "--format", "tflite,onnx", "--quantize", "dynamic", "--threads", "1",
                     "--eval-images", EVAL_IMAGES, "--warmup", 1, env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 thread(s)" in result.stdout and "| classifier | tflite_dynamic | ok (reused) |" in result.stdout
    report = json.loads((run / "export" / "benchmark.json").read_text())
    assert report["threads"] == 1 and report["runs"] >= 20 and report["batch_sizes"] == [1, 32]
    rows = {r["format"]: r for r in report["results"]}
    assert list(rows) == ["keras", "tflite", "tflite_dynamic", "onnx", "onnx_dynamic"]
    for r in rows.values():
        assert r["status"].startswith("ok") and r["ms_per_image_b1"] > 0 and r["ms_per_image_b32"] > 0
        assert r["metric"].startswith("accuracy ")
    assert rows["onnx"]["speedup_b32"] > 0
    assert (run / "export" / "benchmark.md").read_text().count("\n| classifier |") == 5
    # The benchmark re-validated the files it reused and kept the manifest whole.
    assert set(manifest_of(run)["files"]) == {f.filename("classifier", False) for f in FORMATS}
