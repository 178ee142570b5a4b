"""Stylize a photo.

    python -m zoo.stylize PHOTO --model saved_models/stylizer-ihc --runtime tflite --out out.png
    python -m zoo.stylize PHOTO --style STYLE.jpg --method optimize --steps 100 --out out.png

`--model` runs a trained feed-forward stylizer (a run folder, a released folder, or a `.keras`,
`.onnx` or `.tflite` file). With `--runtime onnx` or `tflite` nothing from TensorFlow or Keras is
imported: the file runs through onnxruntime or the LiteRT interpreter, the input resized to the
photo as a phone would. `--method optimize` runs Gatys et al.'s optimisation against `--style`
(needs TensorFlow and VGG19 weights, see zoo.vgg). Next to the result, a `*_compare.png` shows
photo | (style |) result.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.errors import ArgumentParser, ZooError, cli  # noqa: E402
from zoo.images import grid, load_rgb, save_image, to_float, to_uint8  # noqa: E402
from zoo.log import log, setup  # noqa: E402

MAX_SIDE = 4096  # larger photos are downscaled to this longer side (memory of the network's activations)
MULTIPLE = 8  # the stylizer halves the resolution three times


def build_parser():
    p = ArgumentParser(prog="python -m zoo.stylize", description=__doc__.split("\n\n")[0],
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("content", help="the photo to stylize")
    p.add_argument("--out", help="result file (default: PHOTO-stylized.png in the current folder)")
    p.add_argument("--method", choices=("model", "optimize"), help="default: model if --model is given, else optimize")
    p.add_argument("--size", type=int, help="scale the photo to this longer side first "
                                            f"(default: 512 for optimize; {MAX_SIDE} at most for model)")
    m = p.add_argument_group("feed-forward model")
    m.add_argument("--model", help="run folder, released folder (saved_models/stylizer-*), or .keras/.onnx/.tflite file")
    m.add_argument("--runtime", choices=("keras", "onnx", "tflite"),
                   help="default: from the file's extension, else onnx")
    m.add_argument("--threads", type=int, help="CPU threads for onnx/tflite")
    o = p.add_argument_group("optimisation (Gatys et al.)")
    o.add_argument("--style", help="the style image")
    o.add_argument("--steps", type=int, default=100, help="optimiser iterations per scale")
    o.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    o.add_argument("--learning-rate", type=float, default=0.02, help="Adam's step size (pixels in [0, 1])")
    o.add_argument("--scales", default="1", help="comma-separated fractions of --size, coarse to fine, e.g. 0.5,1")
    o.add_argument("--content-weight", type=float, default=1.0)
    o.add_argument("--style-weight", type=float, default=1e-4)
    o.add_argument("--tv-weight", type=float, default=1e5)
    o.add_argument("--content-layers", default="block4_conv2", help="VGG19 layers, comma-separated")
    o.add_argument("--style-layers", default="block1_conv1,block2_conv1,block3_conv1,block4_conv1,block5_conv1")
    o.add_argument("--vgg-weights", help="VGG19 weights file, or 'random' (see zoo.vgg for the default search)")
    return p


@cli
def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    setup()
    method = args.method or ("model" if args.model else "optimize")
    for flag in ("size", "steps", "threads"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise ZooError(f"--{flag} must be at least 1")
    out = Path(args.out or f"{Path(args.content).stem}-stylized.png")
    if method == "optimize":
        if not args.style:
            raise ZooError("--method optimize needs --style STYLE_IMAGE")
        content = load_rgb(args.content, max_side=args.size or 512)
        style = load_rgb(args.style, max_side=max(content.shape[:2]))
        result, seconds = optimize(content, style, args)
        panels, labels = [content, style, result], ["content", "style", "result"]
    else:
        if not args.model:
            raise ZooError("--method model needs --model RUN_DIR_OR_FILE")
        runner, how = open_model(args.model, args.runtime, args.threads)
        content = load_rgb(args.content, max_side=args.size or MAX_SIDE)
        start = time.perf_counter()
        result = stylize(runner, content)
        seconds = time.perf_counter() - start
        panels, labels = [content, result], ["content", f"stylized ({how})"]
        if args.style:
            panels, labels = [content, load_rgb(args.style, max_side=1024), result], ["content", "style", labels[1]]
    save_image(out, result)
    compare = out.with_name(f"{out.stem}_compare.png")
    save_image(compare, grid([panels], labels, height=min(384, content.shape[0])))
    print(f"wrote {out} ({result.shape[1]}x{result.shape[0]}, {seconds:.2f} s) and {compare}")
    return 0


def open_model(path, runtime_name=None, threads=None):
    """A zoo.runtime Runner for the stylizer at `path`, and a word on how it runs."""
    from zoo import runtime

    path = Path(path)
    if not path.exists():
        raise ZooError(f"no model at {path}: give a run folder, a released stylizer folder, or a .keras/.onnx/.tflite file")
    suffix_runtime = {".keras": "keras", ".onnx": "onnx", ".tflite": "tflite"}
    if path.is_file():
        if path.suffix not in suffix_runtime:
            raise ZooError(f"{path} is not a .keras, .onnx or .tflite file")
        if runtime_name and runtime_name != suffix_runtime[path.suffix]:
            raise ZooError(f"--runtime {runtime_name} cannot run {path.name}; leave --runtime out or give a folder")
        runtime_name = suffix_runtime[path.suffix]
        if runtime_name != "keras":
            return runtime.load(path, threads=threads), f"{runtime_name}: {path.name}"
        return keras_runner(path), "keras"
    runtime_name = runtime_name or "onnx"
    if runtime_name == "keras":
        if (path / "config.json").is_file():
            return runtime.load_keras(path, ["stylizer"], threads=threads), "keras"
        return keras_runner(path / "model.keras"), "keras"
    runner = runtime.load_exported(path, ["stylizer"], runtime_name, threads=threads)
    return runner, f"{runtime_name}: {runner.path.name}"


def keras_runner(model_file):
    """A Runner over a `.keras` file (the Stylizer trainer or the bare transformation network)."""
    from exporters.export import KerasRunner, serving_function
    from zoo.runs import load_keras_model

    model = load_keras_model(model_file)
    return KerasRunner(serving_function(getattr(model, "transformer", model), True))


def stylize(runner, image: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [H, W, 3]: reflect-padded to a multiple of 8 for the network."""
    (spec,) = runner.inputs
    if len(spec.shape) != 4 or spec.shape[1:] != (None, None, 3):
        raise ZooError(f"the model takes {spec.name!r} of shape {spec.shape}; a stylizer takes images of any size")
    h, w = image.shape[:2]
    x = to_float(image)
    pad_h, pad_w = -h % MULTIPLE, -w % MULTIPLE
    if pad_h or pad_w:
        mode = "reflect" if min(h, w) > MULTIPLE else "edge"
        x = np.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode=mode)
    out = runner(**{spec.name: np.ascontiguousarray(x)})
    y = out["stylized"] if "stylized" in out else next(iter(out.values()))
    return to_uint8(y[:, :h, :w])


def optimize(content, style, args):
    """Gatys et al. with the CLI's settings and a progress bar; returns (uint8 result, seconds)."""
    from tqdm import tqdm

    from zoo.gatys import Gatys
    from zoo.style_losses import PerceptualLoss
    from zoo.vgg import VGGFeatures

    content_layers = [s for s in args.content_layers.split(",") if s]
    style_layers = [s for s in args.style_layers.split(",") if s]
    try:
        scales = [float(s) for s in args.scales.split(",")]
    except ValueError:
        raise ZooError(f"--scales must be numbers such as 0.5,1, got {args.scales!r}") from None
    if not scales or any(not 0 < s <= 1 for s in scales):
        raise ZooError("--scales must be fractions in (0, 1], coarse to fine")
    if min(style.shape[:2]) < 32:
        raise ZooError(f"style image {args.style} is only {style.shape[1]}x{style.shape[0]}; it needs at least "
                       "32 pixels on each side")
    features = VGGFeatures(content_layers + style_layers, args.vgg_weights)
    gatys = Gatys(PerceptualLoss(features, to_float(style), content_layers=content_layers, style_layers=style_layers,
                                 content_weight=args.content_weight, style_weight=args.style_weight,
                                 tv_weight=args.tv_weight))
    log.info(f"optimising {content.shape[1]}x{content.shape[0]} pixels, {args.steps} {args.optimizer} steps "
             f"at scales {scales}")
    bar = tqdm(total=args.steps * len(scales), unit="step", file=sys.stderr)

    def progress(step, loss):
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4g}")

    start = time.perf_counter()
    image, _ = gatys.run(to_float(content), steps=args.steps, optimizer=args.optimizer,
                         learning_rate=args.learning_rate, scales=scales, progress=progress)
    bar.close()
    seconds = time.perf_counter() - start
    total, c, s, tv = gatys.evaluate(image, to_float(content))
    log.info(f"losses: total {total:.4g}, content {c:.4g}, style {s:.4g}, tv {tv:.4g}")
    return to_uint8(image), seconds


if __name__ == "__main__":
    sys.exit(main())
