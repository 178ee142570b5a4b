"""What the style models train on: content photos, and pairs of a photo and a painting, split
into training and held-out images and read into tf.data pipelines.

The stylizer trains on photos alone (its paintings are fixed when it is compiled); AdaIN and the
small arbitrary-style network on pairs of a random photo and a random painting. A folder is split
in name order (every `HOLD_OUT_EVERY`-th photo, every `HOLD_OUT_PAINTINGS_EVERY`-th painting, or
the `split` column of a style corpus's PROVENANCE.csv), so the held-out images come from every
source a folder was built from. The benchmarks judge the released models on the same held-out
images through `split_photos` and `split_paintings`. Where JAX is installed without TensorFlow,
the pair recipes read the same folders through `zoo.style.pairs`; TensorFlow is therefore only
imported by the functions that build graphs.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import NamedTuple

import numpy as np

from zoo import data
from zoo.data.sources import PROVENANCE, DatasetInfo, Splits, has_tensorflow, scan_image_folder
from zoo.errors import ZooError
from zoo.images import load_rgb
from zoo.style import pairs
from zoo.style.arbitrary import MIN_STYLE_SIDE
from zoo.style.data import photos_dir

# Photos shipped inside installed packages: training works offline even without the photo folder
# of scripts/build_style_data.py (which is the default when it has been built).
SKIMAGE_TRAIN = ("astronaut.png", "rocket.jpg", "motorcycle_left.png", "motorcycle_right.png", "camera.png",
                 "coins.png", "retina.jpg", "brick.png", "grass.png", "gravel.png", "color.png")
SKIMAGE_TEST = ("chelsea.png", "coffee.png")
HOLD_OUT_EVERY = 10  # every 10th photo of a folder (in name order) is held out of training
HOLD_OUT_PAINTINGS_EVERY = 5  # every 5th painting of a folder (in name order) is held out of training
CACHE_UP_TO = 1000  # folders of at most this many images stay in memory after their first pass


def offline_photos():
    """(train paths, test paths) of the photos in scikit-image's package folder (no import)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise ZooError("no --content given and scikit-image is not installed for its sample photos; "
                       "pass --content with a folder of photos")
    folder = Path(spec.submodule_search_locations[0]) / "data"
    train = [folder / n for n in SKIMAGE_TRAIN if (folder / n).is_file()]
    test = [folder / n for n in SKIMAGE_TEST if (folder / n).is_file()]
    if not train or not test:
        raise ZooError(f"scikit-image's sample photos are missing from {folder}; pass --content")
    return train, test


def split_photos(folder):
    """(train, held-out) image paths of a photo folder: every `HOLD_OUT_EVERY`-th is held out,
    so the held-out photos come from every source of a folder sorted by name."""
    paths, _, _ = scan_image_folder(folder)
    if len(paths) < 2:
        raise ZooError(f"--content {folder} needs at least 2 photos (one is held out for evaluation)")
    test = paths[::HOLD_OUT_EVERY]
    return [p for p in paths if p not in set(test)], test


def split_paintings(folder):
    """(train, held-out) painting paths of a folder: every `HOLD_OUT_PAINTINGS_EVERY`-th held
    out. Files that are not images are skipped with one warning (`scan_image_folder`); a
    painting too small to have texture is refused, naming it."""
    from PIL import Image

    paths, _, _ = scan_image_folder(folder)
    for path in paths:
        with Image.open(path) as im:
            width, height = im.size
        if min(width, height) < MIN_STYLE_SIDE:
            raise ZooError(f"style image {path} is {width}x{height}; a painting needs at least {MIN_STYLE_SIDE} "
                           f"pixels on each side to have texture to learn: remove it from {folder}")
    if len(paths) < 2:
        raise ZooError(f"--styles {folder} needs at least 2 paintings (one is held out for the sample pictures)")
    test = paths[::HOLD_OUT_PAINTINGS_EVERY]
    return [p for p in paths if p not in set(test)], test


def split_styles(folder):
    """(train, held-out) style paths of a folder: the `split` column of its PROVENANCE.csv where
    it has one (`build_style_data.py --styles`: adain-paintings' six held-out paintings and every
    10th other image are `test`), else `split_paintings`."""
    provenance = Path(folder) / PROVENANCE
    if provenance.is_file():
        with open(provenance, encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        if rows and "split" in rows[0]:
            held = {r["file"] for r in rows if r["split"] == "test"}
            paths, _, _ = scan_image_folder(Path(folder))
            return [p for p in paths if p.name not in held], [p for p in paths if p.name in held]
    return split_paintings(folder)


def decode_rgb(path):
    """An image file -> uint8 [H, W, 3] in the tf.data graph, as `zoo.images.load_rgb` reads
    files for the CLIs: grey replicated into RGB, transparency composited on white (a painting
    cut out on a transparent background is a painting on white paper)."""
    import tensorflow as tf

    image = tf.cast(tf.io.decode_image(tf.io.read_file(path), expand_animations=False), tf.float32)  # 1 to 4 channels
    channels = tf.shape(image)[-1]
    has_alpha = channels % 2 == 0  # grey + alpha, RGBA
    alpha = tf.cond(has_alpha, lambda: image[..., -1:] / 255.0, lambda: tf.ones_like(image[..., :1]))
    colour = image[..., :channels - tf.cast(has_alpha, tf.int32)]
    colour = tf.broadcast_to(colour, tf.concat([tf.shape(image)[:2], [3]], axis=0))
    image = colour * alpha + 255.0 * (1.0 - alpha)
    return tf.ensure_shape(tf.cast(tf.round(image), tf.uint8), (None, None, 3))


def resize_shorter(image, side):
    """uint8 [H, W, 3] -> uint8 with its shorter side `side` (antialiased), in the graph."""
    import tensorflow as tf

    hw = tf.cast(tf.shape(image)[:2], tf.float32)
    size = tf.cast(tf.math.ceil(hw * side / tf.reduce_min(hw)), tf.int32)
    return tf.cast(tf.clip_by_value(tf.round(tf.image.resize(image, size, antialias=True)), 0, 255), tf.uint8)


def centre_square(image, size):
    """uint8 image -> float32 [size, size, 3] in [0, 1]: shorter side scaled to `size`, centre kept."""
    import tensorflow as tf

    hw = tf.cast(tf.shape(image)[:2], tf.float32)
    scaled = tf.image.resize(tf.cast(image, tf.float32) / 255.0,
                             tf.cast(tf.math.ceil(hw * size / tf.reduce_min(hw)), tf.int32), antialias=True)
    return tf.clip_by_value(tf.image.resize_with_crop_or_pad(scaled, size, size), 0.0, 1.0)


def folder_images(paths):
    """Image files as a tf.data dataset of uint8 RGB images, or their paths without TensorFlow."""
    if not has_tensorflow():
        return [str(p) for p in paths]
    import tensorflow as tf

    paths = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    return paths.map(decode_rgb, num_parallel_calls=tf.data.AUTOTUNE)


class Images(NamedTuple):
    """One source of images: its training and held-out images (`folder_images` or TFDS), and
    what the run's configuration records of it."""
    train: object
    test: object
    source: str
    num_train: int
    num_test: int


def image_source(spec: str, flag: str, split, config: dict) -> Images:
    """A folder split by `split` (decoded in the tf.data graph), or a TFDS name's own splits."""
    folder = Path(spec).expanduser()
    limit = config.get("limit")
    if folder.exists() or spec.startswith((".", "/", "~")):
        if not folder.is_dir():
            raise ZooError(f"{flag} {spec} is not a folder of images")
        train, test = split(folder)
        train = train[:limit] if limit else train
        for path in test:  # few, and read every epoch: a corrupt one is refused now, by name
            load_rgb(path, max_side=MIN_STYLE_SIDE)
        return Images(folder_images(train), folder_images(test),
                      f"image folder {folder} ({len(train)} train / {len(test)} held out)", len(train), len(test))
    if not has_tensorflow():
        raise ZooError(f"{flag} {spec} is not a folder; tensorflow-datasets names need TensorFlow installed")
    splits = data.load(spec, data_dir=config.get("data_dir"), image_size=2 * config["crop_size"], channels=3,
                       limit=limit)
    images = lambda ds: ds.map(lambda x, _: x)  # noqa: E731
    info = splits.info
    return Images(images(splits.train), images(splits.test), info.source, info.num_train, info.num_test)


def _offline_photo_source(config: dict) -> Images:
    """scikit-image's sample photos, which every install has."""
    train, test = offline_photos()
    train = train[:config["limit"]] if config.get("limit") else train
    source = f"scikit-image sample photos in {train[0].parent} ({', '.join(p.stem for p in test)} held out)"
    return Images(folder_images(train), folder_images(test), source, len(train), len(test))


def load_pairs(config: dict, split_styles, kind: str, missing: str) -> Splits:
    """Photos (`--content`, else scikit-image's) and style images (`--styles`, split by
    `split_styles`; `missing` is the error when none is given), each with its held-out images:
    `Splits.train` and `.test` are (photos, styles) pairs of datasets of uint8 images of any
    size. Too few images for a third split: training monitors the held-out ones."""
    content = config.get("content")
    photos = image_source(content, "--content", split_photos, config) if content else _offline_photo_source(config)
    if not config.get("styles"):
        raise ZooError(missing)
    styles = image_source(config["styles"], "--styles", split_styles, config)
    info = DatasetInfo(name=Path(content).name if content else "photos",
                       source=f"photos: {photos.source}; {kind}: {styles.source}", image_shape=(None, None, 3),
                       num_classes=None, class_names=None, num_train=photos.num_train, num_test=photos.num_test)
    held_out = (photos.test, styles.test)
    return Splits((photos.train, styles.train), held_out, info, validation=held_out)


def pair_pipelines(splits: Splits, crop: int, batch_size: int, seed: int, max_scale: float | None = None):
    """Train: endless pairs of a random photo and a random painting, each resized on its
    shorter side (to twice the crop, or with `max_scale` to a random side between the crop and
    max_scale x crop), randomly cropped and flipped. Test: centre squares (of twice the crop)
    of the held-out photos, each with the next held-out painting in turn. A training file that
    passes the folder scan but fails to decode (a truncated JPEG) is skipped: one bad file
    among thousands must not stop a run of hours. Without TensorFlow: `zoo.style.pairs`, at one
    scale."""
    side = 2 * crop
    (photos, paintings), (test_photos, test_paintings) = splits.train, splits.test
    if not has_tensorflow():
        train = pairs.RandomPairs(pairs.load_resized(photos, side), pairs.load_resized(paintings, side), crop,
                                  batch_size, seed)
        test = pairs.HeldOutPairs(pairs.centre_squares(test_photos, side), pairs.centre_squares(test_paintings, side),
                                  batch_size)
        return train, test
    import tensorflow as tf

    largest = side if max_scale is None else int(np.ceil(max_scale * crop))

    def crops(images, seed):
        small = 0 <= int(images.cardinality()) <= CACHE_UP_TO
        images = images.ignore_errors().map(lambda x: resize_shorter(x, largest), num_parallel_calls=tf.data.AUTOTUNE)
        images = images.cache() if small else images

        def crop_and_flip(image, s):
            s1, s2, *s3 = tf.unstack(tf.random.experimental.stateless_split(s, 2 if max_scale is None else 3))
            if max_scale is not None:
                shorter = tf.random.stateless_uniform((), s3[0], crop, largest + 1, dtype=tf.int32)
                image = resize_shorter(image, tf.cast(shorter, tf.float32))
            image = tf.image.stateless_random_crop(image, (crop, crop, 3), s1)
            return tf.cast(tf.image.stateless_random_flip_left_right(image, s2), tf.float32) / 255.0

        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        images = tf.data.Dataset.zip((images.repeat().shuffle(256, seed=seed), seeds))
        return images.map(crop_and_flip, num_parallel_calls=tf.data.AUTOTUNE)

    train = tf.data.Dataset.zip((crops(photos, seed), crops(paintings, seed + 1)))
    train = train.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    centre = lambda ds: ds.map(lambda image: centre_square(image, side))  # noqa: E731
    test = tf.data.Dataset.zip((centre(test_photos), centre(test_paintings).repeat())).batch(batch_size)
    return train, test


def held_out_pairs(splits: Splits, side: int, num_photos: int, num_paintings: int):
    """(photos, paintings): the first held-out ones, float32 centre squares of side `side`."""
    photos, paintings = splits.test
    if not has_tensorflow():
        return pairs.centre_squares(photos[:num_photos], side), pairs.centre_squares(paintings[:num_paintings], side)
    squares = lambda ds, n: [centre_square(x, side).numpy() for x in ds.take(n)]  # noqa: E731
    return squares(photos, num_photos), squares(paintings, num_paintings)


def load_photos(config: dict) -> Splits:
    """Content photos alone (the stylizer's): `--content` (a folder or a TFDS name, see
    `image_source`), else the folder of build_style_data.py, else scikit-image's."""
    content = config.get("content")
    if content or photos_dir().is_dir():
        photos = image_source(content or str(photos_dir()), "--content", split_photos, config)
    else:
        photos = _offline_photo_source(config)
    info = DatasetInfo(name=Path(content).name if content else "photos", source=photos.source,
                       image_shape=(None, None, 3), num_classes=None, class_names=None, num_train=photos.num_train,
                       num_test=photos.num_test)
    # A few hundred photos make no third split: training monitors the held-out photos.
    return Splits(photos.train, photos.test, info, validation=photos.test)


def photo_pipelines(splits: Splits, crop: int, batch_size: int, seed: int, num_styles: int, eval_size: int):
    """The stylizer's. Train: endless random crops of random scales, flipped at random, each with
    a random style (one-hot weights). Test: centre squares of side `eval_size` of the held-out
    photos, cycling through the styles, one a batch."""
    import tensorflow as tf

    def augment(image, s):
        s1, s2, s3, s4 = tf.unstack(tf.random.experimental.stateless_split(s, 4))
        hw = tf.cast(tf.shape(image)[:2], tf.float32)
        # shorter side scaled to between 1x and 2x the crop: from whole-photo views to details
        side = tf.random.stateless_uniform((), s1, crop, 2.0 * crop)
        size = tf.cast(tf.math.ceil(hw * side / tf.reduce_min(hw)), tf.int32)
        image = tf.image.resize(tf.cast(image, tf.float32) / 255.0, size, antialias=True)
        image = tf.image.stateless_random_crop(image, (crop, crop, 3), s2)
        image = tf.clip_by_value(tf.image.stateless_random_flip_left_right(image, s3), 0.0, 1.0)
        style = tf.random.stateless_uniform((), s4, 0, num_styles, dtype=tf.int32)
        return image, tf.one_hot(style, num_styles)

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    train = splits.train.cache() if splits.info.num_train <= CACHE_UP_TO else splits.train  # photos stay in memory
    train = tf.data.Dataset.zip((train.repeat().shuffle(256, seed=seed), seeds))
    train = train.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    train = train.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    test = splits.test.map(lambda image: centre_square(image, eval_size)).enumerate()
    test = test.map(lambda i, image: (image, tf.one_hot(tf.cast(i % num_styles, tf.int32), num_styles))).batch(1)
    return train, test
