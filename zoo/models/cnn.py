"""CNN image classifier: VGG-style blocks with batch normalisation and dropout.

Conv-BN-ReLU pairs (Ioffe & Szegedy, 2015) and dropout (Srivastava et al., 2014); random
translations and flips come from the tf.data pipeline, so the exported model is the bare network.
Widths 48/96/192 (0.65M parameters): 32/64/128 underfits Fashion-MNIST under this augmentation
(92.9% test accuracy after 20 epochs, 94.2% train); 48/96/192 costs 1.7x per step and reaches 94.5%
in 30 epochs.
Input: images in [0, 1], NHWC. Output: class logits.
"""

from __future__ import annotations

import keras
from keras import layers

from zoo.models.common import image_input
from zoo.recipe import CLASSIFIER, LOGITS, PROBABILITIES, Recipe, Task
from zoo.registry import register

FEATURE_LAYER = "pool"  # the pooled features that the DCGAN's Fréchet distance compares


def conv_bn_relu(x, filters, name):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_cnn(image_shape, num_classes, widths=(48, 96, 192), dropout=0.3):
    inputs = image_input(image_shape)
    x = inputs
    for i, width in enumerate(widths, start=1):
        x = conv_bn_relu(x, width, f"block{i}a")
        x = conv_bn_relu(x, width, f"block{i}b")
        if i < len(widths):
            x = layers.MaxPooling2D(name=f"block{i}_pool")(x)
            x = layers.Dropout(dropout / 2, name=f"block{i}_dropout")(x)
    x = layers.GlobalAveragePooling2D(name=FEATURE_LAYER)(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    logits = layers.Dense(num_classes, name=LOGITS, dtype="float32")(x)
    return keras.Model(inputs, logits, name="cnn")


@register
class CNNRecipe(Recipe):
    name = "cnn"
    task = Task.CLASSIFIER
    description = "CNN classifier: conv-BN-ReLU blocks (48/96/192), dropout, flip/translate augmentation"
    paper = "Ioffe & Szegedy 2015 (batch norm); Srivastava et al. 2014 (dropout)"
    defaults = {"epochs": 30, "batch_size": 128, "learning_rate": 2e-3, "latent_dim": None}
    needs_labels = True
    augment = "crop+flip"

    def build_model(self, info):
        if not info.num_classes:
            raise ValueError("the CNN needs a labelled dataset")
        return build_cnn(info.image_shape, info.num_classes)

    def compile_model(self, model, info):
        steps = max(1, info.num_train // self.config["batch_size"]) * self.config["epochs"]
        schedule = keras.optimizers.schedules.CosineDecay(self.config["learning_rate"], steps, alpha=0.01)
        model.compile(
            optimizer=keras.optimizers.Adam(schedule),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            jit_compile=self.config.get("jit_compile", False),
        )

    def predictions(self, model, splits):
        """(images, labels, logits) of the test split, predicted once for evaluate() and report()."""
        from zoo.training.evaluation import classifier_predictions

        cached = getattr(self, "_predicted", None)
        if cached is None or cached[0] is not model or cached[1] is not splits:
            self._predicted = (model, splits, classifier_predictions(model, splits))
        return self._predicted[2]

    def evaluate(self, model, splits):
        from zoo.training.evaluation import classifier_metrics

        _, labels, logits = self.predictions(model, splits)
        return classifier_metrics(labels, logits)

    def report(self, run, model, splits):
        from zoo.training.plots import confusion_matrix_png, worst_predictions_png

        images, labels, logits = self.predictions(model, splits)
        names = splits.info.class_names
        confusion_matrix_png(run.images / "confusion_matrix.png", labels, logits.argmax(-1), names)
        worst_predictions_png(run.images / "worst_predictions.png", images, labels, logits, names)

    def exportables(self, model):
        image = model.inputs[0]
        logits = model(image)
        probabilities = layers.Softmax(name=PROBABILITIES)(logits)
        return {CLASSIFIER: keras.Model(image, {LOGITS: logits, PROBABILITIES: probabilities}, name=CLASSIFIER)}
