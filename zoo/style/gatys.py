"""Style transfer by optimisation (Gatys, Ecker & Bethge, 2016, "Image Style Transfer Using
Convolutional Neural Networks").

The pixels of the result are the parameters: starting from the content photo, they are moved to
match the content photo's VGG19 features at a deep layer and the style image's Gram matrices at
several layers, with a total-variation term against noise (see `zoo.style.losses`).

TensorFlow backend only (KERAS_BACKEND=tensorflow, the default): the loss and its gradient are a
`tf.function` around a GradientTape. Why it is fast here: that function is XLA-compiled, once per
image size; L-BFGS (the paper's optimiser, via SciPy with the pixel range [0, 1] as bounds) needs
far fewer steps than first-order methods; and multi-scale optimisation (`scales=(0.5, 1)`) solves
a quarter of the pixels first, so the full-size steps start close to the answer.
"""

from __future__ import annotations

import time

import numpy as np

from zoo.errors import ZooError


class Gatys:
    """Optimises images for a loss such as `zoo.style.losses.PerceptualLoss` (anything with its
    `content_targets(images)` and `(images, targets) -> (total, content, style, tv)` calls).
    The default weights and settings live in one place, the `zoo.stylize` command line."""

    def __init__(self, loss, jit_compile=True):
        import keras
        import tensorflow as tf

        if keras.backend.backend() != "tensorflow":
            raise ZooError(f"Gatys et al.'s optimisation runs on the TensorFlow backend only, not "
                           f"{keras.backend.backend()}; set KERAS_BACKEND=tensorflow")
        self.loss = loss

        def loss_and_grad(image, targets):
            with tf.GradientTape() as tape:
                tape.watch(image)
                total, content, style, tv = self.loss(image, targets)
                total = tf.reduce_sum(total)
            return total, tape.gradient(total, image), (content[0], style[0], tv[0])

        self.jit_compile = jit_compile
        self.loss_and_grad = tf.function(loss_and_grad, jit_compile=jit_compile, reduce_retracing=True)

    def run(self, content, *, steps, optimizer="lbfgs", learning_rate=0.02, scales=(1.0,), progress=None):
        """Stylize `content` (float32 [1, H, W, 3] in [0, 1]) with `steps` iterations per scale.

        `progress(step, total_loss)` is called after every iteration. Returns (image, history)
        where history holds (seconds since start, total loss) per iteration.
        """
        import tensorflow as tf

        if optimizer not in ("lbfgs", "adam"):
            raise ValueError(f"optimizer must be lbfgs or adam, got {optimizer!r}")
        h, w = content.shape[1:3]
        image = None
        history, start = [], time.perf_counter()

        def record(value):
            history.append((time.perf_counter() - start, float(value)))
            if progress:
                progress(len(history), float(value))

        for scale in scales:
            size = (max(16, round(h * scale)), max(16, round(w * scale)))
            target = tf.image.resize(content, size, antialias=True).numpy() if size != (h, w) else content
            image = target.copy() if image is None else tf.image.resize(image, size).numpy()
            targets = self.loss.content_targets(tf.constant(target))
            if optimizer == "lbfgs":
                image = self._lbfgs(image, targets, steps, record)
            else:
                image = self._adam(image, targets, steps, learning_rate, record)
        return image, history

    def evaluate(self, image, content):
        """(total, content, style, tv) losses of `image` for the content photo `content`."""
        import tensorflow as tf

        targets = self.loss.content_targets(tf.constant(content))
        return tuple(float(v[0]) for v in self.loss(tf.constant(image), targets))

    def _lbfgs(self, image, targets, steps, record):
        import tensorflow as tf
        from scipy.optimize import minimize

        shape = image.shape

        def fun(x):
            loss, grad, _ = self.loss_and_grad(tf.constant(x.reshape(shape), tf.float32), targets)
            return float(loss), grad.numpy().astype(np.float64).ravel()

        def callback(intermediate_result):
            record(intermediate_result.fun)

        result = minimize(fun, image.astype(np.float64).ravel(), jac=True, method="L-BFGS-B",
                          bounds=[(0.0, 1.0)] * image.size, callback=callback,
                          options={"maxiter": steps, "maxcor": 20, "ftol": 0.0, "gtol": 0.0})
        return result.x.reshape(shape).astype(np.float32)

    def _adam(self, image, targets, steps, learning_rate, record):
        import keras
        import tensorflow as tf

        var = tf.Variable(image)
        opt = keras.optimizers.Adam(learning_rate)
        opt.build([var])

        @tf.function(jit_compile=self.jit_compile)
        def step():
            loss, grad, _ = self.loss_and_grad(tf.convert_to_tensor(var), targets)
            opt.apply([grad], [var])
            var.assign(tf.clip_by_value(var, 0.0, 1.0))
            return loss

        for _ in range(steps):
            record(step())
        return var.numpy()
