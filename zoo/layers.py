"""Keras layers that the zoo's image-to-image networks share (the layers layer of DESIGN.md):
Keras only, and written so that they convert to TFLite builtins and ONNX on images of any size.
"""

from __future__ import annotations

import keras
from keras import layers, ops


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
        shape, channels = ops.shape(x), x.shape[-1]
        first = x[:, :1] if axis == 1 else x[:, :, :1]
        last = x[:, -1:] if axis == 1 else x[:, :, -1:]
        inner = (x[:, :-1], x[:, 1:]) if axis == 1 else (x[:, :, :-1], x[:, :, 1:])
        before = ops.concatenate([first, inner[0]], axis=axis)  # x[i - 1], edge clamped
        after = ops.concatenate([inner[1], last], axis=axis)  # x[i + 1], edge clamped
        pair = ops.stack([0.75 * x + 0.25 * before, 0.75 * x + 0.25 * after], axis=axis + 1)
        size = (shape[0], shape[1] * 2, shape[2], channels) if axis == 1 else (shape[0], shape[1], shape[2] * 2,
                                                                                 channels)
        return ops.reshape(pair, size)

    def compute_output_shape(self, shape):
        double = lambda d: None if d is None else 2 * d  # noqa: E731
        return (shape[0], double(shape[1]), double(shape[2]), shape[3])


@keras.saving.register_keras_serializable(package="zoo")
class StyleVectorNormalization(layers.Layer):
    """Instance normalisation whose per-channel scale and shift are affine maps of a style vector
    (Ghiasi et al. 2017: the style prediction network's embedding S gives every normalisation
    layer of the transfer network its gamma = W_gamma S + b_gamma and beta = W_beta S + b_beta).

    Called on (x [B, H, W, C], style vector [B, D]). The maps start at gamma = 1, beta = 0 with
    small weights, so an untrained network begins as plain instance normalisation. A weighted
    mean of style vectors gives the weighted mean of their scales and shifts (the paper's style
    interpolation), which is why blending paintings happens on the vectors.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, shapes):
        channels, size = shapes[0][-1], shapes[1][-1]
        small = keras.initializers.RandomNormal(stddev=0.01)
        self.gamma_kernel = self.add_weight(shape=(size, channels), initializer=small, name="gamma_kernel")
        self.gamma_bias = self.add_weight(shape=(channels,), initializer="ones", name="gamma_bias")
        self.beta_kernel = self.add_weight(shape=(size, channels), initializer=small, name="beta_kernel")
        self.beta_bias = self.add_weight(shape=(channels,), initializer="zeros", name="beta_bias")

    def call(self, inputs):
        x, style = inputs
        mean, variance = ops.moments(x, axes=(1, 2), keepdims=True)
        gamma = ops.expand_dims(ops.expand_dims(ops.matmul(style, self.gamma_kernel) + self.gamma_bias, 1), 1)
        beta = ops.expand_dims(ops.expand_dims(ops.matmul(style, self.beta_kernel) + self.beta_bias, 1), 1)
        scale = ops.rsqrt(variance + self.epsilon) * gamma  # one scale and shift per channel: two passes, not four
        return x * scale + (beta - mean * scale)

    def compute_output_shape(self, shapes):
        return shapes[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
