"""Evaluate the released Fashion-MNIST models again on the whole test set and compare with what
their cards (metrics.json) say: the long check behind tests/test_released.py, which compares the
released files with their reference outputs in seconds.

    python scripts/check_released_metrics.py            # about 10 minutes on 2 cores

Needs Debian's dataset-fashion-mnist (the test set the cards were measured on). Exit status 1
when a figure is off, with one line per model either way.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "saved_models"
DATA = Path("/usr/share/datasets/fashion-mnist")

# model: (extra zoo.evaluate flags, [(metric, absolute tolerance or None, relative tolerance or None)])
CHECKS = {
    "cnn": ((), [("test_accuracy", 1e-4, None)]),
    # one z sample per image: the estimate moves by a fraction of a nat between runs
    "vae": ((), [("test_negative_elbo_nats", 1.5, None)]),
    "dcgan": (("--classifier", RELEASED / "cnn-fashion_mnist"),
              [("test_frechet_distance_floor", None, 1e-3), ("test_frechet_distance_zoo_cnn", None, 1e-3)]),
    # its prior's samples are drawn from a seed (zoo.portable_random), the reconstructions are exact
    # the training process measured 1.0285, zoo.evaluate on the saved model 1.0236 every time (both
    # bfloat16; the 0.5% between the two processes is not traced)
    "stylegan": (("--classifier", RELEASED / "cnn-fashion_mnist"),
                 [("test_frechet_distance_floor", None, 1e-3), ("test_frechet_distance_zoo_cnn", None, 1e-2)]),
    "vqvae": (("--classifier", RELEASED / "cnn-fashion_mnist"),
              [("test_reconstruction_mse", 1e-6, None), ("test_frechet_distance_zoo_cnn", None, 1e-2)]),
}


def main() -> int:
    if not DATA.is_dir():
        print(f"error: needs Debian's dataset-fashion-mnist ({DATA}): apt-get install dataset-fashion-mnist",
              file=sys.stderr)
        return 2
    failed = 0
    for model, (flags, metrics) in CHECKS.items():
        folder = RELEASED / f"{model}-fashion_mnist"
        result = subprocess.run([sys.executable, "-m", "zoo.evaluate", folder, "--dataset", DATA, "--json", *flags],
                                capture_output=True, text=True, cwd=ROOT)
        if result.returncode != 0:
            print(f"{model}: zoo.evaluate failed: {result.stderr.strip().splitlines()[-1:]}")
            failed += 1
            continue
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        card = json.loads((folder / "metrics.json").read_text())
        for name, atol, rtol in metrics:
            allowed = atol if atol is not None else rtol * abs(card[name])
            ok = abs(measured[name] - card[name]) <= allowed
            failed += not ok
            print(f"{model}: {name} {measured[name]:.6g} (card {card[name]:.6g}, allowed ±{allowed:.3g}) "
                  f"{'ok' if ok else 'DIFFERS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
