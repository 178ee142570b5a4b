"""How much faster zoo's Gatys optimisation reaches a given loss than the keras-io example's setup.

    python scripts/benchmark_gatys.py [--content PHOTO] [--style STYLE] [--size 128] [--steps 200]

Both minimise the same objective, the keras-io "neural_style_transfer" example's loss exactly
(content at block5_conv2 x 2.5e-8, un-normalised Gram style loss at block1..5_conv1 x 1e-6,
(dx^2 + dy^2)^1.25 total variation x 1e-6, in caffe-preprocessed 0-255 pixel space):

- "keras-io plain": the example's loop: SGD with learning rate 100 decaying x0.96 every 100
  steps, one `tf.function` step per iteration (no XLA), `--steps` iterations;
- "zoo default": `zoo.style.gatys.Gatys` as `zoo.stylize --method optimize` runs it: XLA-compiled loss
  and gradient, L-BFGS with the pixel range as bounds.

The target is the lowest loss the plain setup reaches; reported are the wall times (compilation
included, from the first call) at which each first reaches it, and their ratio; and the same after
the first step, since XLA's one-off compilation (tens of seconds per image size on 2 cores)
dominates at the small sizes a test machine affords.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SKIMAGE_DATA = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data"
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CONTENT_LAYER = "block5_conv2"


class KerasExampleLoss:
    """The keras-io example's loss, with the call signature of zoo.style.losses.PerceptualLoss."""

    def __init__(self, features, style_image, content_weight=2.5e-8, style_weight=1e-6, tv_weight=1e-6):
        from keras import ops

        self.features, self.ops = features, ops
        self.weights = (content_weight, style_weight, tv_weight)
        self.pixels = style_image.shape[1] * style_image.shape[2]  # the example's "size": image pixels
        feats = features(ops.convert_to_tensor(style_image))
        self.style_grams = {n: self._gram(feats[n]) for n in STYLE_LAYERS}

    def _gram(self, f):
        ops = self.ops
        flat = ops.reshape(f[0], (-1, ops.shape(f)[-1]))
        return ops.matmul(ops.transpose(flat), flat)

    def content_targets(self, images):
        return {CONTENT_LAYER: self.features(images)[CONTENT_LAYER]}

    def __call__(self, images, targets):
        ops = self.ops
        feats = self.features(images)
        content = ops.sum(ops.square(feats[CONTENT_LAYER] - targets[CONTENT_LAYER]))
        style = sum(ops.sum(ops.square(self._gram(feats[n]) - self.style_grams[n])) / (4.0 * 9.0 * self.pixels ** 2)
                    for n in STYLE_LAYERS) / len(STYLE_LAYERS)
        x = images * 255.0  # the example's TV works on 0-255 pixels
        a = ops.square(x[:, :-1, :-1, :] - x[:, 1:, :-1, :])
        b = ops.square(x[:, :-1, :-1, :] - x[:, :-1, 1:, :])
        tv = ops.sum(ops.power(a + b, 1.25))
        cw, sw, tw = self.weights
        total = cw * content + sw * style + tw * tv
        return ops.reshape(total, (1,)), ops.reshape(content, (1,)), ops.reshape(style, (1,)), ops.reshape(tv, (1,))


def keras_plain(loss, content, steps, learning_rate):
    """The example's loop on the caffe-preprocessed image variable; returns [(seconds, loss)]."""
    import keras
    import tensorflow as tf

    from zoo.style.vgg import BGR_MEAN

    mean = tf.constant(BGR_MEAN, tf.float32)
    to_pixels = lambda pre: tf.reverse((pre + mean) / 255.0, axis=[-1])  # noqa: E731  (preprocessed -> [0, 1] RGB)
    image = tf.Variable(tf.reverse(content, axis=[-1]) * 255.0 - mean)
    targets = loss.content_targets(tf.constant(content))
    optimizer = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(learning_rate, 100, 0.96))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss(to_pixels(image), targets)[0][0]
        optimizer.apply_gradients([(tape.gradient(value, image), image)])
        return value

    history, start = [], time.perf_counter()
    for _ in range(steps):
        value = float(step())
        history.append((time.perf_counter() - start, value))
    final = float(loss(to_pixels(image), targets)[0][0])
    history.append((time.perf_counter() - start, final))
    return history


def first_time_at(history, target):
    return next((t for t, v in history if v <= target), None)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--content", default=SKIMAGE_DATA / "chelsea.png")
    p.add_argument("--style", default=SKIMAGE_DATA / "ihc.png")
    p.add_argument("--size", type=int, default=128, help="longer side of both images")
    p.add_argument("--steps", type=int, default=200, help="iterations of the keras-io setup")
    p.add_argument("--plain-learning-rate", type=float, default=100.0,
                   help="the example's SGD learning rate. It is tuned for its 400-pixel-high images: the "
                        "per-pixel gradient of its style loss grows as the image shrinks, and at 96 px, 100 "
                        "diverges at once; 100 x pixels / (400 x 600) keeps the example's per-pixel steps")
    p.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = p.parse_args(argv)

    from zoo.style.gatys import Gatys
    from zoo.images import load_rgb, to_float
    from zoo.log import setup
    from zoo.style.vgg import VGGFeatures

    setup()
    content = to_float(load_rgb(args.content, max_side=args.size))
    style = to_float(load_rgb(args.style, max_side=args.size))
    features = VGGFeatures((*STYLE_LAYERS, CONTENT_LAYER))
    loss = KerasExampleLoss(features, style)

    plain = keras_plain(loss, content, args.steps, args.plain_learning_rate)
    finite = [v for _, v in plain if v == v]  # SGD at learning rate 100 can blow up to NaN
    if not finite:
        sys.exit(f"the keras-io setup diverged from the first step: {plain[:3]}")
    target = min(finite)
    ours = []
    gatys = Gatys(loss)
    start = time.perf_counter()
    gatys.run(content, steps=args.steps, optimizer="lbfgs",
              progress=lambda step, value: ours.append((time.perf_counter() - start, value)))
    t_plain, t_ours = first_time_at(plain, target), first_time_at(ours, target)
    # the first call of each includes tracing (and XLA compilation for zoo): seconds-per-image-size costs
    compiled = {"keras_io_plain": plain[0][0], "zoo_default": ours[0][0]}
    result = {
        "image": f"{content.shape[2]}x{content.shape[1]}", "target_loss": target,
        "keras_io_plain": {"seconds": round(t_plain, 2), "steps": len(plain) - 1,
                           "learning_rate": args.plain_learning_rate,
                           "losses_every_10_steps": [v for _, v in plain[::10]]},
        "zoo_default": {"seconds": None if t_ours is None else round(t_ours, 2),
                        "steps": None if t_ours is None else 1 + next(i for i, (_, v) in enumerate(ours) if v <= target),
                        "final_loss_after_same_steps": ours[-1][1]},
        "first_step_seconds": {k: round(v, 2) for k, v in compiled.items()},
        "speedup": None if t_ours is None else round(t_plain / t_ours, 2),
        "speedup_after_first_step": None if t_ours is None else
        round((t_plain - compiled["keras_io_plain"]) / max(t_ours - compiled["zoo_default"], 1e-3), 2),
        "vgg_weights": features.source,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if t_ours is not None else 1


if __name__ == "__main__":
    sys.exit(main())
