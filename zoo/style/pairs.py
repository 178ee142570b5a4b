"""Photo and painting pairs for AdaIN training in NumPy, for machines without TensorFlow.

Accelerator machines often carry JAX but not TensorFlow; `zoo.models.adain` then reads its image
folders through this module instead of tf.data, with the same recipe: every image resized to
`side` on its shorter side (antialiased), random `crop` squares, random left-right flips, pairs
of a random photo and a random painting, and centre squares for the held-out pairs. The images
are decoded and resized once and kept in memory, which suits folders of hundreds of images (the
offline photos and paintings); a folder of thousands wants the tf.data path.
"""

from __future__ import annotations

import keras
import numpy as np
from PIL import Image

from zoo.errors import ZooError
from zoo.images import load_rgb
from zoo.log import log


def resize_shorter(image: np.ndarray, side: int) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 with its shorter side `side` (the longer one rounded up)."""
    h, w = image.shape[:2]
    scale = side / min(h, w)
    size = (max(side, int(np.ceil(w * scale))), max(side, int(np.ceil(h * scale))))
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, reducing_gap=None))


def centre_square(image: np.ndarray, side: int) -> np.ndarray:
    """uint8 image -> float32 [side, side, 3] in [0, 1]: shorter side scaled to `side`, centre kept."""
    image = resize_shorter(image, side)
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return image[top:top + side, left:left + side].astype(np.float32) / 255.0


def load_resized(paths, side: int) -> list:
    """The images of `paths` resized to `side` on their shorter side; a file that fails to decode
    is skipped with a warning (as tf.data's ignore_errors does), all of them failing is an error."""
    images, failed = [], []
    for path in paths:
        try:
            images.append(resize_shorter(load_rgb(path), side))
        except ZooError as e:
            failed.append(str(e))
    if failed:
        log.warning(f"skipped {len(failed)} image(s) that could not be decoded: {'; '.join(failed[:3])}")
    if not images:
        raise ZooError(f"none of the {len(paths)} images could be decoded")
    return images


def centre_squares(paths, side: int) -> list:
    """`centre_square` of each image of `paths` that decodes."""
    return [centre_square(image, side) for image in load_resized(paths, side)]


class RandomPairs(keras.utils.PyDataset):
    """Endless batches (photos, paintings), float32 [B, crop, crop, 3] in [0, 1]: each pair a random
    photo and a random painting, randomly cropped and flipped. Batch `index` is a function of the
    seed and the index alone, so worker threads may build batches in any order."""

    def __init__(self, photos, paintings, crop: int, batch_size: int, seed: int, workers: int = 4):
        super().__init__(workers=workers, use_multiprocessing=False)
        self.photos, self.paintings = photos, paintings
        self.crop, self.batch_size, self.seed = crop, batch_size, seed

    @property
    def num_batches(self):
        return None  # endless: fit() draws steps_per_epoch batches an epoch

    def _crops(self, images, rng):
        out = np.empty((self.batch_size, self.crop, self.crop, 3), np.float32)
        for i, k in enumerate(rng.integers(len(images), size=self.batch_size)):
            image = images[k]
            top = rng.integers(image.shape[0] - self.crop + 1)
            left = rng.integers(image.shape[1] - self.crop + 1)
            crop = image[top:top + self.crop, left:left + self.crop]
            out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
        return out / 255.0

    def __getitem__(self, index):
        rng = np.random.default_rng([self.seed, index])
        return self._crops(self.photos, rng), self._crops(self.paintings, rng)


class HeldOutPairs(keras.utils.PyDataset):
    """The held-out batches (photos, paintings): centre squares of every photo, each with the
    next painting in turn."""

    def __init__(self, photos, paintings, batch_size: int):
        super().__init__()
        self.photos, self.paintings, self.batch_size = photos, paintings, batch_size

    def __len__(self):
        return -(-len(self.photos) // self.batch_size)

    def __getitem__(self, index):
        rows = range(index * self.batch_size, min(len(self.photos), (index + 1) * self.batch_size))
        return (np.stack([self.photos[i] for i in rows]),
                np.stack([self.paintings[i % len(self.paintings)] for i in rows]))
