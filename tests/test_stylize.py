"""`zoo.stylize --model` on a tiny real run exported by `python -m exporters`: Keras, ONNX and
TFLite agree, the TFLite and ONNX paths run with TensorFlow made unimportable, and bad models or
photos give one-line errors."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from exporters.validate import psnr

SKIMAGE_DATA = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data"
PHOTO = SKIMAGE_DATA / "chelsea.png"  # 451x300: not a multiple of 8, so padding is exercised


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One training step of a real stylizer run, exported to ONNX and float32 TFLite (an untrained
    network is too far from its int8 version for the exporter's check: the released, trained
    stylizers' int8 files are tested in test_stylizer_release.py)."""
    out = tmp_path_factory.mktemp("stylizer") / "run"
    result = run_cli("zoo.train", "stylizer", "--style", SKIMAGE_DATA / "ihc.png", "--crop-size", 64,
                     "--style-size", 128, "--batch-size", 1, "--epochs", 1, "--steps-per-epoch", 1, "--out", out,
                     timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_cli("exporters", out, "--format", "onnx,tflite", "--quantize", "none",
                     env={"HOME": str(out.parent)}, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_run_folder_metrics_and_pictures(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test_style_loss"] > 0 and metrics["test_content_loss"] > 0
    assert (run_dir / "images" / "stylized-test-photos.png").is_file()
    assert (run_dir / "images" / "stylized-epoch-0001.png").is_file()


def test_runtimes_agree_on_a_photo_of_odd_size(tmp_path, run_dir, monkeypatch):
    from zoo.images import load_rgb
    from zoo.stylize import open_model, stylize

    monkeypatch.setenv("HOME", str(tmp_path))
    photo = load_rgb(PHOTO)
    keras_out = stylize(open_model(run_dir, "keras")[0], photo).astype(np.float32)
    assert keras_out.shape == (300, 451, 3)
    for model, runtime in ((run_dir, "onnx"), (run_dir, "tflite"), (run_dir / "export" / "model.tflite", None),
                           (run_dir / "model.keras", None)):
        out = stylize(open_model(model, runtime)[0], photo).astype(np.float32)
        assert psnr(keras_out / 255, out / 255) > 40, (model, runtime)


BLOCK_TF = ("import sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None; "
            "from zoo.stylize import main; rc = main(sys.argv[1:]); "
            "assert not any(m.startswith(('tensorflow', 'keras')) and sys.modules[m] for m in sys.modules); sys.exit(rc)")


@pytest.mark.parametrize("runtime", ["tflite", "onnx"])
def test_deploy_path_needs_no_tensorflow(tmp_path, run_dir, runtime):
    import subprocess

    out = tmp_path / "phone.png"
    result = subprocess.run([sys.executable, "-c", BLOCK_TF, str(PHOTO), "--model", str(run_dir), "--runtime", runtime,
                             "--out", str(out)], capture_output=True, text=True, env={"HOME": str(tmp_path), "PATH": ""},
                            cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Image.open(out).size == (451, 300)


def test_bad_models_and_photos(tmp_path, run_dir, capsys, monkeypatch):
    from zoo.stylize import main

    monkeypatch.setenv("HOME", str(tmp_path))
    photo = str(PHOTO)
    (tmp_path / "broken.onnx").write_bytes(b"not onnx")
    (tmp_path / "cut.jpg").write_bytes((SKIMAGE_DATA / "rocket.jpg").read_bytes()[:5000])
    for argv, message in [
        ([photo, "--model", str(tmp_path / "missing")], "no model at"),
        ([photo, "--model", str(tmp_path / "broken.onnx")], "broken.onnx"),
        ([photo, "--model", str(run_dir / "export" / "model.onnx"), "--runtime", "tflite"], "cannot run model.onnx"),
        ([photo, "--model", str(tmp_path)], "no manifest.json"),
        ([str(tmp_path / "cut.jpg"), "--model", str(run_dir), "--runtime", "onnx"], "cannot decode image"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.startswith("error: ") and "Traceback" not in err, (argv, err)


def test_cli_writes_result_and_comparison(tmp_path, run_dir):
    out = tmp_path / "cat.jpg"
    result = run_cli("zoo.stylize", PHOTO, "--model", run_dir, "--runtime", "keras", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Image.open(out).size == (451, 300) and Image.open(out).format == "JPEG"
    assert (tmp_path / "cat_compare.png").is_file()
