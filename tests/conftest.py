"""Shared fixtures: run the zoo's CLIs as a user would (subprocesses), on real Fashion-MNIST
(Debian's package when installed, else the sample embedded in the package), and a few tiny
trained runs that several tests reuse."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]


def run_cli(module, *args, env=None, timeout=600, cwd=None):
    """Run `python -m module args...`; return the CompletedProcess (text, both streams captured)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=cwd or ROOT)


@pytest.fixture(scope="session")
def build_once(tmp_path_factory, worker_id):
    """build_once(name, build) -> folder: `build(folder)` run once per test session, by whichever
    pytest-xdist worker asks first, while the others wait for it and reuse its folder. The tiny
    trained and exported runs take minutes each; each worker making its own would double them."""
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # the workers' temporary folders lie side by side in the session's
        root = root.parent
    root = root / "built-once"
    root.mkdir(exist_ok=True)

    def build_once_(name: str, build) -> Path:
        folder = root / name
        with FileLock(str(folder) + ".lock"):
            if not (folder / ".built").is_file():
                shutil.rmtree(folder, ignore_errors=True)  # a build that failed earlier
                folder.mkdir()
                build(folder)
                (folder / ".built").touch()
        return folder

    return build_once_


# Fixtures that train, export or start a browser: a test that takes one is `slow`, so that
# `pytest -m "not slow"` (the development tier, README) runs the rest in a few minutes.
SLOW_FIXTURES = {"build_once", "train_run", "run_dir", "exported", "trained", "keras_reference", "browser", "site"}


def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def key_name(*parts) -> str:
    """A folder name for a build of these parts (a model and its flags)."""
    return f"{parts[0]}-{hashlib.sha256(repr(parts).encode()).hexdigest()[:12]}"


def error_line(result):
    """The single `error: ...` line a CLI prints for bad input (asserting there is exactly one)."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    return lines[0]


SKIMAGE_DATA = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data"
STYLIZER_STYLES = ["hubble_deep_field", "ihc", "gravel"]
STYLE_FILES = [SKIMAGE_DATA / n for n in ("hubble_deep_field.jpg", "ihc.png", "gravel.png")]


# Photos and paintings from scikit-image's package folder for the arbitrary-style models' tests;
# camera, brick, grass and gravel are grey PNGs, so grey images go through every path.
SKIMAGE_PHOTOS = ("astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png")
SKIMAGE_PAINTINGS = ("brick.png", "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "retina.jpg")


def skimage_folder(root, names):
    """`root` holding copies of scikit-image's sample images `names`."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SKIMAGE_DATA / name, root / name)
    return root


def tiny_photos(folder):
    """Three small photos (one is held out), so that style transfer's evaluation and pictures
    take seconds."""
    from PIL import Image

    folder.mkdir()
    for name in ("astronaut.png", "coffee.png", "rocket.jpg"):
        with Image.open(SKIMAGE_DATA / name) as im:
            im = im.convert("RGB")
            im.thumbnail((96, 96))
            im.save(folder / f"{name.split('.')[0]}.png")
    return folder


def stylizer_data(root):
    return ["--styles", ",".join(map(str, STYLE_FILES[:2])), "--content", tiny_photos(root / "photos")]


def adain_data(root):
    (root / "paintings").mkdir()
    for path in STYLE_FILES:
        shutil.copy(path, root / "paintings" / path.name)
    return ["--content", tiny_photos(root / "photos"), "--styles", root / "paintings"]


# The one table of tiny runs: per model, (a function that makes the data it trains on in a
# folder and returns the flags that name it, the flags that keep it small). The style-transfer
# models train on a few small photos and paintings in small crops, two steps an epoch; every
# other model, a new one too, on the first images of Fashion-MNIST (FASHION_MNIST_RUN).
TINY_RUNS = {
    "stylizer": (stylizer_data, ["--crop-size", 32, "--style-size", 128, "--batch-size", 2, "--residual-blocks", 1,
                                 "--widths", "8,16,32", "--steps-per-epoch", 2]),
    "adain": (adain_data, ["--crop-size", 32, "--widths", "8,16,32", "--batch-size", 2, "--steps-per-epoch", 2]),
    "arbitrary": (adain_data, ["--crop-size", 32, "--widths", "8,16,32", "--residual-blocks", 1, "--batch-size", 2,
                               "--steps-per-epoch", 2]),
}
FASHION_MNIST_RUN = ["--limit", 512, "--batch-size", 64]


def tiny_flags(model, tmp_path_factory) -> list:
    """zoo.train flags of a tiny run of `model` (see TINY_RUNS), its data made in a new folder."""
    if model not in TINY_RUNS:
        return FASHION_MNIST_RUN
    make_data, flags = TINY_RUNS[model]
    return [*make_data(tmp_path_factory.mktemp(f"data-{model}")), *flags]


def each_model(covered_elsewhere: dict):
    """`models.names()` as pytest parameters: a test over it runs for every model, new ones
    too. A model in `covered_elsewhere` ({model: reason}) is skipped with its reason shown, for
    a case that would repeat a slower test of that model's own."""
    from zoo import models

    return [pytest.param(name, marks=pytest.mark.skip(reason=f"{name}: {covered_elsewhere[name]}"))
            if name in covered_elsewhere else name for name in models.names()]


@pytest.fixture(scope="session")
def train_run(tmp_path_factory, build_once):
    """train_run(model, *flags) trains a tiny run of two epochs (TINY_RUNS, then `flags`) once
    per distinct call in the session and returns its folder."""

    def train(model, *flags):
        def build(folder):
            result = run_cli("zoo.train", model, *tiny_flags(model, tmp_path_factory), "--epochs", 2,
                             "--out", folder / "run", *flags, timeout=1200)
            assert result.returncode == 0, result.stderr[-3000:]

        return build_once(key_name("run", model, *map(str, flags)), build) / "run"

    return train


@pytest.fixture(scope="session")
def run_dir(build_once):
    """Two big training steps of a real three-style stylizer run (enough for its styles to differ
    visibly), exported to ONNX and float32 TFLite. Nearest upsampling, the released stylizer's:
    the runtime, tiling and video tests' figures (the deflicker test's 0.8) were set on it. The exporter's own comparison with Keras is
    skipped: test_runtimes_agree_with_keras makes it here, for blends too."""

    def build(folder):
        result = run_cli("zoo.train", "stylizer", "--styles", ",".join(map(str, STYLE_FILES)), "--content",
                         tiny_photos(folder / "photos"), "--crop-size", 64, "--style-size", 128, "--batch-size", 2,
                         "--epochs", 1, "--steps-per-epoch", 2, "--learning-rate", 0.05, "--upsampling", "nearest",
                         "--out", folder / "run", timeout=1200)
        assert result.returncode == 0, result.stderr[-3000:]
        result = run_cli("exporters", folder / "run", "--format", "onnx,tflite", "--quantize", "none", "--no-validate",
                         env={"HOME": str(folder)}, timeout=1200)
        assert result.returncode == 0, result.stderr[-3000:]

    return build_once("stylizer-run", build) / "run"


# Runs zoo.stylize's main() with TensorFlow and Keras unimportable, and fails if either got
# imported anyway: the deploy path of phones and servers without TensorFlow.
BLOCK_TF = ("import sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None; "
            "from zoo.stylize import main; rc = main(sys.argv[1:]); "
            "assert not any(m.startswith(('tensorflow', 'keras')) and sys.modules[m] for m in sys.modules); sys.exit(rc)")


def run_without_tensorflow(tmp_path, *argv):
    """`python -m zoo.stylize argv...` without TensorFlow or Keras, $HOME in `tmp_path`."""
    return subprocess.run([sys.executable, "-c", BLOCK_TF, *map(str, argv)], capture_output=True, text=True,
                          env={"HOME": str(tmp_path), "PATH": ""}, cwd=ROOT, timeout=300)
