"""Feed-forward style transfer for many styles at once: one network, N paintings.

The image transformation network of Johnson, Alahi & Fei-Fei (2016, "Perceptual Losses for
Real-Time Style Transfer and Super-Resolution") with the conditional instance normalisation of
Dumoulin, Shlens & Kudlur (2017, "A Learned Representation for Artistic Style"): every
normalisation layer holds one scale and shift per style, and a style is chosen, or several
blended, by a weight vector (`style_weights`, [B, N]) that mixes them. All convolutions are
shared between the styles, so a new painting costs 2 x channels numbers per normalisation layer.

Training minimises the perceptual losses of Gatys et al. (`zoo.style.losses`) on random crops
of photos, each crop paired with a random style: VGG19 content loss at relu4_1 and Gram style
loss at relu1_1 ... relu4_1 (the layers of Huang & Belongie's AdaIN, so the zoo's stylizers are
measured alike), plus total variation. One forward pass then stylizes a photo of any size.

From the papers: reflection padding (no border artefacts), instance normalisation (the content
photo's contrast is normalised away, which is what makes feed-forward stylization work),
residual blocks at low resolution, resize-then-convolve upsampling (Odena et al. 2016: no
checkerboard patterns of transposed convolutions), a [0, 1] output. The resize is bilinear
(`zoo.layers.BilinearUpsampling2D`): nearest-neighbour copies, the first releases' choice
(`--upsampling nearest`), left a grid of 2 and 4 pixels in the pictures (scripts/benchmark_grid.py).
Bilinear upsampling alone did not remove it (the released network, fine-tuned with it, went on
printing the grid: nothing in the VGG19 losses objects to a faint mesh), so training also prices
the pictures' exactly periodic part (`zoo.style.losses.grid_loss`, `--grid-weight`).

Made for a phone's CPU:
- the first and last convolutions run at full resolution (fine strokes, no blocks), the rest at
  1/2 and 1/4, as in Johnson et al.; the residual blocks work at 1/4 (a trunk at 1/8 drew a
  diagonal hatching that training did not remove);
- the residual blocks and the cheap upsampling steps are depthwise-separable convolutions;
- upsampling is written with slices, sums and reshapes with a static channel count, so it
  converts to TFLite builtins on inputs of any size.

`Stylizer` is the Keras model that `zoo.train` fits: calling it on (images, style_weights)
stylizes; `compute_loss` computes the VGG losses on every backend. Their network and the style
Gram matrices are given to `compile()` and are not saved with the model (they are 80 MB and only
needed for training).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import time

import keras
import numpy as np
from keras import layers, ops

from zoo.errors import ZooError, check_at_least
from zoo.hparams import Hyperparameters, channel_counts, default, hp
from zoo.images import grid, load_rgb, save_image, to_float, to_uint8
from zoo.layers import (BilinearUpsampling2D, BinomialBlur2D, ConditionalInstanceNormalization, CoreStatistics,
                        NearestUpsampling2D, NormStatistics, ReflectionPadding2D)
from zoo.models.common import global_policy, image_input, image_output, scale_for_replicas
from zoo.recipe import Recipe
from zoo.registry import register
from zoo.style import pipelines, release, samples
from zoo.style.data import resolve_styles, style_name
from zoo.style.losses import STYLIZER_CONTENT_LAYERS, STYLIZER_STYLE_LAYERS, PerceptualLoss, grid_loss
from zoo.style.model import MAIN, TILE
from zoo.style.tiling import (CORE_BOX, CORE_STATS, MULTIPLE, NORM_CHANNELS, NORM_STATS, STYLE_WEIGHTS as STYLE_INPUT,
                              STYLIZED as OUTPUT)
from zoo.style.vgg import VGGFeatures

VARIANTS = ("plain", "stats", "tile")


class _Norms:
    """Creates the network's normalisation layers for one of the `VARIANTS`: "plain" (each
    layer uses its own statistics), "stats" (normalises with the moments that it also returns as
    an output), "tile" (reads them from a `norm_stats` input, and returns those of its input's
    core, see `CoreStatistics`)."""

    def __init__(self, style, variant, stats_input=None, core_box=None):
        self.style, self.variant, self.stats_input, self.core_box = style, variant, stats_input, core_box
        self.collected, self.offset = [], 0

    def __call__(self, x, name):
        n = self.style.shape[-1]
        if self.variant == "tile":
            y = ConditionalInstanceNormalization(n, stats_offset=self.offset, name=name)([x, self.style, self.stats_input])
            self.collected.append(CoreStatistics(name=f"{name}_core_stats")([x, self.core_box]))
        elif self.variant == "stats":  # normalised by the moments it returns: one reduction each, not two
            self.collected.append(NormStatistics(name=f"{name}_stats")(x))
            y = ConditionalInstanceNormalization(n, stats_offset=0, name=name)([x, self.style, self.collected[-1]])
        else:
            y = ConditionalInstanceNormalization(n, name=name)([x, self.style])
        self.offset += 2 * x.shape[-1]
        return y


def conv_block(x, norm, filters, kernel, stride, name, relu=True):
    """Reflection pad, convolution, conditional instance norm, ReLU."""
    x = ReflectionPadding2D(kernel // 2, name=f"{name}_pad")(x)
    x = layers.Conv2D(filters, kernel, strides=stride, use_bias=False, name=f"{name}_conv")(x)
    x = norm(x, f"{name}_norm")
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def separable_block(x, norm, filters, name, relu=True):
    """Reflection pad, 3x3 depthwise + 1x1 pointwise convolution, conditional instance norm, ReLU."""
    x = ReflectionPadding2D(1, name=f"{name}_pad")(x)
    x = layers.SeparableConv2D(filters, 3, use_bias=False, name=f"{name}_conv")(x)
    x = norm(x, f"{name}_norm")
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x



# The transformer's 2x upsampling layers by --upsampling name.
UPSAMPLING = {"nearest": NearestUpsampling2D, "bilinear": BilinearUpsampling2D}

def norm_channels(widths, residual_blocks) -> list:
    """The channels of each normalisation layer, in the order `build_transformer` creates them
    (it checks this when it builds): the layout of `norm_stats`, [mean (C), mean square (C)] per
    layer, which `zoo.style.tiling` needs to refine the statistics layer by layer."""
    full, half, quarter = widths
    return [full, half, quarter, *[quarter] * (2 * residual_blocks), half, full]


def norm_stats_size(widths, residual_blocks):
    """Length of the `norm_stats` vector."""
    return 2 * sum(norm_channels(widths, residual_blocks))


def build_transformer(num_styles, widths=(16, 32, 64), residual_blocks=5, variant="plain", upsampling="bilinear",
                      antialias=True):
    """The image transformation network: ([0, 1] images of any size, style weights [B, N]) ->
    stylized [0, 1] images of the same size (sides that are multiples of 4; `zoo.stylize` pads
    others). `widths` are the channels at full, 1/2 and 1/4 resolution.

    Every variant has the same weights in the same order (`set_weights` copies them across):
    "stats" adds the output `norm_stats`; "tile" takes it as a third input and a `core_box` as a
    fourth, and adds the output `core_stats` (see `_Norms`, `zoo.style.tiling`). `upsampling` is
    a key of UPSAMPLING: "nearest" only for runs made before bilinear (it prints a grid);
    `antialias` ends the network with `zoo.layers.BinomialBlur2D` (False only for runs made before it).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    upsample = UPSAMPLING[upsampling]
    full, half, quarter = widths
    image = image_input((None, None, 3))
    style = keras.Input(shape=(num_styles,), name=STYLE_INPUT, dtype="float32")
    inputs = [image, style]
    if variant == "tile":
        inputs.append(keras.Input(shape=(norm_stats_size(widths, residual_blocks),), name=NORM_STATS, dtype="float32"))
        inputs.append(keras.Input(shape=(4,), name=CORE_BOX, dtype="float32"))
    norm = _Norms(style, variant, *inputs[2:])
    x = conv_block(image, norm, full, 5, 1, "in")
    x = conv_block(x, norm, half, 3, 2, "down1")
    x = conv_block(x, norm, quarter, 3, 2, "down2")
    for i in range(1, residual_blocks + 1):
        y = separable_block(x, norm, quarter, f"res{i}a")
        y = separable_block(y, norm, quarter, f"res{i}b", relu=False)
        x = layers.Add(name=f"res{i}")([x, y])
    # 1/4 -> 1/2, where most of the painting's texture is drawn, is a full convolution; 1/2 -> 1
    # is separable.
    x = conv_block(upsample(name="up1")(x), norm, half, 3, 1, "up1b")
    x = separable_block(upsample(name="up2")(x), norm, full, "up2b")
    x = ReflectionPadding2D(1, name="out_pad")(x)
    x = layers.Conv2D(3, 3, name="out_conv")(x)
    if norm.offset != norm_stats_size(widths, residual_blocks):
        raise AssertionError(f"norm_stats_size is {norm_stats_size(widths, residual_blocks)}, the network has {norm.offset}")
    stylized = image_output(x, OUTPUT, antialias)
    if variant == "plain":
        return keras.Model(inputs, stylized, name=MAIN)
    stats_name = NORM_STATS if variant == "stats" else CORE_STATS
    stats = layers.Concatenate(name=stats_name)(norm.collected)
    return keras.Model(inputs, {OUTPUT: stylized, stats_name: stats}, name=MAIN if variant == "stats" else TILE)


def _photos_and_styles(data):
    """(photos, style weights) from what fit() passes: the pair itself from a dataset of pairs,
    or the pair wrapped as the only element (`evaluate(pair)` treats it as x alone)."""
    return data[0] if len(data) == 1 else data


def norm_channels_of(transformer) -> list:
    """`norm_channels` read from a built network's normalisation layers."""
    return [layer.gamma.shape[-1] for layer in transformer.layers if isinstance(layer, ConditionalInstanceNormalization)]


def transformer_variant(transformer, variant):
    """A copy of the trained `transformer` built as `variant` (see `build_transformer`), with its
    weights; its shape (styles, widths, residual blocks) is read from its layers."""
    num_styles = transformer.inputs[1].shape[-1]
    widths = tuple(transformer.get_layer(n).filters for n in ("in_conv", "down1_conv", "down2_conv"))
    blocks = sum(1 for layer in transformer.layers if re.fullmatch(r"res\d+", layer.name))
    upsampling = next(k for k, cls in UPSAMPLING.items() if isinstance(transformer.get_layer("up1"), cls))
    antialias = isinstance(transformer.get_layer(OUTPUT), BinomialBlur2D)
    model = build_transformer(num_styles, widths, blocks, variant, upsampling, antialias)
    model.set_weights(transformer.get_weights())
    return model


def deployables(transformer) -> dict:
    """What a stylizer is exported and run as: `stylizer` (which also returns the photo's
    normalisation statistics) and `stylizer_tile` (which stylizes tiles of a big photo with
    them, see zoo.style.tiling)."""
    return {MAIN: transformer_variant(transformer, "stats"), TILE: transformer_variant(transformer, "tile")}


@keras.saving.register_keras_serializable(package="zoo")
class Stylizer(keras.Model):
    """The transformation network plus its training: calling it stylizes a batch of images."""

    def __init__(self, transformer, **kwargs):
        super().__init__(**kwargs)
        self.transformer = transformer
        self.perceptual_loss = None  # a zoo.style.losses.PerceptualLoss, given to compile()
        self.grid_weight = 0.0  # of `zoo.style.losses.grid_loss`, given to compile()
        self.trackers = {n: keras.metrics.Mean(name=n)
                         for n in ("loss", "content_loss", "style_loss", "tv_loss", "grid_loss")}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, optimizer, perceptual_loss=None, grid_weight=0.0, **kwargs):
        """`perceptual_loss` is a plain object, so Keras does not save its VGG19 with the model;
        `grid_weight` prices the stylized pictures' periodic texture (`grid_loss`) in the total."""
        super().compile(optimizer=optimizer, **kwargs)
        self.perceptual_loss, self.grid_weight = perceptual_loss, grid_weight

    def get_compile_config(self):
        if not self.compiled:  # as keras.Model's: an uncompiled model saves no compile config
            return None
        return {"optimizer": keras.saving.serialize_keras_object(self.optimizer)}

    def compile_from_config(self, config):
        """A loaded model gets its optimizer back; training it again needs a new perceptual loss."""
        self.compile(optimizer=keras.saving.deserialize_keras_object(config["optimizer"]))
        self.optimizer.build(self.transformer.trainable_variables)  # so its saved state loads into it

    def call(self, inputs, training=False):
        """Stylize `(images, style_weights)`: [B, H, W, 3] in [0, 1] and [B, N] weights."""
        return self.transformer(list(inputs), training=training)

    def perceptual_losses(self, content, style_weights, training=False):
        """Mean (total, content, style, tv, grid) losses of stylizing the batch `content`, each
        image in the style (or blend) of its row of `style_weights`."""
        stylized = self.transformer([content, style_weights], training=training)
        return self._mean_losses(content, style_weights, stylized)

    def _mean_losses(self, content, style_weights, stylized):
        if self.perceptual_loss is None:
            raise RuntimeError("compile the Stylizer with a perceptual_loss (zoo.style.losses.PerceptualLoss) to train it")
        targets = self.perceptual_loss.content_targets(content)
        total, *terms = [ops.mean(v) for v in self.perceptual_loss(stylized, targets, style_weights)]
        grid = ops.mean(grid_loss(ops.cast(stylized, "float32")))
        return [total + self.grid_weight * grid, *terms, grid]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The perceptual loss of `call`'s stylized photos `y_pred`, `x` being (photos, style
        weights): Keras's own train and test steps call it, on every backend."""
        values = self._mean_losses(*x, y_pred)
        for tracker, value in zip(self.trackers.values(), values):
            tracker.update_state(value)
        return scale_for_replicas(values[0])

    def train_step(self, *args):
        """Keras's own step (TensorFlow: `args` is the batch; JAX: the state, then the batch), given
        the (photos, style weights) pair as the model's input, where fit() would take a dataset's
        pairs for (x, y)."""
        *state, data = args
        return super().train_step(*state, (_photos_and_styles(data),))

    def test_step(self, *args):
        *state, data = args
        return super().test_step(*state, (_photos_and_styles(data),))

    def get_config(self):
        return {**super().get_config(), "transformer": keras.saving.serialize_keras_object(self.transformer)}

    @classmethod
    def from_config(cls, config):
        config["transformer"] = keras.saving.deserialize_keras_object(config["transformer"])
        return cls(**config)


def one_hot(index, count):
    weights = np.zeros((1, count), np.float32)
    weights[0, index] = 1.0
    return weights


class SampleStylizations(keras.callbacks.Callback):
    """After every epoch, writes held-out photos in every style as one PNG (rows: photos)."""

    def __init__(self, folder, photos, style_names):
        super().__init__()
        self.folder, self.photos, self.style_names = folder, photos, style_names

    def on_epoch_end(self, epoch, logs=None):
        save_image(self.folder / f"stylized-epoch-{epoch + 1:04d}.png",
                   grid(stylized_rows(self.model, self.photos, len(self.style_names)), ["photo", *self.style_names],
                        height=128))


def stylized_rows(model, photos, num_styles):
    """[[photo, photo in style 0, photo in style 1, ...] for each photo] as uint8 images."""
    eye = np.eye(num_styles, dtype=np.float32)
    rows = []
    for p in photos:
        batch = np.repeat(p[None], num_styles, axis=0)
        out = np.asarray(model((batch, eye)))
        rows.append([to_uint8(p)] + [to_uint8(o) for o in out])
    return rows


@dataclasses.dataclass(frozen=True)
class StylizerHyperparameters(Hyperparameters):
    batch_size: int = default(Hyperparameters, "batch_size", 4)
    steps_per_epoch: int | None = default(Hyperparameters, "steps_per_epoch", 200)
    crop_size: int = hp(256, "side of the random training crops", minimum=16)
    style_size: int = hp(512, "each style image is scaled to this longer side before its Gram matrices are taken (the "
                              "scale of its brush strokes relative to the photos)", minimum=16)
    content_weight: float = hp(1.0, "weight of the content (relu4_1 feature) loss", minimum=0.0)
    style_weight: float = hp(1e-4, "weight of the style (Gram matrix) loss", minimum=0.0)
    tv_weight: float = hp(3e6, "weight of the total-variation loss (smoothness)", minimum=0.0)
    grid_weight: float = hp(3e9, "weight of the grid loss: the mean square of the pictures' exactly periodic part "
                                 "(periods of 2, 4 and 8 pixels), which the VGG19 losses do not see", minimum=0.0)
    residual_blocks: int = hp(5, "residual blocks at 1/4 resolution", minimum=1)
    widths: str = hp("16,32,64", "channels at full, 1/2 and 1/4 resolution", metavar="C1,C2,C3")
    upsampling: str = hp("bilinear", "2x upsampling before the last convolutions; nearest prints a grid of 2 and 4 "
                                     "pixels into the pictures, kept for runs made with it", choices=tuple(UPSAMPLING))
    antialias: bool = hp(True, "end the network with a fixed [1, 2, 1] blur, whose response to a period of 2 pixels "
                               "is zero: no grid of 2 pixels can leave it")


@register
class StylizerRecipe(Recipe):
    name = "stylizer"
    model_class = Stylizer
    task = "image-to-image"
    data_options = ("limit",)
    description = ("Fast feed-forward style transfer for many paintings in one network (Johnson et al. with "
                   "Dumoulin et al.'s conditional instance norm); styles blend at run time")
    paper = ("Johnson, Alahi & Fei-Fei 2016, Perceptual Losses for Real-Time Style Transfer; Dumoulin, Shlens & "
             "Kudlur 2017, A Learned Representation for Artistic Style")
    Hyperparameters = StylizerHyperparameters
    legacy = {"upsampling": "nearest", "grid_weight": 0.0, "antialias": False}
    widenable = True
    default_image_shape = (None, None, 3)  # photos of any size
    eval_size = 256  # held-out photos are evaluated at this shorter side, centre-cropped square
    sample_photos = 3  # held-out photos in the per-epoch picture
    sheet_photos, sheet_side = 4, 512  # the contact sheet of the finished run: photos, their longer side

    def __init__(self, config):
        super().__init__(config)
        if "style_files" not in config:  # a new run: resolve --styles once, config.json keeps the result

            spec = config.get("styles") or config.get("style")
            if not spec:
                raise ZooError("the stylizer needs --styles: style images or a folder of them "
                               "(python scripts/build_style_data.py builds one of public-domain paintings)")
            check_at_least("num_styles", config.get("num_styles"))
            files = resolve_styles(spec, config.get("num_styles"))
            config["style_files"] = [str(f) for f in files]
            config["style_names"] = [style_name(f) for f in files]

    @property
    def style_names(self) -> list:
        return list(self.config["style_names"])

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--styles", help="style images: comma-separated image files and folders (a folder gives "
                                             "all its images, in name order); each is named by its file stem")
        parser.add_argument("--style", help=argparse.SUPPRESS)  # one style image: the old flag
        parser.add_argument("--num-styles", type=int, help="train on the first N images of --styles")
        parser.add_argument("--content", help="content photos: a folder of images or a tensorflow-datasets name "
                                              "such as coco/2017 (default: the photos built by "
                                              "scripts/build_style_data.py, else scikit-image's sample photos)")
        parser.add_argument("--vgg-weights", help="VGG19 weights: a Keras .h5 file, or 'random' (see zoo.style.vgg)")

    def load_data(self):
        """Content photos (`zoo.style.pipelines.load_photos`)."""
        return pipelines.load_photos(self.config)

    def pipelines(self, splits, global_batch_size):
        """Random crops with random styles, and the held-out photos in every style in turn
        (`zoo.style.pipelines.photo_pipelines`)."""
        return pipelines.photo_pipelines(splits, self.config["crop_size"], global_batch_size, self.seed,
                                         len(self.style_names), self.eval_size)

    def _loss(self):
        c = self.config
        styles = []
        for path in c["style_files"]:
            style = load_rgb(path, max_side=c["style_size"])
            if min(style.shape[:2]) < 64:
                raise ZooError(f"style image {path} is {style.shape[1]}x{style.shape[0]}; it needs at least 64 "
                               "pixels on each side to have texture to learn")
            styles.append(to_float(style))
        features = VGGFeatures(STYLIZER_STYLE_LAYERS + STYLIZER_CONTENT_LAYERS, c.get("vgg_weights"))
        return PerceptualLoss(features, styles, content_layers=STYLIZER_CONTENT_LAYERS,
                              style_layers=STYLIZER_STYLE_LAYERS, content_weight=c["content_weight"],
                              style_weight=c["style_weight"], tv_weight=c["tv_weight"])

    @property
    def widths(self) -> tuple:
        return channel_counts(self.config["widths"])

    def build_model(self, info):
        hp = self.hp  # a run from before --upsampling used nearest (`legacy`)
        with global_policy("float32"):  # --mixed-precision computes only the VGG19 of the loss in 16 bits
            model = Stylizer(build_transformer(len(self.style_names), self.widths, hp.residual_blocks,
                                               upsampling=hp.upsampling, antialias=hp.antialias),
                            name="stylizer_trainer")
            model.build([(None, None, None, 3), (None, len(self.style_names))])
        return model

    def compile_model(self, model, info):
        c = self.config
        model.compile(optimizer=keras.optimizers.Adam(c["learning_rate"]), perceptual_loss=self._loss(),
                      grid_weight=self.hp.grid_weight,
                      **self.compile_options())

    def callbacks(self, run, splits):
        return [SampleStylizations(run.images, self._test_photos(splits)[:self.sample_photos], self.style_names)]

    def _test_photos(self, splits):
        return [image.numpy()[0] for image, _ in self.pipelines(splits, 1)[1]]

    def evaluate(self, model, splits):
        """Mean VGG losses of the held-out photos (at `eval_size`) in every style, per style too,
        and the speed."""
        if model.perceptual_loss is None:  # the reloaded model.keras does not carry its VGG19 loss
            model.compile(optimizer=model.optimizer, perceptual_loss=self._loss(), grid_weight=self.hp.grid_weight)
        photos = np.stack(self._test_photos(splits))
        metrics, per_style = {}, []
        for i, name in enumerate(self.style_names):
            weights = np.repeat(one_hot(i, len(self.style_names)), len(photos), axis=0)
            values = [float(v) for v in model.perceptual_losses(photos, weights, training=False)]
            per_style.append(values)
            metrics[f"test_style_loss/{name}"] = values[2]
            metrics[f"test_content_loss/{name}"] = values[1]
        mean = np.mean(per_style, axis=0)
        x = to_float(np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8))
        w = one_hot(0, len(self.style_names))
        model.transformer([x, w])
        times = []
        for _ in range(5):
            start = time.perf_counter()
            model.transformer([x, w])
            times.append(time.perf_counter() - start)
        return {"test_loss": float(mean[0]), "test_content_loss": float(mean[1]), "test_style_loss": float(mean[2]),
                "test_tv_loss": float(mean[3]), "test_grid_loss": float(mean[4]), **metrics, "keras_ms_per_512px_image": float(np.median(times) * 1000)}

    def report(self, run, model, splits):
        """The contact sheet: the first `sheet_photos` held-out photos, whole, in every style."""
        from PIL import Image

        rows = []
        for image in splits.test.take(self.sheet_photos):
            photo = Image.fromarray(image.numpy())
            photo.thumbnail((self.sheet_side, self.sheet_side), Image.LANCZOS)
            x = np.asarray(photo, np.float32)[None, :photo.height // MULTIPLE * MULTIPLE, :photo.width // MULTIPLE * MULTIPLE] / 255.0
            rows.extend(stylized_rows(model, list(x), len(self.style_names)))
        save_image(run.images / "contact_sheet.jpg", grid(rows, ["held-out photo", *self.style_names], height=192))

    def exportables(self, model):
        self._exported = deployables(model.transformer)
        return dict(self._exported)  # sample_input takes real statistics with the first

    def sample_input(self, name, shape, images, rng):
        value = samples.stylizer_input(name, shape, images, rng, self._exported)
        return super().sample_input(name, shape, images, rng) if value is None else value

    def release(self, run_root, dest):
        return release.stylizer_card(self.config, run_root, dest)

    def export_metadata(self, networks) -> dict:
        """What the export manifest says beyond the files: the styles, in input order (None for
        a .keras file without its run's configuration), and the layout of `norm_stats`
        (channels per normalisation layer) for tiling."""
        return {"styles": self.config.get("style_names"), NORM_CHANNELS: norm_channels_of(networks[MAIN])}

