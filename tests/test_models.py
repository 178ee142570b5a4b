"""The registered models: shapes, a real training step, safe-mode save/load, metrics maths."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from conftest import each_model, tiny_flags
from zoo import models
from zoo.data import load, make_pipeline
from zoo.data.sources import SAMPLE_DIR
from zoo.training.evaluation import frechet_distance
from zoo.models.common import num_halvings
from zoo.names import CLASSIFIER, IMAGE, LATENT, LOGITS, PROBABILITIES, TRUNCATION, Task
from zoo.recipe import GenerativeRecipe
from zoo.training.runs import load_keras_model
from zoo.train import make_config, parse


# Models whose cases here would repeat slower tests of their own files (the reason is shown).
COVERED = {
    "stylizer": "test_stylizer.py trains it against its VGG19 losses and reloads it in safe mode "
                "(test_training_steps_lower_the_perceptual_loss, test_saved_model_loads_in_safe_mode_without_vgg, "
                "test_data_and_exportables)",
    "adain": "test_adain.py trains it against its VGG19 losses and reloads it in safe mode "
             "(test_training_steps_lower_the_loss, test_model_keras_holds_the_decoder_alone_and_loads_in_safe_mode)",
}
_trained: dict = {}


def trained(name, tmp_path_factory):
    """(recipe, test images, model) of `name` after two training steps of a tiny run, configured
    from the shared tiny flags as `python -m zoo.train` configures it, once per session."""
    if name not in _trained:
        cls = models.get(name)
        recipe = cls(make_config(parse([name, *map(str, tiny_flags(name, tmp_path_factory))]), cls))
        splits = recipe.load_data()
        train, test = recipe.pipelines(splits, recipe.config["batch_size"])
        keras.utils.set_random_seed(1)
        model = recipe.build(splits.info)
        history = model.fit(train, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)  # as zoo.train
        for values in history.history.values():
            assert np.all(np.isfinite(values))
        batch = next(iter(test))
        images = (batch[0] if isinstance(batch, tuple) else batch).numpy()[:4]
        _trained[name] = recipe, images, model
    return _trained[name]


def inputs_of(recipe, network, images):
    """Inputs for an exported network, as the exporters make them: the test images for image
    inputs, what the recipe draws for the others (latent vectors: N(0, I))."""
    rng = np.random.default_rng(0)
    values = [images if len(x.shape) == 4 else recipe.sample_input(x.name, tuple(x.shape[1:]), images, rng)
              for x in network.inputs]
    return values[0] if len(values) == 1 else values


def test_registry_lists_the_zoo():
    assert {"cnn", "vae", "dcgan"} <= set(models.names())
    with pytest.raises(Exception, match="unknown model 'nope'; known models: "):
        models.get("nope")


@pytest.mark.parametrize("side,expected", [(28, 2), (32, 3), (64, 4), (96, 4)])
def test_num_halvings(side, expected):
    assert num_halvings(side) == expected


@pytest.mark.slow
@pytest.mark.parametrize("name", each_model(COVERED))
def test_train_steps_save_and_safe_load(name, tmp_path_factory, tmp_path):
    recipe, images, model = trained(name, tmp_path_factory)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = load_keras_model(path)
    original = recipe.exportables(model)
    for export_name, exported in recipe.exportables(loaded).items():
        x = inputs_of(recipe, exported, images)
        keras.tree.map_structure(lambda a, b: np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5),
                                 exported(x), original[export_name](x))


@pytest.mark.parametrize("name", each_model(COVERED))
def test_exportables_have_the_names_the_deploy_side_looks_up(name, tmp_path_factory):
    """Named inputs and outputs everywhere; zoo.classify finds a classifier's probabilities, and
    zoo.generate the network that maps latent vectors to images."""
    recipe, images, model = trained(name, tmp_path_factory)
    networks = recipe.exportables(model)
    for network in networks.values():
        outputs = list(network.output) if isinstance(network.output, dict) else network.output_names
        assert all(x.name and not x.name.startswith(("input_layer", "keras_tensor")) for x in network.inputs)
        assert outputs and not any(n.startswith(("keras_tensor", "functional")) for n in outputs)
    if recipe.task == Task.CLASSIFIER:
        classifier = networks[CLASSIFIER]
        assert [x.name for x in classifier.inputs] == [IMAGE] and set(classifier.output) == {LOGITS, PROBABILITIES}
    if isinstance(recipe, GenerativeRecipe):
        generator = networks[recipe.generator_name]
        names = [x.name for x in generator.inputs]  # zoo.generate feeds z, and a StyleGAN's psi
        assert names in ([LATENT], [LATENT, TRUNCATION]) and generator.output_names == [IMAGE]
        # the pictures' network draws what the exported one draws (a StyleGAN's at psi 1)
        z = np.random.default_rng(0).standard_normal((4, generator.inputs[0].shape[1])).astype(np.float32)
        exported = generator(z if len(names) == 1 else [z, np.ones((4, 1), np.float32)])
        np.testing.assert_allclose(np.asarray(recipe.generator(model)(z)), np.asarray(exported), atol=1e-5)
        drawn = np.asarray(generator(inputs_of(recipe, generator, images)))
        assert drawn.shape[1:] == images.shape[1:] and drawn.min() >= 0 and drawn.max() <= 1


def test_vae_elbo_terms_are_nats_per_image():
    cls = models.get("vae")
    splits = load(str(SAMPLE_DIR), limit=64)
    x, _ = next(iter(make_pipeline(splits.train, batch_size=32, training=False)))
    x = x.numpy()
    model = cls({**cls.defaults, "seed": 1}).build(splits.info)
    rec, kl = (np.asarray(t) for t in model.negative_elbo(x))
    assert rec.shape == kl.shape == (len(x),)
    # An untrained decoder outputs ~0.5 everywhere: -log(0.5) nats per pixel.
    assert np.all(kl >= 0) and abs(rec.mean() - 784 * np.log(2)) < 60


def test_vae_depth_adds_same_resolution_convolutions():
    import zoo

    shallow, deep = (zoo.create_model("vae", depth=d) for d in (1, 2))
    names = lambda net: [layer.name for layer in net.layers if isinstance(layer, keras.layers.Conv2D)]  # noqa: E731
    assert names(deep.encoder) == ["conv1_1", "conv1", "conv2_1", "conv2"]
    assert len(names(deep.decoder)) == len(names(shallow.decoder)) + 2
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    assert deep(x).shape == (2, 28, 28, 1)


def test_vae_activation_reaches_every_hidden_layer():
    import zoo

    for name in ("relu", "silu"):
        model = zoo.create_model("vae", activation=name)
        used = {layer.activation.__name__ for net in (model.encoder, model.decoder) for layer in net.layers
                if getattr(layer, "activation", None) is not None and layer.name not in ("z_mean", "z_log_var", "logits")
                and not isinstance(layer, keras.layers.Activation)}
        assert used == {name}


def test_frechet_distance_matches_closed_form():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20000, 4))
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    shifted = a + np.array([1.0, 2.0, 0.0, 0.0])
    assert frechet_distance(a, shifted) == pytest.approx(5.0, rel=1e-6)
    scaled = a * 2.0  # N(0, I) vs N(0, 4I): per dim 1 + 4 - 2*2 = 1
    assert frechet_distance(a, scaled) == pytest.approx(4.0, rel=0.05)


def test_cnn_view_averaging_and_label_smoothing():
    """--tta flip: the evaluated and exported classifier gives an image and its mirror image the
    same logits, the mean of the network's two; --tta flip+shift: the mean over both moved by
    one pixel each way too (10 views, zeros moving in); --label-smoothing: the loss of a confident
    right answer stays above zero (the target keeps some probability off the label)."""
    from zoo.models.cnn import SmoothedSparseCrossentropy, with_view_averaging

    splits = load(str(SAMPLE_DIR), limit=64)
    x, y = next(iter(make_pipeline(splits.train, batch_size=16, training=False)))
    x, y = x.numpy(), y.numpy()
    recipe = models.get("cnn")({**models.get("cnn").defaults, "seed": 0, "tta": "flip"})
    network = recipe.build_model(splits.info)
    classifier = recipe.classifier(network)
    mirrored = x[:, :, ::-1]
    expected = (np.asarray(network(x)) + np.asarray(network(mirrored))) / 2
    np.testing.assert_allclose(np.asarray(classifier(x)), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(classifier(mirrored)), expected, atol=1e-5)
    assert models.get("cnn")({"tta": "none"}).classifier(network) is network

    def shifted(a, dy, dx):
        padded = np.pad(a, ((0, 0), (1, 1), (1, 1), (0, 0)))
        return padded[:, 1 - dy:1 - dy + a.shape[1], 1 - dx:1 - dx + a.shape[2]]

    views = [shifted(a, dy, dx) for a in (x, mirrored) for dy, dx in ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0))]
    assert np.array_equal(views[1][:, :, 1:], x[:, :, :-1]) and not views[1][:, :, 0].any()  # moved right
    averaged = with_view_averaging(network, "flip+shift")
    expected = np.mean([np.asarray(network(v)) for v in views], axis=0)
    np.testing.assert_allclose(np.asarray(averaged(x)), expected, atol=1e-5)
    assert averaged.count_params() == network.count_params()  # the same weights

    confident = keras.ops.one_hot(y, 10) * 20.0
    plain = float(SmoothedSparseCrossentropy(10)(y, confident))
    smoothed = float(SmoothedSparseCrossentropy(10, 0.1)(y, confident))
    assert plain < 1e-6 and smoothed > 1.0


def test_cnn_blocks_pool_inside_or_between_blocks():
    """--blocks pooled: a stem conv at full resolution, then each block's first conv pools, so
    its second conv runs at the halved side (28 -> 14 -> 7 -> 3); --blocks vgg --stem 0: both convs
    at the block's side, pooling between blocks, as the earlier release was built."""
    from zoo.models.cnn import build_cnn

    def sides(model):
        return {layer.name: layer.output.shape[1] for layer in model.layers if layer.name.endswith("_conv")}

    pooled = build_cnn((28, 28, 1), 10, (8, 16, 32), blocks="pooled", stem=4)
    assert sides(pooled) == {"stem_conv": 28, "block1a_conv": 28, "block1b_conv": 14, "block2a_conv": 14,
                             "block2b_conv": 7, "block3a_conv": 7, "block3b_conv": 3}
    vgg = build_cnn((28, 28, 1), 10, (8, 16, 32), blocks="vgg", stem=0)
    assert sides(vgg) == {"block1a_conv": 28, "block1b_conv": 28, "block2a_conv": 14, "block2b_conv": 14,
                          "block3a_conv": 7, "block3b_conv": 7}
    with pytest.raises(Exception, match="--blocks must be one of pooled, vgg"):
        build_cnn((28, 28, 1), 10, blocks="resnet")


def test_float32_copy_of_a_mixed_precision_network():
    """A CNN built under --mixed-precision computes in bfloat16; what the exporters take is a copy
    with the same weights computing in float32 (TFLite has no bfloat16 kernels), whose logits
    agree with the bfloat16 ones to bfloat16's precision; a float32 network is returned as is."""
    from zoo.models.common import float32_copy, global_policy

    splits = load(str(SAMPLE_DIR), limit=64)
    x, _ = next(iter(make_pipeline(splits.train, batch_size=16, training=False)))
    recipe = models.get("cnn")({**models.get("cnn").defaults, "seed": 0, "tta": "flip+shift"})
    with global_policy("mixed_bfloat16"):
        mixed = recipe.classifier(recipe.build_model(splits.info))
    copy = float32_copy(mixed)
    policies = lambda model: str(keras.saving.serialize_keras_object(model))  # noqa: E731
    assert "mixed_bfloat16" in policies(mixed) and "mixed_bfloat16" not in policies(copy)
    assert [w.name for w in copy.weights] == [w.name for w in mixed.weights]
    for a, b in zip(copy.weights, mixed.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(np.asarray(copy(x)), np.asarray(mixed(x), np.float32), atol=0.1)
    assert float32_copy(copy) is copy


@pytest.mark.slow
def test_dcgan_ema_generator_averages_the_generator(tmp_path):
    """--ema: after each step the averaged generator moves (1 - decay) of the way to the trained
    one (batch-norm statistics too); it is what samples and exports, and model.keras keeps it."""
    cls = models.get("dcgan")
    splits = load(str(SAMPLE_DIR), limit=64)
    recipe = cls({**cls.defaults, "seed": 0, "latent_dim": 8, "ema": 0.75})
    model = recipe.build(splits.info)
    before = [np.asarray(w) for w in model.ema_generator.weights]
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(before, model.generator.weights))
    model.fit(make_pipeline(splits.train, batch_size=32, training=True).take(1), verbose=0, shuffle=False)
    trained = [np.asarray(w) for w in model.generator.weights]
    assert not all(np.array_equal(a, b) for a, b in zip(before, trained))
    for old, new, average in zip(before, trained, model.ema_generator.weights):
        np.testing.assert_allclose(np.asarray(average), 0.75 * old + 0.25 * new, rtol=1e-5, atol=1e-6)
    assert recipe.exportables(model)["generator"] is model.ema_generator is model.sampler
    model.save(tmp_path / "model.keras")
    loaded = load_keras_model(tmp_path / "model.keras")
    for a, b in zip(loaded.ema_generator.weights, model.ema_generator.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert cls({**cls.defaults, "latent_dim": 8}).build(splits.info).ema_generator is None


@pytest.mark.slow
def test_dcgan_hinge_loss_spectral_norm_and_two_rates_train_and_reload(tmp_path):
    """--loss hinge --spectral-norm --d-learning-rate: D's layers are spectrally normalised (no batch
    norm), each optimizer gets its rate, a step trains both nets and model.keras keeps the choice."""
    cls = models.get("dcgan")
    splits = load(str(SAMPLE_DIR), limit=64)
    recipe = cls({**cls.defaults, "seed": 0, "latent_dim": 8, "loss": "hinge", "spectral_norm": True,
                  "learning_rate": 1e-4, "d_learning_rate": 4e-4})
    model = recipe.build(splits.info)
    kinds = {type(layer).__name__ for layer in model.discriminator.layers}
    assert "SpectralNormalization" in kinds and "BatchNormalization" not in kinds
    assert float(model.d_optimizer.learning_rate) == pytest.approx(4e-4)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-4)
    before = [np.asarray(w) for w in model.generator.weights + model.discriminator.trainable_weights]
    history = model.fit(make_pipeline(splits.train, batch_size=32, training=True).take(2), verbose=0, shuffle=False)
    assert all(np.isfinite(v).all() for v in history.history.values())
    after = [np.asarray(w) for w in model.generator.weights + model.discriminator.trainable_weights]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after) if a.size > 1)
    model.save(tmp_path / "model.keras")
    loaded = load_keras_model(tmp_path / "model.keras")
    assert loaded.loss_name == "hinge"
    z = np.random.default_rng(0).standard_normal((2, 8)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(z)), np.asarray(model(z)), atol=1e-6)


def test_learning_rate_schedules_span_the_run(tmp_path):
    """--schedule: constant holds the rate; cosine warms up then decays to 1% at the run's last
    step; anneal holds it for three quarters of the steps, then falls linearly to 0. A model
    whose optimizer holds the anneal schedule saves and loads in safe mode."""
    from zoo.data.sources import DatasetInfo
    from zoo.models.common import learning_rate

    info = DatasetInfo(name="x", source="test", image_shape=(28, 28, 1), num_classes=10, class_names=None,
                       num_train=1000, num_test=0)
    config = {"learning_rate": 0.1, "batch_size": 100, "epochs": 4}  # 10 steps an epoch, 40 in all
    assert learning_rate(config, info) == 0.1
    cosine = learning_rate(config, info, schedule="cosine", warmup_epochs=1)
    assert [round(float(cosine(s)), 4) for s in (0, 5, 10, 40)] == [0.0, 0.05, 0.1, 0.001]
    anneal = learning_rate(config, info, schedule="anneal")
    assert [round(float(anneal(s)), 4) for s in (0, 29, 30, 35, 40, 50)] == [0.1, 0.1, 0.1, 0.05, 0.0, 0.0]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(anneal), loss="mse")
    model.save(tmp_path / "model.keras")
    loaded = load_keras_model(tmp_path / "model.keras")
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.1)  # evaluated at step 0
    assert loaded.optimizer._learning_rate.get_config() == anneal.get_config()


def test_the_released_cnn_measures_generators_from_any_working_folder(tmp_path, monkeypatch):
    """The Fréchet distance's default CNN is found where zoo.load finds released models, not in
    the working folder: a run started elsewhere is measured as one started in the project."""
    from zoo.models.cnn import FEATURE_LAYER, find_classifier
    from zoo.training.runs import released_models

    monkeypatch.delenv("ZOO_MODELS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    cnn = find_classifier(None, "fashion_mnist")
    released = load_keras_model(released_models()["cnn-fashion_mnist"] / "model.keras")
    assert cnn.get_layer(FEATURE_LAYER) is not None
    for mine, theirs in zip(cnn.weights, released.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    assert find_classifier(None, "mnist") is None  # no released CNN for it: the distance is skipped
