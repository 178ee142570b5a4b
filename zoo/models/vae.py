"""Convolutional variational autoencoder (Kingma & Welling, 2014, "Auto-Encoding Variational Bayes").

The encoder maps an image x to the mean and log-variance of q(z|x); the decoder maps z to the
per-pixel Bernoulli means of p(x|z). Training maximises the evidence lower bound

    ELBO = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)),

with z drawn by the reparameterisation trick z = mu + sigma * eps, eps ~ N(0, I), so gradients
flow through mu and sigma. Training reports both terms; `loss` is the negative ELBO in nats per
image. The loss is written in `compute_loss`, so Keras's own training step runs it on every
backend (TensorFlow, JAX).

The recipe's defaults buy negative ELBO per second of a laptop CPU, each chosen on the validation
split (`scripts/benchmark_training.py` measures the time to the target against the earlier
recipe). The validation loss of a run of a dozen epochs still falls at its last epoch, so what
pays is more progress per second: a batch of 64 (twice the updates of 128 per epoch,
for a quarter more time), a learning rate of 3e-3 decayed on a cosine to 1%, SiLU instead of ReLU,
32 latent dimensions with 512 hidden units on each side of z, and bfloat16 compute where the CPU
has it (`--mixed-precision` "auto"), which leaves the ELBO per epoch as it was and saves some time.
Wider convolutions (`--width`) or extra ones (`--depth`) help per epoch but not per second.
"""

from __future__ import annotations

import dataclasses
from statistics import NormalDist

import keras
import numpy as np
from keras import layers, ops

from zoo.hparams import FashionMNISTHyperparameters, Hyperparameters, default, hp
from zoo.images import sample_grid, save_image
from zoo.models.common import image_input, latent_input, learning_rate, num_halvings, scale_for_replicas, schedule
from zoo.names import DECODER, ENCODER, IMAGE, Task
from zoo.recipe import GenerativeRecipe
from zoo.registry import register
from zoo.training.evaluation import test_arrays, vae_negative_elbo

Z_MEAN, Z_LOG_VAR = "z_mean", "z_log_var"  # the encoder's outputs: the mean and log-variance of q(z|x)


def build_encoder(image_shape, latent_dim, width=32, hidden=256, depth=1, activation="relu"):
    inputs = image_input(image_shape)
    x = inputs
    for i in range(num_halvings(image_shape[0])):
        for j in range(1, depth):  # stride-1 convolutions before each halving
            x = layers.Conv2D(width * 2 ** i, 3, padding="same", activation=activation, name=f"conv{i + 1}_{j}")(x)
        x = layers.Conv2D(width * 2 ** i, 3, strides=2, padding="same", activation=activation, name=f"conv{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hidden, activation=activation, name="hidden")(x)
    z_mean = layers.Dense(latent_dim, name=Z_MEAN, dtype="float32")(x)
    z_log_var = layers.Dense(latent_dim, name=Z_LOG_VAR, dtype="float32")(x)
    return keras.Model(inputs, {Z_MEAN: z_mean, Z_LOG_VAR: z_log_var}, name=ENCODER)


def build_decoder(image_shape, latent_dim, width=32, hidden=256, depth=1, activation="relu"):
    side, _, channels = image_shape
    n = num_halvings(side)
    base, top = side // 2 ** n, width * 2 ** (n - 1)
    z = latent_input(latent_dim)
    x = layers.Dense(hidden, activation=activation, name="hidden")(z)
    x = layers.Dense(base * base * top, activation=activation, name="project")(x)
    x = layers.Reshape((base, base, top), name="reshape")(x)
    for i in reversed(range(n)):
        x = layers.Conv2DTranspose(width * 2 ** i, 3, strides=2, padding="same", activation=activation,
                                   name=f"deconv{i + 1}")(x)
        for j in range(1, depth):  # stride-1 convolutions after each doubling
            x = layers.Conv2D(width * 2 ** i, 3, padding="same", activation=activation, name=f"deconv{i + 1}_{j}")(x)
    logits = layers.Conv2D(channels, 3, padding="same", name="logits", dtype="float32")(x)
    image = layers.Activation("sigmoid", name=IMAGE, dtype="float32")(logits)
    return keras.Model(z, image, name=DECODER)


def gaussian_kl(z_mean, z_log_var):
    """KL(N(mu, sigma^2) || N(0, 1)) summed over latent dimensions, per example (nats)."""
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def bernoulli_nll(x, x_hat, eps=1e-6):
    """-log p(x|z) for per-pixel Bernoulli means x_hat, summed over pixels, per example (nats)."""
    x_hat = ops.clip(x_hat, eps, 1.0 - eps)
    nll = -(x * ops.log(x_hat) + (1.0 - x) * ops.log(1.0 - x_hat))
    return ops.sum(ops.reshape(nll, (ops.shape(nll)[0], -1)), axis=-1)


def reconstructions_png(path, model, splits, count=16):
    """Top row: test images; bottom row: decoder(z_mean) of each."""
    x, _ = test_arrays(splits, limit=count)
    recon = np.asarray(model.decoder(model.encoder(x)[Z_MEAN]))
    save_image(path, sample_grid(np.concatenate([x, recon]), cols=len(x)))


def latent_walk_png(path, model, splits, steps=15):
    """Decode a grid over the two most-used latent dimensions (largest mean KL on the test set),
    the others held at 0, at Gaussian quantiles 5%..95% as in Kingma & Welling's figure 4."""
    x, _ = test_arrays(splits, limit=2000)
    q = model.encoder(x)
    mean, log_var = np.asarray(q[Z_MEAN]), np.asarray(q[Z_LOG_VAR])
    per_dim_kl = -0.5 * (1 + log_var - mean ** 2 - np.exp(log_var)).mean(0)
    dims = np.argsort(-per_dim_kl)[:2]
    values = [NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, steps)]
    z = np.zeros((steps * steps, mean.shape[1]), np.float32)
    for i, a in enumerate(values[::-1]):
        for j, b in enumerate(values):
            z[i * steps + j, dims[1]], z[i * steps + j, dims[0]] = a, b
    save_image(path, sample_grid(np.asarray(model.decoder(z)), cols=steps))


@keras.saving.register_keras_serializable(package="zoo")
class VAE(keras.Model):
    """Encoder + decoder trained on the negative ELBO. Calling it reconstructs its input."""

    def __init__(self, encoder, decoder, beta=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.beta = encoder, decoder, beta
        self.latent_dim = decoder.inputs[0].shape[-1]
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def reparameterize(self, z_mean, z_log_var):
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def call(self, x, training=False):
        """Reconstruct `x` through one sample of z. The KL term of each example is added as the
        model's loss (`add_loss`, per example so that the trackers weight batches by their size):
        how Keras hands a loss computed inside the forward pass to `compute_loss` on every backend."""
        q = self.encoder(x, training=training)
        self.add_loss(gaussian_kl(q[Z_MEAN], q[Z_LOG_VAR]))
        return self.decoder(self.reparameterize(q[Z_MEAN], q[Z_LOG_VAR]), training=training)

    def negative_elbo(self, x, training=False):
        """Per-example reconstruction NLL and KL, in nats."""
        x_hat = self(x, training=training)
        (kl,) = self.losses
        return bernoulli_nll(x, x_hat), kl

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The negative ELBO of a batch from `call`'s reconstruction `y_pred` and KL loss; labels
        `y` are ignored. Keras's train and test steps call it on every backend."""
        (kl,) = self.losses
        reconstruction = bernoulli_nll(x, y_pred)
        self.loss_tracker.update_state(reconstruction + kl)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return scale_for_replicas(ops.mean(reconstruction + self.beta * kl))

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": self.beta,
        }

    @classmethod
    def from_config(cls, config):
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)


@dataclasses.dataclass(frozen=True)
class VAEHyperparameters(FashionMNISTHyperparameters):
    epochs: int = default(Hyperparameters, "epochs", 15)
    batch_size: int = default(Hyperparameters, "batch_size", 64)
    learning_rate: float = default(Hyperparameters, "learning_rate", 3e-3)
    latent_dim: int = hp(32, "size of the latent vector z", minimum=1)
    width: int = hp(32, "channels of the first convolution (doubled at each halving) and the last deconvolution",
                    minimum=1)
    hidden: int = hp(512, "units of the dense layer on each side of z", minimum=1)
    depth: int = hp(1, "convolutions per resolution: 1 is the strided one alone, each more a 3x3 at the same "
                       "resolution (capacity for sharper reconstructions)", minimum=1)
    activation: str = hp("silu", "nonlinearity of every hidden layer; silu (x * sigmoid(x)) is smooth, so the "
                                 "decoder's grey levels fit faster per epoch, at some 10% more time per step",
                         choices=("relu", "silu"))
    schedule: str = schedule("cosine")


@register
class VAERecipe(GenerativeRecipe):
    name = "vae"
    model_class = VAE
    task = Task.VAE
    description = "convolutional VAE: reparameterisation trick, ELBO = reconstruction + KL"
    paper = "Kingma & Welling 2014, Auto-Encoding Variational Bayes"
    Hyperparameters = VAEHyperparameters
    legacy = {"depth": 1, "activation": "relu"}
    generator_name = DECODER

    def build_model(self, info):
        hp = self.hp
        shape = dict(latent_dim=hp.latent_dim, width=hp.width, hidden=hp.hidden, depth=hp.depth, activation=hp.activation)
        model = VAE(build_encoder(info.image_shape, **shape), build_decoder(info.image_shape, **shape),
                    seed=self.config.get("seed"), name=self.name)
        model.build((None, *info.image_shape))
        return model

    def compile_model(self, model, info):
        rate = learning_rate(self.config, info, schedule=self.config["schedule"])
        model.compile(optimizer=keras.optimizers.Adam(rate), **self.compile_options())

    def evaluate(self, model, splits):
        return vae_negative_elbo(model, splits)

    def report(self, run, model, splits):
        super().report(run, model, splits)
        reconstructions_png(run.images / "reconstructions.png", model, splits)
        latent_walk_png(run.images / "latent_walk.png", model, splits)

    def exportables(self, model):
        return {ENCODER: model.encoder, DECODER: model.decoder}
