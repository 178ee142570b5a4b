"""Keras layers that the zoo's image-to-image networks share (the layers layer of DESIGN.md):
Keras only, and written so that they convert to TFLite builtins and ONNX on images of any size.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops


def spatial_sum(x):
    """[B, H, W, C] -> [B, C]: the sum over positions, along rows then columns. Why two reductions:
    a runtime may add the H x W values of one reduction in one long chain (onnxruntime's
    blocked-layout kernels behave so), and a float32 sum drifts with the length of its chain,
    typically by its square root times float32's precision: a thousand times for a megapixel. By
    rows, then columns, the chains are short, and exported networks agree with Keras as closely as
    float32 allows."""
    return ops.sum(ops.sum(x, axis=1), axis=1)


def spatial_mean(x):
    """[B, H, W, C] -> [B, C]: the mean over positions, in two reductions (see `spatial_sum`)."""
    return ops.mean(ops.mean(x, axis=1), axis=1)


def spatial_moments(x):
    """(mean, variance) over positions, each [B, 1, 1, C], in two reductions (see `spatial_sum`)."""
    mean = ops.mean(ops.mean(x, axis=1, keepdims=True), axis=2, keepdims=True)
    return mean, ops.mean(ops.mean(ops.square(x - mean), axis=1, keepdims=True), axis=2, keepdims=True)


def neighbours(x, axis):
    """(x[i - 1], x[i + 1]) along rows (axis 1) or columns (axis 2) of [B, H, W, C], edges
    clamped: slices and a concatenation, for filters written out on inputs of any size."""
    first = x[:, :1] if axis == 1 else x[:, :, :1]
    last = x[:, -1:] if axis == 1 else x[:, :, -1:]
    inner = (x[:, :-1], x[:, 1:]) if axis == 1 else (x[:, :, :-1], x[:, :, 1:])
    return ops.concatenate([first, inner[0]], axis=axis), ops.concatenate([inner[1], last], axis=axis)


def interleave(a, b, axis):
    """[.., a0, b0, a1, b1, ..] along rows (axis 1) or columns (axis 2) of two [B, H, W, C] of
    any size: a stack and a reshape with the static channel count (TFLite builtins)."""
    shape, channels = ops.shape(a), a.shape[-1]
    size = (shape[0], shape[1] * 2, shape[2], channels) if axis == 1 else (shape[0], shape[1], shape[2] * 2, channels)
    return ops.reshape(ops.stack([a, b], axis=axis + 1), size)


@keras.saving.register_keras_serializable(package="zoo")
class BilinearUpsampling2D(layers.Layer):
    """2x bilinear upsampling (half-pixel centres, edges clamped: tf.image.resize's and ONNX
    Resize's bilinear) for inputs of unknown height and width, with no resize op.

    Why: nearest-neighbour upsampling copies each pixel into a 2x2 block and transposed
    convolutions overlap unevenly, and a network trained through either prints that period (2, 4
    and 8 pixels after three steps) into its pictures as a grid. Bilinear interpolation followed
    by a convolution has no such period. Keras's bilinear `UpSampling2D` on unknown sizes does not
    even export to a SavedModel, so the interpolation is written out: at scale 2 every output
    pixel is 3/4 of its nearest input pixel plus 1/4 of the next one on that side,

        out[2i] = 0.75 x[i] + 0.25 x[i - 1],    out[2i + 1] = 0.75 x[i] + 0.25 x[i + 1],

    with x[-1] = x[0] and x[n] = x[n - 1], first along rows, then along columns. Slices, sums and
    a stack + reshape with the static channel count: TFLite builtins, ONNX Slice/Concat/Reshape.
    """

    def call(self, x):
        x = self._double(x, axis=1)
        return self._double(x, axis=2)

    @staticmethod
    def _double(x, axis):
        before, after = neighbours(x, axis)
        return interleave(0.75 * x + 0.25 * before, 0.75 * x + 0.25 * after, axis)

    def compute_output_shape(self, shape):
        double = lambda d: None if d is None else 2 * d  # noqa: E731
        return (shape[0], double(shape[1]), double(shape[2]), shape[3])


@keras.saving.register_keras_serializable(package="zoo")
class SpaceToDepth2D(layers.Layer):
    """[B, H, W, C] -> [B, H/2, W/2, 4C] (even sides): each 2x2 block's pixels as channels, in
    tf.nn.space_to_depth's order. Lets a network that computes at half resolution still see
    every pixel of its input. Strided slices and a concatenation (TFLite and ONNX builtins)."""

    def call(self, x):
        return ops.concatenate([x[:, 0::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 0::2], x[:, 1::2, 1::2]], axis=-1)

    def compute_output_shape(self, shape):
        half = lambda d: None if d is None else d // 2  # noqa: E731
        return (shape[0], half(shape[1]), half(shape[2]), 4 * shape[3])


@keras.saving.register_keras_serializable(package="zoo")
class DepthToSpace2D(layers.Layer):
    """[B, H, W, 4C] -> [B, 2H, 2W, C], the inverse of `SpaceToDepth2D` (tf.nn.depth_to_space's
    order): the sub-pixel convolution's output step (Shi et al. 2016), which draws a picture at
    full resolution from features at half of it. Its four phases are four filters, free to
    differ by a pattern of period 2; `BinomialBlur2D` after it removes exactly that."""

    def call(self, x):
        c = x.shape[-1] // 4
        top, bottom = (interleave(x[..., i * c:(i + 1) * c], x[..., (i + 1) * c:(i + 2) * c], axis=2) for i in (0, 2))
        return interleave(top, bottom, axis=1)

    def compute_output_shape(self, shape):
        double = lambda d: None if d is None else 2 * d  # noqa: E731
        return (shape[0], double(shape[1]), double(shape[2]), shape[3] // 4)


@keras.saving.register_keras_serializable(package="zoo")
class BinomialBlur2D(layers.Layer):
    """The [1, 2, 1] / 4 binomial filter along rows and columns (edges reflected): the
    anti-aliasing filter of StyleGAN's and Zhang's (2019) resampling, at its smallest.

    Why: its response at the highest frequency (a period of 2 pixels) is exactly zero, so no
    pattern of 2 pixels can leave a network that ends with it, whatever the layers before it
    learned; a period of 4 keeps half its amplitude, and the picture's shapes pass. The last
    layer of the stylizers, after the sigmoid (a nonlinearity would turn a period of 4 into
    harmonics of 2 again). A reflection pad and a depthwise convolution with a constant 3x3
    kernel: TFLite MIRROR_PAD and DEPTHWISE_CONV_2D, which full int8 quantizes (a filter
    written with slices and sums broke its one-scale rule for slices), and ONNX Pad and Conv."""

    KERNEL = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0

    def call(self, x):
        kernel = np.repeat(self.KERNEL[:, :, None, None], x.shape[-1], axis=2)
        padded = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
        return ops.depthwise_conv(padded, ops.convert_to_tensor(kernel, dtype=x.dtype), strides=1, padding="valid")

    def compute_output_shape(self, shape):
        return shape


@keras.saving.register_keras_serializable(package="zoo")
class StyleVectorNormalization(layers.Layer):
    """Instance normalisation whose per-channel scale and shift are affine maps of a style vector
    (Ghiasi et al. 2017: the style prediction network's embedding S gives every normalisation
    layer of the transfer network its gamma = W_gamma S + b_gamma and beta = W_beta S + b_beta).

    Called on (x [B, H, W, C], style vector [B, D]). The maps start at gamma = 1, beta = 0 with
    small weights, so an untrained network begins as plain instance normalisation; with
    `zero_init` both maps start at exactly 0, so that a residual branch that ends in the layer
    begins as nothing and blocks added to a trained network start as the identity (Goyal et
    al. 2017's zero scale at the end of every residual block). A weighted
    mean of style vectors gives the weighted mean of their scales and shifts (the paper's style
    interpolation), which is why blending paintings happens on the vectors.
    """

    def __init__(self, epsilon=1e-5, zero_init=False, **kwargs):
        super().__init__(**kwargs)
        self.epsilon, self.zero_init = epsilon, zero_init

    def build(self, shapes):
        channels, size = shapes[0][-1], shapes[1][-1]
        small = "zeros" if self.zero_init else keras.initializers.RandomNormal(stddev=0.01)
        self.gamma_kernel = self.add_weight(shape=(size, channels), initializer=small, name="gamma_kernel")
        self.gamma_bias = self.add_weight(shape=(channels,), initializer="zeros" if self.zero_init else "ones",
                                          name="gamma_bias")
        self.beta_kernel = self.add_weight(shape=(size, channels), initializer=small, name="beta_kernel")
        self.beta_bias = self.add_weight(shape=(channels,), initializer="zeros", name="beta_bias")

    def call(self, inputs):
        x, style = inputs
        mean, variance = spatial_moments(x)
        gamma = ops.expand_dims(ops.expand_dims(ops.matmul(style, self.gamma_kernel) + self.gamma_bias, 1), 1)
        beta = ops.expand_dims(ops.expand_dims(ops.matmul(style, self.beta_kernel) + self.beta_bias, 1), 1)
        scale = ops.rsqrt(variance + self.epsilon) * gamma  # one scale and shift per channel: two passes, not four
        return x * scale + (beta - mean * scale)

    def compute_output_shape(self, shapes):
        return shapes[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "zero_init": self.zero_init}


@keras.saving.register_keras_serializable(package="zoo")
class SignedImage(layers.Layer):
    """Images in [0, 1] to [-1, 1]. keras.layers.Rescaling would do it, but Keras's preprocessing
    layers need TensorFlow installed, and the networks must train where JAX is alone."""

    def call(self, x):
        return x * 2.0 - 1.0


@keras.saving.register_keras_serializable(package="zoo")
class Logit(layers.Layer):
    """Probabilities in (0, 1) to log-odds, the inverse of the sigmoid: a picture in [0, 1] back to
    the space where a network adds a correction and a sigmoid keeps the sum in [0, 1].
    Clipped to [`epsilon`, 1 - `epsilon`] so that black and white stay finite."""

    def __init__(self, epsilon=1e-4, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, p):
        p = ops.clip(p, self.epsilon, 1.0 - self.epsilon)
        return ops.log(p) - ops.log(1.0 - p)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="zoo")
class ReflectionPadding2D(layers.Layer):
    """Pads height and width by mirroring the image (TFLite MIRROR_PAD, ONNX Pad reflect)."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = padding

    def call(self, x):
        p = self.padding
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, shape):
        grow = lambda d: None if d is None else d + 2 * self.padding  # noqa: E731
        return (shape[0], grow(shape[1]), grow(shape[2]), shape[3])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="zoo")
class ConditionalInstanceNormalization(layers.Layer):
    """Instance normalisation with one scale and shift per style (Dumoulin et al. 2017).

    Called on (x, style_weights): each image is normalised over its positions, then scaled and
    shifted by `style_weights @ gamma` and `style_weights @ beta`, so a one-hot row picks a
    style and any other row blends styles (the paper's interpolation between styles).

    With `stats_offset` set it is called on (x, style_weights, norm_stats) and normalises with
    the moments in columns [offset, offset + 2C) of `norm_stats` (see `NormStatistics`) instead
    of its own: those of the whole photo, so that tiles of a big photo are normalised alike and
    join without seams (see `zoo.style.tiling`).
    """

    def __init__(self, num_styles, epsilon=1e-5, stats_offset=None, **kwargs):
        super().__init__(**kwargs)
        self.num_styles, self.epsilon, self.stats_offset = num_styles, epsilon, stats_offset

    def build(self, shapes):
        channels = shapes[0][-1]
        self.gamma = self.add_weight(shape=(self.num_styles, channels), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(self.num_styles, channels), initializer="zeros", name="beta")

    def call(self, inputs):
        x, style_weights = inputs[:2]
        if self.stats_offset is None:
            mean, variance = spatial_moments(x)
        else:
            c, o = x.shape[-1], self.stats_offset
            mean = inputs[2][:, o:o + c][:, None, None, :]
            variance = ops.relu(inputs[2][:, o + c:o + 2 * c][:, None, None, :] - ops.square(mean))
        gamma = ops.matmul(style_weights, self.gamma)[:, None, None, :]
        beta = ops.matmul(style_weights, self.beta)[:, None, None, :]
        # (x - mean) / std * gamma + beta folded into one scale and shift per channel: two passes
        # over the activations instead of four, which is most of an inference's time outside the
        # convolutions at full resolution.
        scale = ops.rsqrt(variance + self.epsilon) * gamma
        return x * scale + (beta - mean * scale)

    def compute_output_shape(self, shapes):
        return shapes[0]

    def get_config(self):
        return {**super().get_config(), "num_styles": self.num_styles, "epsilon": self.epsilon,
                "stats_offset": self.stats_offset}


@keras.saving.register_keras_serializable(package="zoo")
class NormStatistics(layers.Layer):
    """[B, H, W, C] -> [B, 2C]: the per-image mean and mean square that instance norm uses.

    Moments rather than (mean, variance) because moments of parts of a photo combine into the
    photo's by a weighted sum, which is how `zoo.style.tiling` gets a big photo's statistics
    exactly from its tiles (see `CoreStatistics`).
    """

    def call(self, x):
        return ops.concatenate([spatial_mean(x), spatial_mean(ops.square(x))], axis=-1)

    def compute_output_shape(self, shape):
        return (shape[0], 2 * shape[-1])


@keras.saving.register_keras_serializable(package="zoo")
class CoreStatistics(layers.Layer):
    """([B, H, W, C], core box [B, 4]) -> [B, 2C]: `NormStatistics` over a tile's core only.

    The box is (top, left, bottom, right) as fractions of the tile's height and width, so that
    it means the same at every resolution of the network; a position counts when its centre is
    inside. Cores tile the photo without overlap, so the photo's moments are the sum of the
    cores' weighted by their areas.
    """

    def call(self, inputs):
        x, box = inputs

        # expand_dims rather than [None] indexing: TFLite has no builtin for strided slices that
        # add axes.
        def inside(length, low, high):  # [B, length]: 1 where the centre lies in (low, high)
            centres = ops.expand_dims((ops.cast(ops.arange(length), x.dtype) + 0.5) / ops.cast(length, x.dtype), 0)
            return ops.cast(ops.logical_and(centres > low, centres < high), x.dtype)

        shape = ops.shape(x)
        rows = ops.expand_dims(ops.expand_dims(inside(shape[1], box[:, 0:1], box[:, 2:3]), -1), -1)
        cols = ops.expand_dims(ops.expand_dims(inside(shape[2], box[:, 1:2], box[:, 3:4]), 1), -1)
        mask = rows * cols
        count = ops.maximum(ops.sum(mask, axis=(1, 2)), 1.0)
        return ops.concatenate([spatial_sum(x * mask) / count, spatial_sum(ops.square(x) * mask) / count], axis=-1)

    def compute_output_shape(self, shapes):
        return (shapes[0][0], 2 * shapes[0][-1])


@keras.saving.register_keras_serializable(package="zoo")
class NearestUpsampling2D(layers.Layer):
    """2x nearest-neighbour upsampling for inputs of unknown height and width.

    `UpSampling2D` loses the channel count on such inputs, so the next convolution needs
    TensorFlow Flex ops in TFLite; reshaping with the static channel count keeps it builtin.
    Tile rather than `repeat`, which tf2onnx 1.17 converts into a wrong ONNX Reshape.
    """

    def call(self, x):
        shape = ops.shape(x)
        channels = x.shape[-1]
        x = ops.reshape(x, (shape[0], shape[1], 1, shape[2], 1, channels))
        x = ops.tile(x, (1, 1, 2, 1, 2, 1))  # [B, H, 2, W, 2, C]
        return ops.reshape(x, (shape[0], shape[1] * 2, shape[2] * 2, channels))

    def compute_output_shape(self, shape):
        double = lambda d: None if d is None else 2 * d  # noqa: E731
        return (shape[0], double(shape[1]), double(shape[2]), shape[3])


def reverse(x, axis: int):
    """`x` in reverse order along `axis` (a mirror image, RGB to BGR), as a gather with constant
    indices. Not `ops.flip`: TensorFlow's reverse converts to an ONNX ReverseSequence fed by the
    batch size (Shape, Expand), which OpenCV's DNN module does not implement; a constant gather is
    an op every runtime has. The axis must have a static size (it is the indices' length)."""
    size = x.shape[axis]
    if size is None:
        raise ValueError(f"reverse() needs a static size along axis {axis}; the shape is {tuple(x.shape)}")
    return keras.ops.take(x, np.arange(size - 1, -1, -1), axis=axis)
