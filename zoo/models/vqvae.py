"""VQ-VAE with a gated PixelCNN prior (van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete
Representation Learning"; van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
Decoders").

The encoder maps a 28x28 image to a 7x7 grid of vectors z_e; each is replaced by its nearest
entry of a codebook of K vectors (the code index k), and the decoder maps the grid of codebook
vectors z_q back to the image. The nearest-neighbour step has no gradient, so the decoder's
gradient is copied onto z_e (the straight-through estimator, z_e + stop_gradient(z_q - z_e)); the
codebook is not learnt by gradient but kept as an exponential moving average of the encoder
vectors assigned to each code (the paper's appendix A.1), and a code that no vector chooses any
more is restarted at an encoder vector of the batch (dead-code restarts, as in Dhariwal et al.
2020's Jukebox). The encoder is held near its codes by the commitment loss
beta * ||z_e - sg(z_q)||^2. Training minimises the reconstruction's mean squared error plus it.

The prior is a gated PixelCNN over the code indices: a vertical stack that sees the rows above
a position and a horizontal stack that sees the codes to its left in its row (no blind spot),
built from shifted convolutions (padding, a convolution, a crop: builtin operations everywhere
the zoo exports to), gated by tanh(a) * sigmoid(b). Sampling draws the 49 codes one at a time
(zoo.deploy.autoregressive), then decodes them.

One model, one run: the prior trains in the same step as the autoencoder, on the codes of the
batch (integers, through which no gradient flows back), so `python -m zoo.train vqvae` makes
both, resumes both from one checkpoint and exports both. While the codebook still moves the
prior chases it; the EMA codebook settles within a few epochs, and the prior then learns the
final codes for the rest of the run (its validation loss, `val_prior_nll`, says how well).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import layers, ops

from zoo.deploy.autoregressive import sample_codes
from zoo.errors import ZooError
from zoo.fileio import read_json
from zoo.hparams import FashionMNISTHyperparameters, Hyperparameters, default, hp
from zoo.images import sample_grid, save_image
from zoo.models import cnn
from zoo.models.common import image_input, learning_rate, scale_for_replicas, schedule
from zoo.names import CODES, DECODER, ENCODER, IMAGE, LOGITS, PRIOR, Task
from zoo.recipe import Recipe
from zoo.registry import register
from zoo.training.evaluation import EVAL_BATCH, FRECHET_DISTANCE, sample_frechet_distance, test_arrays
from zoo.training.plots import codebook_usage_png

SAMPLES = 64  # images of a sample grid


@keras.saving.register_keras_serializable(package="zoo")
class VectorQuantizer(layers.Layer):
    """A codebook of `num_codes` vectors kept by exponential moving averages (decay `decay`) of
    the encoder vectors assigned to each code; codes whose average count of assignments per batch
    falls under `restart_below` are moved to random encoder vectors of the batch. The counts start
    at 0, so the first step puts every code on an encoder vector: the codebook starts where the
    data are, not in a corner that one code would win.

    Called on z_e [N, H, W, D] it returns the straight-through z_q and the code indices [N, H, W].
    Always float32:
    distances between vectors in bfloat16 would pick the wrong codes."""

    def __init__(self, num_codes, code_dim, decay=0.99, restart_below=1.0, seed=None, **kwargs):
        super().__init__(**{**kwargs, "dtype": "float32"})
        self.num_codes, self.code_dim, self.decay, self.restart_below = num_codes, code_dim, decay, restart_below
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        init = keras.initializers.RandomUniform(-1.0 / self.num_codes, 1.0 / self.num_codes, seed=self.seed)
        self.codebook = self.add_weight(shape=(self.num_codes, self.code_dim), initializer=init, trainable=False,
                                        name="codebook")
        self.ema_count = self.add_weight(shape=(self.num_codes,), initializer="zeros", trainable=False,
                                         name="ema_count")
        self.ema_sum = self.add_weight(shape=(self.num_codes, self.code_dim), initializer=init, trainable=False,
                                       name="ema_sum")

    def codes(self, z_e):
        """The index of the code nearest to each vector of z_e [..., D]: int [...]."""
        flat = ops.reshape(ops.cast(z_e, "float32"), (-1, self.code_dim))
        distances = (ops.sum(flat ** 2, axis=1, keepdims=True) - 2 * ops.matmul(flat, ops.transpose(self.codebook))
                     + ops.sum(self.codebook ** 2, axis=1)[None, :])
        # the first index at the minimum, by an integer argmax: Keras's float argmin orders -0.0
        # before 0.0 with bitwise operations that TFLite has no builtin for
        nearest = ops.equal(distances, ops.min(distances, axis=1, keepdims=True))
        return ops.reshape(ops.argmax(ops.cast(nearest, "int32"), axis=1), ops.shape(z_e)[:-1])

    def lookup(self, indices):
        """Codebook vectors of integer `indices` of any shape: [..., D]."""
        return ops.take(self.codebook, ops.cast(indices, "int32"), axis=0)

    def call(self, z_e, training=False):
        z_e = ops.cast(z_e, "float32")
        codes = self.codes(z_e)
        if training:
            self._update_codebook(ops.reshape(z_e, (-1, self.code_dim)),
                                  ops.one_hot(ops.reshape(codes, (-1,)), self.num_codes))
        return z_e + ops.stop_gradient(self.lookup(codes) - z_e), codes

    def _update_codebook(self, flat, one_hot):
        flat = ops.stop_gradient(flat)
        d = self.decay
        count = d * self.ema_count + (1 - d) * ops.sum(one_hot, axis=0)
        total = d * self.ema_sum + (1 - d) * ops.matmul(ops.transpose(one_hot), flat)
        # Laplace smoothing keeps the division finite for codes that got nothing
        n = ops.sum(count)
        smoothed = (count + 1e-5) / (n + self.num_codes * 1e-5) * n
        codebook = total / smoothed[:, None]
        dead = count < self.restart_below
        picks = keras.random.randint((self.num_codes,), 0, ops.shape(flat)[0], seed=self.seed_generator)
        fresh = ops.take(flat, picks, axis=0)
        self.codebook.assign(ops.where(dead[:, None], fresh, codebook))
        self.ema_sum.assign(ops.where(dead[:, None], fresh, total))
        self.ema_count.assign(ops.where(dead, ops.ones_like(count), count))

    def get_config(self):
        return {**super().get_config(), "num_codes": self.num_codes, "code_dim": self.code_dim,
                "decay": self.decay, "restart_below": self.restart_below, "seed": self.seed}


def residual_stack(x, width, blocks, name):
    """The paper's residual blocks: ReLU, 3x3 conv, ReLU, 1x1 conv, added back; then a ReLU."""
    for i in range(blocks):
        h = layers.ReLU(name=f"{name}{i + 1}_relu1")(x)
        h = layers.Conv2D(width // 2, 3, padding="same", name=f"{name}{i + 1}_conv3")(h)
        h = layers.ReLU(name=f"{name}{i + 1}_relu2")(h)
        h = layers.Conv2D(width, 1, name=f"{name}{i + 1}_conv1")(h)
        x = layers.Add(name=f"{name}{i + 1}_add")([x, h])
    return layers.ReLU(name=f"{name}_out")(x)


def build_encoder(image_shape, width, code_dim, blocks):
    """Two stride-2 4x4 convolutions (28 -> 7), a 3x3, residual blocks, a 1x1 to the code size."""
    image = image_input(image_shape)
    x = layers.Conv2D(width // 2, 4, strides=2, padding="same", activation="relu", name="down1")(image)
    x = layers.Conv2D(width, 4, strides=2, padding="same", activation="relu", name="down2")(x)
    x = layers.Conv2D(width, 3, padding="same", name="conv")(x)
    x = residual_stack(x, width, blocks, "res")
    z_e = layers.Conv2D(code_dim, 1, name="z_e", dtype="float32")(x)
    return keras.Model(image, z_e, name=ENCODER)


def build_decoder(grid, code_dim, width, blocks, channels):
    """The encoder mirrored: a 3x3, residual blocks, two stride-2 4x4 transposed convolutions (a
    kernel the stride divides: every output pixel gets the same number of taps, no checkerboard)."""
    z_q = keras.Input(shape=(*grid, code_dim), name="z_q")
    x = layers.Conv2D(width, 3, padding="same", name="conv")(z_q)
    x = residual_stack(x, width, blocks, "res")
    x = layers.Conv2DTranspose(width // 2, 4, strides=2, padding="same", activation="relu", name="up1")(x)
    logits = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", name="up2", dtype="float32")(x)
    image = layers.Activation("sigmoid", name=IMAGE, dtype="float32")(logits)
    return keras.Model(z_q, image, name=DECODER)


def shifted_conv(x, filters, kernel, name, see_own=True):
    """A causal convolution made of padding, a 'valid' convolution and a crop. `kernel` (kh, kw):
    (k // 2 + 1, k) is the vertical stack's, which sees rows up to its own; (1, k // 2 + 1) the
    horizontal stack's, which sees its row up to its own column. With `see_own` False (the first
    layer) the window moves one further, so that a position never sees its own code."""
    kh, kw = kernel
    vertical = kh > 1
    shift = 0 if see_own else 1
    if vertical:
        pad, crop = ((kh - 1 + shift, 0), (kw // 2, kw // 2)), ((0, shift), (0, 0))
    else:
        pad, crop = ((0, 0), (kw - 1 + shift, 0)), ((0, 0), (0, shift))
    x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
    x = layers.Conv2D(filters, kernel, name=f"{name}_conv")(x)
    return layers.Cropping2D(crop, name=f"{name}_crop")(x) if shift else x


@keras.saving.register_keras_serializable(package="zoo")
class Gate(layers.Layer):
    """tanh(a) * sigmoid(b) of the two halves a, b of the channels: the gated PixelCNN's unit."""

    def call(self, x):
        a, b = ops.split(x, 2, axis=-1)
        return ops.tanh(a) * ops.sigmoid(b)


def build_prior(grid, num_codes, width, layers_count, kernel):
    """Gated PixelCNN over code indices: codes [N, H, W] (float32 holding integers) -> logits
    [N, H, W, K] of each position's code given the codes before it in raster order."""
    codes = keras.Input(shape=grid, name=CODES)
    x = layers.Embedding(num_codes, width, name="embed")(codes)  # (it casts the codes to integers)
    v = h = x
    for i in range(layers_count):
        # The first layer's windows stop before a position's own code. After it, the vertical
        # stack at row i has seen the input's rows above i only, so it may feed the horizontal
        # stack at the same row.
        first, name = i == 0, f"gated{i + 1}"
        v_in = shifted_conv(v, 2 * width, (kernel // 2 + 1, kernel), f"{name}_v", see_own=not first)
        h_in = shifted_conv(h, 2 * width, (1, kernel // 2 + 1), f"{name}_h", see_own=not first)
        v = Gate(name=f"{name}_v_gate")(v_in)
        v2h = layers.Conv2D(2 * width, 1, name=f"{name}_v2h")(v_in)
        h_out = layers.Conv2D(width, 1, name=f"{name}_h_out")(Gate(name=f"{name}_h_gate")(
            layers.Add(name=f"{name}_h_add")([h_in, v2h])))
        h = h_out if first else layers.Add(name=f"{name}_residual")([h, h_out])
    x = layers.ReLU(name="head_relu1")(h)
    x = layers.Conv2D(width, 1, activation="relu", name="head")(x)
    logits = layers.Conv2D(num_codes, 1, name=LOGITS, dtype="float32")(x)
    return keras.Model(codes, logits, name=PRIOR)


class CodeIndices(layers.Layer):
    """z_e -> the index of each vector's nearest code, as float32 (the exported encoder's output,
    what the decoder and the prior take). Wraps the model's quantizer: built for export only."""

    def __init__(self, quantizer, **kwargs):
        super().__init__(name="code_indices", **kwargs)
        self.quantizer = quantizer

    def call(self, z_e):
        return ops.cast(self.quantizer.codes(z_e), "float32")


class CodeVectors(layers.Layer):
    """Code indices -> their codebook vectors (the exported decoder's first step). Wraps the
    model's quantizer: built for export only."""

    def __init__(self, quantizer, **kwargs):
        super().__init__(name="code_vectors", **kwargs)
        self.quantizer = quantizer

    def call(self, codes):
        return self.quantizer.lookup(codes)


@keras.saving.register_keras_serializable(package="zoo")
class VQVAE(keras.Model):
    """Encoder, vector quantizer, decoder and prior, trained together on `compute_loss`: the
    reconstruction's mean squared error, `beta` times the commitment loss, and the prior's
    cross-entropy over the batch's codes (nats per code). Calling it returns the
    reconstruction, the codes and the prior's logits of them."""

    def __init__(self, encoder, quantizer, decoder, prior, beta=0.25, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.quantizer, self.decoder, self.prior, self.beta = encoder, quantizer, decoder, prior, beta
        if not quantizer.built:  # its codebook exists before the first batch (Keras builds what it calls)
            quantizer.build(encoder.outputs[0].shape)
        self.grid = tuple(prior.inputs[0].shape[1:])
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("loss", "reconstruction_mse", "commitment", "prior_nll", "perplexity")}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, x, training=False):
        z_e = self.encoder(x, training=training)
        z_q, codes = self.quantizer(z_e, training=training)
        codes = ops.stop_gradient(ops.cast(codes, "float32"))
        return {"reconstruction": self.decoder(z_q, training=training), "codes": codes,
                "prior_logits": self.prior(codes, training=training),
                "commitment": ops.mean((ops.cast(z_e, "float32") - ops.stop_gradient(z_q)) ** 2)}

    def losses_of(self, x, out):
        """Per-image reconstruction MSE and prior NLL (nats per code), the batch's commitment
        loss and codebook perplexity."""
        mse = ops.mean(ops.reshape((out["reconstruction"] - x) ** 2, (ops.shape(x)[0], -1)), axis=-1)
        nll = keras.losses.sparse_categorical_crossentropy(ops.cast(out["codes"], "int32"), out["prior_logits"],
                                                           from_logits=True)
        nll = ops.mean(ops.reshape(nll, (ops.shape(x)[0], -1)), axis=-1)
        usage = ops.mean(ops.one_hot(ops.cast(ops.reshape(out["codes"], (-1,)), "int32"), self.quantizer.num_codes),
                         axis=0)
        perplexity = ops.exp(-ops.sum(usage * ops.log(usage + 1e-10)))
        return mse, nll, out["commitment"], perplexity

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        mse, nll, commitment, perplexity = self.losses_of(x, y_pred)
        loss = ops.mean(mse) + self.beta * commitment + ops.mean(nll)
        for name, value in (("loss", loss), ("reconstruction_mse", mse), ("commitment", commitment),
                            ("prior_nll", nll), ("perplexity", perplexity)):
            self.trackers[name].update_state(value)
        return scale_for_replicas(loss)

    def sample(self, count, seed=0, temperature=1.0):
        """`count` images decoded from codes that the prior draws (seed: zoo.portable_random's)."""
        codes = sample_codes(lambda c: self.prior.predict_on_batch(c), count, self.grid, seed, temperature)
        return self.decode(codes)

    def decode(self, codes):
        return self.decoder.predict_on_batch(np.asarray(self.quantizer.lookup(codes)))

    def get_config(self):
        return {**super().get_config(), "beta": self.beta,
                **{name: keras.saving.serialize_keras_object(getattr(self, name))
                   for name in ("encoder", "quantizer", "decoder", "prior")}}

    @classmethod
    def from_config(cls, config):
        for name in ("encoder", "quantizer", "decoder", "prior"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)


@dataclasses.dataclass(frozen=True)
class VQVAEHyperparameters(FashionMNISTHyperparameters):
    epochs: int = default(Hyperparameters, "epochs", 15)
    batch_size: int = default(Hyperparameters, "batch_size", 128)
    learning_rate: float = default(Hyperparameters, "learning_rate", 2e-3)
    # float32: the codebook's distances need it, and the export wrappers of the quantizer are
    # not serialisable (a bfloat16 network is exported through a float32 copy of it)
    mixed_precision: bool | str = default(FashionMNISTHyperparameters, "mixed_precision", False)
    num_codes: int = hp(128, "codebook size K: the codes each of the 7x7 positions chooses from", minimum=2)
    code_dim: int = hp(32, "size of each codebook vector", minimum=1)
    width: int = hp(64, "channels of the encoder's and decoder's convolutions at 7x7", minimum=2)
    residual_blocks: int = hp(2, "residual blocks of the encoder and of the decoder", minimum=0)
    beta: float = hp(0.25, "weight of the commitment loss that holds the encoder near its codes", minimum=0.0)
    ema_decay: float = hp(0.99, "decay of the codebook's exponential moving averages", minimum=0.0)
    prior_width: int = hp(64, "channels of the PixelCNN prior", minimum=1)
    prior_layers: int = hp(8, "gated layers of the PixelCNN prior", minimum=1)
    prior_kernel: int = hp(3, "kernel size of the prior's shifted convolutions (odd); 8 layers of 3 see the whole "
                                 "7x7 grid before a position", minimum=3)
    schedule: str = schedule("cosine")


@register
class VQVAERecipe(cnn.MeasuredByTheCNN, Recipe):
    name = "vqvae"
    model_class = VQVAE
    task = Task.VQ_VAE
    description = "VQ-VAE: EMA codebook with dead-code restarts, straight-through decoder; gated PixelCNN prior"
    paper = "van den Oord, Vinyals & Kavukcuoglu 2017, Neural Discrete Representation Learning"
    Hyperparameters = VQVAEHyperparameters
    # Codes are discrete: the encoder's outputs and the decoder's and prior's inputs. The prior's
    # logits pick the codes by sampling, and int8 weights moved them too far (under 30 dB).
    quantizations = {ENCODER: (), DECODER: ("fp16", "dynamic"), PRIOR: ("fp16",)}
    metric_notes = {FRECHET_DISTANCE: "Fréchet distance of the prior's samples on the zoo CNN's pooled features, not "
                                      "Inception (unavailable offline)"}

    def build_model(self, info):
        hp = self.hp
        if hp.prior_kernel % 2 == 0:
            raise ZooError(f"--prior-kernel must be odd, got {hp.prior_kernel}")
        shape = info.image_shape
        encoder = build_encoder(shape, hp.width, hp.code_dim, hp.residual_blocks)
        grid = tuple(encoder.outputs[0].shape[1:3])
        model = VQVAE(encoder, VectorQuantizer(hp.num_codes, hp.code_dim, hp.ema_decay, seed=self.seed,
                                               name="quantizer"),
                      build_decoder(grid, hp.code_dim, hp.width, hp.residual_blocks, shape[-1]),
                      build_prior(grid, hp.num_codes, hp.prior_width, hp.prior_layers, hp.prior_kernel),
                      beta=hp.beta, name=self.name)
        model.build((None, *shape))
        return model

    def compile_model(self, model, info):
        rate = learning_rate(self.config, info, schedule=self.hp.schedule)
        model.compile(optimizer=keras.optimizers.Adam(rate), **self.compile_options())

    def callbacks(self, run, splits):
        return [SamplesEachEpoch(run.images, self.seed)]

    def evaluate(self, model, splits):
        """Test reconstruction MSE (pixels in [0, 1]), prior NLL, codebook perplexity and use, and
        the Fréchet distance of the prior's samples."""
        x, _ = test_arrays(splits)
        mse, nll, codes = [], [], []
        for i in range(0, len(x), EVAL_BATCH):
            out = model(x[i:i + EVAL_BATCH], training=False)
            m, n, _, _ = model.losses_of(x[i:i + EVAL_BATCH], out)
            mse.append(np.asarray(m))
            nll.append(np.asarray(n))
            codes.append(np.asarray(out["codes"]).astype(np.int64).ravel())
        counts = np.bincount(np.concatenate(codes), minlength=model.quantizer.num_codes)
        usage = counts / counts.sum()
        metrics = {"test_reconstruction_mse": float(np.concatenate(mse).mean()),
                   "test_prior_nll_nats_per_code": float(np.concatenate(nll).mean()),
                   "test_perplexity": float(np.exp(-(usage[usage > 0] * np.log(usage[usage > 0])).sum())),
                   "test_codes_used": int((counts > 0).sum()), "test_images": int(len(x))}
        self._test_counts = counts
        classifier = self.classifier(splits)
        if classifier is not None:
            sample = lambda count, rng: model.sample(count, seed=int(rng.integers(2**32)))  # noqa: E731
            metrics.update(sample_frechet_distance(sample, splits, classifier, cnn.FEATURE_LAYER, seed=self.seed))
        return metrics

    def report(self, run, model, splits):
        x, _ = test_arrays(splits, limit=16)
        reconstruction = np.asarray(model(x)["reconstruction"])
        save_image(run.images / "reconstructions.png", sample_grid(np.concatenate([x, reconstruction]), cols=len(x)))
        save_image(run.images / "samples.png", sample_grid(model.sample(SAMPLES, self.seed), cols=8))
        counts = getattr(self, "_test_counts", None)
        if counts is not None:
            codebook_usage_png(run.images / "codebook_usage.png", read_json(run.state_path)["history"], counts)

    def exportables(self, model):
        q = model.quantizer
        image = image_input(model.encoder.inputs[0].shape[1:])
        codes = keras.Input(shape=model.grid, name=CODES)
        return {ENCODER: keras.Model(image, {CODES: CodeIndices(q)(model.encoder(image))}, name=ENCODER),
                DECODER: keras.Model(codes, {IMAGE: model.decoder(CodeVectors(q)(codes))}, name=DECODER),
                PRIOR: keras.Model(codes, {LOGITS: model.prior(codes)}, name=PRIOR)}

    def sample_input(self, name, shape, images, rng):
        """Codes for the decoder and the prior: random indices of the codebook."""
        if name == CODES:
            return rng.integers(0, self.hp.num_codes, (len(images), *shape)).astype("float32")
        return super().sample_input(name, shape, images, rng)

    def release(self, run_root, dest):
        return ["The autoencoder and its prior were trained together, in one run: one command, one checkpoint "
                "to resume, one export. The prior learns the codes of each batch as the encoder assigns them "
                "(its input carries no gradient back), so it follows the codebook while it settles.", "",
                "The Fréchet distance is that of the prior's samples (5,000, ancestral sampling at temperature 1) "
                "on the pooled features of the released zoo CNN (`saved_models/cnn-fashion_mnist`), not "
                "Inception (unavailable offline), as for the DCGAN; the floor is the same distance between two "
                "halves of the real test set. The reconstruction error is the mean squared error of pixels in "
                "[0, 1] over the 10,000 test images.", ""]

    def export_metadata(self, networks) -> dict:
        """What a sampler needs beyond the files: the grid of codes and the codebook's size."""
        prior = networks[PRIOR]
        return {"code_grid": list(prior.inputs[0].shape[1:]), "num_codes": int(prior.outputs[0].shape[-1])}


class SamplesEachEpoch(keras.callbacks.Callback):
    """A grid of the prior's samples from the same seed after every epoch."""

    def __init__(self, folder, seed=0):
        super().__init__()
        self.folder, self.seed = folder, seed

    def on_epoch_end(self, epoch, logs=None):
        save_image(self.folder / f"samples_epoch_{epoch + 1:03d}.png",
                   sample_grid(self.model.sample(SAMPLES, self.seed), cols=8))
