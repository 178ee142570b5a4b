"""Shared fixtures: run the zoo's CLIs as a user would (subprocesses), on real Fashion-MNIST
(Debian's package when installed, else the sample embedded in the package), and a few tiny
trained runs that several tests reuse."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]


def run_cli(module, *args, env=None, timeout=600, cwd=None):
    """Run `python -m module args...`; return the CompletedProcess (text, both streams captured)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=cwd or ROOT)


def error_line(result):
    """The single `error: ...` line a CLI prints for bad input (asserting there is exactly one)."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    return lines[0]


@pytest.fixture(scope="session")
def train_run(tmp_path_factory):
    """train_run(model, *flags) trains a tiny run once per distinct call and returns its folder."""
    cache = {}

    def make(model, *flags):
        key = (model, *flags)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"run-{model}") / "run"
            result = run_cli("zoo.train", model, "--limit", 512, "--epochs", 2, "--batch-size", 64,
                             "--out", out, *flags)
            assert result.returncode == 0, result.stderr[-3000:]
            cache[key] = out
        return cache[key]

    return make


SKIMAGE_DATA = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data"
STYLIZER_STYLES = ["hubble_deep_field", "ihc", "gravel"]
STYLE_FILES = [SKIMAGE_DATA / n for n in ("hubble_deep_field.jpg", "ihc.png", "gravel.png")]


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """Two big training steps of a real three-style stylizer run (enough for its styles to differ
    visibly), exported to ONNX and float32 TFLite. The exporter's own comparison with Keras is
    skipped: test_runtimes_agree_with_keras makes it here, for blends too."""
    out = tmp_path_factory.mktemp("stylizer") / "run"
    result = run_cli("zoo.train", "stylizer", "--styles", ",".join(map(str, STYLE_FILES)), "--crop-size", 64,
                     "--style-size", 128, "--batch-size", 2, "--epochs", 1, "--steps-per-epoch", 2,
                     "--learning-rate", 0.05, "--out", out, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_cli("exporters", out, "--format", "onnx,tflite", "--quantize", "none", "--no-validate",
                     env={"HOME": str(out.parent)}, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    return out
