"""The registered models: shapes, a real training step, safe-mode save/load, metrics maths."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from zoo import registry
from zoo.data import load, make_pipeline
from zoo.data.sources import SAMPLE_DIR
from zoo.evaluation import frechet_distance
from zoo.models.common import num_halvings
from zoo.runs import load_keras_model


@pytest.fixture(scope="module")
def batch():
    splits = load(str(SAMPLE_DIR), limit=64)
    x, y = next(iter(make_pipeline(splits.train, batch_size=32, training=True, augment="crop+flip")))
    return splits.info, x.numpy(), y.numpy()


def recipe(name, **overrides):
    cls = registry.get(name)
    return cls({**cls.defaults, "seed": 1, **overrides})


def test_registry_lists_the_zoo():
    assert {"cnn", "vae", "dcgan"} <= set(registry.names())
    with pytest.raises(Exception, match="unknown model 'nope'; known models: "):
        registry.get("nope")


@pytest.mark.parametrize("side,expected", [(28, 2), (32, 3), (64, 4), (96, 4)])
def test_num_halvings(side, expected):
    assert num_halvings(side) == expected


@pytest.mark.parametrize("name", ["cnn", "vae", "dcgan"])
def test_train_step_save_and_safe_load(name, batch, tmp_path):
    info, x, y = batch
    r = recipe(name, batch_size=32, epochs=1)
    model = r.build(info)
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
    for values in history.history.values():
        assert np.all(np.isfinite(values))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = load_keras_model(path)
    for export_name, exported in r.exportables(loaded).items():
        original = r.exportables(model)[export_name]
        inputs = x if exported.inputs[0].shape[-1] == x.shape[-1] and exported.inputs[0].ndim == 4 else \
            np.random.default_rng(0).standard_normal((4, exported.inputs[0].shape[-1])).astype(np.float32)
        got, want = exported(inputs[:4]), original(inputs[:4])
        keras.tree.map_structure(lambda a, b: np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5),
                                 got, want)


def test_exportables_have_named_inputs_and_outputs(batch):
    info, _, _ = batch
    cnn = recipe("cnn").exportables(recipe("cnn").build(info))["classifier"]
    assert cnn.inputs[0].name == "image"
    assert set(cnn.output) == {"logits", "probabilities"}
    vae = recipe("vae").exportables(recipe("vae").build(info))
    assert set(vae) == {"encoder", "decoder"}
    assert set(vae["encoder"].output) == {"z_mean", "z_log_var"}
    gen = recipe("dcgan").exportables(recipe("dcgan").build(info))["generator"]
    assert gen.output.shape[1:] == (28, 28, 1)


def test_generators_emit_images_in_unit_range(batch):
    info, _, _ = batch
    for name, part in (("dcgan", "generator"), ("vae", "decoder")):
        net = recipe(name).exportables(recipe(name).build(info))[part]
        images = np.asarray(net(np.random.default_rng(0).standard_normal((8, net.inputs[0].shape[-1])).astype("float32")))
        assert images.shape == (8, 28, 28, 1) and images.min() >= 0 and images.max() <= 1


def test_vae_elbo_terms_are_nats_per_image(batch):
    info, x, _ = batch
    model = recipe("vae").build(info)
    rec, kl = (np.asarray(t) for t in model.negative_elbo(x))
    assert rec.shape == kl.shape == (len(x),)
    # An untrained decoder outputs ~0.5 everywhere: -log(0.5) nats per pixel.
    assert np.all(kl >= 0) and abs(rec.mean() - 784 * np.log(2)) < 60


def test_frechet_distance_matches_closed_form():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20000, 4))
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    shifted = a + np.array([1.0, 2.0, 0.0, 0.0])
    assert frechet_distance(a, shifted) == pytest.approx(5.0, rel=1e-6)
    scaled = a * 2.0  # N(0, I) vs N(0, 4I): per dim 1 + 4 - 2*2 = 1
    assert frechet_distance(a, scaled) == pytest.approx(4.0, rel=0.05)
