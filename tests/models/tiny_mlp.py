"""A model added to the zoo in one file: a one-hidden-layer perceptron classifier for images.

It is all a model needs (README, "Add a model"): typed hyper-parameters, a recipe registered by
name that builds, compiles, evaluates and names its exportable networks. A model of the zoo's own
lives in zoo/models/ and takes one more line, its import in zoo/models/__init__.py; this one is
imported by tests/test_new_model.py instead, which trains, evaluates, exports and opens it with
the zoo's own commands and nothing else written for it.
"""

from __future__ import annotations

import dataclasses

import keras
from keras import layers

from zoo.hparams import FashionMNISTHyperparameters, Hyperparameters, default, hp
from zoo.models.common import image_input
from zoo.names import CLASSIFIER, LOGITS, PROBABILITIES, Task
from zoo.recipe import Recipe
from zoo.registry import register
from zoo.training.evaluation import classifier_metrics, classifier_predictions


@dataclasses.dataclass(frozen=True)
class TinyMLPHyperparameters(FashionMNISTHyperparameters):
    epochs: int = default(Hyperparameters, "epochs", 2)
    hidden: int = hp(64, "units of the hidden layer", minimum=1)


@register
class TinyMLPRecipe(Recipe):
    name = "tiny_mlp"
    task = Task.CLASSIFIER
    description = "perceptron classifier with one hidden layer (the zoo's example of a model in one file)"
    paper = "Rumelhart, Hinton & Williams 1986"
    Hyperparameters = TinyMLPHyperparameters
    needs_labels = True

    def build_model(self, info):
        image = image_input(info.image_shape)
        hidden = layers.Dense(self.hp.hidden, activation="relu")(layers.Flatten()(image))
        return keras.Model(image, layers.Dense(info.num_classes, name=LOGITS)(hidden), name=self.name)

    def compile_model(self, model, info):
        model.compile(optimizer=keras.optimizers.Adam(self.hp.learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")], **self.compile_options())

    def evaluate(self, model, splits):
        _, labels, logits = classifier_predictions(model, splits)
        return classifier_metrics(labels, logits)

    def exportables(self, model):
        image = model.inputs[0]
        logits = model(image)
        return {CLASSIFIER: keras.Model(image, {LOGITS: logits, PROBABILITIES: layers.Softmax(name=PROBABILITIES)(logits)},
                                        name=CLASSIFIER)}
