"""What every registered model provides: how to build it, train it, picture it, evaluate it and
export it. The CLI (`zoo.train`, `zoo.evaluate`) and the exporters only talk to this interface.
"""

from __future__ import annotations

import argparse

from zoo import data, hparams
from zoo.errors import ZooError
from zoo.names import GENERATOR, Task
from zoo.training.callbacks import SampleGrid, save_samples


class Recipe:
    """Base class of a registered model. Subclasses set the class attributes and override the
    methods; `config` is the run's configuration (the CLI flags, as stored in config.json)."""

    name: str = ""
    task: str = ""  # one of Task's
    description: str = ""
    paper: str = ""
    # The model's typed hyper-parameters (zoo.hparams): its flags, defaults, checks and card table.
    Hyperparameters: type = hparams.FashionMNISTHyperparameters
    defaults: dict = hparams.defaults(hparams.FashionMNISTHyperparameters)  # {name: default}, from Hyperparameters
    # What runs from before a hyper-parameter existed used, {name: value}: their config.json lacks
    # it, and they load, evaluate and export as they were trained (`hp`).
    legacy: dict = {}
    # Named sets of defaults for other time budgets, {name: {config key: value}}: `python -m
    # zoo.train MODEL --preset NAME`, `zoo.create_model(MODEL, preset=NAME)`. Flags the user gives
    # still override them, and config.json records the values a run used.
    presets: dict = {}
    # The keras.Model subclass that its model.keras holds, by which a .keras file without its
    # run's config.json is recognised (None: a functional model, which says nothing of its recipe).
    model_class: type | None = None
    # zoo.train's data flags that `load_data` and `pipelines` read (the style models read their
    # photos and paintings from their own flags, not --dataset or --augment).
    data_options: tuple = ("dataset", "limit", "augment")
    needs_labels: bool = False
    augment: str = "none"  # default tf.data augmentation (see zoo.data.pipeline.AUGMENTATIONS)
    validate_each_epoch: bool = True  # run test_step on the validation split after every epoch
    # Shape (H, W, C) of the images of the default --dataset (Fashion-MNIST), which
    # `zoo.create_model` builds for without loading any data; None: any size.
    default_image_shape: tuple = (28, 28, 1)
    # {metric: what a reader must know about it}, printed by zoo.evaluate next to the metric.
    metric_notes: dict = {}
    # {exportable: the quantizations (exporters.QUANTIZATIONS) it may be exported in}, for those
    # that may not have all: a VQ-VAE's encoder outputs code indices, which a quantized file's
    # rounding moves to other codes; its decoder and prior take them, which full int8 would
    # turn into scaled integers.
    quantizations: dict = {}
    # Whether `zoo.train --init-from SOURCE --widen` may start a wider network from a narrower
    # one (`zoo.training.warm_start.widened`): true only of networks whose layers are a chain of
    # convolutions, normalisations and additions, none concatenating channels (where the new
    # channels would not be the last ones).
    widenable: bool = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.defaults = hparams.defaults(cls.Hyperparameters)
        for preset, values in cls.presets.items():
            unknown = set(values) - set(cls.defaults) - set(cls.data_options)
            if unknown:
                raise TypeError(f"{cls.__name__}'s preset {preset!r} sets {sorted(unknown)}, not hyper-parameters")
            hparams.check(cls.Hyperparameters, values)

    def __init__(self, config: dict):
        self.config = config

    @classmethod
    def run_identity(cls, config: dict) -> dict:
        """What makes a run what it is, as its configuration gives it (None where it gives
        nothing): the preset, every field of `Hyperparameters`, the data options it reads
        (`data_options`) and the seed, not where it ran or wrote to. The model card lists those
        beyond the hyper-parameters; the training benchmark reuses an earlier run only if they
        all match today's. The values a run trained with: `hyperparameter_values`."""
        keys = ("preset", *cls.defaults, *cls.data_options, "seed")
        return {key: config.get(key) for key in dict.fromkeys(keys)}

    @classmethod
    def hyperparameter_values(cls, config: dict) -> dict:
        """Every hyper-parameter of a run: config.json's value, a `legacy` run's, else the default."""
        given = {k: config[k] for k in cls.defaults if config.get(k) is not None}
        return {**cls.defaults, **cls.legacy, **given}

    @property
    def hp(self):
        """The run's hyper-parameters as its typed `Hyperparameters` (`hyperparameter_values`)."""
        return self.Hyperparameters(**self.hyperparameter_values(self.config))

    @property
    def seed(self) -> int:
        return self.config.get("seed") or 0

    @property
    def dynamic_hw(self) -> bool:
        """Whether the exports take images of any height and width (image-to-image models)."""
        return self.task == Task.IMAGE_TO_IMAGE

    def ready(self, model):
        """A model loaded from model.keras, made callable as the run evaluated it: as it is, except
        for what the file does not hold (AdaIN's VGG19 encoder, the CNN's test-time views)."""
        return model

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser):
        """Add flags of this model's own (the stylizer's --style, say)."""

    def load_data(self):
        """Return the run's `zoo.data.Splits`. The default reads --dataset and its options and
        holds out --validation-split of the training images."""
        c = self.config
        splits = data.load(c["dataset"], data_dir=c.get("data_dir"), image_size=c.get("image_size"),
                           channels=c.get("channels"), limit=c.get("limit"))
        return data.hold_out_validation(splits, c.get("validation_split") or 0.0)  # older runs held out none

    def pipelines(self, splits, global_batch_size):
        """Return (train, test) batched tf.data pipelines for fit() and evaluation. Training sees
        whole batches only (each epoch is reshuffled, so no image is left out for good): a ragged
        last batch would make TensorFlow trace the training step a second time, batch norm would
        average over a handful of images, and several replicas cannot split it. With
        --steps-per-epoch the training batches repeat: an epoch is that many steps, whatever the
        size of the data."""
        from zoo.data import make_pipeline

        if splits.info.num_train < global_batch_size:
            raise ZooError(f"--batch-size {global_batch_size} is more than the {splits.info.num_train} training images: "
                           "give a smaller --batch-size")
        seed = self.seed
        augment = self.config.get("augment") or self.augment
        train = make_pipeline(splits.train, batch_size=global_batch_size, training=True, augment=augment,
                              seed=seed, drop_remainder=True, repeat=bool(self.config.get("steps_per_epoch")))
        test = make_pipeline(splits.test, batch_size=global_batch_size, training=False)
        return train, test

    def grown_weights(self) -> tuple:
        """Starts of the names of layers whose weights a run may add to its `--init-from`
        source's: layers that start as the identity, so that the source's pictures are where the
        run starts (none here)."""
        return ()

    def build(self, info):
        """Return the compiled keras.Model for a dataset described by `info` (a DatasetInfo):
        what training fits. `build_model` then `compile_model`."""
        model = self.build_model(info)
        self.compile_model(model, info)
        return model

    def build_model(self, info):
        """Return the keras.Model for a dataset described by `info`, built but not compiled.

        Apart from `compile_model` because `zoo.create_model` returns the network alone: an
        optimizer, a learning-rate schedule over the data's size or a loss network (the
        stylizer's VGG19 and paintings) are training's business. A recipe that overrides
        `build` instead can only be built for training.
        """
        raise ZooError(f"model {self.name!r} can only be built for training (python -m zoo.train {self.name}); "
                       "its recipe has no build_model()")

    def compile_model(self, model, info):
        """Compile `build_model`'s model for training on the data described by `info`, passing
        `compile_options()` to `compile`."""
        raise NotImplementedError

    def compile_options(self) -> dict:
        """The run flags that every recipe's `compile` takes: XLA (`--jit-compile`)."""
        return {"jit_compile": self.config.get("jit_compile", False)}

    def build_optimizers(self, model):
        """Create optimizer variables before a checkpoint (which holds them) is loaded."""
        model.optimizer.build(model.trainable_variables)

    def callbacks(self, run, splits) -> list:
        """Extra callbacks for fit(): sample grids and such. `run` is a zoo.training.runs.Run."""
        return []

    def report(self, run, model, splits) -> None:
        """Write the pictures that show a finished run (confusion matrix, reconstructions...)."""

    def evaluate(self, model, splits) -> dict:
        """Return test metrics as a flat dict of floats, with units in the names."""
        raise NotImplementedError

    def exportables(self, model) -> dict:
        """Return {name: keras.Model} to export, each with named inputs and outputs.

        The CNN exports one classifier; the VAE an encoder and a decoder; the DCGAN its generator.
        """
        raise NotImplementedError

    def sample_input(self, name: str, shape: tuple, images, rng):
        """Values of the non-image input `name` (shape without batch), one per image of `images`
        (the batch it will go with), for validating and calibrating exports: by default the
        N(0, I) prior that latent vectors are drawn from."""
        return rng.standard_normal((len(images), *shape)).astype("float32")

    def release(self, run_root, dest) -> list:
        """Copy into the released folder `dest` what it needs beyond the model (the stylizer's
        style images), and return extra MODEL_CARD.md lines (Markdown) about it."""
        return []

    def export_metadata(self, networks: dict) -> dict:
        """Extra top-level entries for the export manifest of `networks` (the `exportables`):
        the stylizer's style names, say."""
        return {}


class GenerativeRecipe(Recipe):
    """A model that draws images from latent noise (the VAE's decoder, the DCGAN's generator):
    a grid from the same fixed noise after every epoch and once more for the finished run."""

    generator_name: str = GENERATOR  # the exportable that maps latent vectors to images

    def generator(self, model):
        """The network that maps latent vectors z to images."""
        return self.exportables(model)[self.generator_name]

    def callbacks(self, run, splits):
        return [SampleGrid(run.images, self.generator, self.config["latent_dim"], self.seed)]

    def report(self, run, model, splits):
        save_samples(run.images / "samples.png", self.generator(model), self.config["latent_dim"], self.seed)
