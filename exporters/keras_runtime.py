"""The Keras runtime: the one serving function every export format is converted from, the
Runner over it (the reference the exports are validated against), and `open_keras`, which opens
a trained model's networks in Keras as `zoo.deploy.bundle.open_export` opens its exported files.

It sits beside the exporters, above the models (it needs their recipes and Keras classes), so
that zoo.deploy stays free of TensorFlow and Keras. TensorFlow is imported when a model is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from zoo import models
from zoo.deploy import runtime
from zoo.deploy.bundle import Bundle
from zoo.models.common import float32_copy
from zoo.training.runs import Run, load_keras_model


def network_feed(recipe, specs, images, rng) -> dict:
    """{input name: array} of a network for a batch of `images`: the images where an input takes
    images (4-D), what the recipe draws for the others (`Recipe.sample_input`: latent vectors,
    style weights, statistics), one per image. `specs`: the network's inputs or its serving
    function's signature (anything with a name and a shape)."""
    return {s.name: images if len(s.shape) == 4 else recipe.sample_input(s.name, tuple(s.shape[1:]), images, rng)
            for s in specs}


def serving_function(model, dynamic_hw: bool):
    """The signature every format is converted from: inputs named like the model's, any batch
    (and any height and width for image-to-image models), a dict of named float32 outputs (a
    single-output model's output takes the name of its output layer)."""
    import tensorflow as tf

    specs = []
    for x in model.inputs:
        shape = [None, *x.shape[1:]]
        if dynamic_hw and len(shape) == 4:
            shape[1] = shape[2] = None
        specs.append(tf.TensorSpec(shape, tf.float32, name=x.name))
    names = list(model.output) if isinstance(model.output, dict) else list(model.output_names)

    @tf.function(input_signature=specs)
    def serve(*args):
        out = model(args[0] if len(args) == 1 else list(args), training=False)
        values = [out[n] for n in names] if isinstance(out, dict) else tf.nest.flatten(out)
        return {n: tf.cast(v, tf.float32) for n, v in zip(names, values)}

    return serve


class KerasRunner:
    """The Keras model behind the zoo.deploy.runtime calling convention (the reference, and the
    benchmark's baseline)."""

    def __init__(self, serve):
        self.serve = serve
        self.inputs = [runtime.Spec(s.name, tuple(s.shape)) for s in serve.input_signature]
        self.outputs = [runtime.Spec(k, tuple(s.shape)) for k, s in serve.get_concrete_function().structured_outputs.items()]

    def __call__(self, **arrays):
        return {k: v.numpy() for k, v in self.serve(*(arrays[s.name] for s in self.inputs)).items()}

    def only(self, outputs):  # the zoo.deploy.runtime.Runner protocol: a traced function computes them all
        return self


def open_keras(source, threads=None) -> Bundle:
    """The networks of a trained model in Keras: `source` is a run or released folder (its
    model.keras and config.json), or a .keras file (read with the config.json beside it, as in
    a run folder, else as the model its top-level class names). The manifest holds what an
    export's would: the model, its task, class names and the recipe's `export_metadata`. The
    networks compute in float32, as the exported ones do, whatever policy they were trained in."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    source = Path(source)
    if source.is_dir() or Run(source.parent).config_path.is_file():
        run = Run.open(source if source.is_dir() else source.parent)
        config, file = run.config, source if source.is_file() else run.model_path
        recipe = models.get(config.get("model", "?"))(config)
    else:
        config, file = {}, source
        recipe = models.by_model_class(runtime.keras_class(source), source)({})  # only the networks are needed
    networks = recipe.exportables(load_keras_model(file))
    manifest = {"model": recipe.name, "task": recipe.task,
                "class_names": (config.get("dataset_info") or {}).get("class_names"),
                **recipe.export_metadata(networks)}
    # in float32, as every export is made and validated (a mixed-precision run computes in 16 bits)
    runners = {name: KerasRunner(serving_function(float32_copy(network), recipe.dynamic_hw))
               for name, network in networks.items()}
    return Bundle(runners, manifest, "keras")

