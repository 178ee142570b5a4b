"""Shared fixtures: run the zoo's CLIs as a user would (subprocesses), on real Fashion-MNIST
(Debian's package when installed, else the sample embedded in the package), and a few tiny
trained runs that several tests reuse."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock
from PIL import Image

import forked

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The JAX processes of the suite run a few steps each, most of their time XLA compiling (every
# eager op at every shape is a program): compile without LLVM's optimisation passes, which pay
# off only over many steps (`jax_compilation_cache` below also shares the programs).
# Every process of the suite computes on one thread: the pytest-xdist workers and the processes
# they start already keep both cores busy, and thread pools that each size themselves to the
# machine only wait on one another (tests of --threads and of several devices set their own).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")
for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(name, "1")
ROOT = Path(__file__).resolve().parents[1]


def run_cli(module, *args, env=None, timeout=600, cwd=None):
    """Run `python -m module args...`; return the CompletedProcess (text, both streams captured).
    The process is forked from one that has imported TensorFlow and Keras (tests/forked.py), unless
    `env` changes what their import reads (another backend, another home): then a new interpreter."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    backend = lambda e: e.get("KERAS_BACKEND", "tensorflow")  # noqa: E731
    if backend(full_env) == backend(os.environ) == "tensorflow" and all(
            full_env.get(name) == os.environ.get(name) for name in ("HOME", "KERAS_HOME")):
        return forked.run(module, list(map(str, args)), full_env, cwd or ROOT, timeout)
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=cwd or ROOT)


def release(run, dest) -> Path:
    """`python scripts/release_model.py run dest`, as a user releases a run; `dest` once it succeeded."""
    result = subprocess.run([sys.executable, "scripts/release_model.py", str(run), str(dest)], capture_output=True,
                            text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return dest


def call_cli(capsys, module, *args):
    """`python -m module args...` run by its `main()` in this process, as `run_cli` reports it
    (exit status, both streams): for the cases that end before a model is built (a refused flag,
    folder or file), without the ten seconds of a new interpreter importing TensorFlow. The exit
    status and the single error line of a real process are checked once per CLI with `run_cli`."""
    module = importlib.import_module(module)
    main = getattr(module, "main", None) or importlib.import_module(module.__name__ + ".__main__").main
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's refusals
        code = e.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess([module.__name__, *map(str, args)], code, out, err)


def session_folder(tmp_path_factory, worker_id, name) -> Path:
    """A folder of this test session's that every pytest-xdist worker shares."""
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # the workers' temporary folders lie side by side in the session's
        root = root.parent
    (root / name).mkdir(exist_ok=True)
    return root / name


@pytest.fixture(scope="session", autouse=True)
def jax_compilation_cache(tmp_path_factory, worker_id):
    """One persistent XLA compilation cache for the session's JAX processes, whatever the size
    or compile time of a program: the suite's JAX trainings share the VGG19 loss's programs and
    many small ones."""
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(session_folder(tmp_path_factory, worker_id, "jax-cache"))
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"


@pytest.fixture(scope="session")
def build_once(tmp_path_factory, worker_id):
    """build_once(name, build) -> folder: `build(folder)` run once per test session, by whichever
    pytest-xdist worker asks first, while the others wait for it and reuse its folder. The tiny
    trained and exported runs take minutes each; each worker making its own would double them."""
    root = session_folder(tmp_path_factory, worker_id, "built-once")

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
SLOW_FIXTURES = {"build_once", "train_run", "run_dir", "exported", "exported_float", "trained", "keras_reference",
                 "browser", "site"}


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
    folder.mkdir()
    for name in ("astronaut.png", "coffee.png", "rocket.jpg"):
        with Image.open(SKIMAGE_DATA / name) as im:
            im = im.convert("RGB")
            im.thumbnail((96, 96))
            im.save(folder / f"{name.split('.')[0]}.png")
    return folder


def stylizer_data(root):
    return ["--styles", ",".join(map(str, STYLE_FILES[:2])), "--content", tiny_photos(root / "photos")]


def paintings(folder):
    """scikit-image's six 'paintings' (grey and colour, 512 to 1411 pixels) and ihc.png with a
    transparent half, `ihc_cut_out.png`: held out, in name order, are brick.png and the cut-out."""
    skimage_folder(folder, SKIMAGE_PAINTINGS)
    rgba = np.asarray(Image.open(SKIMAGE_DATA / "ihc.png").convert("RGBA")).copy()
    rgba[:, : rgba.shape[1] // 2, 3] = 0
    Image.fromarray(rgba).save(folder / "ihc_cut_out.png")
    return folder


def adain_data(root):
    return ["--content", tiny_photos(root / "photos"), "--styles", paintings(root / "paintings")]


# The one table of tiny runs: per model, (a function that makes the data it trains on in a
# folder and returns the flags that name it, the flags that keep it small). The style-transfer
# models train on a few small photos and paintings in small crops, two steps an epoch; every
# other model, a new one too, on the first images of Fashion-MNIST (FASHION_MNIST_RUN), the
# StyleGAN (whose epochs are thousands of steps) for four steps an epoch.
FASHION_MNIST_RUN = ["--limit", 512, "--batch-size", 64]
TINY_RUNS = {
    "stylizer": (stylizer_data, ["--crop-size", 32, "--style-size", 128, "--batch-size", 2, "--residual-blocks", 1,
                                 "--widths", "8,16,32", "--steps-per-epoch", 2]),
    "adain": (adain_data, ["--crop-size", 32, "--widths", "8,16,32", "--batch-size", 2, "--steps-per-epoch", 2]),
    "arbitrary": (adain_data, ["--crop-size", 32, "--widths", "8,16,32", "--residual-blocks", 1, "--batch-size", 2,
                               "--steps-per-epoch", 2, "--loss-context", 8, "--detail-channels", 4]),
    "stylegan": (lambda folder: FASHION_MNIST_RUN, ["--width", 16, "--steps-per-epoch", 4]),
}


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


# A classifier's run keeps 1,000 test images (--limit 5000); 10 steps keep its training short.
# Test-time augmentation by flipping puts two views, averaged, in the exported graph (the
# released CNN's ten views are checked by its own release and test_released.py). Each file's
# accuracy is checked on EVAL_IMAGES of them: "within 0.5 points" is one image.
CLASSIFIER_FLAGS = ("--limit", "5000", "--epochs", "1", "--steps-per-epoch", "10", "--tta", "flip")
EVAL_IMAGES = 200


def release_layout(run: Path, dest: Path) -> Path:
    """Copy a run as the released models ship: config.json, model.keras, metrics.json only."""
    dest.mkdir(parents=True)
    for name in ("config.json", "model.keras", "metrics.json"):
        shutil.copy(run / name, dest / name)
    return dest


def exported_run(model, train_run, build_once) -> Path:
    """A run folder of `model` exported to every format by the CLI (once per session)."""

    def build(folder):
        from zoo import models
        from zoo.names import Task

        classifier = models.get(model).task == Task.CLASSIFIER
        run = release_layout(train_run(model, *(CLASSIFIER_FLAGS if classifier else ())),
                             folder / f"{model}-fashion_mnist")
        start = time.perf_counter()
        if classifier:  # as a user runs it: eight files, each checked for accuracy
            result = run_cli("exporters", run, "--eval-images", EVAL_IMAGES, env={"HOME": str(run.parent)},
                             timeout=1800)
            assert result.returncode == 0, result.stderr[-3000:]
        else:  # in this process: the same code without another TensorFlow start-up
            from exporters.__main__ import main

            assert main([str(run)]) == 0
        print(f"\nexported {model} in {time.perf_counter() - start:.1f} s")

    return build_once(f"exported-{model}", build) / f"{model}-fashion_mnist"


@pytest.fixture(scope="session")
def exported(train_run, build_once):
    """exported(model): the tiny run of `model` as released models ship, exported to every format
    (`exported_run`)."""
    return lambda model: exported_run(model, train_run, build_once)


@pytest.fixture(scope="session")
def exported_float(train_run, build_once):
    """exported_float(model): a copy of the tiny run of `model` (its pictures too) with float32
    ONNX and TFLite files that the exporters checked against Keras, once per session: the
    style models' deploy tests, without the minutes that int8 calibration of a VGG19 takes."""

    def export(model):
        def build(folder):
            from exporters.__main__ import main

            run = shutil.copytree(train_run(model), folder / "run")
            assert main([str(run), "--format", "onnx,tflite", "--quantize", "none"]) == 0

        return build_once(f"exported-float-{model}", build) / "run"

    return export


RELEASED_STYLIZER = ROOT / "saved_models" / "stylizer-paintings"


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A copy of the released multi-style stylizer's run folder (model.keras, config.json and the
    ONNX and TFLite exports of `python -m exporters`, nearest upsampling), on which the runtime,
    tiling and video tests run a trained network: tests may write beside it, the release stays
    as it is. Training a stylizer from the command line is tested in test_train_cli.py."""
    return shutil.copytree(RELEASED_STYLIZER, tmp_path_factory.mktemp("stylizer") / "stylizer-paintings")


# Runs `python -m MODULE ARGV...` by its main() with the packages of $ZOO_TEST_BLOCKED made
# unimportable, as if they were not installed, and exits 3 if one got imported anyway.
WITHOUT = """
import importlib, os, sys
blocked = os.environ["ZOO_TEST_BLOCKED"].split(",")
for name in blocked:
    sys.modules[name] = None
module, argv = sys.argv[1], sys.argv[2:]
main = getattr(importlib.import_module(module), "main", None) or importlib.import_module(module + ".__main__").main
rc = main(argv)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in blocked and sys.modules[m] is not None)
print(*["imported anyway:", *leaked] if leaked else [], file=sys.stderr)
sys.exit(3 if leaked else rc)
"""
TENSORFLOW_AND_KERAS = ("tensorflow", "keras", "tf_keras")


def run_without(blocked, module, *argv, env=None, timeout=600):
    """`python -m module argv...` where the packages `blocked` cannot be imported: the deploy path
    of phones and servers without TensorFlow or Keras, training where JAX is alone."""
    env = {**os.environ, **(env or {}), "ZOO_TEST_BLOCKED": ",".join(blocked)}
    return subprocess.run([sys.executable, "-c", WITHOUT, module, *map(str, argv)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env=env)


def run_without_tensorflow(tmp_path, module, *argv):
    """`python -m module argv...` without TensorFlow or Keras, $HOME in `tmp_path`."""
    return run_without(TENSORFLOW_AND_KERAS, module, *argv, env={"HOME": str(tmp_path)}, timeout=300)
