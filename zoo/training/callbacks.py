"""Keras callbacks that make a run folder: resumable checkpoints, history and loss curves, per-epoch
sample grids, and a NaN guard that stops before anything bad is saved."""

from __future__ import annotations

import math
import re
import time

import keras
import numpy as np

from zoo.errors import ZooError, first_line
from zoo.fileio import atomic_path, read_json, write_json
from zoo.images import sample_grid, save_image
from zoo.log import log
from zoo.training.evaluation import (EVAL_BATCH, VALIDATION_FRECHET_DISTANCE, feature_extractor, frechet_distance,
                                     generated_features)
from zoo.training.plots import loss_curves_png


class NaNLossError(ZooError):
    """Training produced a non-finite loss; the last good checkpoint is kept."""


class StopOnNaN(keras.callbacks.Callback):
    """Raise at the first non-finite logged value, before any later callback can save weights.

    Keras's TerminateOnNaN stops at the end of the batch and lets other callbacks run; raising
    here (this callback goes first) keeps the checkpoint and model.keras of the last good epoch.
    """

    def __init__(self, run):
        super().__init__()
        self.run = run
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                raise NaNLossError(
                    f"{name} became {float(value)} at epoch {self.epoch + 1}, batch {batch + 1}; training stopped, "
                    f"the last good checkpoint in {self.run.root} is kept (lower --learning-rate and --resume)")


class RunHistory(keras.callbacks.Callback):
    """Per-epoch metrics and wall time of the whole run (across resumes), with a loss-curve picture."""

    def __init__(self, run, history):
        super().__init__()
        self.run, self.history = run, history

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.history.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()},
                             "seconds": round(time.perf_counter() - self.started, 1)})
        loss_curves_png(self.run.images / "loss_curves.png", self.history)


class TimeLimit(keras.callbacks.Callback):
    """--time-limit: stop training at the end of the first epoch that ends `minutes` after training
    began, so a run fits a laptop's lunch break or an accelerator's lease. Stopping between epochs
    keeps every checkpoint whole and the run resumable."""

    def __init__(self, minutes):
        super().__init__()
        self.seconds = 60.0 * minutes

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.started >= self.seconds:
            log.info(f"--time-limit of {self.seconds / 60:g} minutes reached after epoch {epoch + 1}; stopping")
            self.model.stop_training = True


class ResumableCheckpoint(keras.callbacks.Callback):
    """After every epoch: weights with optimizer state, then the state file that points at them,
    then model.keras; each written atomically and in that order, so a `kill -9` at any moment
    leaves a consistent checkpoint to `--resume` from."""

    def __init__(self, run, history):
        super().__init__()
        self.run, self.history = run, history

    def on_epoch_end(self, epoch, logs=None):
        weights = self.run.checkpoint_dir / f"epoch-{epoch + 1:04d}.weights.h5"
        with atomic_path(weights, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        write_json(self.run.state_path, {"epoch": epoch + 1, "weights": weights.name, "history": self.history})
        for old in self.run.checkpoint_dir.glob("epoch-*.weights.h5"):
            if old != weights:
                old.unlink()
        self.run.save_model(self.model)

    @staticmethod
    def restore(run, model, recipe):
        """Load the last checkpoint into `model`; return (epochs done, history). (0, []) if none."""
        if not run.state_path.exists():
            return 0, []
        state = read_json(run.state_path)
        if not re.fullmatch(r"epoch-\d{4}\.weights\.h5", state.get("weights", "")):
            raise ZooError(f"{run.state_path} is damaged")
        recipe.build_optimizers(model)
        try:
            model.load_weights(run.checkpoint_dir / state["weights"])
        except (OSError, ValueError) as e:
            raise ZooError(f"cannot resume from {run.checkpoint_dir}: {first_line(e)}") from None
        return int(state["epoch"]), list(state["history"])


def fixed_noise(latent_dim, seed=0, count=64):
    """The noise every sample grid of a run is drawn from, so grids of different epochs compare."""
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype(np.float32)


def save_samples(path, generator, latent_dim, seed=0):
    """An 8x8 grid of `generator(fixed_noise)` as a PNG."""
    save_image(path, sample_grid(keras.ops.convert_to_numpy(generator(fixed_noise(latent_dim, seed))), cols=8))


class SampleGrid(keras.callbacks.Callback):
    """Save a grid generated from the same fixed noise after every epoch."""

    def __init__(self, folder, generator_of, latent_dim, seed=0):
        super().__init__()
        self.folder, self.generator_of, self.latent_dim, self.seed = folder, generator_of, latent_dim, seed

    def on_epoch_end(self, epoch, logs=None):
        save_samples(self.folder / f"samples_epoch_{epoch + 1:03d}.png", self.generator_of(self.model),
                     self.latent_dim, self.seed)


class ValidationFrechetDistance(keras.callbacks.Callback):
    """After every epoch, the Fréchet distance of `count` generated images to the validation
    images, on the zoo CNN's features, as `val_frechet_distance` in the epoch's logs: a GAN's
    losses say little about its samples, and this is what its runs are monitored and tuned by
    while the test split is left for the end. The noise is the same every epoch, so the curve
    shows the generator change, not the draw. Listed before RunHistory, which records it."""

    def __init__(self, sampler_of, validation_images, classifier, feature_layer, seed=0, count=5000):
        super().__init__()
        self.sampler_of, self.seed, self.count = sampler_of, seed, min(count, len(validation_images))
        self.features = feature_extractor(classifier, feature_layer, validation_images.shape[1:])
        self.real = self.features.predict(validation_images, batch_size=EVAL_BATCH, verbose=0)

    def on_epoch_end(self, epoch, logs=None):
        fake = generated_features(self.sampler_of(self.model), self.features, self.count,
                                  np.random.default_rng(self.seed))
        if logs is not None:
            logs[VALIDATION_FRECHET_DISTANCE] = frechet_distance(fake, self.real)
