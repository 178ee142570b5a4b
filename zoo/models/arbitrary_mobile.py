"""Arbitrary style transfer small enough for phones: any painting, no VGG19 at inference
(Ghiasi, Lee, Kudlur, Dumoulin & Shlens 2017, "Exploring the structure of a real-time, arbitrary
neural artistic stylization network"; the micro networks of Wang et al. 2023, "MicroAST").

AdaIN (zoo.models.adain) is arbitrary because a painting's style is the statistics of VGG19
features, so VGG19 must run on every photo and painting: 7M parameters and 250 GFLOPs a 512 px
photo. Ghiasi et al. learn the map from painting to style instead. A style prediction network P
reads the painting s and gives a style vector S = P(s) (100 numbers); the style transfer network
T stylizes the photo c with S, every instance normalisation of T taking its scale and shift from
S (gamma = W_gamma S + b_gamma, beta = W_beta S + b_beta: `zoo.layers.StyleVectorNormalization`).
Both networks are trained together, and VGG19 only measures the result.

Both are micro networks, as in MicroAST, so that together they hold under 1M parameters (4 MB in
float32, half that in fp16):
- P: a strided 3x3 convolution and four depthwise-separable stages down to 1/16 of the
  painting's resolution; the mean and standard deviation of every channel of the last three (the
  statistics a style loss compares, pooled over positions, so any painting size works) go
  through one dense layer to S.
- T: Johnson et al.'s transform network made small and moved down an octave: three strided 3x3
  convolutions to 1/8 of the photo's resolution, depthwise-separable residual blocks there, two
  steps back up to 1/2, each a 2x bilinear upsampling followed by a 3x3 convolution
  (`zoo.layers.BilinearUpsampling2D`) to which the way down's features of the same resolution
  are added (LinkNet's skips: the photo's thin lines, which 1/8 cannot hold); with
  `--quarter-blocks`, residual blocks at 1/4 after the first step up, for strokes of 4 to 16
  pixels; and a sub-pixel output: the last convolution sees those features beside the photo's
  own pixels (`SpaceToDepth2D`) and draws 2x2 sub-pixels (`DepthToSpace2D`). No layer runs at
  full resolution, where a network's time goes to moving memory rather than arithmetic, but,
  with `--detail-channels`, a small detail head that adds the painting's fine texture, which
  the blurred half-resolution picture cannot hold. Bilinear, not nearest and not transposed convolution: those
  print a grid of their periods into the pictures (OFFLINE.md, "Grid texture"). A sigmoid gives
  [0, 1]. Fixed [1, 2, 1] blurs (`zoo.layers.BinomialBlur2D`) on the features at 1/4 and 1/2 and
  on the picture let no period of 8, 4 or 2 pixels out, the sub-pixels' included: a first run
  without the two inner ones printed a grid of 4 pixels.

Loss, computed by a frozen VGG19 (zoo.style.vgg) that is not part of the saved model: content at
relu4_1 on instance-normalised features (the photo's structure, not its statistics, as in
MicroAST; `--content-layers 3,4` adds relu3_1's term, for edges and thin shapes), style as the
means and standard deviations of relu1_1 ... relu4_1 (AdaIN's loss and
its per-layer scaling to the paper's normalised VGG19, `zoo.models.adain.LAYER_SCALES`),
L = Lc + style_weight * Ls. MicroAST weighs style 3 next to a style contrastive loss of weight 3
that this recipe leaves out; the default is AdaIN's 10: with the skips the photo's structure
comes cheaply, and at 5 the style lagged at the same content loss (the comparison is in the
run's RESUME.md). Two more terms:
- distillation from the released AdaIN (`--teacher`, `AdaINTeacher`): its picture of the same
  photo and painting, compared as 4x4 block means (`coarse`), hands the small networks the
  painting's colours and large shapes, which the statistics loss alone teaches over tens of
  thousands of steps; block means leave out the teacher's own grid of 2 and 4 pixels. The
  teacher costs one decoder pass a step: its VGG19 features are the loss's.
- `zoo.style.losses.grid_loss`: the exactly periodic part of the pictures, which VGG19 does not
  see and the stylizers learned to print, bilinear upsampling or not.
- a Gram loss (`--gram-weight`, off by default): the mean squared difference of the Gram
  matrices of the same scaled features (Gatys's texture measure, which Ghiasi et al. trained
  with and the project's benchmark compares). Means and deviations leave out how a painting's
  channels go together: its strokes and their directions, where the small network's pictures
  fall short of the peer's.

Training sees several scales: every photo and painting is resized, per sample, to a random
shorter side between `crop` and 2.5 x `crop` before the random crop (a network trained at one
scale learns the texture of that scale only). The style corpus is `styles/` of
`python scripts/build_style_data.py --styles` (about 330 paintings, drawings and textures), whose
PROVENANCE.csv says what is held out: adain-paintings' six held-out paintings, and every 10th
other image.

The export is two networks, as for AdaIN and under the same tensor names, so that one deploy
path runs both: `style_encoder` (style_image -> style_stats, here the style vector S, once per
painting; a weighted mean of several paintings' vectors blends them) and `transfer` (image,
style_stats, alpha -> stylized). alpha is Ghiasi et al.'s strength: T gets alpha S + (1 - alpha)
P(photo), the style vector of the photo itself at alpha = 0.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
from keras import layers, ops

from zoo.errors import ZooError, check_at_least
from zoo.hparams import Hyperparameters, channel_counts, default, hp
from zoo.log import log
from zoo.layers import (BilinearUpsampling2D, BinomialBlur2D, DepthToSpace2D, Logit, ReflectionPadding2D, SignedImage,
                        SpaceToDepth2D, StyleVectorNormalization)
from zoo.models.adain import (AdaINHyperparameters, AdaINRecipe, AdaptiveInstanceNormalization, PhotoPaintingModel,
                              StyleStatistics, build_decoder, encode)
from zoo.models.common import global_policy, image_input, image_output
from zoo.registry import register
from zoo.style import pipelines, release
from zoo.style.arbitrary import (ALPHA, MIN_STYLE_SIDE, MULTIPLE, PHONE_RECIPE, STYLE_ENCODER, STYLE_IMAGE, STYLE_STATS,
                                 TRANSFER)
from zoo.style.data import BUILD_COMMAND, paintings_dir, styles_dir
from zoo.style.losses import STYLIZER_CONTENT_LAYERS, STYLIZER_STYLE_LAYERS, gram_matrix, grid_loss
from zoo.style.pipelines import split_paintings, split_styles
from zoo.style.tiling import IMAGE, STYLIZED
from zoo.training.runs import Run, locate

STYLE_LAYERS = STYLIZER_STYLE_LAYERS  # relu1_1 ... relu4_1
CONTENT_LAYER = STYLIZER_CONTENT_LAYERS[0]  # relu4_1
STYLE_VECTOR_SIZE = 100  # Ghiasi et al.'s embedding size
MAX_SCALE = 2.5  # shorter sides are drawn from [crop, MAX_SCALE * crop] before cropping
EPSILON = 1e-5
DISTILLATION_BLOCK = 4  # `coarse`: block means of 4 x 4 pixels
QUARTER_BLOCK = "quarter_res"  # the names of the residual blocks at 1/4 start with it
DETAIL = "detail"  # the names of the full-resolution detail head's layers start with it


def instance_normalized(features):
    """Each channel of each image to zero mean and unit variance over its positions: what the
    content loss compares, so that it asks for the photo's structure and leaves its statistics,
    which are the style's, free."""
    mean, variance = ops.moments(features, axes=(1, 2), keepdims=True)
    return (features - mean) / ops.sqrt(variance + EPSILON)


def separable(x, filters, stride, name):
    """Depthwise 3x3 (strided to halve) then pointwise 1x1, with ReLU: MicroAST's encoder unit."""
    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", activation="relu", name=f"{name}_dw")(x)
    return layers.Conv2D(filters, 1, activation="relu", name=f"{name}_pw")(x)


def build_style_predictor(size=STYLE_VECTOR_SIZE):
    """P: painting [B, H, W, 3] in [0, 1], any size -> style vector [B, size]. Stages at 1/4, 1/8,
    1/16 and 1/16 of the painting's resolution; the statistics (means, standard deviations) of the
    last three, concatenated, through one dense layer."""
    painting = image_input((None, None, 3), name=STYLE_IMAGE)
    x = SignedImage(name="to_signed")(painting)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="stem")(x)
    x = separable(x, 32, 2, "stage1")
    pooled = []
    for i, (filters, stride) in enumerate(((64, 2), (128, 2), (128, 1)), start=2):
        x = separable(x, filters, stride, f"stage{i}")
        pooled.append(StyleStatistics(name=f"stage{i}_statistics")(x))
    vector = layers.Dense(size, name="style_vector")(layers.Concatenate(name="statistics")(pooled))
    return keras.Model(painting, vector, name="style_predictor")


def build_transfer(widths=(16, 32, 64), residual_blocks=5, size=STYLE_VECTOR_SIZE, antialias=True, skips=True,
                   quarter_blocks=0, detail=0):
    """T: (photo [B, H, W, 3] in [0, 1], sides multiples of 8; style vector [B, size]) -> the
    stylized photo. `widths` are the channels at 1/2, 1/4 and 1/8 of the photo's resolution:
    nothing is computed at full resolution but the output step (and the optional detail head),
    so that a phone's time per pixel is small (the work of full-resolution layers is mostly
    memory traffic, not arithmetic). The last convolution sees the half-resolution features beside the photo's own
    pixels (`SpaceToDepth2D`) and draws the picture as 2x2 sub-pixels (`DepthToSpace2D`). Every
    convolution but the last is followed by a normalisation whose scale and shift the style
    vector gives. With `antialias` the features at 1/4 and 1/2 and the picture each pass a
    [1, 2, 1] blur, so that no period of 8, 4 or 2 pixels that the network could print leaves
    it (a convolution makes no frequency that its input lacks; the photo's own pass). With
    `skips` the way down's features at 1/4 and 1/2 are added to the way up's (LinkNet's
    additive skips, no weights): the residual blocks at 1/8 see a 512 px photo as 64 x 64
    positions, too few for its thin lines and letters, which the way up otherwise redraws
    thick and wavy. `quarter_blocks` residual blocks at 1/4, after the first step up, give
    strokes of 4 to 16 pixels (what relu4_1 of the loss sees most) layers of their own, where
    otherwise one convolution of `widths[1]` channels draws them from the blocks at 1/8; each
    block's last normalisation starts at 0 (`zero_init`), so the blocks start as the identity
    and can be added to a trained network (`--init-from`). `detail` channels at full
    resolution draw what the blurred half-resolution picture cannot hold, the painting's fine
    texture, on which the style loss depends (saved_models/runs/arbitrary-mobile-detail/RESUME.md
    measured how much): three convolutions read the photo and that picture and add a correction to its log-odds.
    They run at the photo's own resolution and are the same at every position, so they can
    print no grid; the correction's last normalisation starts at 0, so the head starts as
    nothing and can be added to a trained network as the blocks at 1/4 are."""
    half, quarter, eighth = widths
    photo = image_input((None, None, 3), name=IMAGE)
    style = keras.Input(shape=(size,), name=STYLE_STATS, dtype="float32")

    def conv(x, filters, name, stride=1, norm=True, relu=True, zero_init=False):
        x = ReflectionPadding2D(1, name=f"{name}_pad")(x)
        x = layers.Conv2D(filters, 3, strides=stride, name=name)(x)
        x = StyleVectorNormalization(zero_init=zero_init, name=f"{name}_norm")([x, style]) if norm else x
        return layers.ReLU(name=f"{name}_relu")(x) if relu else x

    def separable_conv(x, filters, name, relu=True, zero_init=False):
        x = ReflectionPadding2D(1, name=f"{name}_pad")(x)
        x = layers.SeparableConv2D(filters, 3, name=name)(x)
        x = StyleVectorNormalization(zero_init=zero_init, name=f"{name}_norm")([x, style])
        return layers.ReLU(name=f"{name}_relu")(x) if relu else x

    def residual(x, filters, name, zero_init=False):
        y = separable_conv(x, filters, f"{name}a")
        return layers.Add(name=name)([x, separable_conv(y, filters, f"{name}b", relu=False, zero_init=zero_init)])

    at_half = conv(photo, half, "conv1", stride=2)
    at_quarter = conv(at_half, quarter, "conv2", stride=2)
    x = conv(at_quarter, eighth, "conv3", stride=2)
    for r in range(1, residual_blocks + 1):
        x = residual(x, eighth, f"res{r}")
    for name, filters, skip in (("1", quarter, at_quarter), ("2", half, at_half)):
        x = conv(BilinearUpsampling2D(name=f"up{name}")(x), filters, f"deconv{name}")
        if skips:
            x = layers.Add(name=f"skip{name}")([x, skip])
        if name == "1":
            for r in range(1, quarter_blocks + 1):
                x = residual(x, quarter, f"{QUARTER_BLOCK}{r}", zero_init=True)
        if antialias:  # no pattern of 2 feature pixels, 8 and then 4 photo pixels, goes on
            x = BinomialBlur2D(name=f"deconv{name}_blur")(x)
    x = layers.Concatenate(name="with_photo")([x, SpaceToDepth2D(name="photo_blocks")(photo)])
    x = DepthToSpace2D(name="subpixels")(conv(x, 4 * 3, "out", norm=False, relu=False))
    x = image_output(x, f"{DETAIL}_coarse" if detail else STYLIZED, antialias)
    if detail:
        y = conv(layers.Concatenate(name=f"{DETAIL}_inputs")([photo, x]), detail, f"{DETAIL}1")
        y = conv(separable_conv(y, detail, f"{DETAIL}2"), 3, f"{DETAIL}3", relu=False, zero_init=True)
        x = layers.Add(name=f"{DETAIL}_add")([Logit(name=f"{DETAIL}_logit")(x), y])
        x = layers.Activation("sigmoid", dtype="float32", name=STYLIZED)(x)
    return keras.Model([photo, style], x, name="style_transfer")


class AdaINTeacher:
    """The released AdaIN (zoo.models.adain) as a teacher: its picture of a photo in a painting's
    style, from the VGG19 features the loss computes anyway (relu4_1 of both), so a step pays
    only its decoder. A plain object, as `zoo.style.vgg.VGGFeatures`: the model neither saves nor
    trains it."""

    def __init__(self, decoder):
        decoder.trainable = False
        self.decoder = decoder
        self.adain = AdaptiveInstanceNormalization(name="teacher_adain", dtype="float32")
        self.statistics = StyleStatistics(name="teacher_statistics", dtype="float32")

    def __call__(self, photo_features, painting_features):
        target = self.adain([photo_features, self.statistics(painting_features)])
        return ops.stop_gradient(ops.cast(self.decoder(target, training=False), "float32"))


def encode_in_context(encoder, images, context=0) -> dict:
    """`encode` of `images` reflect-padded by `context` pixels (a multiple of 8), each layer's
    features cropped back to the images' own positions. Why: VGG19 pads every convolution with
    zeros, a grey frame in pixel space, and its features within some 30 pixels of a border
    tell how the picture's edge differs from grey; a content loss on them asks a darker
    stylized picture for a bright band along its borders (the skips and gram runs drew one,
    60 grey levels deep at the border). Seen through a reflected frame, the border features are
    those of the picture itself, and the grey is `context` pixels further out."""
    if not context:
        return encode(encoder, images)
    padded = ops.pad(images, [[0, 0], [context, context], [context, context], [0, 0]], mode="reflect")
    cropped = {}
    for name, features in encode(encoder, padded).items():
        c = context // 2 ** (int(name[len("block")]) - 1)  # blockK_conv1 is at 1 / 2^(K-1) of the picture
        cropped[name] = features[:, c:-c, c:-c, :]
    return cropped


def coarse(images):
    """Means of 4x4 blocks: what the distillation compares. The teacher's picture carries a
    mesh of 2 and 4 pixels (its nearest-neighbour upsampling); a block mean of 4 removes both
    periods exactly and keeps its colours and shapes, which the Gram-free statistics loss teaches
    slowly; the fine texture is left to the style loss."""
    return ops.average_pool(images, DISTILLATION_BLOCK, DISTILLATION_BLOCK, padding="valid")


@keras.saving.register_keras_serializable(package="zoo")
class ArbitraryMobileNetwork(PhotoPaintingModel):
    """P and T trained together by `zoo.models.adain.PhotoPaintingModel`'s step (one for
    TensorFlow and JAX). Called on (photos, paintings) it returns the stylized photos as
    {"stylized": ...}; the VGG19 `encoder` is the loss network only, and the `teacher` (an
    `AdaINTeacher`, attached for training) adds distillation_weight x the squared difference of
    `coarse` pictures to the loss."""

    def __init__(self, predictor, transfer, style_weight=10.0, distillation_weight=0.0, grid_weight=0.0,
                 gram_weight=0.0, loss_context=0, gram_layers=STYLE_LAYERS, content_layers=(CONTENT_LAYER,),
                 **kwargs):
        super().__init__(style_weight, **kwargs)
        self.predictor, self.transfer = predictor, transfer
        self.distillation_weight, self.grid_weight, self.gram_weight = distillation_weight, grid_weight, gram_weight
        self.loss_context, self.gram_layers = loss_context, tuple(gram_layers)
        self.content_layers = tuple(content_layers)
        self.teacher = None
        if distillation_weight:
            self.distillation_loss_tracker = keras.metrics.Mean(name="distillation_loss")
        if grid_weight:
            self.grid_loss_tracker = keras.metrics.Mean(name="grid_loss")
        if gram_weight:
            self.gram_loss_tracker = keras.metrics.Mean(name="gram_loss")

    def call(self, inputs, training=False):
        photos, paintings = inputs
        return {STYLIZED: self.transfer([photos, self.predictor(paintings, training=training)], training=training)}

    def loss_terms(self) -> dict:
        terms = super().loss_terms()
        if self.teacher is not None:
            terms["distillation_loss"] = (self.distillation_weight, self.distillation_loss_tracker)
        if self.grid_weight:
            terms["grid_loss"] = (self.grid_weight, self.grid_loss_tracker)
        if self.gram_weight:
            terms["gram_loss"] = (self.gram_weight, self.gram_loss_tracker)
        return terms

    def losses_of(self, x, y_pred):
        """On `encode`d (scaled) VGG19 features: content on instance-normalised relu4_1 (and the
        other `content_layers`, summed), style as
        the per-layer means and deviations (and, with a gram_weight, Gram matrices); with a
        teacher, the distillation."""
        if self.encoder is None:
            raise RuntimeError("give the network its VGG19 loss network (AdaINRecipe.attach_encoder) first")
        photos, paintings = x
        got, photo, painting = (encode_in_context(self.encoder, images, self.loss_context)
                                for images in (y_pred[STYLIZED], photos, paintings))
        content = sum(ops.mean(ops.square(instance_normalized(got[n]) - instance_normalized(photo[n])))
                      for n in self.content_layers)
        style = 0.0
        for n in STYLE_LAYERS:
            style = style + ops.mean(ops.square(self.statistics(got[n]) - self.statistics(painting[n])))
        terms = {"content_loss": content,
                 "style_loss": 2.0 * style}  # mean over means and deviations together: x2 is AdaIN's sum of the two
        if self.teacher is not None:
            taught = self.teacher(photo[CONTENT_LAYER], painting[CONTENT_LAYER])
            terms["distillation_loss"] = ops.mean(ops.square(coarse(y_pred[STYLIZED]) - coarse(taught)))
        if self.grid_weight:
            terms["grid_loss"] = ops.mean(grid_loss(y_pred[STYLIZED]))
        if self.gram_weight:
            terms["gram_loss"] = sum(ops.mean(ops.square(gram_matrix(got[n]) - gram_matrix(painting[n])))
                                     for n in self.gram_layers)
        return terms

    def get_config(self):
        return {**super().get_config(), "distillation_weight": self.distillation_weight,
                "loss_context": self.loss_context,
                "grid_weight": self.grid_weight, "gram_weight": self.gram_weight, "gram_layers": list(self.gram_layers),
                "content_layers": list(self.content_layers),
                "predictor": keras.saving.serialize_keras_object(self.predictor),
                "transfer": keras.saving.serialize_keras_object(self.transfer)}

    @classmethod
    def from_config(cls, config):
        for key in ("predictor", "transfer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def deployables(predictor, transfer) -> dict:
    """`style_encoder` (style_image -> style_stats, the style vector) and `transfer` (image,
    style_stats, alpha -> stylized), alpha mixing the painting's vector with the photo's own."""
    with global_policy("float32"):
        painting = image_input((None, None, 3), name=STYLE_IMAGE)
        encoder = keras.Model(painting, {STYLE_STATS: predictor(painting)}, name=STYLE_ENCODER)
        photo = image_input((None, None, 3), name=IMAGE)
        style = keras.Input(shape=(STYLE_VECTOR_SIZE,), name=STYLE_STATS, dtype="float32")
        alpha = keras.Input(shape=(1,), name=ALPHA, dtype="float32")
        mixed = alpha * style + (1.0 - alpha) * predictor(photo)
        network = keras.Model([photo, style, alpha], {STYLIZED: transfer([photo, mixed])}, name=TRANSFER)
    return {STYLE_ENCODER: encoder, TRANSFER: network}


@dataclasses.dataclass(frozen=True)
class ArbitraryMobileHyperparameters(AdaINHyperparameters):
    epochs: int = default(Hyperparameters, "epochs", 400)
    learning_rate: float = default(Hyperparameters, "learning_rate", 3e-4)
    steps_per_epoch: int | None = default(Hyperparameters, "steps_per_epoch", 100)
    crop_size: int = hp(128, f"side of the random training crops; images are first resized to a random shorter side "
                             f"between it and {MAX_SCALE:g} times it", minimum=16)
    style_weight: float = default(AdaINHyperparameters, "style_weight", 10.0)
    widths: str = hp("16,32,64", "transfer network channels at 1/2, 1/4 and 1/8 of the photo's resolution",
                     metavar="C1,C2,C3")
    residual_blocks: int = hp(5, "residual blocks of the transfer network at 1/8 of the photo's resolution", minimum=1)
    quarter_blocks: int = hp(0, "residual blocks at 1/4 of the photo's resolution after the first step up (room for "
                                "strokes of 4 to 16 pixels); they start as the identity, so --init-from a run without "
                                "them starts from its pictures", minimum=0)
    distillation_weight: float = hp(1000.0, "weight of the distillation from --teacher: the squared difference of "
                                            "the 4x4 block means of its picture and the network's; 0 trains without "
                                            "it", minimum=0.0)
    teacher: str = hp("adain-paintings", "the AdaIN model (a released name or a run folder) to distil from")
    loss_context: int = hp(16, "pixels of reflected picture around every image that the loss's VGG19 sees, its "
                               "features cropped back to the image (a multiple of 8): VGG19's zero padding "
                               "otherwise asks for a bright band along the borders", minimum=0)
    grid_weight: float = hp(1e5, "weight of the grid loss: the mean square of the pictures' exactly periodic part "
                                 "(periods of 2, 4 and 8 pixels), which the VGG19 losses do not see", minimum=0.0)
    gram_weight: float = hp(0.0, "weight of a Gram-matrix style loss on the same scaled VGG19 features beside the "
                                 "means and deviations (how the painting's channels go together: strokes and their "
                                 "directions); 0 leaves it out", minimum=0.0)
    gram_layers: str = hp("1,2,3,4", "the layers of the Gram loss, by block: 1,2,3,4 is relu1_1 ... relu4_1, each "
                                     "scaled alike; 4 is relu4_1 alone, the layer that the benchmark's unscaled Gram "
                                     "loss is almost all of", metavar="K,...")
    content_layers: str = hp("4", "the layers of the content loss, by block (as --gram-layers), each instance-"
                                  "normalised, their terms summed: 4 is relu4_1 alone, AdaIN's; 3,4 adds relu3_1, at "
                                  "1/4 of the picture, which holds the photo's edges and thin shapes where relu4_1 "
                                  "lets the style loss wave and double them", metavar="K,...")
    antialias: bool = hp(True, "fixed [1, 2, 1] blurs on the transfer network's features at 1/4 and 1/2 and on its "
                               "picture, whose response to a period of 2 of their pixels is zero: no grid of 8, 4 or "
                               "2 pixels can leave it")
    skips: bool = hp(True, "add the transfer network's features at 1/4 and 1/2 on its way down to those on its way "
                           "up (no weights), so that thin lines and letters survive the residual blocks at 1/8")
    detail_channels: int = hp(0, "channels of a detail head at the photo's full resolution (0: none): three "
                                 "convolutions that read the photo and the blurred picture and add the painting's fine "
                                 "texture; it starts as nothing, so --init-from a run without it starts from its "
                                 "pictures", minimum=0)


def vgg_layers(name: str, blocks: str) -> tuple:
    """A `--gram-layers` or `--content-layers` value ("1,2,3,4": relu1_1 ... relu4_1) as VGG19
    layer names, or a ZooError naming the flag."""
    numbers = [b.strip() for b in str(blocks).split(",")]
    if any(b not in {"1", "2", "3", "4"} for b in numbers) or len(set(numbers)) < len(numbers):
        raise ZooError(f"--{name.replace('_', '-')} needs distinct blocks among 1,2,3,4 (relu1_1 ... relu4_1), got "
                       f"{blocks!r}")
    return tuple(STYLE_LAYERS[int(b) - 1] for b in numbers)


def benchmark_paintings(held_out: list) -> list:
    """The held-out style images that the offline paintings folder holds out too (adain-paintings'
    six, on which the benchmarks compare the two models), else the first six held out."""
    tests = {p.name for p in split_paintings(paintings_dir())[1]} if paintings_dir().is_dir() else set()
    return [p for p in held_out if p.name in tests] or held_out[:6]


@register
class ArbitraryMobileRecipe(AdaINRecipe):
    """AdaIN's recipe (its photos, held-out pairs, pictures, evaluation and export checks) with
    Ghiasi et al.'s two small networks instead of VGG19 + decoder, a style corpus and random
    scales. Without TensorFlow (JAX alone) the folders are read by AdaIN's `zoo.style.pairs`
    path, at one scale: images resized to twice the crop."""

    name = PHONE_RECIPE
    model_class = ArbitraryMobileNetwork
    task = "image-to-image"
    description = ("Arbitrary style transfer for phones: a style prediction network maps any painting to a style "
                   "vector that sets the normalisations of a small transfer network (no VGG19 at inference)")
    paper = ("Ghiasi et al. 2017, Exploring the structure of a real-time, arbitrary neural artistic stylization "
             "network; Wang et al. 2023, MicroAST")
    # Adam at 3e-4, three times MicroAST's 1e-4: a CPU affords thousands of steps, not its 160,000.
    Hyperparameters = ArbitraryMobileHyperparameters
    # The held-out losses go through VGG19 at twice the crop: on a CPU they cost as much as a short
    # epoch of training, and short epochs are what make a CPU run resumable every few minutes. The
    # held-out pictures of every epoch stay, and the end of a run measures the held-out losses.
    validate_each_epoch = False
    max_scale = MAX_SCALE  # a network trained at one scale learns the texture of that scale only
    legacy = {"distillation_weight": 0.0, "grid_weight": 0.0, "antialias": False, "skips": False,
              "loss_context": 0}  # runs from before them

    def __init__(self, config):
        if not config.get("styles") and styles_dir().is_dir():
            config["styles"] = str(styles_dir())
        super().__init__(config)

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--content", help="content photos: a folder of images (every 10th held out) or a "
                                              "tensorflow-datasets name such as coco/2017 (default: the photos built "
                                              "by scripts/build_style_data.py)")
        parser.add_argument("--styles", help="style images: a folder (its PROVENANCE.csv split column, else every 5th "
                                             "held out) or a tensorflow-datasets name (default: the styles/ of "
                                             "scripts/build_style_data.py --styles, else its paintings/)")
        parser.add_argument("--vgg-weights", help="VGG19 weights of the loss: a Keras .h5 file, or 'random'")

    def load_data(self):
        """Photos and style images with their held-out ones (`split_styles`), as AdaIN's."""
        return pipelines.load_pairs(self.config, split_styles, "styles",
                                    f"no --styles given and no offline style images; build them with "
                                    f"{BUILD_COMMAND} --styles or pass --styles with a folder of paintings")

    def build_model(self, info):
        """P and T in float32 (--mixed-precision computes only the VGG19 of the loss in 16 bits),
        with the loss network attached."""
        c, hps = self.config, self.hp
        check_at_least("residual_blocks", c.get("residual_blocks"), 1)
        if hps.loss_context % 8 or 2 * hps.loss_context >= hps.crop_size:
            raise ZooError(f"--loss-context must be a multiple of 8 below half the crop ({hps.crop_size}), got "
                           f"{hps.loss_context}")
        with global_policy("float32"):
            model = ArbitraryMobileNetwork(build_style_predictor(),
                                           build_transfer(self.widths, hps.residual_blocks, antialias=hps.antialias,
                                                          skips=hps.skips, quarter_blocks=hps.quarter_blocks,
                                                          detail=hps.detail_channels),
                                           c["style_weight"], hps.distillation_weight, hps.grid_weight,
                                           hps.gram_weight, hps.loss_context, self.gram_layers, self.content_layers,
                                           name="arbitrary")
            model.build()
        return self.attach_encoder(model)

    def compile_model(self, model, info):
        """Adam, and the teacher when the run distils (training's business: `zoo.create_model`
        and the saved model leave it out, so the held-out losses are the perceptual ones)."""
        if model.distillation_weight:
            model.teacher = self.teacher()
        super().compile_model(model, info)

    def teacher(self) -> AdaINTeacher:
        """The decoder of the AdaIN model `teacher` names, rebuilt in the run's precision (its
        VGG19 is the loss network's: the same weights, as `vgg_weights` must be)."""
        spec = self.hp.teacher
        run = Run.open(locate(spec))
        if run.config.get("model") != "adain":
            raise ZooError(f"--teacher {spec} is a {run.config.get('model')!r} model, not an AdaIN one")
        trained = run.load_model()
        decoder = build_decoder(channel_counts(run.config["widths"]))
        decoder.set_weights(trained.decoder.get_weights())
        log.info(f"distilling from {spec} (its decoder: {decoder.count_params():,} parameters)")
        return AdaINTeacher(decoder)

    @property
    def gram_layers(self) -> tuple:
        return vgg_layers("gram_layers", self.hp.gram_layers)

    @property
    def content_layers(self) -> tuple:
        return vgg_layers("content_layers", self.hp.content_layers)

    def grown_weights(self) -> tuple:
        """The blocks at 1/4 (`--quarter-blocks`) and the detail head (`--detail-channels`), which
        start as the identity: a run may add them to a trained network."""
        return (QUARTER_BLOCK,) * bool(self.hp.quarter_blocks) + (DETAIL,) * bool(self.hp.detail_channels)

    def exportables(self, model):
        self._exported = deployables(model.predictor, model.transfer)
        return dict(self._exported)

    def release(self, run_root, dest):
        """The card's sections: how to use it, the style corpus (held-out images and provenance),
        the two networks and the loss, the photos' sources, the held-out pairs, what a person saw,
        and the benchmark figures if they were measured."""
        c, hps = self.config, self.hp
        predictor = build_style_predictor()
        transfer = build_transfer(self.widths, hps.residual_blocks, antialias=hps.antialias, skips=hps.skips,
                                  quarter_blocks=hps.quarter_blocks, detail=hps.detail_channels)
        lines = release.arbitrary_use(c, run_root, dest, f"a style vector of {STYLE_VECTOR_SIZE} numbers")
        styles = Path(c["styles"])
        if styles.is_dir():
            train, held = split_styles(styles)
            lines += release.style_corpus(styles, train, held)
            release.example_paintings(dest, benchmark_paintings(held))
        crop = hps.crop_size
        lines += ["## Networks and loss", "",
                  f"- Style prediction network {predictor.count_params():,} parameters, transfer network "
                  f"{transfer.count_params():,} (widths {hps.widths} at 1/2, 1/4 and 1/8 of the photo's resolution, "
                  f"{hps.residual_blocks} residual blocks at 1/8"
                  + (f" and {hps.quarter_blocks} at 1/4" if hps.quarter_blocks else "") + ", bilinear upsampling"
                  + (", additive skips from 1/4 and 1/2 on the way down" if hps.skips else "") + ", a sub-pixel output"
                  + (", fixed [1, 2, 1] blurs at 1/4, 1/2 and on the picture" if hps.antialias else "")
                  + (f", a detail head of {hps.detail_channels} channels at full resolution" if hps.detail_channels
                     else "") + "); VGG19 only in the loss.",
                  f"- Content loss at {', '.join(self.content_layers)} on instance-normalised VGG19 features; style "
                  f"loss on the means and standard deviations of {', '.join(STYLIZER_STYLE_LAYERS)} (weight "
                  f"{hps.style_weight:g})"
                  + (f"; VGG19 sees every image within {hps.loss_context} pixels of reflected context, its features "
                     "cropped back." if hps.loss_context else "."),
                  *([f"- Distillation from `{hps.teacher}` (weight {hps.distillation_weight:g}): its picture of the same "
                     "photo and painting, compared as 4x4 block means."] if hps.distillation_weight else []),
                  *([f"- Grid loss (weight {hps.grid_weight:g}): the exactly periodic part of the pictures at periods "
                     "of 2, 4 and 8 pixels (`zoo.style.losses.grid_loss`)."] if hps.grid_weight else []),
                  *([f"- Gram loss (weight {hps.gram_weight:g}): the Gram matrices of the same scaled features at "
                     f"{', '.join(self.gram_layers)}."] if hps.gram_weight else []),
                  f"- Random {crop} px crops of photos and style images first resized to a random shorter side "
                  f"between {crop} and {MAX_SCALE * crop:g} px, batch {hps.batch_size}, Adam at "
                  f"{hps.learning_rate:g}" + (", VGG19 in bfloat16 (`--mixed-precision`)" if c.get("mixed_precision")
                                              else "") + ".",
                  release.vgg_weights(c), "", *release.photo_sources((c.get("dataset_info") or {}).get("source", ""))]
        return lines + release.held_out_pairs(run_root, dest) + release.looked_at(dest) + \
            release.arbitrary_benchmarks(dest)

    def export_metadata(self, networks) -> dict:
        """How the two networks connect and what their inputs mean."""
        return {
            "connections": [{"from": f"{STYLE_ENCODER}.{STYLE_STATS}", "to": f"{TRANSFER}.{STYLE_STATS}"}],
            "networks": {
                STYLE_ENCODER: {
                    "inputs": {STYLE_IMAGE: f"the painting, RGB in [0, 1], any size with sides of at least "
                                            f"{MIN_STYLE_SIDE} pixels; run once per painting"},
                    "outputs": {STYLE_STATS: f"[B, {STYLE_VECTOR_SIZE}]: the style vector S of Ghiasi et al."}},
                TRANSFER: {
                    "inputs": {IMAGE: f"the photo, RGB in [0, 1], sides multiples of {MULTIPLE} (pad by reflection)",
                               STYLE_STATS: f"{STYLE_ENCODER}'s output; a weighted mean of several paintings' rows "
                                            "blends their styles",
                               ALPHA: "[B, 1] strength: the network gets alpha S + (1 - alpha) S(photo); 1 is the "
                                      "full style"},
                    "outputs": {STYLIZED: "the stylized photo, RGB in [0, 1], the photo's size"}}},
            "image_multiple": MULTIPLE, "min_style_side": MIN_STYLE_SIDE}
