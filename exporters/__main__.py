"""`python -m exporters RUN_DIR [--format savedmodel,tflite,onnx] [--quantize fp16,dynamic,int8] [--out DIR]`"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The exporters convert through TensorFlow (SavedModel, TFLite, tf2onnx), so their Keras runs on it
# whatever KERAS_BACKEND says: a run trained on JAX exports like any other.
os.environ["KERAS_BACKEND"] = "tensorflow"

from exporters import FORMAT_NAMES, QUANTIZATIONS  # noqa: E402
from exporters.onnx import DEFAULT_OPSET  # noqa: E402
from exporters.web import WEB  # noqa: E402
from zoo.errors import ArgumentParser, ZooError, cli  # noqa: E402
from zoo.log import setup  # noqa: E402
from zoo.names import MANIFEST  # noqa: E402


def comma_list(text):
    return [] if text.strip().lower() in ("", "none") else [t.strip() for t in text.split(",")]


def add_selection_arguments(parser):
    """What to export and how to check it: shared with exporters.benchmark."""
    parser.add_argument("--format", type=comma_list, default=",".join(FORMAT_NAMES),
                        help=f"comma-separated formats, and {WEB} for a browser page of the ONNX files "
                             "(default: %(default)s)")
    parser.add_argument("--quantize", type=comma_list, default=",".join(QUANTIZATIONS),
                        help="extra TFLite variants, or 'none' (default: %(default)s)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset, 13 to 18 (default: %(default)s)")
    parser.add_argument("--eval-images", type=int, default=1000,
                        help="test images for the classifier accuracy check (default: %(default)s)")
    parser.add_argument("--out", help="export folder (default: RUN_DIR/export); with --format web alone, the web "
                                      "folder (default: RUN_DIR/web)")


def build_parser():
    parser = ArgumentParser(
        prog="python -m exporters",
        description="Export a zoo run to SavedModel, TFLite (float32 and quantized) and ONNX, validate every file "
                    "against Keras, and describe them in manifest.json.")
    parser.add_argument("run_dir", help="run folder (config.json + model.keras), e.g. saved_models/cnn-fashion_mnist")
    add_selection_arguments(parser)
    parser.add_argument("--no-validate", dest="validate", action="store_false",
                        help="skip the comparison of every file with the Keras model")
    return parser


@cli
def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    setup()
    for name in args.format:
        if name not in (*FORMAT_NAMES, WEB):
            raise ZooError(f"unknown format {name!r}; choose from {', '.join((*FORMAT_NAMES, WEB))}")
    formats = [f for f in args.format if f != WEB]
    if formats:
        export_files(args, formats, args.out)
    if WEB in args.format:
        from exporters import web

        if not formats and not web.has_validated_onnx(args.run_dir):
            print("no validated ONNX files yet: exporting them first")
            export_files(args, ["onnx"], None)
        folder = web.build(args.run_dir, out=None if formats else args.out)
        print(f"web page: {folder / 'index.html'} ({web.download_size(folder) / 1e6:.1f} MB of files on the "
              f"WebAssembly path, less gzip-encoded); serve it with COOP/COEP headers for threads: python -m zoo.serve")
    return 0


def export_files(args, formats, out):
    """Export, validate and list the files of `formats` (plus --quantize's variants)."""
    from exporters.export import export_run

    start = time.perf_counter()
    folder, manifest = export_run(args.run_dir, formats=formats, quantize=args.quantize, out=out,
                                  opset=args.opset, check=args.validate, eval_images=args.eval_images)
    for name, entry in manifest["files"].items():
        checks = entry.get("validation", {})
        outputs = [o for size in checks.get("outputs", {}).values() for o in size.values()]
        status = f"max diff {max(o['max_abs_diff'] for o in outputs):.2g}" if outputs else "not validated"
        metric = ""
        if "accuracy" in checks:
            metric = f"accuracy {checks['accuracy']['value']:.2f}% (Keras {checks['accuracy']['keras']:.2f}%)"
        elif any("psnr_db" in o for o in outputs):
            metric = f"PSNR {min(o['psnr_db'] for o in outputs if 'psnr_db' in o):.1f} dB"
        print(f"{name:32s} {entry['size_bytes'] / 1e6:8.2f} MB  {status:18s} {metric}")
    print(f"exported {len(manifest['files'])} file(s) in {time.perf_counter() - start:.1f} s; "
          f"manifest: {folder / MANIFEST}")


if __name__ == "__main__":
    sys.exit(main())
