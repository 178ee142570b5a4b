"""Reference outputs of a released model: a few inputs of each of its networks and the Keras
outputs on them, saved beside model.keras. They are what the released files gave when they were
released, so a test shows in seconds that they still give it, in Keras and in every exported
runtime, after a refactor or an upgrade of Keras, TensorFlow or onnxruntime (evaluating the model
card's figures again takes many minutes: scripts/check_released_metrics.py).

    python -m exporters.reference saved_models/cnn-fashion_mnist    # writes reference_outputs.npz

The file is a plain .npz (no pickles): `NETWORK/inputs/NAME` and `NETWORK/outputs/NAME` arrays.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from exporters.keras_runtime import KerasRunner, network_feed, serving_function
from zoo import models
from zoo.errors import ArgumentParser, cli
from zoo.fileio import atomic_path
from zoo.models.common import float32_copy
from zoo.training.runs import Run

REFERENCE = "reference_outputs.npz"
BATCH = 2
SIDE = 48  # image-to-image networks take any size: a small one keeps the file small


def reference_inputs(recipe, networks: dict, seed: int = 0) -> dict:
    """{network: {input name: array}}: uniform noise images of the network's shape (SIDE x SIDE
    where height and width are free), other inputs as the exporters draw them for validation
    (`network_feed`)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, network in networks.items():
        shapes = [tuple(d or SIDE for d in x.shape[1:]) for x in network.inputs if len(x.shape) == 4]
        images = rng.random((BATCH, *(shapes[0] if shapes else (SIDE, SIDE, 3))), dtype=np.float32)
        feeds[name] = network_feed(recipe, network.inputs, images, rng)
    return feeds


def record(run_dir) -> Path:
    """Write `run_dir`/reference_outputs.npz from its model.keras; return its path."""
    run = Run.open(run_dir)
    recipe = models.get(run.config["model"])(run.config)
    networks = {name: float32_copy(m) for name, m in recipe.exportables(run.load_model()).items()}
    arrays = {}
    for name, feed in reference_inputs(recipe, networks).items():
        outputs = KerasRunner(serving_function(networks[name], recipe.dynamic_hw))(**feed)
        arrays.update({f"{name}/inputs/{k}": v for k, v in feed.items()})
        arrays.update({f"{name}/outputs/{k}": v for k, v in outputs.items()})
    path = Path(run_dir) / REFERENCE
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def load(path) -> dict:
    """{network: (inputs, outputs)} from a reference_outputs.npz (read without pickles)."""
    found: dict = {}
    with np.load(path, allow_pickle=False) as data:
        for key in data.files:
            network, kind, name = key.split("/", 2)
            found.setdefault(network, ({}, {}))[kind == "outputs"][name] = data[key]
    return found


@cli
def main(argv=None) -> int:
    parser = ArgumentParser(prog="python -m exporters.reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="released or run folder (config.json + model.keras)")
    args = parser.parse_args(argv)
    path = record(args.run_dir)
    print(f"reference outputs of {', '.join(load(path))} -> {path} ({path.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
