"""Training throughput of every zoo model on the TensorFlow and the JAX backend, side by side.

    python scripts/benchmark_backends.py [--rounds 3] [--epochs 5] [--steps 20] [--crop-size 256]

Keras picks its backend when it is imported, so each measurement is a subprocess of this script
(`--worker MODEL`) with KERAS_BACKEND set, and the two backends take turns (TensorFlow first in
odd rounds, JAX first in even ones) so that a shared machine's load falls on both alike. A worker
builds the model as `python -m zoo.train MODEL` does on its backend (TensorFlow without XLA, JAX
always XLA-compiled) with the model's default batch size, holds a few batches
of its input pipeline in memory (the pipeline is not measured), and runs fit(): one warm-up epoch
(compilation), then `--epochs` timed epochs of `--steps` steps. Each round gives the median
images/s of its epochs; the table shows the median over rounds, and the warm-up epoch's seconds.
The style-transfer models train on random crops of `--crop-size` (the stylizer's default is 256).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax")
HELD_BATCHES = 8  # distinct batches kept in memory and cycled through


def worker_flags(name, crop_size):
    """zoo.train flags for a quick model with the default hyper-parameters: a small part of the
    data (the batches are cycled anyway), `crop_size` for the style-transfer models, and the
    stylizer's styles (it has no default ones)."""
    from zoo.train import build_parser

    flags = ["--limit", "2048"]
    if any(action.dest == "crop_size" for action in build_parser(name)._actions):
        flags += ["--crop-size", str(crop_size)]
    if name == "stylizer":
        import importlib.util

        skimage_data = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data"
        styles = [skimage_data / n for n in ("hubble_deep_field.jpg", "ihc.png", "gravel.png")]
        flags += ["--styles", ",".join(map(str, styles))]
    return flags


def measure(name, epochs, steps, crop_size):
    """{images_per_s, warmup_s, batch_size} of `name` on this process's backend."""
    import keras

    from zoo import models
    from zoo.train import keras_backend, make_config, parse, set_backend

    class EpochTimes(keras.callbacks.Callback):
        """Wall time of each epoch; the end waits for the last step (JAX dispatches steps ahead)."""

        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            keras.ops.convert_to_numpy(self.model.trainable_variables[0])
            self.seconds.append(time.perf_counter() - self.start)

    recipe_cls = models.get(name)
    config = set_backend(make_config(parse([name, *worker_flags(name, crop_size)]), recipe_cls), keras_backend())
    keras.utils.set_random_seed(0)
    recipe = recipe_cls(config)
    splits = recipe.load_data()
    train_ds, _ = recipe.pipelines(splits, config["batch_size"])
    held = train_ds.take(HELD_BATCHES).cache()
    for _ in held:  # fills the cache: the timed epochs read batches from memory
        pass
    model = recipe.build(splits.info)
    times = EpochTimes()
    model.fit(held.repeat(), epochs=epochs + 1, steps_per_epoch=steps, callbacks=[times], verbose=0)
    batch = config["batch_size"]
    return {"images_per_s": statistics.median(steps * batch / s for s in times.seconds[1:]),
            "warmup_s": times.seconds[0], "batch_size": batch}


def rate(images_per_s: float) -> str:
    """Three significant digits, without an exponent."""
    return f"{images_per_s:.3g}" if images_per_s < 100 else f"{images_per_s:.0f}"


def run_worker(name, backend, args):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    cmd = [sys.executable, __file__, "--worker", name, "--epochs", str(args.epochs), "--steps", str(args.steps),
           "--crop-size", str(args.crop_size)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(f"{name} on {backend} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="subprocesses per model and backend")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per subprocess, after one warm-up")
    parser.add_argument("--steps", type=int, default=20, help="steps per epoch")
    parser.add_argument("--models", help="comma-separated (default: every registered model)")
    parser.add_argument("--crop-size", type=int, default=256, help="random crops of the style-transfer models")
    parser.add_argument("--out", type=Path, default=ROOT / "scripts" / "benchmark_backends.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.epochs, args.steps, args.crop_size)))
        return

    from zoo import models
    from zoo.fileio import write_text
    from zoo.training.runs import versions

    names = args.models.split(",") if args.models else models.names()
    results = {name: {b: [] for b in BACKENDS} for name in names}
    for r in range(args.rounds):
        for name in names:
            for backend in BACKENDS if r % 2 == 0 else BACKENDS[::-1]:
                results[name][backend].append(run_worker(name, backend, args))
                print(f"round {r + 1} {name} {backend}: {results[name][backend][-1]}", flush=True)
    v = versions()
    lines = [
        "# Training throughput: TensorFlow and JAX backends", "",
        (f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads; TensorFlow "
         f"{v.get('tensorflow')}, JAX {v.get('jax')}, Keras {v.get('keras')}. Median images/s over {args.rounds} "
         f"round(s) of {args.epochs} timed epochs of {args.steps} steps (after a warm-up epoch), the backends "
         "alternating; TensorFlow without XLA and JAX with XLA, as `python -m zoo.train` runs them; style transfer "
         f"on {args.crop_size}x{args.crop_size} crops."), "",
        f"Command: `{' '.join(['python scripts/benchmark_backends.py', *sys.argv[1:]])}`", "",
        "| model | batch | TensorFlow images/s | JAX images/s | JAX / TensorFlow | warm-up s (TF / JAX) |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        tf_runs, jax_runs = results[name]["tensorflow"], results[name]["jax"]
        tf_speed = statistics.median(m["images_per_s"] for m in tf_runs)
        jax_speed = statistics.median(m["images_per_s"] for m in jax_runs)
        lines.append(f"| {name} | {tf_runs[0]['batch_size']} | {rate(tf_speed)} | {rate(jax_speed)} | "
                     f"{jax_speed / tf_speed:.2f}x | {statistics.median(m['warmup_s'] for m in tf_runs):.0f} / "
                     f"{statistics.median(m['warmup_s'] for m in jax_runs):.0f} |")
    write_text(args.out, "\n".join(lines) + "\n")
    write_text(args.out.with_suffix(".json"), json.dumps(results, indent=2) + "\n")
    print("\n".join(lines[-len(names) - 2:]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
