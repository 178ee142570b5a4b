"""A small StyleGAN (Karras, Laine & Aila 2019, "A Style-Based Generator Architecture for
Generative Adversarial Networks"; Karras et al. 2020, "Analyzing and Improving the Image Quality
of StyleGAN", StyleGAN2).

Generator: a mapping network turns z into an intermediate latent w (pixel norm, then fully
connected layers with a learning rate 100 times smaller, as the paper's); the synthesis network
starts from a learned constant 7x7 tensor and grows it to 28x28, each convolution modulated by an
affine projection of w ("style") and demodulated (StyleGAN2's weight demodulation, computed as
input scaling, a shared convolution and output scaling: the paper's non-fused form, plain
convolutions everywhere the zoo exports to), followed by per-pixel noise scaled by a learned
strength. Every resolution adds its image (toRGB) to the upsampled image of the one before
(StyleGAN2's skip generator). Upsampling is bilinear before a convolution, which prints no
periodic grid. Every layer's weights are drawn from N(0, 1) and scaled by He's constant at run
time (the equalised learning rate of ProGAN, Karras et al. 2018), so Adam moves every layer at
the same speed.

Discriminator: StyleGAN2's residual one (fromRGB; per resolution a convolution, a 2x2 average
pooling and a second convolution at the halved resolution, StyleGAN2's downsampling convolution,
beside a pooled 1x1 skip), a minibatch standard deviation channel at 7x7, two dense layers. The
second convolution after the pooling, not before it, costs a quarter as much.

Training: the non-saturating logistic loss, the R1 penalty (gamma/2 * |grad D(x)|^2 on real
images), style mixing regularisation (with probability --style-mixing, the styles after a random
layer come from a second z), an exponential moving average of the generator's weights (the
sampler that is evaluated and exported) and of w (the centre that truncation pulls towards).
The R1 penalty is taken every step on a sixteenth of the real images: the same expected penalty
as the paper's lazy regularisation every sixteenth step, at the same cost, without a branch in
the compiled step. Adam with beta_1 = 0, beta_2 = 0.99, as the paper's.

The defaults are StyleGAN2-ADA's configuration for small images (its CIFAR-10 one: a mapping
network of two layers, learning rate 0.0025, R1 gamma 0.01), scaled to what two CPU cores train
in an hour: 32 channels at 7x7 and 14x14 and 16 at 28x28, batches of 16 images instead of 64 and
a learning rate of 0.004 (at batch 16 it beat 0.0025 in equal steps; the card gives the comparison),
bfloat16 where the CPU has it, 16 epochs of 4,500 steps, the learning rate annealed over the last
quarter as the DCGAN's. In a fixed hour, the many more steps of a narrow network, and of small
batches, bring the samples closer to the data than a wider network's or larger batches' fewer
steps (the model card gives the comparisons). Progressive growing (ProGAN's, `--progressive`) is
a flag, off by default: StyleGAN2 replaced it with this skip generator and residual
discriminator, which learn coarse structure first without it, and here too the steps it spends at
low resolution cost more than they give (the card's comparison). It is built as StyleGAN's
official code's fixed structure: every layer runs from the start, and a level of detail fades
each resolution's image in (`FadeIn`), the real images blurred to match.

Sampling: truncation psi pulls w towards its average, w' = w_avg + psi (w - w_avg), trading
variety for typical images; the exported generator takes psi as its second input. Noise is
random while training and fixed after it (a buffer drawn once per layer, StyleGAN2-ADA's
noise_mode="const"), so the exported network is a function of z and psi.
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
from keras import layers, ops

from zoo.hparams import FashionMNISTHyperparameters, Hyperparameters, default, hp
from zoo.images import grid, save_image
from zoo.models.common import image_input, latent_input, learning_rate, num_halvings, schedule, steps_per_epoch
from zoo.models.dcgan import DCGAN, DCGANRecipe
from zoo.names import GENERATOR, IMAGE, TRUNCATION
from zoo.registry import register
from zoo.training.callbacks import fixed_noise

LEAK, GAIN = 0.2, math.sqrt(2.0)  # leaky ReLU slope, and the gain that keeps its output's variance
R1_SHARE = 16  # the R1 penalty's images: every R1_SHARE-th of each batch (StyleGAN2's lazy interval)


def _lrelu(x):
    return ops.leaky_relu(x, LEAK) * GAIN


@keras.saving.register_keras_serializable(package="zoo")
class EqualizedDense(layers.Layer):
    """A dense layer whose weights are N(0, 1) / lr_multiplier, scaled at run time by
    lr_multiplier / sqrt(fan_in): every layer learns at the same rate under Adam, and the mapping
    network's (lr_multiplier 0.01) a hundred times slower."""

    def __init__(self, units, lr_multiplier=1.0, bias_init=0.0, activate=True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.lr_multiplier, self.bias_init, self.activate = units, lr_multiplier, bias_init, activate

    def build(self, input_shape):
        fan_in = input_shape[-1]
        self.kernel = self.add_weight(shape=(fan_in, self.units), name="kernel",
                                      initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier))
        self.bias = self.add_weight(shape=(self.units,), name="bias",
                                    initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier))
        self.scale = self.lr_multiplier / math.sqrt(fan_in)

    def call(self, x):
        kernel, bias = (ops.cast(v, x.dtype) for v in (self.kernel, self.bias))
        y = ops.matmul(x, kernel * self.scale) + bias * self.lr_multiplier
        return _lrelu(y) if self.activate else y

    def get_config(self):
        return {**super().get_config(), "units": self.units, "lr_multiplier": self.lr_multiplier,
                "bias_init": self.bias_init, "activate": self.activate}


@keras.saving.register_keras_serializable(package="zoo")
class EqualizedConv2D(layers.Layer):
    """A 'same' convolution with the equalised learning rate, a bias and the scaled leaky ReLU
    (without either, for the discriminator's skip connections)."""

    def __init__(self, filters, kernel_size=3, use_bias=True, activate=True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.use_bias, self.activate = filters, kernel_size, use_bias, activate

    def build(self, input_shape):
        k, fan_in = self.kernel_size, input_shape[-1]
        self.kernel = self.add_weight(shape=(k, k, fan_in, self.filters), name="kernel",
                                      initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer="zeros") if self.use_bias else None
        self.scale = 1.0 / math.sqrt(fan_in * k * k)

    def call(self, x):
        y = ops.conv(x, ops.cast(self.kernel, x.dtype) * self.scale, padding="same")
        if self.bias is not None:
            y = y + ops.cast(self.bias, y.dtype)
        return _lrelu(y) if self.activate else y

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "use_bias": self.use_bias, "activate": self.activate}


@keras.saving.register_keras_serializable(package="zoo")
class ModulatedConv2D(layers.Layer):
    """StyleGAN2's modulated convolution of `x` [N, H, W, C] by the style of `w` [N, w_dim].

    The style s = affine(w) (bias 1: styles start as the identity) scales the input channels;
    demodulation divides each output channel by the norm its modulated weights would have,
    sqrt(sum_{i,k} (s_i w_ik)^2), which gives outputs of unit variance as instance norm did
    without reading the activations. Then, with `noise`, per-pixel Gaussian noise times a
    learned strength (random while training, a fixed buffer after), the bias and the scaled
    leaky ReLU. The toRGB layers: kernel 1, no demodulation, no noise, linear."""

    def __init__(self, filters, kernel_size=3, demodulate=True, noise=True, activate=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, kernel_size
        self.demodulate, self.noise, self.activate, self.seed = demodulate, noise, activate, seed
        self.seed_generator = keras.random.SeedGenerator(seed) if noise else None

    def build(self, input_shapes):
        x_shape, w_shape = input_shapes
        k, channels = self.kernel_size, x_shape[-1]
        self.affine = EqualizedDense(channels, bias_init=1.0, activate=False, name="affine")
        self.affine.build(w_shape)
        self.kernel = self.add_weight(shape=(k, k, channels, self.filters), name="kernel",
                                      initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer="zeros")
        self.scale = 1.0 / math.sqrt(channels * k * k)
        if self.noise:
            self.noise_strength = self.add_weight(shape=(), name="noise_strength", initializer="zeros")
            self.noise_buffer = self.add_weight(shape=(1, x_shape[1], x_shape[2], 1), name="noise_buffer",
                                                initializer=keras.initializers.RandomNormal(seed=self.seed),
                                                trainable=False)

    def call(self, inputs, training=False):
        x, w = inputs
        # (the casts are no-ops in training, where Keras autocasts variables; Keras's symbolic
        # build of a loaded model runs without that scope)
        style = ops.cast(self.affine(w), x.dtype)  # [N, C]
        weight = ops.cast(self.kernel, x.dtype) * self.scale
        y = ops.conv(x * style[:, None, None, :], weight, padding="same")
        if self.demodulate:
            # sum over kernel positions and input channels of (s_i w_ik)^2 = s^2 @ sum_k w_ik^2
            norms = ops.matmul(ops.square(style), ops.sum(ops.square(weight), axis=(0, 1)))  # [N, filters]
            y = y * ops.rsqrt(norms + 1e-8)[:, None, None, :]
        if self.noise:
            if training:
                shape = ops.shape(y)
                noise = keras.random.normal((shape[0], shape[1], shape[2], 1), seed=self.seed_generator, dtype=y.dtype)
            else:
                noise = ops.cast(self.noise_buffer, y.dtype)
            y = y + ops.cast(self.noise_strength, y.dtype) * noise
        y = y + ops.cast(self.bias, y.dtype)
        return _lrelu(y) if self.activate else y

    def compute_output_shape(self, input_shapes):
        return (*input_shapes[0][:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "demodulate": self.demodulate, "noise": self.noise, "activate": self.activate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="zoo")
class ConstantInput(layers.Layer):
    """The synthesis network's learned starting tensor, one copy per style vector of the batch."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.shape_ = tuple(shape)

    def build(self, input_shape):
        self.constant = self.add_weight(shape=(1, *self.shape_), name="constant",
                                        initializer=keras.initializers.RandomNormal(stddev=1.0))

    def call(self, ws):
        return ops.repeat(ops.cast(self.constant, self.compute_dtype), ops.shape(ws)[0], axis=0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.shape_)

    def get_config(self):
        return {**super().get_config(), "shape": self.shape_}


@keras.saving.register_keras_serializable(package="zoo")
class PixelNorm(layers.Layer):
    """z / sqrt(mean(z^2)): the mapping network sees latents on the sphere of radius sqrt(dim)."""

    def call(self, z):
        return z * ops.rsqrt(ops.mean(ops.square(z), axis=-1, keepdims=True) + 1e-8)


@keras.saving.register_keras_serializable(package="zoo")
class MinibatchStddev(layers.Layer):
    """ProGAN's minibatch standard deviation: the mean over features of their standard deviation
    across the batch, appended as one more channel, so the discriminator sees a batch's variety
    and can punish a generator that collapses to few images."""

    def call(self, x):
        std = ops.sqrt(ops.var(x, axis=0) + 1e-8)
        stat = ops.ones_like(x[..., :1]) * ops.mean(std)
        return ops.concatenate([x, stat], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


@keras.saving.register_keras_serializable(package="zoo")
class Truncation(layers.Layer):
    """w' = w_avg + psi (w - w_avg): psi [N, 1] pulls w towards the average w of training
    (`w_avg`, the training step's moving average of the mapping network's outputs)."""

    def build(self, input_shapes):
        self.w_avg = self.add_weight(shape=(input_shapes[0][-1],), name="w_avg", initializer="zeros", trainable=False)

    def call(self, inputs):
        w, psi = inputs
        w_avg = ops.cast(self.w_avg, w.dtype)
        return w_avg + ops.cast(psi, w.dtype) * (w - w_avg)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


@keras.saving.register_keras_serializable(package="zoo")
class StyleOf(layers.Layer):
    """The style vector of layer `index` from ws [N, num_styles, w_dim]."""

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def call(self, ws):
        return ws[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="zoo")
class UnitRange(layers.Layer):
    """clip(x, 0, 1), written relu6(6x) / 6: that converts to ONNX's Clip and TFLite's RELU6, which
    every runtime the zoo exports to runs (a clip by value converts to Max and Min, which
    onnxruntime-web's WebGPU lacks)."""

    def call(self, x):
        return ops.relu6(6.0 * x) / 6.0


@keras.saving.register_keras_serializable(package="zoo")
class FadeIn(layers.Layer):
    """A resolution's image (its toRGB) times `alpha`, a weight the training step sets from the
    level of detail (`--progressive`): 0 while the resolution is not grown yet, rising to 1 as it
    fades in, 1 for good once the run has grown to full resolution. `level`: 1 for the second
    resolution, 2 for the third, ..."""

    def __init__(self, level, **kwargs):
        super().__init__(**kwargs)
        self.level = level

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(), name="alpha", initializer="ones", trainable=False)

    def call(self, x):
        return x * ops.cast(self.alpha, x.dtype)

    def get_config(self):
        return {**super().get_config(), "level": self.level}


def _clipped(image):
    """The image in [0, 1]: the synthesis network's output is unbounded (the discriminator trains
    on it so), the zoo's images are not."""
    return UnitRange(dtype="float32", name=IMAGE)(image)


def synthesis_widths(side, width):
    """Channels at each resolution from the smallest: `width` up to 14x14, then halved."""
    n = num_halvings(side)
    return [width if i < 2 else max(width // 2 ** (i - 1), 16) for i in range(n + 1)]


def num_styles(side):
    """Style vectors the synthesis network takes: one per convolution, and the last toRGB's (every
    other toRGB shares the next convolution's, as in StyleGAN2)."""
    return 2 * num_halvings(side) + 2


def build_mapping(latent_dim, w_dim, depth):
    z = latent_input(latent_dim)
    x = PixelNorm(name="pixel_norm")(z)
    for i in range(depth):
        x = EqualizedDense(w_dim, lr_multiplier=0.01, name=f"fc{i}")(x)
    return keras.Model(z, x, name="mapping")


def build_synthesis(image_shape, w_dim, width, seed=0, progressive=False):
    """ws [N, num_styles, w_dim] -> image [N, H, W, C] on the [0, 1] scale, unclipped. With
    `progressive`, each resolution's image above the first passes a FadeIn."""
    side, _, channels = image_shape
    n, widths = num_halvings(side), synthesis_widths(side, width)
    base = side // 2 ** n
    ws = keras.Input(shape=(num_styles(side), w_dim), name="ws")
    style = [StyleOf(i, name=f"w{i}")(ws) for i in range(num_styles(side))]
    x = ConstantInput((base, base, widths[0]), name="const")(ws)
    x = ModulatedConv2D(widths[0], seed=seed, name="conv_b0")([x, style[0]])
    rgb = ModulatedConv2D(channels, 1, demodulate=False, noise=False, activate=False, name="to_rgb_b0")([x, style[1]])
    for i in range(1, n + 1):
        x = layers.UpSampling2D(interpolation="bilinear", name=f"up{i}")(x)
        x = ModulatedConv2D(widths[i], seed=seed + 2 * i, name=f"conv_b{i}a")([x, style[2 * i - 1]])
        x = ModulatedConv2D(widths[i], seed=seed + 2 * i + 1, name=f"conv_b{i}b")([x, style[2 * i]])
        up = layers.UpSampling2D(interpolation="bilinear", name=f"up_rgb{i}")(rgb)
        here = ModulatedConv2D(channels, 1, demodulate=False, noise=False, activate=False,
                               name=f"to_rgb_b{i}")([x, style[2 * i + 1]])
        if progressive:
            here = FadeIn(i, name=f"fade_in{i}")(here)
        rgb = layers.Add(name=f"rgb{i}")([up, here])
    image = layers.Rescaling(0.5, offset=0.5, dtype="float32", name="to_unit_range")(rgb)
    return keras.Model(ws, image, name="synthesis")


def build_generator(mapping, synthesis, w_avg=None):
    """z -> image in [0, 1], every style vector the same w. With `w_avg` (the training's average
    w), a network of z and psi (`TRUNCATION`, [N, 1]) that pulls w towards it: the export."""
    z = latent_input(mapping.inputs[0].shape[-1])
    inputs, w = z, mapping(z)
    if w_avg is not None:
        truncation = keras.Input(shape=(1,), name=TRUNCATION)
        center = Truncation(name="truncation_trick")
        inputs, w = [z, truncation], center([w, truncation])
        center.w_avg.assign(w_avg)
    ws = layers.RepeatVector(synthesis.inputs[0].shape[1], name="broadcast")(w)
    return keras.Model(inputs, _clipped(synthesis(ws)), name=GENERATOR)


def build_discriminator(image_shape, width):
    """StyleGAN2's residual discriminator, scaled down: widths double as resolution halves."""
    n = num_halvings(image_shape[0])
    widths = synthesis_widths(image_shape[0], width)[::-1]  # from the image's resolution down
    inputs = image_input(image_shape)
    x = layers.Rescaling(2.0, offset=-1.0, name="to_tanh_range")(inputs)
    x = EqualizedConv2D(widths[0], 1, name="from_rgb")(x)
    for i in range(n):
        skip = layers.AveragePooling2D(2, name=f"skip_pool{i}")(x)
        skip = EqualizedConv2D(widths[i + 1], 1, use_bias=False, activate=False, name=f"skip{i}")(skip)
        x = EqualizedConv2D(widths[i], name=f"conv{i}a")(x)
        x = layers.AveragePooling2D(2, name=f"pool{i}")(x)
        x = EqualizedConv2D(widths[i + 1], name=f"conv{i}b")(x)
        x = layers.Rescaling(1.0 / math.sqrt(2.0), name=f"residual{i}")(layers.Add(name=f"add{i}")([x, skip]))
    x = MinibatchStddev(name="minibatch_stddev")(x)
    x = EqualizedConv2D(widths[-1], name="conv_final")(x)
    x = layers.Flatten(name="flatten")(x)
    x = EqualizedDense(widths[-1], name="fc")(x)
    logit = EqualizedDense(1, activate=False, dtype="float32", name="logit")(x)
    return keras.Model(inputs, logit, name="discriminator")


def level_of_detail(progress, levels):
    """ProGAN's schedule as a level of detail, `levels` (the first resolution only) down to 0 (full
    resolution), at `progress` in [0, 1] of the growing: each resolution above the first gets a
    phase of fading in, then one of training at it; the first resolution trains alone first."""
    phase = ops.minimum(ops.cast(progress, "float32"), 1.0) * 2 * levels
    k = ops.floor(phase)
    fading = ops.mod(k, 2.0) * (phase - k)
    return ops.maximum(levels - ops.floor((k + 1) / 2) - fading + ops.mod(k, 2.0), 0.0)


def fade_weight(lod, level, levels):
    """How much of resolution `level` (1 = the second) an image at level of detail `lod` shows."""
    return ops.clip(levels - level + 1 - ops.convert_to_tensor(lod, "float32"), 0.0, 1.0)


def at_level_of_detail(images, lod, levels):
    """Real images as the skip generator draws at level of detail `lod`: the first resolution's
    average-pooled image, upsampled bilinearly, plus each finer resolution's detail times its
    fade weight, so the discriminator sees both players' images at the same resolution."""
    pyramid = [images]
    for _ in range(levels):
        pyramid.insert(0, ops.average_pool(pyramid[0], 2, 2))
    up = layers.UpSampling2D(interpolation="bilinear", dtype=images.dtype)  # not mixed precision's compute dtype
    image = pyramid[0]
    for level in range(1, levels + 1):
        coarse = up(pyramid[level - 1])
        image = up(image) + fade_weight(lod, level, levels) * (pyramid[level] - coarse)
    return image


def input_gradient(fn, x):
    """d sum(fn(x)) / dx, inside a training step of either backend (the R1 penalty's gradient,
    itself differentiated by the step)."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.grad(lambda t: ops.sum(ops.cast(fn(t), "float32")))(x)
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        total = ops.sum(ops.cast(fn(x), "float32"))
    return tape.gradient(total, x)


@keras.saving.register_keras_serializable(package="zoo")
class StyleGAN(DCGAN):
    """The DCGAN's two-player training step (two optimizers, either backend), with StyleGAN's
    generator, losses and regularisers. Calling it generates images from z (psi = 1)."""

    def __init__(self, generator, discriminator, r1_gamma=0.01, style_mixing=0.9, w_avg_decay=0.995, grow_steps=0,
                 **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.r1_gamma, self.style_mixing, self.w_avg_decay = r1_gamma, style_mixing, w_avg_decay
        self.grow_steps = grow_steps
        self.mapping, self.synthesis = generator.get_layer("mapping"), generator.get_layer("synthesis")
        self.num_styles, w_dim = self.synthesis.inputs[0].shape[1:]
        self.levels = num_halvings(self.synthesis.outputs[0].shape[1])  # resolutions above the first
        self.fades = [layer for network in (generator, self.ema_generator) if network is not None
                      for layer in network.get_layer("synthesis").layers if isinstance(layer, FadeIn)]
        self.w_avg = self.add_weight(shape=(w_dim,), name="w_avg", initializer="zeros", trainable=False)
        self.r1_tracker = keras.metrics.Mean(name="r1")

    @property
    def metrics(self):
        return [*super().metrics, self.r1_tracker]

    def styles(self, batch):
        """ws [N, num_styles, w_dim] of fresh z, and their w; with probability `style_mixing` per
        image, the styles from a random layer on come from a second z."""
        w = self.mapping(self.sample_z(batch), training=True)
        ws = ops.repeat(w[:, None, :], self.num_styles, axis=1)
        if not self.style_mixing:
            return ws, w
        other = ops.repeat(self.mapping(self.sample_z(batch), training=True)[:, None, :], self.num_styles, axis=1)
        cutoff = keras.random.randint((batch, 1, 1), 1, self.num_styles, seed=self.seed_generator)
        mix = keras.random.uniform((batch, 1, 1), seed=self.seed_generator) < self.style_mixing
        cutoff = ops.where(mix, cutoff, self.num_styles)
        layer = ops.arange(self.num_styles)[None, :, None]
        return ops.where(layer < cutoff, ws, other), w

    def grow(self, real):
        """--progressive: the level of detail of this step, set in every FadeIn of both
        generators; returns the real images at it."""
        progress = ops.cast(self.d_optimizer.iterations, "float32") / self.grow_steps
        lod = level_of_detail(progress, self.levels)
        for layer in self.fades:
            layer.alpha.assign(fade_weight(lod, layer.level, self.levels))
        return at_level_of_detail(real, lod, self.levels)

    def adversarial_step(self, data):
        real = data[0] if isinstance(data, tuple) else data
        if self.grow_steps:
            real = self.grow(real)
        batch = ops.shape(real)[0]
        penalised = real[::R1_SHARE]

        def discriminator_loss(ws):
            fake = self.synthesis(ws, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            loss = ops.mean(ops.softplus(fake_logits)) + ops.mean(ops.softplus(-real_logits))
            grad = input_gradient(lambda x: self.discriminator(x, training=True), penalised)
            r1 = ops.mean(ops.sum(ops.square(ops.cast(grad, "float32")), axis=(1, 2, 3)))
            return loss + 0.5 * self.r1_gamma * r1, (real_logits, r1)

        def generator_loss():
            ws, w = self.styles(batch)
            fake_logits = self.discriminator(self.synthesis(ws, training=True), training=True)
            return ops.mean(ops.softplus(-fake_logits)), w

        ws = ops.stop_gradient(self.styles(batch)[0])
        d_loss, (real_logits, r1) = self.minimize(self.d_optimizer, self.discriminator, lambda: discriminator_loss(ws))
        g_loss, w = self.minimize(self.g_optimizer, self.generator, generator_loss)
        self.w_avg.assign(self.w_avg_decay * self.w_avg + (1.0 - self.w_avg_decay) * ops.mean(ops.cast(w, "float32"), 0))
        if self.ema_generator is not None:
            self.update_ema()

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(ops.mean(ops.sigmoid(real_logits)))
        self.r1_tracker.update_state(r1)
        return {m.name: m.result() for m in self.metrics}

    def sampler_networks(self):
        """The sampler's (mapping, synthesis) networks."""
        return self.sampler.get_layer("mapping"), self.sampler.get_layer("synthesis")

    def truncated(self):
        """The sampler as a network of z and psi (`TRUNCATION`, [N, 1]): the exported generator."""
        return build_generator(*self.sampler_networks(), w_avg=self.w_avg)

    def mixed(self, coarse_z, fine_z, crossover):
        """Images whose styles before layer `crossover` are those of `coarse_z` and after it those
        of `fine_z` (the style mixing grid)."""
        mapping, synthesis = self.sampler_networks()
        ws = np.repeat(mapping.predict(coarse_z, verbose=0)[:, None], self.num_styles, axis=1)
        ws[:, crossover:] = mapping.predict(fine_z, verbose=0)[:, None]
        return np.clip(synthesis.predict(ws, verbose=0), 0.0, 1.0)

    def get_config(self):
        return {**super().get_config(), "r1_gamma": self.r1_gamma, "style_mixing": self.style_mixing,
                "w_avg_decay": self.w_avg_decay, "grow_steps": self.grow_steps}


@dataclasses.dataclass(frozen=True)
class StyleGANHyperparameters(FashionMNISTHyperparameters):
    epochs: int = default(Hyperparameters, "epochs", 16)
    batch_size: int = default(Hyperparameters, "batch_size", 16)
    steps_per_epoch: int | None = default(Hyperparameters, "steps_per_epoch", 4500)
    learning_rate: float = default(Hyperparameters, "learning_rate", 4e-3)
    latent_dim: int = hp(128, "size of z and of the intermediate latent w", minimum=1)
    mapping_layers: int = hp(2, "fully connected layers of the mapping network from z to w", minimum=1)
    width: int = hp(32, "channels of the synthesis network at 7x7 and 14x14 (halved at 28x28), and of the "
                         "discriminator at the same resolutions", minimum=8)
    r1_gamma: float = hp(0.01, "weight gamma of the R1 penalty: gamma/2 times the squared norm of the discriminator's "
                                "gradient at real images", minimum=0.0)
    style_mixing: float = hp(0.9, "probability that an image's styles after a random layer come from a second z",
                             minimum=0.0, maximum=1.0)
    ema: float | None = hp(0.998, "decay of the moving average of the generator's weights, updated after every "
                                  "step, that is sampled, evaluated and exported (0.998: a half-life of 350 steps); "
                                  "none: the generator itself",
                           minimum=0.0, metavar="DECAY")
    schedule: str = schedule("anneal")
    progressive: float = hp(0.0, "ProGAN's progressive growing: the share of the run (0 to 1) over which the images "
                                 "of both players grow from 7x7 to full resolution, each new resolution faded in; "
                                 "0: full resolution from the start", minimum=0.0, maximum=1.0)


@register
class StyleGANRecipe(DCGANRecipe):
    """Trained, monitored and evaluated as the DCGAN (its Fréchet distance after every epoch and on
    the test set, of the sampler's images at psi = 1); its own network, optimizers, pictures and
    export."""

    name = "stylegan"
    model_class = StyleGAN
    description = ("StyleGAN: mapping network, modulated convolutions on a learned constant, per-layer noise, style "
                   "mixing, R1, moving average of the generator, truncation")
    paper = ("Karras, Laine & Aila 2019, A Style-Based Generator Architecture for GANs; Karras et al. 2020, "
             "Analyzing and Improving the Image Quality of StyleGAN")
    Hyperparameters = StyleGANHyperparameters
    # Neither int8 form (full-integer, or dynamic int8 weights) keeps the released generator's
    # pixels within the exporter's tolerance: its demodulation divides by sums of squared weights
    # that 8 bits do not hold (the model card gives the differences).
    quantizations = {GENERATOR: ("fp16",)}

    def build_model(self, info):
        c = self.config
        progressive = c.get("progressive") or 0.0
        mapping = build_mapping(c["latent_dim"], c["latent_dim"], c["mapping_layers"])
        synthesis = build_synthesis(info.image_shape, c["latent_dim"], c["width"], seed=self.seed,
                                    progressive=bool(progressive))
        grow_steps = round(progressive * c["epochs"] * steps_per_epoch(c, info))
        model = StyleGAN(build_generator(mapping, synthesis), build_discriminator(info.image_shape, c["width"]),
                         r1_gamma=c["r1_gamma"], style_mixing=c["style_mixing"], grow_steps=grow_steps,
                         seed=c.get("seed"), ema_decay=c.get("ema"), name=self.name)
        model.build((None, c["latent_dim"]))
        return model

    def compile_model(self, model, info):
        """Adam with beta_1 = 0 and beta_2 = 0.99 for both players, the papers' choice."""
        c = self.config
        rate = learning_rate(c, info, schedule=c["schedule"])
        model.compile(d_optimizer=keras.optimizers.Adam(rate, beta_1=0.0, beta_2=0.99, epsilon=1e-8),
                      g_optimizer=keras.optimizers.Adam(rate, beta_1=0.0, beta_2=0.99, epsilon=1e-8),
                      **self.compile_options())

    def generator(self, model):
        return model.sampler

    def report(self, run, model, splits):
        super().report(run, model, splits)
        save_style_mixing(run.images / "style_mixing.png", model, self.config["latent_dim"], self.seed)
        save_truncation_sweep(run.images / "truncation_sweep.png", model, self.config["latent_dim"], self.seed)

    def release(self, run_root, dest):
        return ["The Fréchet distance is that of 5,000 samples at psi = 1 (no truncation) on the pooled features of "
                "the released zoo CNN (`saved_models/cnn-fashion_mnist`), not Inception (unavailable offline), as for "
                "the DCGAN; the floor is the same distance between two halves of the real test set. The exported "
                "generator takes z and psi (`truncation`, one per image) and its noise is the fixed buffer of "
                "each layer.", ""]

    def exportables(self, model):
        return {GENERATOR: model.truncated()}

    def sample_input(self, name, shape, images, rng):
        if name == TRUNCATION:  # psi over the range a user would try
            return rng.uniform(0.5, 1.0, (len(images), *shape)).astype("float32")
        return super().sample_input(name, shape, images, rng)


MIXING_ROWS, MIXING_COLS, TRUNCATION_PSIS = 5, 6, (0.0, 0.25, 0.5, 0.75, 1.0)


def save_style_mixing(path, model, latent_dim, seed):
    """The paper's style mixing figure: the top row's images give the fine styles (28x28), the
    left column's the coarse ones (7x7 and 14x14), and each cell mixes its row's and column's."""
    z = fixed_noise(latent_dim, seed, MIXING_ROWS + MIXING_COLS)
    coarse, fine = z[:MIXING_ROWS], z[MIXING_ROWS:]
    crossover = model.num_styles // 2
    top = model.mixed(fine, fine, model.num_styles)
    left = model.mixed(coarse, coarse, model.num_styles)
    rows = [[np.ones_like(top[0]), *top]]
    for i in range(MIXING_ROWS):
        rows.append([left[i], *model.mixed(np.repeat(coarse[i:i + 1], MIXING_COLS, 0), fine, crossover)])
    save_image(path, grid(rows, pad=2, min_side=64))


def save_truncation_sweep(path, model, latent_dim, seed, count=8):
    """Rows of the same z at psi from 0 (the average image) to 1 (no truncation)."""
    z = fixed_noise(latent_dim, seed, count)
    network = model.truncated()
    columns = [network.predict([z, np.full((count, 1), psi, np.float32)], verbose=0) for psi in TRUNCATION_PSIS]
    save_image(path, grid([[column[i] for column in columns] for i in range(count)],
                          labels=[f"{psi:g}" for psi in TRUNCATION_PSIS], pad=2, min_side=64))
