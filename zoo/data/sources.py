"""Where images come from: a TFDS name, a folder of IDX files, a folder of images, or the
Fashion-MNIST sample embedded in the package when nothing else can be reached.

Every source returns `Splits`: two `tf.data.Dataset`s of `(image uint8 [H, W, C], label int32)`
with static image shapes, plus a `DatasetInfo`. Turning them into training batches is the job of
`zoo.data.pipeline`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import importlib.util
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zoo.data.idx import find_idx_split, read_idx
from zoo.errors import ZooError
from zoo.log import log

if TYPE_CHECKING:  # the splits' type; building them imports TensorFlow
    import tensorflow as tf

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
SAMPLE_DIR = Path(__file__).parent / "fashion_mnist_sample"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
# Formats that tf.io.decode_image decodes in parallel inside the tf.data graph.
DECODABLE = {"JPEG", "PNG", "GIF", "BMP"}
# The table of where a folder's images come from and under which licence (scripts/build_style_data.py):
# part of an image folder, not a file to warn about.
PROVENANCE = "PROVENANCE.csv"


@dataclasses.dataclass
class DatasetInfo:
    name: str
    source: str  # where the data really came from, for logs, config.json and model cards
    image_shape: tuple  # (H, W, C) of every image the datasets yield
    num_classes: int | None
    class_names: list | None
    num_train: int
    num_test: int
    num_validation: int = 0  # training images held out for monitoring (`hold_out_validation`)

    def to_json(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Splits:
    train: tf.data.Dataset
    test: tf.data.Dataset
    info: DatasetInfo
    # What training monitors after every epoch and what hyper-parameters are tuned on, so that the
    # test split is read once, at the end; None: nothing is monitored.
    validation: tf.data.Dataset | None = None


def has_tensorflow() -> bool:
    """Whether TensorFlow is installed. Accelerator machines may have JAX alone: zoo.train then
    trains without TensorBoard logs, and the photo-painting pairs are read with `zoo.style.pairs`."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except ValueError:  # sys.modules["tensorflow"] is None: its import is blocked
        return False


def hold_out_validation(splits: Splits, fraction: float) -> Splits:
    """Move the last `fraction` of the training images (at least one) into `splits.validation`, as
    Keras's `validation_split` does: the same images whatever the seed. 0 holds out nothing."""
    if not fraction:
        return splits
    n_train = splits.info.num_train
    n_validation = max(1, int(round(n_train * fraction)))
    if not 0 < fraction < 1 or n_validation >= n_train:
        raise ZooError(f"--validation-split {fraction} leaves no training or no validation images of {n_train}")
    kept = n_train - n_validation
    info = dataclasses.replace(splits.info, num_train=kept, num_validation=n_validation)
    return dataclasses.replace(splits, train=splits.train.take(kept), validation=splits.train.skip(kept), info=info)


def load(dataset: str, *, data_dir=None, image_size=None, channels=None, limit=None) -> Splits:
    """Resolve `dataset` (TFDS name or folder) into train and test splits.

    `image_size` resizes every image to a square of that side; `channels` (1 or 3) converts
    grayscale and colour; `limit` keeps the first `limit` training images (and a fifth as many
    test images), for quick runs.
    """
    path = Path(dataset).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ZooError(f"dataset {dataset!r} is a file; give a folder of IDX files or images")
        if find_idx_split(path, "train"):
            splits = _from_idx_folder(path, name=path.name)
        else:
            splits = _from_image_folder(path, image_size=image_size or 64, channels=channels or 3)
    elif dataset.startswith((".", "/", "~")):
        raise ZooError(f"dataset folder {dataset!r} does not exist")
    else:
        splits = _from_tfds(dataset, data_dir)
    return _adapt(splits, image_size=image_size, channels=channels, limit=limit)


# --- TFDS --------------------------------------------------------------------------------------

def is_online(host="storage.googleapis.com", port=443, timeout=3.0) -> bool:
    """True if TFDS's download host answers within `timeout` seconds.

    TFDS itself retries DNS for minutes when offline; this check answers in seconds. Runs in a
    thread because a stuck resolver can ignore socket timeouts.
    """
    def probe():
        with socket.create_connection((host, port), timeout=timeout):
            return True

    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        return pool.submit(probe).result(timeout=timeout + 0.5)
    except Exception:
        return False
    finally:
        pool.shutdown(wait=False)


def _from_tfds(name, data_dir) -> Splits:
    import tensorflow as tf
    import tensorflow_datasets as tfds

    if data_dir and (Path(data_dir) / "dataset_info.json").exists():
        builder = tfds.builder_from_directory(str(data_dir))
    else:
        try:
            builder = tfds.builder(name, data_dir=str(data_dir) if data_dir else None)
        except tfds.core.registered.DatasetNotFoundError:
            raise ZooError(
                f"unknown dataset {name!r}: not a folder and not a tensorflow-datasets name "
                "(see https://www.tensorflow.org/datasets/catalog)"
            ) from None
        if not builder.is_prepared():
            if data_dir:
                raise ZooError(f"no prepared copy of {name!r} in --data-dir {data_dir}")
            if not is_online():
                return _offline_fallback(name)
            log.info(f"downloading {name} with tensorflow-datasets into {builder.data_dir}")
            builder.download_and_prepare()
    features = builder.info.features
    if "image" not in features:
        raise ZooError(f"dataset {name!r} has no 'image' feature")
    label_names = None
    if "label" in features and hasattr(features["label"], "names"):
        label_names = list(features["label"].names)
    split_names = list(builder.info.splits.keys())
    train_split = "train" if "train" in split_names else split_names[0]
    test_split = "test" if "test" in split_names else None

    def as_pairs(split):
        ds = builder.as_dataset(split=split, shuffle_files=False)
        if label_names:
            return ds.map(lambda x: (x["image"], tf.cast(x["label"], tf.int32)), tf.data.AUTOTUNE)
        return ds.map(lambda x: (x["image"], tf.constant(0, tf.int32)), tf.data.AUTOTUNE)

    train = as_pairs(train_split)
    n_train = builder.info.splits[train_split].num_examples
    if test_split:
        test, n_test = as_pairs(test_split), builder.info.splits[test_split].num_examples
    else:  # hold out a tenth of train
        n_test = n_train // 10
        test, train, n_train = train.take(n_test), train.skip(n_test), n_train - n_test
    shape = tuple(features["image"].shape)
    info = DatasetInfo(
        name=builder.info.name, source=f"tensorflow-datasets {builder.info.full_name} ({builder.data_dir})",
        image_shape=shape, num_classes=len(label_names) if label_names else None,
        class_names=label_names, num_train=n_train, num_test=n_test,
    )
    return Splits(train, test, info)


def _offline_fallback(name) -> Splits:
    if name != "fashion_mnist":
        raise ZooError(
            f"cannot download {name!r}: no internet and no prepared copy; pass --data-dir with a "
            "prepared tensorflow-datasets folder, or a folder of IDX files or images as --dataset"
        )
    if find_idx_split(DEBIAN_FASHION_MNIST, "train"):
        log.info(f"offline: using the full Fashion-MNIST from {DEBIAN_FASHION_MNIST} (Debian package)")
        return _from_idx_folder(DEBIAN_FASHION_MNIST, name="fashion_mnist")
    log.info(
        "offline: using the 10,000-image Fashion-MNIST sample embedded in the package "
        "(8,000 train / 2,000 test); install Debian's dataset-fashion-mnist for the full set"
    )
    return _from_idx_folder(SAMPLE_DIR, name="fashion_mnist", source="embedded Fashion-MNIST sample")


# --- IDX folders -------------------------------------------------------------------------------

def _from_idx_folder(folder: Path, *, name, source=None) -> Splits:
    import tensorflow as tf

    train_files = find_idx_split(folder, "train")
    test_files = find_idx_split(folder, "t10k") or find_idx_split(folder, "test")
    x_train, y_train = (read_idx(p) for p in train_files)
    if test_files:
        x_test, y_test = (read_idx(p) for p in test_files)
    else:
        n = len(x_train) // 10
        x_test, y_test, x_train, y_train = x_train[:n], y_train[:n], x_train[n:], y_train[n:]
    for x, y, files in ((x_train, y_train, train_files), (x_test, y_test, test_files or train_files)):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ZooError(f"IDX files {files[0].name} and {files[1].name} do not match: {x.shape} vs {y.shape}")
        if len(x) == 0:
            raise ZooError(f"IDX file {files[0]} holds no images")
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    fashion = "fashion" in str(folder).lower() or folder == SAMPLE_DIR
    if fashion and num_classes == 10:  # the same data as TFDS's fashion_mnist, so the same name
        name, class_names = "fashion_mnist", FASHION_MNIST_CLASSES
    else:
        class_names = [str(i) for i in range(num_classes)]
    info = DatasetInfo(
        name=name, source=source or f"IDX files in {folder}",
        image_shape=(*x_train.shape[1:], 1), num_classes=num_classes, class_names=class_names,
        num_train=len(x_train), num_test=len(x_test),
    )

    def arrays(x, y):
        return tf.data.Dataset.from_tensor_slices((x[..., None], y.astype(np.int32)))

    return Splits(arrays(x_train, y_train), arrays(x_test, y_test), info)


# --- image folders -----------------------------------------------------------------------------

def scan_image_folder(folder: Path):
    """List decodable images under `folder` and report every file that is not one.

    Returns (paths, labels, class_names); class names are the immediate sub-folders when every
    image sits in one, else None (an unlabelled folder, fine for the DCGAN and VAE).
    """
    from PIL import Image, UnidentifiedImageError

    images, skipped = [], []
    for p in sorted(q for q in folder.rglob("*") if q.is_file() and not q.name.startswith(".")
                    and q.name != PROVENANCE):
        try:
            with Image.open(p) as im:
                fmt = im.format
                im.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            skipped.append(f"{p.relative_to(folder)} ({type(e).__name__})")
            continue
        if fmt not in DECODABLE:
            skipped.append(f"{p.relative_to(folder)} ({fmt}: convert to JPEG or PNG)")
            continue
        images.append(p)
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        log.warning(f"skipped {len(skipped)} file(s) that are not usable images: {shown}")
    if not images:
        raise ZooError(f"no usable images (JPEG, PNG, GIF, BMP) in {folder}")
    parents = {p.parent for p in images}
    if all(p.parent != folder for p in images) and len(parents) > 1:
        class_names = sorted({p.relative_to(folder).parts[0] for p in images})
        labels = [class_names.index(p.relative_to(folder).parts[0]) for p in images]
    else:
        class_names, labels = None, [0] * len(images)
    return images, labels, class_names


def decode_image(path, size, channels):
    """Decode one file into uint8 [size, size, channels], resized with antialiasing."""
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
    image = tf.image.resize(image, (size, size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def _from_image_folder(folder: Path, *, image_size, channels) -> Splits:
    import tensorflow as tf

    paths, labels, class_names = scan_image_folder(folder)
    if len(paths) < 2:
        raise ZooError(f"{folder} holds a single usable image; training needs at least 2")
    order = np.random.default_rng(0).permutation(len(paths))  # fixed split, whatever --seed says
    n_test = max(1, len(paths) // 10)
    test_idx, train_idx = order[:n_test], order[n_test:]

    def files(idx):
        ds = tf.data.Dataset.from_tensor_slices((
            tf.constant([str(paths[i]) for i in idx], tf.string), tf.constant([labels[i] for i in idx], tf.int32)))
        ds = ds.map(lambda p, y: (decode_image(p, image_size, channels), y), tf.data.AUTOTUNE)
        # A file that passed the header check but is truncated is dropped (TF logs it), not fatal.
        return ds.ignore_errors(log_warning=True)

    info = DatasetInfo(
        name=folder.name, source=f"image folder {folder}", image_shape=(image_size, image_size, channels),
        num_classes=len(class_names) if class_names else None, class_names=class_names,
        num_train=len(train_idx), num_test=len(test_idx),
    )
    return Splits(files(train_idx), files(test_idx), info)


# --- common adaptation -------------------------------------------------------------------------

def _adapt(splits: Splits, *, image_size, channels, limit) -> Splits:
    """Apply --image-size, --channels and --limit to any source."""
    import tensorflow as tf

    info = dataclasses.replace(splits.info)
    h, w, c = info.image_shape
    train, test = splits.train, splits.test
    if h is None or w is None:
        if not image_size:
            raise ZooError(f"images of {info.name} vary in size; pass --image-size")
    target_hw = (image_size, image_size) if image_size else (h, w)
    target_c = channels or c

    if target_hw != (h, w) or target_c != c:
        def convert(image, label):
            if target_c == 3 and image.shape[-1] == 1:
                image = tf.image.grayscale_to_rgb(image)
            elif target_c == 1 and image.shape[-1] == 3:
                image = tf.image.rgb_to_grayscale(image)
            if target_hw != (h, w):
                image = tf.image.resize(image, target_hw, antialias=True)
                image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
            return tf.ensure_shape(image, (*target_hw, target_c)), label

        train, test = train.map(convert, tf.data.AUTOTUNE), test.map(convert, tf.data.AUTOTUNE)
        info.image_shape = (*target_hw, target_c)
    info.image_shape = tuple(int(d) for d in info.image_shape)
    if limit:
        n_test = max(1, limit // 5)
        train, test = train.take(limit), test.take(n_test)
        info.num_train, info.num_test = min(limit, info.num_train), min(n_test, info.num_test)
    return Splits(train, test, info)
