"""tf.data input pipelines: decode (in the source), cache, shuffle, batch, augment, prefetch.

Images are cached as uint8 (a quarter of the memory of float32) and turned into float32 in
[0, 1] after the shuffle, which is the value range every zoo model takes. Conversion and
augmentation run on whole batches, not image by image: a 28x28 image is so little work that a
per-image map spends more time in tf.data's per-element machinery than on the image, and on a
laptop CPU the pipeline shares its cores with training. Random augmentation uses stateless ops
fed by a seeded stream of seeds, so a `--seed` gives the same batches on every run even though
the map runs in parallel.
"""

from __future__ import annotations

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
AUGMENTATIONS = ("none", "crop", "flip", "crop+flip")


def make_pipeline(ds, *, batch_size, training, augment="none", seed=0, cache=True,
                  drop_remainder=False, shuffle_buffer=20_000, repeat=False):
    """Batch a dataset of (uint8 image, label) into (float32 images in [0, 1], labels). With
    `repeat`, training batches never run out (each pass reshuffled): for epochs of a fixed number
    of steps, which a finite dataset would cut short."""
    if augment not in AUGMENTATIONS:
        raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {augment!r}")
    if cache:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)
    if training and augment != "none":
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds))
        ds = ds.map(lambda batch, s: _augment(*batch, s, augment), num_parallel_calls=AUTOTUNE)
    else:
        ds = ds.map(lambda x, y: (_to_float(x), y), num_parallel_calls=AUTOTUNE)
    options = tf.data.Options()
    # In-memory sources cannot be sharded by file; multi-worker runs shard by element.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(AUTOTUNE)


def _to_float(images):
    return tf.cast(images, tf.float32) / 255.0


def _augment(images, labels, seed, kind):
    """Augment a batch [B, H, W, C], each image with its own random draw."""
    images = _to_float(images)
    flip_seed, crop_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    if "flip" in kind:
        images = tf.image.stateless_random_flip_left_right(images, flip_seed)  # a coin per image of a batch
    if "crop" in kind:
        images = _random_translate(images, crop_seed)
    return images, labels


def _random_translate(images, seed):
    """Shift each image of a batch by up to ~1/8 of its side, filling with zeros: zero-pad, then
    crop every image at its own random offset (tf.image's random crop takes one offset per call,
    that is one per batch)."""
    _, h, w, _ = images.shape
    pad = max(2, h // 8)
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    offsets = tf.random.stateless_uniform((tf.shape(images)[0], 2), seed, maxval=2 * pad + 1, dtype=tf.int32)
    rows = offsets[:, :1] + tf.range(h)  # [B, H]: the padded rows each image keeps
    cols = offsets[:, 1:] + tf.range(w)
    return tf.gather(tf.gather(padded, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)
