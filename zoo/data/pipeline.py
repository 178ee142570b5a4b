"""tf.data input pipelines: decode (in the source), cache, shuffle, augment in parallel, batch,
prefetch.

Images are cached as uint8 (a quarter of the memory of float32) and turned into float32 in
[0, 1] after the shuffle, which is the value range every zoo model takes. Random augmentation
uses stateless ops fed by a seeded stream of seeds, so a `--seed` gives the same batches on every
run even though the map runs in parallel.
"""

from __future__ import annotations

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
AUGMENTATIONS = ("none", "crop", "flip", "crop+flip")


def make_pipeline(ds, *, batch_size, training, augment="none", seed=0, cache=True,
                  drop_remainder=False, shuffle_buffer=20_000):
    """Batch a dataset of (uint8 image, label) into (float32 images in [0, 1], labels)."""
    if augment not in AUGMENTATIONS:
        raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {augment!r}")
    if cache:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if training and augment != "none":
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds))
        ds = ds.map(lambda pair, s: _augment(*pair, s, augment), num_parallel_calls=AUTOTUNE)
    else:
        ds = ds.map(lambda x, y: (_to_float(x), y), num_parallel_calls=AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)
    options = tf.data.Options()
    # In-memory sources cannot be sharded by file; multi-worker runs shard by element.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(AUTOTUNE)


def _to_float(image):
    return tf.cast(image, tf.float32) / 255.0


def _augment(image, label, seed, kind):
    image = _to_float(image)
    flip_seed, crop_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    if "flip" in kind:
        image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    if "crop" in kind:
        # Random translation by up to ~1/8 of the side: zero-pad, then crop back.
        h, w, c = image.shape
        pad = max(2, h // 8)
        padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
        image = tf.image.stateless_random_crop(padded, (h, w, c), crop_seed)
    return image, label
