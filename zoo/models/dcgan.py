"""DCGAN (Radford, Metz & Chintala, 2016, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks").

The paper's guidelines: strided convolutions instead of pooling, fractionally-strided
(transposed) convolutions in the generator, batch norm in both nets except the generator output
and the discriminator input, ReLU in the generator with tanh at the output, LeakyReLU(0.2) in
the discriminator, Adam with learning rate 2e-4 and beta_1 = 0.5, weights from N(0, 0.02).

The generator ends with tanh rescaled to [0, 1], the zoo's image range; the discriminator maps
[0, 1] back to [-1, 1] first. `train_step` alternates one discriminator and one generator update
with the non-saturating generator loss.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from zoo.log import log
from zoo.models.common import image_input, num_halvings, scale_for_replicas
from zoo.recipe import GenerativeRecipe
from zoo.registry import register


def _init():
    return keras.initializers.RandomNormal(stddev=0.02)


def build_generator(image_shape, latent_dim, width=64):
    side, _, channels = image_shape
    n = num_halvings(side)
    base = side // 2 ** n
    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(base * base * width * 2 ** (n - 1), use_bias=False, kernel_initializer=_init(), name="project")(z)
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.ReLU(name="project_relu")(x)
    x = layers.Reshape((base, base, width * 2 ** (n - 1)), name="reshape")(x)
    for i in reversed(range(1, n)):
        x = layers.Conv2DTranspose(width * 2 ** (i - 1), 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=_init(), name=f"deconv{n - i}")(x)
        x = layers.BatchNormalization(name=f"deconv{n - i}_bn")(x)
        x = layers.ReLU(name=f"deconv{n - i}_relu")(x)
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", kernel_initializer=_init(), name="to_image")(x)
    x = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    image = layers.Rescaling(0.5, offset=0.5, dtype="float32", name="image")(x)
    return keras.Model(z, image, name="generator")


def build_discriminator(image_shape, width=64):
    inputs = image_input(image_shape)
    x = layers.Rescaling(2.0, offset=-1.0, name="to_tanh_range")(inputs)
    for i in range(num_halvings(image_shape[0])):
        x = layers.Conv2D(width * 2 ** i, 4, strides=2, padding="same", use_bias=i == 0,
                          kernel_initializer=_init(), name=f"conv{i + 1}")(x)
        if i > 0:
            x = layers.BatchNormalization(name=f"conv{i + 1}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"conv{i + 1}_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    logit = layers.Dense(1, kernel_initializer=_init(), dtype="float32", name="logit")(x)
    return keras.Model(inputs, logit, name="discriminator")


@keras.saving.register_keras_serializable(package="zoo")
class DCGAN(keras.Model):
    """Generator and discriminator trained adversarially; calling it generates images from z."""

    def __init__(self, generator, discriminator, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = generator.inputs[0].shape[-1]
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction="none")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")  # D's mean probability on real images

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker]

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def get_compile_config(self):
        if not self.compiled:  # as keras.Model's: an uncompiled model saves no compile config
            return None
        return {"d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
                "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer)}

    def compile_from_config(self, config):
        self.compile(d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
                     g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]))
        # Built now so that loading a .keras file restores their state too.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def sample_z(self, batch_size):
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def train_step(self, data):
        import tensorflow as tf  # GradientTape: fit() runs on the TensorFlow backend

        real = data[0] if isinstance(data, tuple) else data
        batch = ops.shape(real)[0]

        # Discriminator: real -> 1, fake -> 0.
        z = self.sample_z(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = ops.mean(self.bce(ops.ones_like(real_logits), real_logits)) + ops.mean(
                self.bce(ops.zeros_like(fake_logits), fake_logits))
            scaled = self.d_optimizer.scale_loss(scale_for_replicas(d_loss))
        grads = tape.gradient(scaled, self.discriminator.trainable_weights)
        self.d_optimizer.apply(grads, self.discriminator.trainable_weights)

        # Generator: non-saturating loss, make D call fakes real.
        z = self.sample_z(batch)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = ops.mean(self.bce(ops.ones_like(fake_logits), fake_logits))
            scaled = self.g_optimizer.scale_loss(scale_for_replicas(g_loss))
        grads = tape.gradient(scaled, self.generator.trainable_weights)
        self.g_optimizer.apply(grads, self.generator.trainable_weights)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(ops.mean(ops.sigmoid(real_logits)))
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
        }

    @classmethod
    def from_config(cls, config):
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)


@register
class DCGANRecipe(GenerativeRecipe):
    name = "dcgan"
    task = "gan"
    description = "DCGAN: transposed-conv generator, strided-conv discriminator, Adam(2e-4, 0.5)"
    paper = "Radford, Metz & Chintala 2016, Unsupervised Representation Learning with DCGANs"
    defaults = {"epochs": 10, "batch_size": 128, "learning_rate": 2e-4, "latent_dim": 100}
    drop_remainder = True
    validate_each_epoch = False  # a GAN's losses on held-out data say little; the FD is measured at the end

    def build_model(self, info):
        latent = self.config["latent_dim"]
        model = DCGAN(build_generator(info.image_shape, latent), build_discriminator(info.image_shape),
                      seed=self.config.get("seed"), name="dcgan")
        model.build((None, latent))
        return model

    def compile_model(self, model, info):
        lr = self.config["learning_rate"]
        model.compile(d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
                      jit_compile=self.config.get("jit_compile", False))

    def build_optimizers(self, model):
        model.d_optimizer.build(model.discriminator.trainable_variables)
        model.g_optimizer.build(model.generator.trainable_variables)

    def generator(self, model):
        return model.generator

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--classifier", metavar="RUN_OR_KERAS",
                            help="trained zoo CNN whose features the Fréchet distance uses "
                                 "(default: saved_models/cnn-DATASET if present)")

    def evaluate(self, model, splits):
        from zoo.evaluation import gan_frechet_distance
        from zoo.runs import find_classifier

        classifier = find_classifier(self.config.get("classifier"), splits.info.name)
        if classifier is None:
            log.info(f"no trained zoo CNN for {splits.info.name}: Fréchet distance skipped (pass --classifier)")
            return {}
        return gan_frechet_distance(model.generator, splits, classifier, seed=self.seed)

    def release(self, run_root, dest):
        return ["The Fréchet distance is computed on the pooled features of the released zoo CNN "
                "(`saved_models/cnn-fashion_mnist`), not Inception (unavailable offline); the floor is the "
                "same distance between two halves of the real test set.", ""]

    def exportables(self, model):
        return {"generator": model.generator}
