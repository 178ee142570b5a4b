"""Adding a model is one file and one line: tests/models/tiny_mlp.py, imported, trains with
zoo.train, evaluates, exports to validated ONNX and TFLite files, and runs in zoo.classify
without TensorFlow, its hyper-parameters typed from its dataclass in every place they show."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from conftest import run_without_tensorflow
from test_deploy import photos

# The one line: a zoo model's import in zoo/models/__init__.py; here, before each command.
IMPORTED = "import sys; sys.path.insert(0, 'tests/models'); import tiny_mlp; "


def zoo_command(module, *argv):
    """`python -m module argv...` with the test model imported."""
    code = IMPORTED + f"from {module} import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


@pytest.mark.slow
def test_a_model_in_one_file_trains_exports_and_deploys(tmp_path):
    run = tmp_path / "run"
    result = zoo_command("zoo.train", "tiny_mlp", "--hidden", 32, "--limit", 1024, "--out", run)
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((run / "config.json").read_text())
    assert config["hidden"] == 32 and config["epochs"] == 2  # the flag, and the dataclass's default
    assert json.loads((run / "metrics.json").read_text())["test_accuracy"] > 0.5

    result = zoo_command("exporters.__main__", run, "--format", "onnx,tflite", "--quantize", "none",
                         "--eval-images", 200)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((run / "export" / "manifest.json").read_text())
    assert sorted(manifest["files"]) == ["model.onnx", "model.tflite"] and manifest["model"] == "tiny_mlp"

    result = run_without_tensorflow(tmp_path, "zoo.classify", run, *photos(tmp_path), "--runtime", "tflite")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "photo.jpg" in result.stdout
