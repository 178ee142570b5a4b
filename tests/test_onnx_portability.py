"""The released ONNX files run beyond onnxruntime: every ONNX file that a manifest in saved_models/
lists loads in OpenCV's DNN module (OpenCV 5's engine) and gives onnxruntime's outputs within
that file's own parity tolerance; none holds a ReverseSequence (which OpenCV does not implement);
and every ONNX entry lists the file's operators and those that onnxruntime-web's WebGPU provider
lacks, from the committed exporters/webgpu_operators.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SKIMAGE_DATA
from zoo.names import LATENT, TRUNCATION
from zoo.style.arbitrary import ALPHA, STYLE_IMAGE
from zoo.style.tiling import CORE_BOX, IMAGE, STYLE_WEIGHTS

MANIFESTS = sorted((ROOT / "saved_models").glob("*/export/manifest.json"))
ONNX_FILES = [manifest.parent / name for manifest in MANIFESTS
              for name, entry in json.loads(manifest.read_text())["files"].items() if entry["format"] == "onnx"]
BATCH = 2
SIDE = 64  # height and width given to networks that take any (a multiple of every network's grid)
PHOTOS = {IMAGE: SKIMAGE_DATA / "coffee.png", STYLE_IMAGE: SKIMAGE_DATA / "gravel.png"}


def entry_of(path: Path) -> dict:
    return json.loads((path.parent / "manifest.json").read_text())["files"][path.name]


def image_batch(name, shape):
    """Real pictures for image inputs: Fashion-MNIST test images for the 28x28 models, a photo
    (content) or a texture (style) cropped to SIDE x SIDE for the others."""
    from zoo.data.idx import read_idx
    from zoo.data.sources import SAMPLE_DIR
    from zoo.images import load_rgb

    height, width, channels = shape
    if channels == 1:
        images = read_idx(SAMPLE_DIR / "t10k-images-idx3-ubyte.gz")[:BATCH, :height, :width, None]
        return (images / 255.0).astype(np.float32)
    photo = load_rgb(PHOTOS[name], max_side=2 * SIDE)
    crops = [photo[:SIDE, :SIDE], photo[-SIDE:, -SIDE:]][:BATCH]
    return (np.stack(crops) / 255.0).astype(np.float32)


def producer(path: Path, name: str):
    """The file of the same export that computes input `name` (a style's statistics, a photo's
    moments, a VQ-VAE's codes) without taking it, in the same variant, else in float32 (the
    VQ-VAE's encoder has no other), or None."""
    files = json.loads((path.parent / "manifest.json").read_text())["files"]
    entry = files[path.name]
    for quantization in (entry["quantization"], "float32"):
        for other, e in files.items():
            if (e["format"], e["quantization"]) == (entry["format"], quantization) and \
                    name in {t["name"] for t in e["outputs"]} and name not in {t["name"] for t in e["inputs"]}:
                return path.parent / other
    return None


def fixed_inputs(path: Path) -> dict:
    """The same inputs on every run, as a user would give them: pictures, statistics computed
    by the network that makes them (run by onnxruntime on these same pictures), latent vectors
    from N(0, I), a blend and a single style, full and half style strength, a tile's core."""
    from zoo.deploy import runtime

    feed = {}
    for spec in entry_of(path)["inputs"]:
        name, shape = spec["name"], spec["shape"][1:]
        if len(shape) == 3:  # pictures are given, not taken from a network that makes them (a decoder)
            feed[name] = image_batch(name, [SIDE if d is None else d for d in shape])
        elif (source := producer(path, name)) is not None:
            feed[name] = runtime.load(source)(**fixed_inputs(source))[name]
        elif name == LATENT:
            feed[name] = np.random.default_rng(0).standard_normal((BATCH, *shape)).astype(np.float32)
        elif name == STYLE_WEIGHTS:
            feed[name] = np.stack([np.eye(shape[0])[0], np.full(shape[0], 1 / shape[0])]).astype(np.float32)
        elif name in (ALPHA, TRUNCATION):  # full and half strength; psi 1 and 0.5
            feed[name] = np.array([[1.0], [0.5]], np.float32)
        elif name == CORE_BOX:
            feed[name] = np.array([[0.0, 0.0, 1.0, 1.0], [0.25, 0.125, 0.75, 0.875]], np.float32)
        else:
            raise AssertionError(f"{path.name}: no fixed value for input {name!r}; add one to fixed_inputs")
    return feed


def opencv_outputs(path: Path, feed: dict, names) -> dict:
    import cv2

    net = cv2.dnn.readNetFromONNX(str(path))
    for name, value in feed.items():
        net.setInput(value, name)
    return dict(zip(names, net.forward(list(names))))


# The ONNX variants of each release. AdaIN has no fp16 file: computing in float16, its VGG19 encoder and
# decoder moved pixels by up to 0.039 (of 1) from Keras, over the 0.03 that fp16 files are held to.
ALL_VARIANTS = {"float32", "fp16", "dynamic"}
RELEASED_VARIANTS = {"cnn-fashion_mnist": ALL_VARIANTS, "dcgan-fashion_mnist": ALL_VARIANTS,
                     "vae-fashion_mnist": ALL_VARIANTS, "stylizer-paintings": ALL_VARIANTS,
                     "adain-paintings": {"float32", "dynamic"},
                     # the VQ-VAE's code networks: encoder float32 only, prior float32 and fp16 (Recipe.quantizations)
                     "vqvae-fashion_mnist": ALL_VARIANTS,
                     # dynamic int8 weights moved the StyleGAN's pixels past the tolerance (Recipe.quantizations)
                     "stylegan-fashion_mnist": {"float32", "fp16"}}


def test_every_release_has_its_onnx_variants_and_keeps_its_tflite_files():
    """What the parametrised tests below cover, and that re-exporting ONNX kept the TFLite entries."""
    for name, variants in RELEASED_VARIANTS.items():
        folder = ROOT / "saved_models" / name / "export"
        files = json.loads((folder / "manifest.json").read_text())["files"]
        assert {e["quantization"] for e in files.values() if e["format"] == "onnx"} == variants, name
        assert {n for n, e in files.items() if e["format"] == "tflite"} == {p.name for p in folder.glob("*.tflite")}


@pytest.mark.parametrize("path", ONNX_FILES, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_opencv_runs_the_file_like_onnxruntime(path, tmp_path, monkeypatch):
    from exporters.validate import compare
    from zoo.deploy import runtime

    monkeypatch.setenv("HOME", str(tmp_path))  # onnxruntime writes a cache under $HOME
    feed = fixed_inputs(path)
    reference = runtime.load(path)(**feed)
    got = opencv_outputs(path, feed, reference)
    assert all(np.isfinite(v).all() and v.std() > 0 for v in reference.values()), "degenerate fixed inputs"
    compare(f"{path.name} in OpenCV", reference, got, entry_of(path)["validation"]["tolerance"])


@pytest.mark.parametrize("path", ONNX_FILES, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_manifest_lists_the_operators_and_those_webgpu_lacks(path):
    import onnx

    from exporters.onnx import operators, webgpu_unsupported

    entry, model = entry_of(path), onnx.load(str(path))
    assert entry["onnx_operators"] == operators(model) and entry["webgpu_unsupported"] == webgpu_unsupported(model)
    assert set(entry["webgpu_unsupported"]) <= set(entry["onnx_operators"])
    assert "ReverseSequence" not in entry["onnx_operators"]
    if entry["quantization"] == "dynamic":  # int8 weights: integer convolutions, quantized on the fly
        assert "DynamicQuantizeLinear" in entry["webgpu_unsupported"]
    if path.parents[1].name.endswith("fashion_mnist") and entry["quantization"] != "dynamic":
        assert entry["webgpu_unsupported"] == [], "the Fashion-MNIST models run wholly on WebGPU"


def test_webgpu_table_reads_opset_ranges():
    """ops absent from the table, and ops present only for other opsets, are unsupported."""
    import onnx
    from onnx import helper

    from exporters.onnx import webgpu_source, webgpu_unsupported

    def model(op, opset):
        node = helper.make_node(op, ["x"] * (2 if op == "GridSample" else 1), ["z"])
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, None)],
                                  [helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, None)])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])

    assert webgpu_unsupported(model("Relu", 17)) == []
    assert webgpu_unsupported(model("ReverseSequence", 17)) == ["ReverseSequence"]
    assert webgpu_unsupported(model("GridSample", 16)) == []  # GridSample: "16-19" only
    assert webgpu_unsupported(model("GridSample", 20)) == ["GridSample"]
    assert webgpu_source() == "onnxruntime-web 1.31.1 (npm)"
