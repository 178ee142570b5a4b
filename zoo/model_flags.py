"""What the CLIs that run a trained model share (zoo.generate, zoo.classify): the model's flags
and the one call that opens it (zoo.open)."""

from __future__ import annotations

from zoo.api import open as open_bundle
from zoo.deploy.bundle import Bundle
from zoo.deploy.runtime import RUNTIMES
from zoo.errors import check_at_least


def add_arguments(parser):
    parser.add_argument("run_dir", metavar="MODEL",
                        help="released model name (python -m zoo.list), run folder (with export/ for onnx and tflite) "
                             "or export folder")
    parser.add_argument("--runtime", choices=RUNTIMES, default="onnx",
                        help="onnx and tflite run the export without TensorFlow; keras runs model.keras")
    parser.add_argument("--model", metavar="FILE",
                        help="run this exported .onnx or .tflite file instead (e.g. export/model_int8.tflite)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: the runtime's choice)")


def open_model(args) -> Bundle:
    """The model that the flags of `add_arguments` name: a file in its own format, else
    the folder or released model in --runtime."""
    check_at_least("threads", args.threads)
    if args.model:
        return open_bundle(args.model, threads=args.threads)
    return open_bundle(args.run_dir, args.runtime, threads=args.threads)
