"""Test-set metrics of each task, shared by `zoo.train` (end of run) and `zoo.evaluate`."""

from __future__ import annotations

import numpy as np

from zoo.errors import ZooError
from zoo.log import log

EVAL_BATCH = 256
FRECHET_DISTANCE = "test_frechet_distance_zoo_cnn"  # the DCGAN's metric, on the zoo CNN's features
VALIDATION_FRECHET_DISTANCE = "val_frechet_distance"  # the same, after every epoch, to the validation split


def test_arrays(splits, limit=None):
    """The test split as float32 images in [0, 1] and int labels (Fashion-MNIST: 31 MB)."""
    return split_arrays(splits.test.take(limit) if limit else splits.test)


def split_arrays(ds):
    """A split's (uint8 image, label) dataset as float32 images in [0, 1] and int labels."""
    from zoo.data import make_pipeline

    batches = make_pipeline(ds, batch_size=EVAL_BATCH, training=False, cache=False)
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in batches))
    return np.concatenate(xs), np.concatenate(ys)


def classifier_predictions(model, splits):
    """(images, labels, logits) of the test split."""
    x, y = test_arrays(splits)
    return x, y, model.predict(x, batch_size=EVAL_BATCH, verbose=0)


def classifier_metrics(labels, logits):
    return {"test_accuracy": float((logits.argmax(-1) == labels).mean()), "test_images": int(len(labels))}


def vae_negative_elbo(model, splits):
    """Mean test-set negative ELBO in nats per image (one z sample per image), and its terms."""
    x, _ = test_arrays(splits)
    rec, kl = [], []
    for i in range(0, len(x), EVAL_BATCH):
        r, k = model.negative_elbo(x[i:i + EVAL_BATCH])
        rec.append(np.asarray(r))
        kl.append(np.asarray(k))
    rec, kl = np.concatenate(rec), np.concatenate(kl)
    return {
        "test_negative_elbo_nats": float((rec + kl).mean()),
        "test_reconstruction_nats": float(rec.mean()),
        "test_kl_nats": float(kl.mean()),
        "test_images": int(len(x)),
    }


def frechet_distance(a, b):
    """Fréchet distance between Gaussians fitted to feature sets a and b (rows are samples).

    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2), computed with symmetric
    eigendecompositions so it needs only numpy and never yields complex round-off.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s_a)
    sqrt_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(sqrt_a @ s_b @ sqrt_a), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * cross)


def feature_extractor(classifier, feature_layer, image_shape):
    """`classifier` up to its layer `feature_layer` (the zoo CNN's global pooling): the features
    the Fréchet distance compares, of images of `image_shape` (H, W, C), which it must take."""
    import keras

    if tuple(classifier.inputs[0].shape[1:]) != tuple(image_shape):
        raise ZooError(f"classifier takes {tuple(classifier.inputs[0].shape[1:])} images, the data is "
                       f"{tuple(image_shape)}; pass --classifier a zoo CNN trained on this data")
    return keras.Model(classifier.inputs, classifier.get_layer(feature_layer).output)


def latent_sampler(generator):
    """`sample(count, rng)`: images that `generator` draws from N(0, I) noise of `rng` (a GAN's
    generator, a VAE's decoder)."""
    def sample(count, rng):
        z = rng.standard_normal((count, generator.inputs[0].shape[-1])).astype(np.float32)
        return generator.predict(z, batch_size=EVAL_BATCH, verbose=0)

    return sample


def generated_features(sample, features, count, rng):
    """`features` of `count` images of `sample(count, rng)`."""
    return features.predict(sample(count, rng), batch_size=EVAL_BATCH, verbose=0)


def sample_frechet_distance(sample, splits, classifier, feature_layer, seed=0):
    """Fréchet distance of `count` images of `sample(count, rng)` (any generative model: a GAN's
    generator through `latent_sampler`, a VQ-VAE's prior and decoder) to half of the test set, and
    the real-vs-real floor.

    Inception weights are not available offline, so features come from the zoo's own trained CNN
    for the same dataset; numbers are comparable only between runs measured with the same CNN.
    """
    x, _ = test_arrays(splits)
    features = feature_extractor(classifier, feature_layer, x.shape[1:])
    half = len(x) // 2
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    real_a = features.predict(x[order[:half]], batch_size=EVAL_BATCH, verbose=0)
    real_b = features.predict(x[order[half:2 * half]], batch_size=EVAL_BATCH, verbose=0)
    fake = generated_features(sample, features, half, rng)
    fd, floor = frechet_distance(fake, real_a), frechet_distance(real_b, real_a)
    log.info(f"Fréchet distance on the zoo CNN's features ({features.output.shape[-1]}-d, not Inception): "
             f"{fd:.3f} (real-vs-real floor {floor:.3f}, {half} images each)")
    return {FRECHET_DISTANCE: fd, "test_frechet_distance_floor": floor, "fd_images": int(half)}
