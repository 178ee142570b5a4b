"""DCGAN (Radford, Metz & Chintala, 2016, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks").

The paper's guidelines: strided convolutions instead of pooling, fractionally-strided
(transposed) convolutions in the generator, batch norm in both nets except the generator output
and the discriminator input, ReLU in the generator with tanh at the output, LeakyReLU(0.2) in
the discriminator, Adam with learning rate 2e-4 and beta_1 = 0.5, weights from N(0, 0.02).

The generator ends with tanh rescaled to [0, 1], the zoo's image range; the discriminator maps
[0, 1] back to [-1, 1] first. `train_step` alternates one discriminator and one generator update
with the non-saturating generator loss. Two optimizers do not fit Keras's one-optimizer training
step, so the DCGAN has its own, one code for the TensorFlow and JAX backends apart from how the
gradients are taken (`DCGAN.minimize`).

The recipe's defaults buy Fréchet distance per second of a laptop CPU, each choice made on the
Fréchet distance to the validation split after every epoch (`scripts/benchmark_training.py`
measures the time to the target against the earlier recipe). The distance still falls at the
end of a half-hour run, so what pays is more progress in the time:
- bfloat16 compute where the CPU has it (`--mixed-precision` "auto") runs the steps half as fast
  again, which buys more than the little distance per epoch it costs; 30 epochs fill about half
  an hour of two CPU cores;
- a learning rate of 3e-4 for both players, half as large again as the paper's 2e-4: in so few
  epochs the generator is still far from the data, and the larger steps close the distance
  sooner at every epoch, without the two players losing their balance;
- the rate holds for three quarters of the run and then falls linearly to 0 (`--schedule
  anneal`): the falling rate damps the oscillation of the two players, and the distance drops
  faster over those last epochs than at a constant rate. A cosine decay over the whole run
  (`--schedule cosine`) slowed the generator more than it settled it.
Spectral norm with the hinge loss and two time-scale rates (`--spectral-norm`, `--loss hinge`,
`--d-learning-rate`) and a moving average of the generator (`--ema`) did worse.
"""

from __future__ import annotations

import dataclasses
import keras
from keras import layers, ops

from zoo.hparams import FashionMNISTHyperparameters, Hyperparameters, default, hp
from zoo.models import cnn
from zoo.models.common import image_input, latent_input, learning_rate, num_halvings, scale_for_replicas, schedule
from zoo.names import GENERATOR, IMAGE, Task
from zoo.recipe import GenerativeRecipe
from zoo.registry import register
from zoo.training.callbacks import ValidationFrechetDistance
from zoo.training.evaluation import FRECHET_DISTANCE, latent_sampler, sample_frechet_distance, split_arrays


def _init():
    return keras.initializers.RandomNormal(stddev=0.02)


def build_generator(image_shape, latent_dim, width=64):
    side, _, channels = image_shape
    n = num_halvings(side)
    base = side // 2 ** n
    z = latent_input(latent_dim)
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
    image = layers.Rescaling(0.5, offset=0.5, dtype="float32", name=IMAGE)(x)
    return keras.Model(z, image, name=GENERATOR)


def build_discriminator(image_shape, width=64, spectral_norm=False):
    """The paper's discriminator; with `spectral_norm`, every layer's kernel is divided by its
    largest singular value (Miyato et al. 2018) in place of batch norm: that bounds how fast D's
    output can change with its input, so the generator keeps getting useful gradients."""

    def normalized(layer):
        return layers.SpectralNormalization(layer, name=f"{layer.name}_sn") if spectral_norm else layer

    inputs = image_input(image_shape)
    x = layers.Rescaling(2.0, offset=-1.0, name="to_tanh_range")(inputs)
    for i in range(num_halvings(image_shape[0])):
        batch_norm = i > 0 and not spectral_norm
        x = normalized(layers.Conv2D(width * 2 ** i, 4, strides=2, padding="same", use_bias=not batch_norm,
                                     kernel_initializer=_init(), name=f"conv{i + 1}"))(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"conv{i + 1}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"conv{i + 1}_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    logit = normalized(layers.Dense(1, kernel_initializer=_init(), dtype="float32", name="logit"))(x)
    return keras.Model(inputs, logit, name="discriminator")


class GANOptimizers(keras.optimizers.Optimizer):
    """The DCGAN's `model.optimizer`: its discriminator's and generator's optimizers as the one
    optimizer Keras's trainer knows. Its `variables` are theirs, because the JAX trainer passes
    exactly `model.optimizer.variables` through its compiled step as the optimizer state;
    TensorBoard logs the learning rate of each of `optimizers`. It is never applied, so it saves
    no variables: the DCGAN saves its two optimizers itself."""

    def __init__(self, optimizers):
        super().__init__(learning_rate=0.0, name="gan_optimizers")
        self.optimizers = list(optimizers)

    @property
    def variables(self):
        return [v for optimizer in self.optimizers for v in optimizer.variables]

    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass


@keras.saving.register_keras_serializable(package="zoo")
class DCGAN(keras.Model):
    """Generator and discriminator trained adversarially; calling it generates images from z."""

    def __init__(self, generator, discriminator, seed=None, ema_decay=None, loss="bce", **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.ema_decay, self.loss_name = ema_decay, loss
        self.ema_generator = None
        if ema_decay:
            # Not trained, only averaged: its weights are the model's non-trainable state, which
            # the checkpoints and model.keras hold and JAX's compiled step carries.
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
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
        """The optimizers are built here, not at their first step, because the JAX trainer takes
        their variables as state before the first step."""
        super().compile(optimizer=GANOptimizers([d_optimizer, g_optimizer]), **kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    def get_compile_config(self):
        if not self.compiled:  # as keras.Model's: an uncompiled model saves no compile config
            return None
        return {"d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
                "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer)}

    def compile_from_config(self, config):
        self.compile(d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
                     g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]))

    @property
    def sampler(self):
        """The generator that draws the samples, the metrics and the export: the moving average
        of the generator's weights where the run keeps one (`--ema`)."""
        return self.generator if self.ema_generator is None else self.ema_generator

    def call(self, z, training=False):
        return self.sampler(z, training=training)

    def update_ema(self):
        """w_ema <- d w_ema + (1 - d) w for every weight of the generator, the batch-norm
        statistics too."""
        d = self.ema_decay
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(d * average + (1.0 - d) * ops.cast(weight, average.dtype))

    def sample_z(self, batch_size):
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def train_step(self, *args):
        """TensorFlow: `args` is the batch, and the step updates the variables. JAX: `args` is
        (state, batch), the values of the model's variables and the batch, and the step returns
        (logs, new state): the same step runs in a StatelessScope over that state, where variable
        updates are recorded instead of made (how Keras's JAX trainer updates metrics itself)."""
        if keras.backend.backend() != "jax":
            return self.adversarial_step(*args)
        state, data = args
        variables = (self.trainable_variables, self.non_trainable_variables, self.optimizer.variables,
                     self.metrics_variables)
        mapping = [pair for vs, values in zip(variables, state) for pair in zip(vs, values)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            logs = self.adversarial_step(data)
        return logs, tuple([scope.get_current_value(v) for v in vs] for vs in variables)

    def adversarial_step(self, data):
        """One discriminator update, then one generator update with fresh noise."""
        real = data[0] if isinstance(data, tuple) else data
        batch = ops.shape(real)[0]

        def discriminator_loss(z):  # real -> 1, fake -> 0
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            if self.loss_name == "hinge":
                loss = ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))
            else:
                loss = ops.mean(self.bce(ops.ones_like(real_logits), real_logits)) + ops.mean(
                    self.bce(ops.zeros_like(fake_logits), fake_logits))
            return loss, real_logits

        def generator_loss(z):  # make D call fakes real (bce: the non-saturating loss)
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            if self.loss_name == "hinge":
                return -ops.mean(fake_logits), None
            return ops.mean(self.bce(ops.ones_like(fake_logits), fake_logits)), None

        z = self.sample_z(batch)
        d_loss, real_logits = self.minimize(self.d_optimizer, self.discriminator, lambda: discriminator_loss(z))
        z = self.sample_z(batch)
        g_loss, _ = self.minimize(self.g_optimizer, self.generator, lambda: generator_loss(z))
        if self.ema_generator is not None:
            self.update_ema()

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(ops.mean(ops.sigmoid(real_logits)))
        return {m.name: m.result() for m in self.metrics}

    def minimize(self, optimizer, network, loss_fn):
        """One step of `optimizer` on the weights of `network` down `loss_fn() -> (loss, aux)`;
        returns (loss, aux). The only code that differs by backend: TensorFlow records the
        function on a GradientTape; JAX differentiates it as a function of the weights' values
        (jax.value_and_grad), run in a StatelessScope as `stateless_call` runs a layer, and then
        makes the scope's other updates (batch-norm statistics)."""
        weights = network.trainable_variables
        if keras.backend.backend() == "jax":
            import jax

            ids = {id(w) for w in weights}
            others = [v for v in self.variables if id(v) not in ids]

            def scaled_loss(values, other_values):
                mapping = [*zip(weights, values), *zip(others, other_values)]
                with keras.StatelessScope(state_mapping=mapping) as scope:
                    loss, aux = loss_fn()
                return optimizer.scale_loss(loss), (loss, aux, [scope.get_current_value(v) for v in others])

            (_, (loss, aux, updates)), grads = jax.value_and_grad(scaled_loss, has_aux=True)(
                [w.value for w in weights], [v.value for v in others])
            for variable, value in zip(others, updates):
                variable.assign(value)
        else:
            import tensorflow as tf

            with tf.GradientTape() as tape:
                loss, aux = loss_fn()
                scaled = optimizer.scale_loss(scale_for_replicas(loss))
            grads = tape.gradient(scaled, weights)
        optimizer.apply(grads, weights)
        return loss, aux

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "ema_decay": self.ema_decay,
            "loss": self.loss_name,
        }

    @classmethod
    def from_config(cls, config):
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)


@dataclasses.dataclass(frozen=True)
class DCGANHyperparameters(FashionMNISTHyperparameters):
    epochs: int = default(Hyperparameters, "epochs", 30)
    learning_rate: float = default(Hyperparameters, "learning_rate", 3e-4)
    latent_dim: int = hp(100, "size of the latent vector z", minimum=1)
    schedule: str = schedule("anneal")
    ema: float | None = hp(None, "sample, evaluate and export an exponential moving average of the generator's "
                                 "weights, updated after every step with this decay (0.999: over about 1,000 "
                                 "steps); it averages out the oscillation of adversarial training (Yazici et al. "
                                 "2019)", minimum=0.0, metavar="DECAY")
    d_learning_rate: float | None = hp(None, "the discriminator's learning rate (none: --learning-rate); a faster "
                                             "discriminator than generator is the two time-scale rule (Heusel et "
                                             "al. 2017)", minimum=0.0)
    loss: str = hp("bce", "bce: the paper's cross-entropy with the non-saturating generator loss; hinge: D minimises "
                          "relu(1 - D(x)) + relu(1 + D(G(z))), G maximises D(G(z)) (Lim & Ye 2017, Miyato et al. "
                          "2018)", choices=("bce", "hinge"))
    spectral_norm: bool = hp(False, "spectrally normalise the discriminator's layers instead of batch-normalising "
                                    "them")


@register
class DCGANRecipe(cnn.MeasuredByTheCNN, GenerativeRecipe):
    name = "dcgan"
    model_class = DCGAN
    task = Task.GAN
    description = ("DCGAN: transposed-conv generator, strided-conv discriminator, Adam(3e-4, 0.5) annealed over the "
                   "last quarter, bfloat16 where the CPU has it")
    paper = "Radford, Metz & Chintala 2016, Unsupervised Representation Learning with DCGANs"
    Hyperparameters = DCGANHyperparameters
    # A GAN's losses on held-out data say little: its held-out images are compared with its samples
    # instead, by the Fréchet distance after every epoch (`callbacks`).
    validate_each_epoch = False
    metric_notes = {FRECHET_DISTANCE: "Fréchet distance on the zoo CNN's pooled features, not Inception "
                                      "(unavailable offline)"}

    def build_model(self, info):
        c = self.config
        latent = c["latent_dim"]
        model = DCGAN(build_generator(info.image_shape, latent),
                      build_discriminator(info.image_shape, spectral_norm=c.get("spectral_norm", False)),
                      seed=c.get("seed"), ema_decay=c.get("ema"), loss=c.get("loss", "bce"), name=self.name)
        model.build((None, latent))
        return model

    def compile_model(self, model, info):
        c = self.config
        schedule = c.get("schedule", "constant")
        d_rate = learning_rate(c, info, c.get("d_learning_rate") or c["learning_rate"], schedule)
        model.compile(d_optimizer=keras.optimizers.Adam(d_rate, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(learning_rate(c, info, schedule=schedule), beta_1=0.5),
                      **self.compile_options())

    def callbacks(self, run, splits):
        classifier = self.classifier(splits) if splits.validation is not None else None
        if classifier is None:
            return super().callbacks(run, splits)
        images, _ = split_arrays(splits.validation)
        return [*super().callbacks(run, splits),
                ValidationFrechetDistance(lambda model: latent_sampler(model.sampler), images, classifier, cnn.FEATURE_LAYER,
                                          seed=self.seed)]

    def evaluate(self, model, splits):
        classifier = self.classifier(splits)
        return {} if classifier is None else sample_frechet_distance(latent_sampler(model.sampler), splits, classifier,
                                                                         cnn.FEATURE_LAYER,
                                                                       seed=self.seed)

    def release(self, run_root, dest):
        return ["The Fréchet distance is computed on the pooled features of the released zoo CNN "
                "(`saved_models/cnn-fashion_mnist`), not Inception (unavailable offline); the floor is the "
                "same distance between two halves of the real test set.", ""]

    def exportables(self, model):
        return {GENERATOR: model.sampler}
