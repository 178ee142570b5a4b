"""The style models on the JAX backend (`test_backends.check_jax_run`): the multi-style stylizer,
whose exports must pass parity from either backend, and the arbitrary-style network with
TensorFlow unimportable, as on an accelerator machine that has JAX alone (its recipe and data
are AdaIN's, whose release was trained so)."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from test_backends import TENSORFLOW, check_jax_run, jax_run

pytestmark = pytest.mark.slow  # every test here trains or exports in a subprocess


@pytest.mark.parametrize("model", ["stylizer", "arbitrary"])
def test_trains_on_jax(model, tmp_path_factory):
    check_jax_run(model, tmp_path_factory)


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_stylizer_exports_pass_parity_from_either_backend(backend, tmp_path_factory, train_run):
    """The multi-style stylizer, 22 normalisations deep, trained on either backend: its float32
    ONNX files pass the exporters' comparison with Keras, and the TensorFlow run's TFLite files
    too (the released stylizer's every file is checked by test_stylizer_release.py)."""
    run = jax_run("stylizer", tmp_path_factory)[0] if backend == "jax" else train_run("stylizer")
    out = tmp_path_factory.mktemp(f"export-{backend}")
    formats = "onnx" if backend == "jax" else "onnx,tflite"
    result = run_cli("exporters", run, "--format", formats, "--quantize", "none", "--out", out,
                     env={**TENSORFLOW, "HOME": str(out)})
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(f"{name}.{suffix}" for name in ("stylizer", "stylizer_tile")
                                               for suffix in formats.split(","))
    for entry in manifest["files"].values():
        assert entry["validation"]["outputs"]
