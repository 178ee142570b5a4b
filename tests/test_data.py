"""Data sources and tf.data pipelines, on real Fashion-MNIST files."""

from __future__ import annotations

import gzip
import time

import numpy as np
import pytest
from PIL import Image

from zoo.data import load, make_pipeline
from zoo.data import sources
from zoo.data.idx import read_idx, write_idx
from zoo.errors import ZooError


def test_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x-images-idx3-ubyte.gz", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "x-images-idx3-ubyte.gz"), array)


def test_idx_errors_name_the_problem(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((10, 28, 28), np.uint8))
    raw = gzip.decompress((tmp_path / "a.gz").read_bytes())
    (tmp_path / "truncated.gz").write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(ZooError, match="truncated or corrupt"):
        read_idx(tmp_path / "truncated.gz")
    (tmp_path / "junk.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ZooError, match="cannot read IDX"):
        read_idx(tmp_path / "junk.gz")
    (tmp_path / "magic").write_bytes(b"\x01\x02\x03\x04" + bytes(10))
    with pytest.raises(ZooError, match="bad magic"):
        read_idx(tmp_path / "magic")


def test_embedded_sample_is_real_fashion_mnist():
    splits = load(str(sources.SAMPLE_DIR))
    assert (splits.info.num_train, splits.info.num_test) == (8000, 2000)
    assert splits.info.class_names == sources.FASHION_MNIST_CLASSES
    labels = np.concatenate([y.numpy() for _, y in splits.train.batch(1000)])
    assert np.bincount(labels).tolist() == [800] * 10  # stratified
    image, _ = next(iter(splits.train))
    assert image.shape == (28, 28, 1) and image.dtype.name == "uint8" and image.numpy().max() > 200
    assert (sources.SAMPLE_DIR / "LICENSE").read_text().startswith("The MIT License")


def test_offline_detection_is_fast():
    start = time.perf_counter()
    sources.is_online(timeout=2.0)
    assert time.perf_counter() - start < 4.0


@pytest.mark.skipif(sources.is_online(), reason="needs a machine without internet (CI's)")
def test_offline_fashion_mnist_falls_back_to_real_data(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))  # no prepared copy anywhere
    start = time.perf_counter()
    splits = load("fashion_mnist")
    assert time.perf_counter() - start < 30
    if sources.DEBIAN_FASHION_MNIST.exists():
        assert (splits.info.num_train, splits.info.num_test) == (60000, 10000)
        assert "Debian" in caplog.text or splits.info.source.startswith("IDX files")
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST", tmp_path / "absent")
    splits = load("fashion_mnist")
    assert splits.info.source == "embedded Fashion-MNIST sample"
    assert splits.info.num_train == 8000


def test_prepared_tfds_directory_loads_offline(tmp_path):
    """A folder prepared by tensorflow-datasets (as `--data-dir`) is read without any download."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    x = np.stack([im.numpy() for im, _ in load(str(sources.SAMPLE_DIR)).train.take(60)])
    y = np.arange(60) % 10
    features = tfds.features.FeaturesDict({
        "image": tfds.features.Image(shape=(28, 28, 1)),
        "label": tfds.features.ClassLabel(names=sources.FASHION_MNIST_CLASSES),
    })
    tfds.dataset_builders.store_as_tfds_dataset(
        name="fashion_mnist", version="3.0.1", features=features, data_dir=str(tmp_path),
        split_datasets={"train": tf.data.Dataset.from_tensor_slices({"image": x[:50], "label": y[:50]}),
                        "test": tf.data.Dataset.from_tensor_slices({"image": x[50:], "label": y[50:]})},
    )
    splits = load("fashion_mnist", data_dir=tmp_path)
    assert (splits.info.num_train, splits.info.num_test) == (50, 10)
    assert splits.info.class_names == sources.FASHION_MNIST_CLASSES
    first, label = next(iter(splits.train))
    assert first.shape == (28, 28, 1) and int(label) in range(10)
    with pytest.raises(ZooError, match="no prepared copy"):
        load("mnist", data_dir=tmp_path)


def test_unknown_names_and_missing_folders():
    with pytest.raises(ZooError, match="unknown dataset 'no_such_dataset'"):
        load("no_such_dataset")
    with pytest.raises(ZooError, match="does not exist"):
        load("./no/such/folder")


def _write_images(folder, sizes, fmt="PNG", mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate(sizes):
        pixels = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).convert(mode).save(folder / f"img{i}.{fmt.lower()}", format=fmt)


def test_image_folder_resizes_any_size_and_reports_non_images(tmp_path, caplog):
    _write_images(tmp_path / "a", [(40, 30), (100, 80), (17, 64), (64, 64)], fmt="PNG")
    _write_images(tmp_path / "b", [(50, 50), (33, 90), (128, 20), (70, 70)], fmt="JPEG", mode="L")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    splits = load(str(tmp_path), image_size=32)
    assert "skipped 2 file(s)" in caplog.text and "notes.txt" in caplog.text and "broken.jpg" in caplog.text
    assert splits.info.class_names == ["a", "b"]  # sub-folders are classes
    assert splits.info.image_shape == (32, 32, 3)
    images = [im.numpy() for im, _ in splits.train.concatenate(splits.test)]
    assert len(images) == 8 and all(im.shape == (32, 32, 3) for im in images)


def test_unusable_image_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="no usable images"):
        load(str(tmp_path / "empty"))
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.jpg").write_text("hello")
    with pytest.raises(ZooError, match="no usable images"):
        load(str(tmp_path / "text"))


def test_corrupt_idx_folder_is_refused(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros((4,), np.uint8))
    with pytest.raises(ZooError, match="do not match"):
        load(str(tmp_path))


def _first_batch(seed, augment="crop+flip"):
    splits = load(str(sources.SAMPLE_DIR), limit=256)
    return next(iter(make_pipeline(splits.train, batch_size=32, training=True, augment=augment, seed=seed)))


def test_pipeline_is_float_in_unit_range_and_repeatable():
    x, y = _first_batch(seed=3)
    assert x.shape == (32, 28, 28, 1) and x.dtype.name == "float32" and y.dtype.name == "int32"
    assert 0.0 <= float(x.numpy().min()) and float(x.numpy().max()) <= 1.0
    again, _ = _first_batch(seed=3)
    other, _ = _first_batch(seed=4)
    np.testing.assert_array_equal(x.numpy(), again.numpy())
    assert not np.array_equal(x.numpy(), other.numpy())


def test_adapt_converts_channels_and_limits():
    splits = load(str(sources.SAMPLE_DIR), image_size=32, channels=3, limit=100)
    assert splits.info.image_shape == (32, 32, 3)
    assert (splits.info.num_train, splits.info.num_test) == (100, 20)
    assert len(list(splits.train)) == 100


def test_validation_split_holds_out_the_last_training_images():
    splits = load(str(sources.SAMPLE_DIR))
    held = sources.hold_out_validation(splits, 0.1)
    assert (held.info.num_train, held.info.num_validation, held.info.num_test) == (7200, 800, 2000)
    every = np.concatenate([x.numpy() for x, _ in splits.train.batch(1000)])
    kept = np.concatenate([x.numpy() for x, _ in held.train.batch(1000)])
    validation = np.concatenate([x.numpy() for x, _ in held.validation.batch(1000)])
    np.testing.assert_array_equal(kept, every[:7200])
    np.testing.assert_array_equal(validation, every[7200:])  # disjoint from training, the same whatever the seed
    assert sources.hold_out_validation(splits, 0) is splits
    assert sources.hold_out_validation(splits, 0.00001).info.num_validation == 1  # at least one
    for bad in (1.0, -0.1):
        with pytest.raises(ZooError, match="--validation-split"):
            sources.hold_out_validation(splits, bad)


def test_augmentation_draws_a_flip_and_a_shift_for_each_image_of_a_batch():
    splits = load(str(sources.SAMPLE_DIR), limit=64)
    for augment in ("flip", "crop"):
        # the same shuffle, and so the same images in the same order, as the augmented batch's
        ds = make_pipeline(splits.train, batch_size=64, training=True, augment="none", seed=5)
        originals = next(iter(ds))[0].numpy()
        augmented = next(iter(make_pipeline(splits.train, batch_size=64, training=True, augment=augment,
                                            seed=5)))[0].numpy()
        draws = set()
        for original, image in zip(originals, augmented):
            if augment == "flip":
                candidates = {"kept": original, "flipped": original[:, ::-1]}
            else:  # every shift of up to 3 pixels (28 // 8) with zeros let in
                padded = np.pad(original, ((3, 3), (3, 3), (0, 0)))
                candidates = {(dy, dx): padded[dy:dy + 28, dx:dx + 28] for dy in range(7) for dx in range(7)}
            matches = [key for key, candidate in candidates.items() if np.array_equal(candidate, image)]
            assert matches, f"{augment}: an augmented image is no {augment} of its original"
            draws.add(matches[0])
        assert len(draws) > (1 if augment == "flip" else 10), f"{augment}: one draw for the whole batch"


@pytest.mark.parametrize("steps_per_epoch", [None, 20])
def test_training_batches_repeat_when_epochs_are_a_number_of_steps(steps_per_epoch):
    """256 images make 8 batches of 32: one pass, or with --steps-per-epoch endless batches, each
    pass reshuffled, so that epochs of more steps than a pass are not cut short."""
    from zoo import models

    recipe = models.get("cnn")({**models.get("cnn").defaults, "seed": 0, "steps_per_epoch": steps_per_epoch})
    train, _ = recipe.pipelines(load(str(sources.SAMPLE_DIR), limit=256), 32)
    batches = [x.numpy() for x, _ in train.take(16)]
    if steps_per_epoch is None:
        assert len(batches) == 8
    else:
        assert len(batches) == 16
        first, second = np.concatenate(batches[:8]), np.concatenate(batches[8:])
        assert np.array_equal(np.sort(first.ravel()), np.sort(second.ravel()))  # the same images again
        assert not np.array_equal(first, second)  # in another order
