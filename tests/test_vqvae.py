"""The VQ-VAE's parts on their own: the codebook (nearest codes, moving averages, dead-code
restarts, the straight-through gradient), the PixelCNN prior's causality (no position sees its own
code or a later one, and every earlier one reaches it), and the ancestral sampler that every
runtime shares. Its training, exports and samples without TensorFlow run with the other models'
(test_train_cli, test_models, test_export, test_deploy)."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.deploy.autoregressive import sample_codes
from zoo.models.vqvae import VectorQuantizer, build_prior


def quantizer(codebook, **kwargs):
    q = VectorQuantizer(len(codebook), codebook.shape[1], **kwargs)
    q.build((None, 1, 1, codebook.shape[1]))
    q.codebook.assign(codebook)
    return q


def test_nearest_code_and_straight_through():
    import keras

    codebook = np.array([[0.0, 0.0], [1.0, 1.0], [-2.0, 3.0]], np.float32)
    q = quantizer(codebook)
    z = np.array([[[[0.1, -0.2], [0.9, 1.3]], [[-1.5, 2.0], [5.0, 5.0]]]], np.float32)  # [1, 2, 2, 2]
    z_q, codes = q(z)
    assert np.asarray(codes).tolist() == [[[0, 1], [2, 1]]]
    np.testing.assert_allclose(np.asarray(z_q), codebook[[[0, 1], [2, 1]]][None], atol=1e-6)
    # the decoder's gradient reaches the encoder's vectors unchanged (straight through)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        zt = tf.constant(z)
        with tf.GradientTape() as tape:
            tape.watch(zt)
            out, _ = q(zt)
            loss = tf.reduce_sum(out * np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2))
        np.testing.assert_allclose(tape.gradient(loss, zt).numpy(), np.arange(8).reshape(1, 2, 2, 2))


def test_moving_averages_follow_the_vectors_and_dead_codes_restart():
    rng = np.random.default_rng(0)
    centres = np.array([[3.0, 0.0], [-3.0, 0.0]], np.float32)
    q = quantizer(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 50.0]], np.float32), decay=0.5)
    q.ema_count.assign(np.array([10.0, 10.0, 10.0], np.float32))
    q.ema_sum.assign(np.asarray(q.codebook) * 10.0)
    for _ in range(20):
        batch = centres[rng.integers(0, 2, 64)] + rng.normal(0, 0.1, (64, 2)).astype(np.float32)
        q(batch.reshape(1, 8, 8, 2), training=True)
    codebook = np.asarray(q.codebook)
    np.testing.assert_allclose(codebook[:2], centres, atol=0.1)  # each code at the mean of its vectors
    # code 2, far from every vector, fell under one use per batch and was moved onto the data
    assert np.linalg.norm(codebook[2] - centres, axis=1).min() < 0.5


def test_the_first_step_puts_the_codebook_on_the_data():
    q = VectorQuantizer(16, 4, seed=0)
    z = np.random.default_rng(1).normal(5.0, 1.0, (1, 8, 8, 4)).astype(np.float32)
    q(z, training=True)
    codebook = np.asarray(q.codebook)
    vectors = z.reshape(-1, 4)
    assert all(np.abs(vectors - c).sum(axis=1).min() < 1e-5 for c in codebook)


@pytest.mark.parametrize("kernel", [3, 5])
def test_prior_sees_only_the_codes_before_each_position(kernel):
    """Changing the code at (i, j) leaves the logits of (i, j) and of every position before it
    unchanged, and reaches those after it: the next position in its row and the whole row below
    (8 layers, the default, as here: the vertical stack widens by kernel // 2 columns a layer and
    the horizontal one carries its rows to the right)."""
    import keras

    prior = build_prior((5, 6), 10, 8, 8, kernel)
    rng = np.random.default_rng(0)
    for w in prior.weights:  # random weights: a trained prior's could hide a connection
        w.assign(rng.normal(0, 0.2, w.shape).astype(np.float32))
    # the logits, and the gated stacks' output before the head (whose ReLUs may be off at a position)
    stacks = keras.Model(prior.inputs, [prior.outputs[0], prior.get_layer("gated8_residual").output])
    codes = rng.integers(0, 10, (1, 5, 6)).astype(np.float32)
    base = [np.asarray(t) for t in stacks(codes)]
    order = [(i, j) for i in range(5) for j in range(6)]
    for k, (i, j) in enumerate(order):
        changed = np.repeat(codes, 9, axis=0)
        changed[:, i, j] = (codes[0, i, j] + np.arange(1, 10)) % 10  # every other code there
        logits, features = ((np.abs(np.asarray(t) - b).max(-1) > 0).any(0) for t, b in zip(stacks(changed), base))
        moved = logits | features
        assert not any(moved[p] for p in order[:k + 1]), (i, j, np.argwhere(moved))
        moved = features
        if j + 1 < 6:
            assert moved[i, j + 1], (i, j)
        if i + 1 < 5:
            assert moved[i + 1].all(), (i, j, moved[i + 1])


def test_sampler_draws_from_the_priors_distribution_and_repeats_a_seed():
    target = np.log(np.array([0.1, 0.6, 0.3]))

    def prior(codes):  # the same distribution everywhere, whatever came before
        return np.broadcast_to(target, (*codes.shape, 3))

    codes = sample_codes(prior, 4000, (2, 3), seed=7)
    assert codes.shape == (4000, 2, 3) and codes.dtype == np.float32
    frequencies = np.bincount(codes.astype(int).ravel(), minlength=3) / codes.size
    np.testing.assert_allclose(frequencies, [0.1, 0.6, 0.3], atol=0.01)
    assert np.array_equal(sample_codes(prior, 5, (2, 3), seed=7), codes[:5])  # (the draws are per image)

    def copy_left(codes):  # code (i, j) is that of the position before it, the first one 2
        flat = codes.reshape(len(codes), -1)
        before = np.concatenate([np.full((len(codes), 1), 2.0), flat[:, :-1]], axis=1)
        return np.where(np.eye(3)[before.astype(int)] > 0, 0.0, -1e9).reshape(*codes.shape, 3)

    assert (sample_codes(copy_left, 3, (2, 3), seed=1) == 2).all()  # each position read the one before
