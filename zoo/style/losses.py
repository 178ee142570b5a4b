"""The perceptual losses of neural style transfer, shared by the optimiser (Gatys et al., 2016,
"Image Style Transfer Using Convolutional Neural Networks") and the feed-forward stylizer
(Johnson, Alahi & Fei-Fei, 2016, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution").

Features are VGG19 activations (see `zoo.style.vgg`). Normalisations are chosen so that a loss does
not depend on the image size: the Gram matrix is averaged over positions, and every loss is a
mean. That is what lets the optimiser work coarse to fine, the stylizer train on small crops and
be evaluated on whole photos, and the style image have any size, all with one set of weights.
"""

from __future__ import annotations

from keras import ops

# Gatys et al.: style from the first layer of each block, content from conv4_2.
GATYS_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
GATYS_CONTENT_LAYERS = ("block4_conv2",)
# Johnson et al.: style from relu1_2, relu2_2, relu3_3, relu4_3; content from relu3_3.
JOHNSON_STYLE_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3")
JOHNSON_CONTENT_LAYERS = ("block3_conv3",)
# Huang & Belongie (AdaIN) and Dumoulin et al.: style from relu1_1 ... relu4_1, content from relu4_1.
# The multi-style stylizer trains and is measured on these: VGG19 is cut after block4_conv1,
# which saves two thirds of the fourth block's cost on every training step.
STYLIZER_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")
STYLIZER_CONTENT_LAYERS = ("block4_conv1",)


def gram_matrix(features):
    """[B, H, W, C] -> [B, C, C]: channel correlations averaged over positions."""
    shape = ops.shape(features)
    flat = ops.reshape(features, (shape[0], -1, shape[3]))
    positions = ops.cast(shape[1] * shape[2], features.dtype)
    return ops.einsum("bnc,bnd->bcd", flat, flat) / positions


def content_loss(features: dict, targets: dict, layers):
    """Mean squared feature difference, averaged over `layers` (per image: shape [B])."""
    return sum(ops.mean(ops.square(features[n] - targets[n]), axis=(1, 2, 3)) for n in layers) / len(layers)


def style_loss(features: dict, target_grams: dict, layers):
    """Mean squared Gram difference, averaged over `layers` (per image: shape [B]).

    `target_grams[name]` is [1, C, C] (one style image) or [B, C, C].
    """
    return sum(ops.mean(ops.square(gram_matrix(features[n]) - target_grams[n]), axis=(1, 2)) for n in layers) / len(layers)


def total_variation_loss(images):
    """Mean squared difference of neighbouring pixels (per image: shape [B]); discourages noise."""
    dy = images[:, 1:, :, :] - images[:, :-1, :, :]
    dx = images[:, :, 1:, :] - images[:, :, :-1, :]
    return ops.mean(ops.square(dy), axis=(1, 2, 3)) + ops.mean(ops.square(dx), axis=(1, 2, 3))


GRID_PERIODS = (2, 4, 8)  # the periods `zoo.style.texture` measures


def periodic_part(images, period):
    """Per image ([B]): the mean square of the picture's exactly periodic part of `period`
    pixels: the mean `period` x `period` tile over its blocks, less the tile's mean (the Fourier
    components at multiples of 1/period, DC left out). Sides that are not multiples of `period`
    are cropped."""
    shape = ops.shape(images)
    rows, columns = shape[1] // period, shape[2] // period
    blocks = ops.reshape(images[:, :rows * period, :columns * period, :],
                         (shape[0], rows, period, columns, period, shape[3]))
    tile = ops.mean(blocks, axis=(1, 3))
    tile = tile - ops.mean(tile, axis=(1, 2), keepdims=True)
    return ops.mean(ops.square(tile), axis=(1, 2, 3))


def grid_loss(images, periods=GRID_PERIODS):
    """Per image ([B]): the price of a printed grid, sum over periods p of (max period / p)^2 x
    `periodic_part(p)`.

    A network's grid is exactly periodic, since its strides repeat every 2 and 4 pixels; a
    photo's content averages out over hundreds of blocks. The VGG19 losses hardly see a faint
    mesh (VGG19 pools it away), and the stylizers learned to print one, nearest upsampling or
    not. What makes a mesh visible, and what `zoo.style.texture` measures, is its power over that
    of the picture's other texture at the same frequency, which falls as 1/f^2 in photos and
    paintings: so a period of p is priced as (1/p)^2, relative to the longest (the parts of
    shorter periods are inside the longer ones' too)."""
    longest = max(periods)
    return sum((longest / p) ** 2 * periodic_part(images, p) for p in periods)


class PerceptualLoss:
    """Weighted content + style + TV loss against one or more style images, on a `VGGFeatures`
    network.

    Holds every style image's Gram matrices, computed once (stacked: [N, C, C] per layer). Call
    it with the generated images and the content images' target features; it returns per-image
    (total, content, style, tv). With several styles, `style_weights` ([B, N]) says which style,
    or which blend of styles, each image is measured against: its target Gram matrices are the
    weighted sums of the styles' (Dumoulin et al. 2017 blend styles the same way).
    """

    def __init__(self, features, style_images, *, content_layers, style_layers,
                 content_weight, style_weight, tv_weight):
        self.features = features
        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        if not isinstance(style_images, (list, tuple)):
            style_images = [style_images]
        grams = {n: [] for n in self.style_layers}
        for image in style_images:  # one at a time: the paintings differ in size
            image = ops.convert_to_tensor(image, "float32")
            feats = self._features(image if len(image.shape) == 4 else image[None])
            for n in self.style_layers:
                grams[n].append(gram_matrix(feats[n])[0])
        self.style_grams = {n: ops.stack(g) for n, g in grams.items()}  # [N, C, C]
        self.num_styles = len(style_images)

    def _features(self, images):
        """VGG features in float32: under a mixed-precision policy VGG computes in 16 bits, but
        Gram matrices and squared differences need float32's range and precision."""
        return {n: ops.cast(v, "float32") for n, v in self.features(images).items()}

    def content_targets(self, content_images):
        feats = self._features(content_images)
        return {n: feats[n] for n in self.content_layers}

    def target_grams(self, style_weights=None):
        """{layer: [B or 1, C, C]}: the Gram matrices to match, blended by `style_weights`."""
        if style_weights is None:
            if self.num_styles != 1:
                raise ValueError(f"this loss holds {self.num_styles} styles; pass style_weights [B, N]")
            return self.style_grams
        return {n: ops.einsum("bn,ncd->bcd", ops.cast(style_weights, g.dtype), g) for n, g in self.style_grams.items()}

    def __call__(self, images, content_targets, style_weights=None):
        images = ops.cast(images, "float32")
        feats = self._features(images)
        content = content_loss(feats, content_targets, self.content_layers)
        style = style_loss(feats, self.target_grams(style_weights), self.style_layers)
        tv = total_variation_loss(images)
        total = self.content_weight * content + self.style_weight * style + self.tv_weight * tv
        return total, content, style, tv
