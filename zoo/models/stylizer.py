"""Feed-forward style transfer (Johnson, Alahi & Fei-Fei, 2016, "Perceptual Losses for
Real-Time Style Transfer and Super-Resolution"), made small enough for a phone's CPU.

An image transformation network is trained, on random crops of photos, to minimise the
perceptual losses of Gatys et al. against one style image: VGG19 content loss at relu3_3, Gram
style loss at relu1_2, relu2_2, relu3_3 and relu4_3, and total variation (`zoo.style_losses`).
Afterwards one forward pass stylizes a photo of any size.

From the paper: reflection padding (no border artefacts), instance normalisation (Ulyanov et
al., 2016: the contrast of the content photo is normalised away, which is what makes
feed-forward stylization work), residual blocks at low resolution, a [0, 1] output.

Changed for speed (the paper's network costs ~66 GFLOPs per 512x512 image by our count; this one 1.4,
measured by scripts/benchmark_stylizer_vs_peer.py):
- the first convolution already has stride 2 and there are three stride-2 steps, not two, so the
  residual blocks run at 1/8 of the resolution;
- narrow channels (16/32/64) and four depthwise-separable residual blocks instead of five full
  3x3 convolutions of 128 channels;
- upsampling is nearest-neighbour (written as tile + reshape with a static channel count, so
  it converts to TFLite builtins on inputs of any size) followed by a depthwise-separable
  convolution: no checkerboard artefacts of transposed convolutions, at a fraction of the cost.

`Stylizer` is the Keras model that `zoo.train` fits: calling it stylizes; `train_step` computes
the VGG losses, whose network and style Gram matrices are given to `compile()` and are not saved
with the model (they are 80 MB and only needed for training).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from zoo.models.common import image_input
from zoo.recipe import Recipe
from zoo.registry import register


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
class InstanceNormalization(layers.Layer):
    """Normalises each channel of each image over its positions, then scales and shifts."""

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, shape):
        self.gamma = self.add_weight(shape=(shape[-1],), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(shape[-1],), initializer="zeros", name="beta")

    def call(self, x):
        mean, variance = ops.moments(x, axes=(1, 2), keepdims=True)
        return (x - mean) * ops.rsqrt(variance + self.epsilon) * self.gamma + self.beta

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


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


def conv_block(x, filters, kernel, stride, name, relu=True):
    """Reflection pad, convolution, instance norm, ReLU."""
    x = ReflectionPadding2D(kernel // 2, name=f"{name}_pad")(x)
    x = layers.Conv2D(filters, kernel, strides=stride, use_bias=False, name=f"{name}_conv")(x)
    x = InstanceNormalization(name=f"{name}_norm")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def separable_block(x, filters, name, relu=True):
    """Reflection pad, 3x3 depthwise + 1x1 pointwise convolution, instance norm, ReLU."""
    x = ReflectionPadding2D(1, name=f"{name}_pad")(x)
    x = layers.SeparableConv2D(filters, 3, use_bias=False, name=f"{name}_conv")(x)
    x = InstanceNormalization(name=f"{name}_norm")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def build_transformer(widths=(16, 32, 64), residual_blocks=4):
    """The image transformation network: [0, 1] images of any size -> stylized [0, 1] images
    of the same size (sides that are multiples of 8; `zoo.stylize` pads others)."""
    image = image_input((None, None, 3))
    x = conv_block(image, widths[0], 5, 2, "down1")
    x = conv_block(x, widths[1], 3, 2, "down2")
    x = conv_block(x, widths[2], 3, 2, "down3")
    for i in range(1, residual_blocks + 1):
        y = separable_block(x, widths[2], f"res{i}a")
        y = separable_block(y, widths[2], f"res{i}b", relu=False)
        x = layers.Add(name=f"res{i}")([x, y])
    for i, filters in enumerate((widths[1], widths[0], widths[0]), start=1):
        x = NearestUpsampling2D(name=f"up{i}")(x)
        x = separable_block(x, filters, f"up{i}b")
    x = ReflectionPadding2D(1, name="out_pad")(x)
    x = layers.Conv2D(3, 3, name="out_conv")(x)
    stylized = layers.Activation("sigmoid", dtype="float32", name="stylized")(x)
    return keras.Model(image, stylized, name="stylizer")


@keras.saving.register_keras_serializable(package="zoo")
class Stylizer(keras.Model):
    """The transformation network plus its training: calling it stylizes a batch of images."""

    def __init__(self, transformer, **kwargs):
        super().__init__(**kwargs)
        self.transformer = transformer
        self.perceptual_loss = None  # a zoo.style_losses.PerceptualLoss, given to compile()
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("loss", "content_loss", "style_loss", "tv_loss")}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, optimizer, perceptual_loss=None, **kwargs):
        """`perceptual_loss` is a plain object, so Keras does not save its VGG19 with the model."""
        super().compile(optimizer=optimizer, **kwargs)
        self.perceptual_loss = perceptual_loss

    def get_compile_config(self):
        if not self.compiled:  # as keras.Model's: an uncompiled model saves no compile config
            return None
        return {"optimizer": keras.saving.serialize_keras_object(self.optimizer)}

    def compile_from_config(self, config):
        """A loaded model gets its optimizer back; training it again needs a new perceptual loss."""
        self.compile(optimizer=keras.saving.deserialize_keras_object(config["optimizer"]))
        self.optimizer.build(self.transformer.trainable_variables)  # so its saved state loads into it

    def call(self, images, training=False):
        return self.transformer(images, training=training)

    def perceptual_losses(self, content, training=False):
        """Mean (total, content, style, tv) losses of stylizing the batch `content`."""
        if self.perceptual_loss is None:
            raise RuntimeError("compile the Stylizer with a perceptual_loss (zoo.style_losses.PerceptualLoss) to train it")
        targets = self.perceptual_loss.content_targets(content)
        stylized = self.transformer(content, training=training)
        return [ops.mean(v) for v in self.perceptual_loss(stylized, targets)]

    def _record(self, values):
        for tracker, value in zip(self.trackers.values(), values):
            tracker.update_state(value)
        return {n: t.result() for n, t in self.trackers.items()}

    def train_step(self, data):
        import tensorflow as tf  # GradientTape: fit() runs on the TensorFlow backend

        from zoo.models.common import scale_for_replicas

        content = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            values = self.perceptual_losses(content, training=True)
            scaled = self.optimizer.scale_loss(scale_for_replicas(values[0]))
        grads = tape.gradient(scaled, self.transformer.trainable_weights)
        self.optimizer.apply(grads, self.transformer.trainable_weights)
        return self._record(values)

    def test_step(self, data):
        content = data[0] if isinstance(data, tuple) else data
        return self._record(self.perceptual_losses(content, training=False))

    def get_config(self):
        return {**super().get_config(), "transformer": keras.saving.serialize_keras_object(self.transformer)}

    @classmethod
    def from_config(cls, config):
        config["transformer"] = keras.saving.deserialize_keras_object(config["transformer"])
        return cls(**config)


# Photos shipped inside installed packages, so training works offline with no data download.
# Two are held out for evaluation: the quality table compares on photos never trained on.
SKIMAGE_TRAIN = ("astronaut.png", "rocket.jpg", "motorcycle_left.png", "motorcycle_right.png", "camera.png",
                 "coins.png", "retina.jpg", "brick.png", "grass.png", "gravel.png", "color.png")
SKIMAGE_TEST = ("chelsea.png", "coffee.png")


def offline_photos():
    """(train paths, test paths) of the photos in scikit-image's package folder (no import)."""
    import importlib.util
    from pathlib import Path

    from zoo.errors import ZooError

    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise ZooError("no --content given and scikit-image is not installed for its sample photos; "
                       "pass --content with a folder of photos")
    folder = Path(spec.submodule_search_locations[0]) / "data"
    train = [folder / n for n in SKIMAGE_TRAIN if (folder / n).is_file()]
    test = [folder / n for n in SKIMAGE_TEST if (folder / n).is_file()]
    if not train or not test:
        raise ZooError(f"scikit-image's sample photos are missing from {folder}; pass --content")
    return train, test


class SampleStylizations(keras.callbacks.Callback):
    """After every epoch, writes the held-out photos and their stylizations as one PNG."""

    def __init__(self, folder, photos):
        super().__init__()
        self.folder, self.photos = folder, photos

    def on_epoch_end(self, epoch, logs=None):
        from zoo.images import grid, save_image, to_uint8

        rows = [[to_uint8(p), to_uint8(self.model(p[None]))] for p in self.photos]
        save_image(self.folder / f"stylized-epoch-{epoch + 1:04d}.png", grid(rows, ["photo", "stylized"]))


@register
class StylizerRecipe(Recipe):
    name = "stylizer"
    task = "image-to-image"
    description = "Fast feed-forward style transfer (Johnson et al.), 1.4 GFLOPs at 512x512, one style per model"
    paper = "Johnson, Alahi & Fei-Fei 2016, Perceptual Losses for Real-Time Style Transfer and Super-Resolution"
    defaults = {"epochs": 10, "batch_size": 4, "learning_rate": 1e-3, "latent_dim": None, "steps_per_epoch": 200}
    eval_size = 256  # held-out photos are evaluated at this shorter side, centre-cropped square

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--style", required=True,
                            help="the style image: any size from 64 px a side (Gram matrices are averaged over "
                                 "positions, so it need not be as large as --crop-size)")
        parser.add_argument("--content", help="content photos: a folder of images or a tensorflow-datasets name "
                                              "such as coco/2017 (default: the sample photos of scikit-image)")
        parser.add_argument("--crop-size", type=int, default=192, help="side of the random training crops")
        parser.add_argument("--style-size", type=int, default=256,
                            help="the style image is scaled to this longer side before its Gram matrices are taken")
        parser.add_argument("--vgg-weights", help="VGG19 weights: a Keras .h5 file, or 'random' (see zoo.vgg)")
        parser.add_argument("--content-weight", type=float, default=1.0)
        parser.add_argument("--style-weight", type=float, default=5e-5)
        parser.add_argument("--tv-weight", type=float, default=1e6)
        parser.add_argument("--residual-blocks", type=int, default=4)
        parser.add_argument("--widths", default="16,32,64", help="channels at 1/2, 1/4 and 1/8 resolution")

    def load_data(self):
        """Content photos: paths for local folders (decoded in the pipeline), or TFDS images."""
        from pathlib import Path

        import tensorflow as tf

        from zoo.data.sources import DatasetInfo, Splits, scan_image_folder
        from zoo.errors import ZooError

        c = self.config
        content = c.get("content")
        if content and not Path(content).expanduser().exists() and not content.startswith((".", "/", "~")):
            from zoo import data

            splits = data.load(content, data_dir=c.get("data_dir"), image_size=2 * c["crop_size"], channels=3,
                               limit=c.get("limit"))
            images = lambda ds: ds.map(lambda x, _: x)  # noqa: E731
            return Splits(images(splits.train), images(splits.test), splits.info)
        if content:
            folder = Path(content).expanduser()
            if not folder.is_dir():
                raise ZooError(f"--content {content} is not a folder of photos")
            paths, _, _ = scan_image_folder(folder)
            if len(paths) < 2:
                raise ZooError(f"--content {folder} needs at least 2 photos (one is held out for evaluation)")
            n_test = max(1, len(paths) // 10)
            train, test, source = paths[n_test:], paths[:n_test], f"image folder {folder}"
        else:
            train, test = offline_photos()
            source = f"scikit-image sample photos in {train[0].parent} ({', '.join(p.stem for p in test)} held out)"
        if c.get("limit"):
            train = train[:c["limit"]]

        def decode(path):
            image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
            return tf.ensure_shape(image, (None, None, 3))

        files = lambda ps: tf.data.Dataset.from_tensor_slices([str(p) for p in ps]).map(decode)  # noqa: E731
        info = DatasetInfo(name=Path(content).name if content else "skimage-photos", source=source,
                           image_shape=(None, None, 3), num_classes=None, class_names=None,
                           num_train=len(train), num_test=len(test))
        return Splits(files(train), files(test), info)

    def pipelines(self, splits, global_batch_size):
        """Train: endless random crops of random scales, flipped at random. Test: centre squares."""
        import tensorflow as tf

        crop, seed = self.config["crop_size"], self.seed

        def augment(image, s):
            s1, s2, s3 = tf.unstack(tf.random.experimental.stateless_split(s, 3))
            hw = tf.cast(tf.shape(image)[:2], tf.float32)
            # shorter side scaled to between 1x and 2x the crop: from whole-photo views to details
            side = tf.random.stateless_uniform((), s1, crop, 2.0 * crop)
            size = tf.cast(tf.math.ceil(hw * side / tf.reduce_min(hw)), tf.int32)
            image = tf.image.resize(tf.cast(image, tf.float32) / 255.0, size, antialias=True)
            image = tf.image.stateless_random_crop(image, (crop, crop, 3), s2)
            return tf.clip_by_value(tf.image.stateless_random_flip_left_right(image, s3), 0.0, 1.0)

        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        train = splits.train.cache() if splits.info.num_train <= 1000 else splits.train  # photos stay in memory
        train = tf.data.Dataset.zip((train.repeat().shuffle(64, seed=seed), seeds))
        train = train.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
        train = train.batch(global_batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
        test = splits.test.map(lambda image: centre_square(image, self.eval_size)).batch(1)
        return train, test

    def _loss(self):
        from zoo.images import load_rgb, to_float
        from zoo.style_losses import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, PerceptualLoss
        from zoo.vgg import VGGFeatures

        c = self.config
        style = load_rgb(c["style"], max_side=c["style_size"])
        if min(style.shape[:2]) < 64:
            from zoo.errors import ZooError

            raise ZooError(f"style image {c['style']} is {style.shape[1]}x{style.shape[0]}; it needs at least 64 "
                           "pixels on each side to have texture to learn")
        features = VGGFeatures(JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, c.get("vgg_weights"))
        return PerceptualLoss(features, to_float(style), content_layers=JOHNSON_CONTENT_LAYERS,
                              style_layers=JOHNSON_STYLE_LAYERS, content_weight=c["content_weight"],
                              style_weight=c["style_weight"], tv_weight=c["tv_weight"])

    def build(self, info):
        c = self.config
        widths = tuple(int(w) for w in str(c["widths"]).split(","))
        model = Stylizer(build_transformer(widths, c["residual_blocks"]), name="stylizer_trainer")
        model.build((None, None, None, 3))
        model.compile(optimizer=keras.optimizers.Adam(c["learning_rate"]), perceptual_loss=self._loss(),
                      jit_compile=c.get("jit_compile", False))
        return model

    def callbacks(self, run, splits):
        return [SampleStylizations(run.images, self._test_photos(splits))]

    def _test_photos(self, splits):
        return [image.numpy()[0] for image in self.pipelines(splits, 1)[1]]

    def evaluate(self, model, splits):
        """Mean VGG losses of the stylized held-out photos (at `eval_size`), and the speed."""
        import time

        import numpy as np

        if model.perceptual_loss is None:  # the reloaded model.keras does not carry its VGG19 loss
            model.compile(optimizer=model.optimizer, perceptual_loss=self._loss())
        photos = self._test_photos(splits)
        values = np.mean([[float(v) for v in model.perceptual_losses(p[None], training=False)] for p in photos], axis=0)
        x = np.random.default_rng(0).random((1, 512, 512, 3), dtype=np.float32)
        model.transformer(x)
        start = time.perf_counter()
        model.transformer(x)
        return {"test_loss": values[0], "test_content_loss": values[1], "test_style_loss": values[2],
                "test_tv_loss": values[3], "keras_ms_per_512px_image": (time.perf_counter() - start) * 1000}

    def report(self, run, model, splits):
        from zoo.images import grid, load_rgb, save_image, to_uint8

        style = load_rgb(self.config["style"], max_side=256)
        rows = [[to_uint8(p), style, to_uint8(model(p[None]))] for p in self._test_photos(splits)]
        save_image(run.images / "stylized-test-photos.png", grid(rows, ["held-out photo", "style", "stylized"]))

    def exportables(self, model):
        return {"stylizer": model.transformer}


def centre_square(image, size):
    """uint8 image -> float32 [size, size, 3] in [0, 1]: shorter side scaled to `size`, centre kept."""
    import tensorflow as tf

    hw = tf.cast(tf.shape(image)[:2], tf.float32)
    scaled = tf.image.resize(tf.cast(image, tf.float32) / 255.0, tf.cast(tf.math.ceil(hw * size / tf.reduce_min(hw)), tf.int32),
                             antialias=True)
    return tf.clip_by_value(tf.image.resize_with_crop_or_pad(scaled, size, size), 0.0, 1.0)
