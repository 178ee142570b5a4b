"""Atomic writes: a crash or `kill -9` never leaves a half-written file under its final name.

Everything is written to a temporary name in the same folder and then renamed with
`os.replace`, which is atomic on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from zoo.errors import ZooError


@contextlib.contextmanager
def creating(path):
    """Turn the file system's refusal to create `path` (a folder that cannot be made, no
    permission, a folder where a file should go) into one ZooError that names it. Every CLI's
    --out is created through here, so in all of them such an --out is one error line."""
    try:
        yield
    except OSError as e:
        raise ZooError(f"cannot write {path}: {e.strerror or e}") from None


def make_dir(path) -> Path:
    """Create the output folder `path` and its parents (if missing); return it."""
    path = Path(path)
    with creating(path):
        path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path next to `path`; rename it onto `path` only if the block succeeds.

    `suffix` keeps the extension that some writers insist on (Keras wants `.keras`,
    `.weights.h5`), so the temporary name is `.NAME.XXXX.tmp<suffix>`.
    """
    path = Path(path)
    with creating(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers such as h5py want to create the file themselves
    try:
        yield Path(tmp)
        with creating(path):  # `path` may be a folder
            os.replace(tmp, path)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temporary folder that takes the place of `path` as a whole once the block succeeds.

    An existing folder is first moved aside and removed only after the new one is in place, so
    at every moment `path` is either the old complete folder or the new complete one (or, for a
    moment between two renames, absent: never partial).
    """
    path = Path(path)
    with creating(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_bytes(path, data: bytes):
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path, text: str):
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o):
    # numpy scalars and arrays are what training code usually hands us
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def sha256(path) -> str:
    """Hex sha256 of a file, read in chunks (exports can be hundreds of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
