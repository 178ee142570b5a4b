"""The StyleGAN's parts on their own: the modulated convolution against the paper's per-image
weights, noise (random while training, fixed after), style mixing, truncation, the R1
penalty's input gradient, and progressive growing's schedule and images. Its training,
pictures, exports and samples without TensorFlow run with the other models' (test_train_cli,
test_export, test_deploy, test_web)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import zoo
from zoo import models
from zoo.errors import ZooError
from zoo.models.common import global_policy
from zoo.models.stylegan import ModulatedConv2D, at_level_of_detail, input_gradient, level_of_detail, num_styles


class Info:
    image_shape, num_train = (28, 28, 1), 512


def stylegan(**config):
    recipe = models.get("stylegan")({**models.get("stylegan").defaults, "width": 16, "seed": 0, **config})
    return recipe.build_model(Info)


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_convolution_is_a_convolution_by_each_images_own_weights(demodulate):
    """The layer scales inputs, convolves once and scales outputs; the paper modulates and
    demodulates each image's weights and convolves each image by its own: the same numbers."""
    rng = np.random.default_rng(0)
    layer = ModulatedConv2D(5, 3, demodulate=demodulate, noise=False, activate=False)
    x = rng.normal(size=(2, 6, 6, 4)).astype(np.float32)
    w = rng.normal(size=(2, 8)).astype(np.float32)
    layer.build(((None, 6, 6, 4), (None, 8)))
    layer.bias.assign(rng.normal(size=5).astype(np.float32))
    out = np.asarray(layer([x, w]))
    style = np.asarray(layer.affine(w))
    for i in range(2):
        weight = np.asarray(layer.kernel) * layer.scale * style[i][None, None, :, None]  # [k, k, in, out]
        if demodulate:
            weight = weight / np.sqrt((weight ** 2).sum(axis=(0, 1, 2)) + 1e-8)
        own = np.asarray(keras.ops.conv(x[i:i + 1], weight, padding="same"))[0] + np.asarray(layer.bias)
        np.testing.assert_allclose(out[i], own, atol=1e-4)


def test_noise_is_random_in_training_and_fixed_after():
    layer = ModulatedConv2D(3, 3, seed=1)
    x, w = np.ones((2, 5, 5, 2), np.float32), np.ones((2, 4), np.float32)
    layer.build(((None, 5, 5, 2), (None, 4)))
    layer.noise_strength.assign(1.0)
    a, b = (np.asarray(layer([x, w], training=True)) for _ in range(2))
    assert np.abs(a - b).max() > 0.1 and np.abs(a[0] - a[1]).max() > 0.1  # fresh per call and per image
    c, d = (np.asarray(layer([x, w])) for _ in range(2))
    assert np.array_equal(c, d) and np.array_equal(c[0], c[1])  # the buffer: a function of the inputs


def test_style_mixing_switches_from_one_w_to_another_once():
    model = stylegan(style_mixing=1.0)
    ws, w = (np.asarray(t) for t in model.styles(32))
    assert ws.shape == (32, num_styles(28), 128)
    cutoffs = set()
    for image, first in zip(ws, w):
        np.testing.assert_allclose(image[0], first, atol=1e-6)  # the first style is the batch's w
        change = [k for k in range(1, len(image)) if not np.allclose(image[k], image[k - 1])]
        assert len(change) == 1 and np.allclose(image[change[0]:], image[-1])
        cutoffs.add(change[0])
    assert len(cutoffs) > 1  # the crossover layer is drawn per image
    unmixed, w = (np.asarray(t) for t in stylegan(style_mixing=0.0).styles(4))
    assert np.allclose(unmixed, w[:, None, :])


def test_truncation_pulls_every_image_to_the_average_and_psi_one_is_the_generator():
    model = stylegan()
    model.w_avg.assign(np.random.default_rng(0).normal(size=model.w_avg.shape).astype(np.float32))
    network = model.truncated()
    z = np.random.default_rng(1).standard_normal((4, 128)).astype(np.float32)
    average = np.asarray(network([z, np.zeros((4, 1), np.float32)]))
    assert np.allclose(average, average[:1], atol=1e-6)  # psi 0: one image, whatever z
    np.testing.assert_allclose(np.asarray(network([z, np.ones((4, 1), np.float32)])), np.asarray(model(z)), atol=1e-5)
    assert [i.name for i in network.inputs] == ["z", "truncation"] and network.output.shape[1:] == (28, 28, 1)


def test_r1_gradient_is_the_gradient_of_the_sum_of_outputs():
    x = keras.ops.convert_to_tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_allclose(np.asarray(input_gradient(lambda t: keras.ops.sum(t ** 2, axis=1), x)),
                               2 * np.arange(6).reshape(2, 3))


def test_progressive_growing_schedule_trains_each_resolution_then_fades_in_the_next():
    """Two resolutions above 7x7 in four phases: 7x7 alone, 14x14 fading in, 14x14, 28x28 fading in."""
    progress = [0.0, 0.2, 0.25, 0.375, 0.5, 0.7, 0.75, 0.875, 1.0, 1.5]
    lods = [float(level_of_detail(p, 2)) for p in progress]
    np.testing.assert_allclose(lods, [2, 2, 2, 1.5, 1, 1, 1, 0.5, 0, 0], atol=1e-6)


def test_real_images_at_a_level_of_detail_are_the_generators_blend_of_resolutions():
    images = np.random.default_rng(0).uniform(size=(2, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(at_level_of_detail(images, 0.0, 2)), images, atol=1e-6)
    up = keras.layers.UpSampling2D(interpolation="bilinear")
    pool = lambda x: keras.ops.average_pool(x, 2, 2)  # noqa: E731
    coarse = np.asarray(up(up(pool(pool(images)))))
    np.testing.assert_allclose(np.asarray(at_level_of_detail(images, 2.0, 2)), coarse, atol=1e-6)
    half = np.asarray(up(pool(images)) * 0.5 + up(up(pool(pool(images)))) * 0.5)  # 14x14 half faded in
    np.testing.assert_allclose(np.asarray(at_level_of_detail(images, 1.5, 2)), half, atol=1e-6)


@pytest.fixture
def mixed_precision():
    """bfloat16 compute, as zoo.train trains on a CPU that has it."""
    with global_policy("mixed_bfloat16"):
        yield


def test_progressive_training_grows_both_generators_to_full_resolution(mixed_precision):
    recipe = models.get("stylegan")({**models.get("stylegan").defaults, "width": 16, "seed": 0, "batch_size": 16,
                                     "epochs": 2, "steps_per_epoch": 4, "progressive": 1.0})
    model = recipe.build(Info)
    assert model.grow_steps == 8 and len(model.fades) == 4  # two resolutions in each of two generators
    images = np.random.default_rng(0).uniform(size=(16 * 5, 28, 28, 1)).astype(np.float32)

    def steps(count):  # the step's progress is that of the iterations before it: 0, 1/8, ...
        model.fit(images[:16 * count], batch_size=16, epochs=1, verbose=0)

    steps(1)  # 7x7 alone
    assert all(float(layer.alpha) == 0.0 for layer in model.fades)
    steps(3)  # progress 3/8: 14x14 half faded in
    assert [float(layer.alpha) for layer in model.fades] == [0.5, 0.0, 0.5, 0.0]
    steps(5)  # progress 1: full resolution
    assert all(float(layer.alpha) == 1.0 for layer in model.fades) and model.fades[0].level == 1
    with pytest.raises(ZooError, match="--progressive must be at most 1.0, got 1.5"):
        zoo.create_model("stylegan", progressive=1.5)
