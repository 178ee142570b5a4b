"""Small pieces the model files share."""

from __future__ import annotations

import contextlib

import keras

from zoo.hparams import hp
from zoo.layers import BinomialBlur2D
from zoo.names import IMAGE, LATENT


def num_halvings(size: int, max_halvings: int = 4, min_side: int = 4) -> int:
    """How many stride-2 steps take `size` down to a small feature map (>= `min_side`) exactly.

    28 -> 2 (7x7), 32 -> 3 (4x4), 64 -> 4 (4x4). Generators upsample the same number of times.
    """
    n = 0
    while n < max_halvings and size % 2 ** (n + 1) == 0 and size // 2 ** (n + 1) >= min_side:
        n += 1
    if n == 0:
        raise ValueError(f"image side {size} cannot be halved; use --image-size 28, 32 or 64")
    return n


def steps_per_epoch(config, info) -> int:
    """Training steps in one epoch of a run: --steps-per-epoch, else one pass over the training
    images (what fit() does), for learning-rate schedules that span the run."""
    return config.get("steps_per_epoch") or max(1, -(-info.num_train // config["batch_size"]))


SCHEDULES = ("constant", "cosine", "anneal")


@keras.saving.register_keras_serializable(package="zoo")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`rate` until step `decay_start`, then a straight line down to 0 at step `total_steps`:
    the full rate for most of the run, and a short descent at its end to settle."""

    def __init__(self, rate, decay_start, total_steps):
        self.rate, self.decay_start, self.total_steps = rate, decay_start, total_steps

    def __call__(self, step):
        left = keras.ops.cast(self.total_steps - step, "float32") / max(1, self.total_steps - self.decay_start)
        return self.rate * keras.ops.clip(left, 0.0, 1.0)

    def get_config(self):
        return {"rate": self.rate, "decay_start": self.decay_start, "total_steps": self.total_steps}


def schedule(default: str):
    """The `schedule` hyper-parameter of recipes that offer a choice of `learning_rate` schedules."""
    return hp(default, "cosine: the learning rate decays to 1% of --learning-rate over the run; anneal: it stays "
                       "constant, then decays linearly to 0 over the run's last quarter", choices=SCHEDULES)


def learning_rate(config, info, rate=None, schedule="constant", warmup_epochs=0.0):
    """The learning rate `rate` (default --learning-rate) of a run as an optimizer takes it:
    constant; with `schedule` "cosine" a decay to 1% of it over the run's steps, after a linear
    warm-up from 0 over `warmup_epochs`; with "anneal" constant for three quarters of the run and
    then a linear decay to 0. A short run must end at a small rate to settle in a minimum (or, for
    a GAN, to stop oscillating around one)."""
    rate = config["learning_rate"] if rate is None else rate
    if schedule == "constant":
        return rate
    steps = steps_per_epoch(config, info)
    if schedule == "anneal":
        total = steps * config["epochs"]
        return ConstantThenLinearDecay(rate, int(0.75 * total), total)
    warmup = int(round(warmup_epochs * steps))
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else rate, steps * config["epochs"] - warmup, alpha=0.01,
        warmup_target=rate if warmup else None, warmup_steps=warmup)


def scale_for_replicas(loss):
    """Divide a per-replica mean loss by the number of replicas.

    Under tf.distribute, Keras sums the gradients of all replicas, so a custom `train_step` has
    to scale its loss as `compile()`-built losses do. A no-op with one replica or other backends.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            return loss / replicas
    return loss


def image_input(shape, name=IMAGE):
    """A named float32 image input: NHWC, values in [0, 1] (the zoo's one convention)."""
    return keras.Input(shape=tuple(shape), name=name, dtype="float32")


def image_output(x, name: str, antialias: bool):
    """A network's last step to a [0, 1] image named `name`: a float32 sigmoid, then, when
    `antialias`, the fixed [1, 2, 1] blur (`zoo.layers.BinomialBlur2D`) through which no grid of 2
    pixels can leave. Runs made before the blur have the sigmoid alone, under the output's name."""
    x = keras.layers.Activation("sigmoid", dtype="float32", name="sigmoid" if antialias else name)(x)
    return BinomialBlur2D(dtype="float32", name=name)(x) if antialias else x


def latent_input(latent_dim):
    """The latent vector z that generators and decoders map to images, N(0, I) distributed."""
    return keras.Input(shape=(latent_dim,), name=LATENT)


@contextlib.contextmanager
def global_policy(name: str):
    """Build layers under the dtype policy `name` whatever the global one (`--mixed-precision`),
    restored after. "float32" for networks that are small next to the loss network that trains
    them, whose normalisation statistics need float32, and whose exports must be float32 graphs;
    tests use it to build under "mixed_bfloat16" as zoo.train does on CPUs that have it."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _policy_names(layer):
    """The dtype policies of a layer and of every layer nested in it (functional sub-models)."""
    yield layer.dtype_policy.name
    for sub in getattr(layer, "layers", ()):
        yield from _policy_names(sub)


def _with_policy(config, policy: str):
    if isinstance(config, list):
        return [_with_policy(value, policy) for value in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") == "DTypePolicy":
        return {**config, "config": {**config["config"], "name": policy}}
    return {key: _with_policy(value, policy) for key, value in config.items()}


def copy_in(model, policy: str):
    """The same network, weights shared by value, computing in `policy`'s dtype."""
    copy = keras.saving.deserialize_keras_object(_with_policy(keras.saving.serialize_keras_object(model), policy))
    copy.set_weights(model.get_weights())
    return copy


def float32_copy(model):
    """The same network computing in float32: what a model trained under `--mixed-precision` is
    exported and validated as. TFLite has no bfloat16 kernels (the converter would need
    TensorFlow ops), and a deployed graph should not depend on the CPU that trained it. The model
    itself if it already computes in float32."""
    if all(name == "float32" for name in _policy_names(model)):
        return model  # (also what networks that hold custom, unserialisable layers are: built in float32)
    return copy_in(model, "float32")
