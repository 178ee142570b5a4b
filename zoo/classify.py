"""`python -m zoo.classify RUN_DIR IMAGE... --runtime onnx|tflite|keras`: the CNN's top classes
for image files of any size and mode, converted like the training data (grayscale or RGB,
resized to the model's input with antialiasing, values in [0, 1]).

With --runtime onnx or tflite only the deploy runtime is used (no TensorFlow needed).
"""

from __future__ import annotations

import sys

import numpy as np

from zoo import model_flags
from zoo.errors import ArgumentParser, ZooError, check_at_least, cli
from zoo.images import load_rgb
from zoo.names import CLASSIFIER, LOGITS, PROBABILITIES


def preprocess(path, height, width, channels) -> np.ndarray:
    """One image file -> float32 [height, width, channels] in [0, 1]."""
    from PIL import Image

    image = Image.fromarray(load_rgb(path))
    if channels == 1:
        image = image.convert("L")  # ITU-R 601 luma, the weights of tf.image.rgb_to_grayscale
    image = image.resize((width, height), Image.BILINEAR)  # Pillow antialiases when shrinking
    return (np.asarray(image, np.float32) / 255.0).reshape(height, width, channels)


def softmax(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@cli
def main(argv=None):
    parser = ArgumentParser(prog="python -m zoo.classify", description=__doc__.split("\n\n")[0])
    model_flags.add_arguments(parser)
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG, ...)")
    parser.add_argument("--top", type=int, default=3, help="classes to show per image")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    check_at_least("top", args.top)
    bundle = model_flags.open_model(args)
    runner = bundle.first((CLASSIFIER,), "a classifier")
    (spec,) = runner.inputs
    if len(spec.shape) != 4 or None in spec.shape[1:]:
        raise ZooError(f"{args.model or args.run_dir} takes {spec.name!r} of shape {spec.shape}; "
                       "zoo.classify runs classifiers of fixed-size images")
    _, height, width, channels = spec.shape
    batch = np.stack([preprocess(p, height, width, channels) for p in args.images])
    outputs = runner(**{spec.name: batch})
    probabilities = outputs[PROBABILITIES] if PROBABILITIES in outputs else softmax(outputs[LOGITS])
    names = bundle.manifest.get("class_names") or [str(i) for i in range(probabilities.shape[-1])]
    for path, p in zip(args.images, probabilities):
        best = np.argsort(-p)[:args.top]
        print(f"{path}: " + ", ".join(f"{names[i]} {p[i]:.1%}" for i in best))
    return 0


if __name__ == "__main__":
    sys.exit(main())
