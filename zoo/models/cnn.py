"""CNN image classifier: convolution blocks with batch normalisation, tuned for time to accuracy
on a laptop CPU.

Conv-BN-ReLU layers (Ioffe & Szegedy, 2015) in three blocks, global average pooling, dropout
(Srivastava et al., 2014). The defaults buy accuracy per second of CPU, each choice made on the
validation split (`scripts/benchmark_training.py` measures the time to accuracy against the earlier
recipe):
- pooled blocks (`--blocks pooled`, cifar10-airbench's ConvGroup): a narrow stem conv, then in
  each block a conv that widens and pools and a second conv at the halved side. The second conv
  sees a quarter of the pixels, so 48/96/192 channels cost what VGG blocks of 32/64/128 cost, and
  at the same epochs the wider network is the more accurate one;
- bfloat16 compute where the CPU has bfloat16 instructions (`--mixed-precision`, "auto"), which
  more than doubles the steps per second of these convolutions;
- 13 epochs: as many as end within 15 minutes on a 2-core CPU with a margin for a busy machine
  (on a shared one some epochs take half as long again);
- flips without translations (`--augment flip`): in the default's short run random translations slow
  the fit more than they curb overfitting (they pay in the longer schedule, `--preset long`);
  with flips in training, flip-averaged logits (`--tta flip`) gain nothing, so they stay off
  (the long preset, trained with translations, averages flipped and shifted views: `--tta flip+shift`);
- label smoothing (Szegedy et al., 2016) and a short warm-up into a cosine decay to 1% of the
  rate: a short schedule must end at a small rate, and a warm-up keeps Adam's first steps on
  batch norm's fresh statistics from overshooting.
Input: images in [0, 1], NHWC. Output: class logits.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
from keras import layers, ops

from zoo.errors import ZooError
from zoo.hparams import FashionMNISTHyperparameters, Hyperparameters, channel_counts, default, hp
from zoo.layers import reverse
from zoo.log import log
from zoo.models.common import image_input, learning_rate
from zoo.names import CLASSIFIER, LOGITS, PROBABILITIES, Task
from zoo.recipe import Recipe
from zoo.registry import register
from zoo.training.evaluation import classifier_metrics, classifier_predictions
from zoo.training.plots import confusion_matrix_png, worst_predictions_png
from zoo.training.runs import load_keras_model, released_models

FEATURE_LAYER = "pool"  # the pooled features that the DCGAN's Fréchet distance compares


BLOCKS = ("pooled", "vgg")


def find_classifier(path, dataset_name):
    """The zoo CNN that measures a generative model (the Fréchet distance on its features):
    `path` (run folder or .keras), else the released `cnn-DATASET` wherever the released models
    are found (as `zoo.load` finds them, whatever the working directory), else None."""
    if path is None:
        path = released_models().get(f"cnn-{dataset_name}")
        if path is None:
            return None
    path = Path(path)
    return load_keras_model(path / "model.keras" if path.is_dir() else path)


class MeasuredByTheCNN:
    """A recipe whose samples are measured by the Fréchet distance on the zoo CNN's features (the
    DCGAN, the VQ-VAE): its `--classifier` flag, and the CNN loaded once a run."""

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--classifier", metavar="RUN_OR_KERAS",
                            help="trained zoo CNN whose features the Fréchet distance of the samples uses "
                                 "(default: the released cnn-DATASET, if there is one)")

    def classifier(self, splits):
        """The zoo CNN whose features the Fréchet distances use (--classifier), or None; loaded
        once a run, for a validation monitor and the test evaluation alike."""
        if not hasattr(self, "_classifier"):
            self._classifier = find_classifier(self.config.get("classifier"), splits.info.name)
            if self._classifier is None:
                log.info(f"no trained zoo CNN for {splits.info.name}: Fréchet distance skipped (pass --classifier)")
        return self._classifier


def conv_bn_relu(x, filters, name, pool=False):
    """3x3 convolution, then (with `pool`) 2x2 max pooling, batch norm and ReLU."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    if pool:
        x = layers.MaxPooling2D(name=f"{name}_pool")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_cnn(image_shape, num_classes, widths=(48, 96, 192), dropout=0.1, blocks="pooled", stem=24):
    """`blocks` "pooled": a `stem`-wide conv, then per width a conv that widens and pools and a
    second conv at the halved resolution (cifar10-airbench's ConvGroup). "vgg": two convs per
    width at full resolution, pooling between blocks. The pooled blocks run their second conv on a
    quarter of the pixels, so at the same cost their channels can be half as wide again."""
    if blocks not in BLOCKS:
        raise ZooError(f"--blocks must be one of {', '.join(BLOCKS)}, got {blocks!r}")
    x = inputs = image_input(image_shape)
    if stem:
        x = conv_bn_relu(x, stem, "stem")
    for i, width in enumerate(widths, start=1):
        x = conv_bn_relu(x, width, f"block{i}a", pool=blocks == "pooled")
        x = conv_bn_relu(x, width, f"block{i}b")
        if i < len(widths):
            if blocks == "vgg":
                x = layers.MaxPooling2D(name=f"block{i}_pool")(x)
            if dropout:
                x = layers.Dropout(dropout / 2, name=f"block{i}_dropout")(x)
    x = layers.GlobalAveragePooling2D(name=FEATURE_LAYER)(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    logits = layers.Dense(num_classes, name=LOGITS, dtype="float32")(x)
    return keras.Model(inputs, logits, name="cnn")


@keras.saving.register_keras_serializable(package="zoo")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of logits against integer labels with label smoothing (Keras's sparse loss
    has none): the target puts 1 - s on the label and s spread over all classes, so the network
    stops pushing logits apart once an image is learnt."""

    def __init__(self, num_classes, label_smoothing=0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.label_smoothing = num_classes, label_smoothing

    def call(self, y_true, y_pred):
        targets = ops.one_hot(ops.reshape(ops.cast(y_true, "int32"), (-1,)), self.num_classes)
        return keras.losses.categorical_crossentropy(targets, y_pred, from_logits=True,
                                                     label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="zoo")
class MirrorImage(layers.Layer):
    """[B, H, W, C] -> the same images mirrored left to right (W must be static: classifier inputs
    have a fixed size)."""

    def call(self, images):
        return reverse(images, axis=2)


@keras.saving.register_keras_serializable(package="zoo")
class ShiftImage(layers.Layer):
    """[B, H, W, C] -> the same images moved `dy` pixels down and `dx` right, zeros (the
    background) moving in at the edges, as in the translations of `--augment crop`."""

    def __init__(self, dy=0, dx=0, **kwargs):
        super().__init__(**kwargs)
        self.dy, self.dx = dy, dx

    def call(self, images):
        pad = max(abs(self.dy), abs(self.dx))
        height, width = images.shape[1], images.shape[2]
        padded = ops.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        return padded[:, pad - self.dy:pad - self.dy + height, pad - self.dx:pad - self.dx + width, :]

    def get_config(self):
        return {**super().get_config(), "dy": self.dy, "dx": self.dx}


ONE_PIXEL_SHIFTS = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0))
# Test-time augmentation (--tta): the views, (mirrored, dy, dx), whose logits the classifier averages.
TTA_VIEWS = {
    "none": ((False, 0, 0),),
    "flip": ((False, 0, 0), (True, 0, 0)),
    "flip+shift": tuple((mirrored, dy, dx) for mirrored in (False, True) for dy, dx in ONE_PIXEL_SHIFTS),
}


def with_view_averaging(model, tta):
    """The classifier that averages `model`'s logits over the views of each image that `tta`
    names (test-time augmentation; cifar10-airbench's flip-and-translate): views the network
    met in training are in-distribution, and their errors partly cancel. One graph, so exports
    carry it too."""
    views = TTA_VIEWS[tta]
    if len(views) == 1:
        return model
    image = model.inputs[0]
    mirrored = MirrorImage(name="mirror")(image)
    logits = []
    for i, (flip, dy, dx) in enumerate(views):
        view = mirrored if flip else image
        if dy or dx:
            view = ShiftImage(dy, dx, name=f"view{i}_shift")(view)
        logits.append(model(view))
    averaged = layers.Average(name=LOGITS, dtype="float32")(logits)
    return keras.Model(image, averaged, name=f"{model.name}_{tta.replace('+', '_')}_averaged")


@dataclasses.dataclass(frozen=True)
class CNNHyperparameters(FashionMNISTHyperparameters):
    epochs: int = default(Hyperparameters, "epochs", 13)
    learning_rate: float = default(Hyperparameters, "learning_rate", 2e-3)
    widths: str = hp("48,96,192", "channels of the three conv blocks", metavar="C1,C2,C3")
    blocks: str = hp("pooled", "pooled: conv, pool, conv in each block, after a stem conv (twice the work per pixel "
                               "at the same cost); vgg: conv, conv, pool", choices=BLOCKS)
    stem: int = hp(24, "channels of a first conv at full resolution before the blocks; 0: none", minimum=0)
    dropout: float = hp(0.1, "dropout before the classifier (half of it after each pooling); 0: none", minimum=0.0)
    label_smoothing: float = hp(0.1, "share of each target's probability spread over all classes", minimum=0.0)
    weight_decay: float = hp(0.0, "AdamW's decoupled weight decay (each step shrinks the weights by learning rate x "
                                  "this); 0: Adam", minimum=0.0)
    warmup_epochs: float = hp(0.5, "linear learning-rate warm-up before the cosine decay", minimum=0.0)
    tta: str = hp("none", "test-time augmentation: the evaluated and exported classifier averages the logits of each "
                          "image and its mirror image (flip), and of both moved one pixel up, down, left and right "
                          "(flip+shift: 10 views, for networks trained with --augment crop)", choices=tuple(TTA_VIEWS))


@register
class CNNRecipe(Recipe):
    name = "cnn"
    task = Task.CLASSIFIER
    description = ("CNN classifier: pooled conv-BN-ReLU blocks, label smoothing, bfloat16 where the CPU has it; "
                   "the long preset adds width, translations, weight decay and test-time augmentation")
    paper = "Ioffe & Szegedy 2015 (batch norm); Szegedy et al. 2016 (label smoothing); Jordan 2024 (airbench)"
    Hyperparameters = CNNHyperparameters
    legacy = {"blocks": "vgg", "stem": 0}
    # "long": the schedule for the best accuracy in the time the earlier recipe took (87 minutes on
    # a 2-core CPU): a wider network for more epochs, whose overfitting random translations and
    # AdamW's weight decay then hold back (translations cost the short default more than they gave).
    presets = {"long": {"epochs": 40, "stem": 32, "widths": "64,128,256", "augment": "crop+flip",
                        "weight_decay": 0.05, "tta": "flip+shift"}}
    needs_labels = True
    augment = "flip"

    @property
    def widths(self) -> tuple:
        return channel_counts(self.config.get("widths"))

    def build_model(self, info):
        if not info.num_classes:
            raise ValueError("the CNN needs a labelled dataset")
        hp = self.hp
        return build_cnn(info.image_shape, info.num_classes, self.widths, hp.dropout, hp.blocks, hp.stem)

    def compile_model(self, model, info):
        c = self.config
        rate = learning_rate(c, info, schedule="cosine", warmup_epochs=c["warmup_epochs"])
        optimizer = (keras.optimizers.AdamW(rate, weight_decay=c["weight_decay"]) if c.get("weight_decay")
                     else keras.optimizers.Adam(rate))
        model.compile(
            optimizer=optimizer,
            loss=SmoothedSparseCrossentropy(info.num_classes, c["label_smoothing"]),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            **self.compile_options(),
        )

    def classifier(self, model):
        """What is evaluated and exported: the network, or with --tta its logits averaged over views."""
        return with_view_averaging(model, self.config.get("tta", "none"))

    def ready(self, model):
        """`zoo.load` gives the classifier that the model card's accuracy is of."""
        return self.classifier(model)

    def predictions(self, model, splits):
        """(images, labels, logits) of the test split, predicted once for evaluate() and report()."""
        cached = getattr(self, "_predicted", None)
        if cached is None or cached[0] is not model or cached[1] is not splits:
            self._predicted = (model, splits, classifier_predictions(self.classifier(model), splits))
        return self._predicted[2]

    def evaluate(self, model, splits):
        _, labels, logits = self.predictions(model, splits)
        return classifier_metrics(labels, logits)

    def report(self, run, model, splits):
        images, labels, logits = self.predictions(model, splits)
        names = splits.info.class_names
        confusion_matrix_png(run.images / "confusion_matrix.png", labels, logits.argmax(-1), names)
        worst_predictions_png(run.images / "worst_predictions.png", images, labels, logits, names)

    def release(self, run_root, dest):
        tta = self.config.get("tta", "none")
        if len(TTA_VIEWS[tta]) == 1:
            return []
        return [f"The test accuracy is the exported classifier's, which averages the network's logits over "
                f"{len(TTA_VIEWS[tta])} views of each image (`--tta {tta}`): `zoo.load`, `zoo.evaluate` and every "
                "file in `export/` include them, at that many times the network's cost. `model.keras` alone is the "
                "network, one view; its validation accuracy is the loss curves'.", ""]

    def exportables(self, model):
        model = self.classifier(model)
        image = model.inputs[0]
        logits = model(image)
        probabilities = layers.Softmax(name=PROBABILITIES)(logits)
        return {CLASSIFIER: keras.Model(image, {LOGITS: logits, PROBABILITIES: probabilities}, name=CLASSIFIER)}
