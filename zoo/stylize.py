"""Stylize a photo, a folder of photos or a video.

    python -m zoo.stylize PHOTO --style starry_night --out out.png      # the released stylizer that knows it
    python -m zoo.stylize PHOTO --model stylizer-paintings --style starry_night --out out.png
    python -m zoo.stylize PHOTO --model RUN_DIR --style starry_night:0.7,great_wave:0.3 --strength 0.8 --preserve-color
    python -m zoo.stylize PHOTOS_DIR --model RUN_DIR --style great_wave --out RESULTS_DIR
    python -m zoo.stylize clip.mp4 --model RUN_DIR --style great_wave --deflicker 0.5 --out out.mp4
    python -m zoo.stylize --model RUN_DIR --list-styles
    python -m zoo.stylize PHOTO --model saved_models/adain-paintings --style PAINTING.jpg --strength 0.8
    python -m zoo.stylize PHOTO --style STYLE.jpg --method optimize --steps 100 --out out.png

`--model` runs a trained feed-forward model (a released name, a run folder, a released folder,
or a `.keras`, `.onnx` or `.tflite` file); without it, a `--style` that names styles runs the
released stylizer that knows them, and a `--style` image file the released small arbitrary-style
model (arbitrary-mobile; Gatys et al.'s optimisation where none is released). For a multi-style
stylizer `--style` names one of its styles or
blends several (weights are normalised to sum 1); for an arbitrary-style (AdaIN) model it gives
any painting's image file, or blends several (`a.jpg:0.7,b.jpg:0.3`), and `--strength` is the
paper's alpha, blending features rather than pixels. With `--runtime onnx` or `tflite` nothing
from TensorFlow or Keras is imported: the file runs through onnxruntime or the LiteRT
interpreter. A photo keeps its size unless `--max-size` caps it; big photos go through in tiles.
A single photo gets a `*_compare.png` next to the result (photo | result); a folder is written as
OUT_DIR/NAME.png, skipping (and reporting, exit status 1) files that cannot be read; a video
(.mp4, .mov, .mkv, ...; needs the [video] extra) keeps its frame count and rate, and loses its
audio. `--method optimize` runs Gatys et al.'s optimisation against `--style` as a style image
(needs TensorFlow and VGG19 weights, see zoo.style.vgg).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.api import open as open_bundle, released_models  # noqa: E402
from zoo.deploy.runtime import read_manifest  # noqa: E402
from zoo.errors import ArgumentParser, ZooError, check_at_least, cli  # noqa: E402
from zoo.images import grid, load_rgb, save_image, to_float, to_uint8  # noqa: E402
from zoo.log import log, setup  # noqa: E402
from zoo.names import EXPORT_DIR  # noqa: E402
from zoo.style.arbitrary import (MIN_STYLE_SIDE, PHONE_RECIPE, STYLE_SIDE, TRANSFER_TILE,  # noqa: E402
                                 arbitrary_model, describe_styles, is_arbitrary, style_statistics, transfer_image)
from zoo.style.controls import apply_controls  # noqa: E402
from zoo.style.folder import plan, stylize_folder  # noqa: E402
from zoo.style.model import TILE, stylize_image, stylizer_model  # noqa: E402
from zoo.style.tiling import MULTIPLE  # noqa: E402
from zoo.style.video import OUTPUT_SUFFIXES, VIDEO_SUFFIXES, is_video, stylize_video  # noqa: E402
from zoo.style.weights import describe, parse_blend, parse_weights  # noqa: E402

OPTIMIZE_SIDE = 512  # Gatys et al. optimise every pixel: photos are scaled to this by default


def build_parser():
    p = ArgumentParser(prog="python -m zoo.stylize", description=__doc__.split("\n\n")[0])
    p.add_argument("content", nargs="?", help="a photo, a folder of photos, or a video "
                                              f"({', '.join(VIDEO_SUFFIXES)}) to stylize")
    p.add_argument("--out", help="the result: an image file for a photo (default: PHOTO-stylized.png here), a folder "
                                 "for a folder, written as OUT/NAME.png (default: FOLDER-stylized here), or a "
                                 f"{'/'.join(OUTPUT_SUFFIXES)} file for a video (default: VIDEO-stylized.mp4 here)")
    p.add_argument("--method", choices=("model", "optimize"),
                   help="default: model if --model is given, --style names a released stylizer's styles or "
                        "--style is an image file and a small arbitrary-style model is released, else optimize "
                        "(TensorFlow backend only)")
    p.add_argument("--style", help="with a multi-style --model: a style name, or a blend NAME:WEIGHT,... such as "
                                   "starry_night:0.7,great_wave:0.3 (see --list-styles); with an arbitrary-style "
                                   "--model: an image file, or a blend FILE:WEIGHT,...; with --method optimize: the "
                                   "style image")
    p.add_argument("--max-size", "--size", dest="max_size", type=int,
                   help="scale photos and video frames down to this longer side first (big JPEGs are decoded at "
                        f"reduced size). Default: {OPTIMIZE_SIDE} for optimize, the photo's own size for a model")
    p.add_argument("--strength", type=float, default=1.0,
                   help="how much style, 0 to 1: (1 - s) * photo + s * stylized; 0 gives back the photo")
    p.add_argument("--preserve-color", action="store_true",
                   help="keep the photo's colours: only the luminance is stylized")
    m = p.add_argument_group("feed-forward model")
    m.add_argument("--model", help="released name (stylizer-paintings, adain-paintings: python -m zoo.list), run or "
                                   "released folder, or .keras/.onnx/.tflite file (default: the released stylizer "
                                   "that knows --style's names; for an image file, the released arbitrary-mobile)")
    m.add_argument("--runtime", choices=("keras", "onnx", "tflite"),
                   help="default: from the file's extension, else onnx")
    m.add_argument("--threads", type=int, help="CPU threads for onnx/tflite")
    m.add_argument("--list-styles", action="store_true", help="print the model's style names, one per line, and exit")
    m.add_argument("--exact-stats", action="store_true",
                   help="photos above a megapixel go through in tiles, normalised with statistics of the whole "
                        "photo taken from a downscaled copy and refined on a sample of full-resolution tiles; this "
                        "takes them exactly instead, one pass over every tile per normalisation layer (the untiled "
                        "result to rounding, many times slower: see the model card)")
    m.add_argument("--style-size", type=int, default=STYLE_SIDE,
                   help="arbitrary-style (AdaIN) models: read the style images at this longer side")
    v = p.add_argument_group("video (audio is dropped)")
    v.add_argument("--deflicker", type=float, default=0.0,
                   help="0 to below 1: blend the previous stylized frame into the current one where the input frame "
                        "barely changed, by this much (0: off; 0.5 is a good start)")
    o = p.add_argument_group("optimisation (Gatys et al.; TensorFlow backend only: KERAS_BACKEND=tensorflow)")
    o.add_argument("--steps", type=int, default=100, help="optimiser iterations per scale")
    o.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    o.add_argument("--learning-rate", type=float, default=0.02, help="Adam's step size (pixels in [0, 1])")
    o.add_argument("--scales", default="1", help="comma-separated fractions of --max-size, coarse to fine, e.g. 0.5,1")
    o.add_argument("--content-weight", type=float, default=1.0)
    o.add_argument("--style-weight", type=float, default=1e-4)
    o.add_argument("--tv-weight", type=float, default=1e5)
    o.add_argument("--content-layers", default="block4_conv2", help="VGG19 layers, comma-separated")
    o.add_argument("--style-layers", default="block1_conv1,block2_conv1,block3_conv1,block4_conv1,block5_conv1")
    o.add_argument("--vgg-weights", help="VGG19 weights file, or 'random' (see zoo.style.vgg for the default search)")
    return p


def check_numbers(args):
    for flag in ("steps", "threads"):
        check_at_least(flag, getattr(args, flag))
    check_at_least("max_size", args.max_size, 2 * MULTIPLE)
    check_at_least("style_size", args.style_size, MIN_STYLE_SIDE)
    if not 0 <= args.strength <= 1:
        raise ZooError(f"--strength must be between 0 and 1, got {args.strength}")
    if not 0 <= args.deflicker < 1:
        raise ZooError(f"--deflicker must be at least 0 and below 1, got {args.deflicker}")


@cli
def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    setup()
    check_numbers(args)
    if not args.model and args.method != "optimize" and args.style:
        args.model = released_stylizer(args.style)
    method = args.method or ("model" if args.model else "optimize")
    if args.list_styles:
        if not args.model:
            raise ZooError("--list-styles needs --model")
        bundle = open_model(args)
        if is_arbitrary(bundle):
            raise ZooError(f"{args.model} is an arbitrary-style model: it has no list of styles, any painting is "
                           "one (--style PAINTING.jpg)")
        print("\n".join(stylizer_model(bundle).styles))
        return 0
    if not args.content:
        raise ZooError("give a photo, a folder of photos or a video to stylize")
    content = Path(args.content)
    kind = "folder" if content.is_dir() else "video" if is_video(content) else "photo"
    if args.deflicker and kind != "video":
        raise ZooError("--deflicker applies to videos only")
    if method == "optimize":
        if kind != "photo":
            raise ZooError(f"--method optimize stylizes one photo at a time; a {kind} needs --model")
        return optimize_photo(content, args)
    if not args.model:
        raise ZooError("--method model needs --model RUN_DIR_OR_FILE")
    bundle = open_model(args)
    render, label = (arbitrary_renderer if is_arbitrary(bundle) else stylizer_renderer)(bundle, args)
    commands = {"photo": stylize_photo, "folder": stylize_photos, "video": stylize_clip}
    return commands[kind](content, args, render, label)


def released_stylizer(spec: str) -> str | None:
    """With no --model, `--style starry_night` (or a blend of names) means the released stylizer
    that knows every style named, and `--style painting.jpg` (image files) the released small
    arbitrary-style model (`PHONE_RECIPE`): its name, or None when no such model is released
    (Gatys's optimisation then); a ZooError when no released stylizer knows a name."""
    names = [item for item, _ in parse_blend(spec)]
    manifests = {release: read_manifest(folder / EXPORT_DIR) for release, folder in released_models().items()}
    if any(Path(name).exists() for name in names):
        return next((release for release, manifest in manifests.items() if manifest.get("model") == PHONE_RECIPE), None)
    known = {}
    for release, manifest in manifests.items():
        styles = manifest.get("styles") or []
        if set(names) <= set(styles):
            return release
        known.update(dict.fromkeys(styles))
    missing = ", ".join(repr(n) for n in names if n not in known)
    raise ZooError(f"no released stylizer knows the style {missing or repr(spec)} and no such image file exists; "
                   f"the released styles: {', '.join(known) or 'none'} (or give --model)")


def open_model(args):
    """The --model in --runtime (zoo.open), its tile networks with less memory."""
    return open_bundle(args.model, args.runtime, args.threads, low_memory=(TILE, TRANSFER_TILE))


def stylizer_renderer(bundle, args):
    """(photo -> result, label) of a multi-style stylizer with the styles --style names."""
    model = stylizer_model(bundle)
    weights = parse_weights(args.style, model.styles)

    def render(photo):
        result = stylize_image(model, photo, weights, exact_stats=args.exact_stats)
        return apply_controls(photo, result, args.strength, args.preserve_color)

    return render, f"{describe(weights, model.styles)} ({model.how})"


def arbitrary_renderer(bundle, args):
    """(photo -> result, label) of an arbitrary-style model with the painting(s) --style gives;
    the strength is its alpha, which blends features, not pixels."""
    model = arbitrary_model(bundle)
    statistics = style_statistics(model, args.style, args.style_size)

    def render(photo):
        result = transfer_image(model, photo, statistics, args.strength, exact_stats=args.exact_stats)
        return apply_controls(photo, result, 1.0, args.preserve_color)

    return render, f"{describe_styles(args.style)} ({model.how})"


def stylize_photo(path, args, render, label):
    photo = load_rgb(path, max_side=args.max_size)
    start = time.perf_counter()
    result = render(photo)
    write_result(args.out, path, [photo, result], ["photo", label], time.perf_counter() - start)
    return 0


def optimize_photo(path, args):
    if not args.style:
        raise ZooError("--method optimize needs --style STYLE_IMAGE")
    content = load_rgb(path, max_side=args.max_size or OPTIMIZE_SIDE)
    style = load_rgb(args.style, max_side=max(content.shape[:2]))
    result, seconds = optimize(content, style, args)
    result = apply_controls(content, result, args.strength, args.preserve_color)
    write_result(args.out, path, [content, style, result], ["content", "style", "result"], seconds)
    return 0


def write_result(out, path, panels, labels, seconds):
    """The result (the last panel) and, next to it, `*_compare.png` of all the panels."""
    out = Path(out or f"{path.stem}-stylized.png")
    result = panels[-1]
    save_image(out, result)
    compare = out.with_name(f"{out.stem}_compare.png")
    save_image(compare, grid([panels], labels, height=min(384, result.shape[0])))
    print(f"wrote {out} ({result.shape[1]}x{result.shape[0]}, {seconds:.2f} s) and {compare}")


def stylize_photos(folder, args, render, label):
    """Every file of `folder` into --out; exit status 1 if any could not be stylized."""
    out_dir = Path(args.out or f"{folder.resolve().name}-stylized")
    pairs = plan(folder, out_dir)
    start = time.perf_counter()
    failed = stylize_folder(pairs, render, args.max_size)
    print(f"wrote {len(pairs) - len(failed)} of {len(pairs)} photos to {out_dir} in {label} "
          f"({time.perf_counter() - start:.1f} s)" + (f"; {len(failed)} skipped (see above)" if failed else ""))
    return 1 if failed else 0


def stylize_clip(video, args, render, label):
    out = Path(args.out or f"{video.stem}-stylized.mp4")
    start = time.perf_counter()
    info = stylize_video(video, out, render, args.deflicker, args.max_size)
    w, h = info["size"]
    print(f"wrote {out} ({info['frames']} frames, {w}x{h}, {info['fps']:g} fps, no audio) in {label} "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


def optimize(content, style, args):
    """Gatys et al. with the CLI's settings and a progress bar; returns (uint8 result, seconds)."""
    from tqdm import tqdm

    from zoo.style.gatys import Gatys
    from zoo.style.losses import PerceptualLoss
    from zoo.style.vgg import VGGFeatures

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
