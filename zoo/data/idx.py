"""Reader for the IDX format of MNIST and Fashion-MNIST (plain or gzipped).

The Debian package `dataset-fashion-mnist` ships these files recompressed, so their checksums
differ from upstream and TFDS's `manual_dir` refuses them; reading the format directly is the
dependable offline path. Format: http://yann.lecun.com/exdb/mnist/ (magic, dims, raw data).
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from zoo.errors import ZooError
from zoo.fileio import write_bytes

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Return the array stored in an IDX file; raise ZooError if it is not a valid one."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise ZooError(f"cannot read IDX file {path}: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ZooError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ZooError(f"{path} is truncated (header)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_DTYPES[raw[2]])
    count = int(np.prod(shape))
    if len(raw) - header != count * dtype.itemsize:
        raise ZooError(
            f"{path} is truncated or corrupt: header says {count} values of shape {shape}, "
            f"file holds {(len(raw) - header) // dtype.itemsize}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def write_idx(path, array: np.ndarray):
    """Write `array` (uint8) as a gzipped IDX file; used to build the embedded sample."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = gzip.compress(header + array.tobytes(), compresslevel=9, mtime=0)

    write_bytes(path, data)


def find_idx_split(folder: Path, split: str):
    """Return (images_path, labels_path) for `split` ('train' or 't10k') in `folder`, or None."""
    def one(kind):
        hits = sorted(folder.glob(f"{split}-{kind}-ubyte*"))
        return hits[0] if hits else None

    images, labels = one("images-idx3"), one("labels-idx1")
    return (images, labels) if images and labels else None
