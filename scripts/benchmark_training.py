"""Training benchmark on the full Fashion-MNIST: throughput of each model with and without XLA,
the input pipeline alone, and the released models' test metrics.

    python scripts/benchmark_training.py [--steps 60] [--out scripts/benchmark_training.md]

Throughputs are measured side by side in one process (median of per-step times after a warm-up),
so their ratios are meaningful on a shared machine; absolute numbers are not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from zoo import registry  # noqa: E402
from zoo.fileio import write_text  # noqa: E402
from zoo.training.runs import versions  # noqa: E402


def median_step_seconds(model, batches, warmup=5):
    """Median wall time of one train step, run through Keras's own compiled train function."""
    model.make_train_function()
    times = []
    for i, batch in enumerate(batches):
        start = time.perf_counter()
        logs = model.train_function(iter([batch]))
        keras.tree.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, logs)  # wait for the step
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def pipeline_images_per_second(train_ds, batch_size, batches):
    it = iter(train_ds)
    for _ in range(5):
        next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch_size / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("scripts/benchmark_training.md"))
    args = parser.parse_args()
    rows, results = [], {}
    for name in ("cnn", "vae", "dcgan"):
        cls = registry.get(name)
        config = {**cls.defaults, "dataset": "fashion_mnist", "seed": 0}
        recipe = cls(config)
        splits = recipe.load_data()
        train_ds, _ = recipe.pipelines(splits, config["batch_size"])
        # Pipeline alone: over the cached data, as in training after the first epoch.
        for _ in train_ds:
            pass
        pipe = pipeline_images_per_second(train_ds, config["batch_size"], 300)
        batches = list(train_ds.take(args.steps + 5))
        per_jit = {}
        for jit in (False, True):
            keras.utils.set_random_seed(0)
            model = cls({**config, "jit_compile": jit}).build(splits.info)
            per_jit[jit] = config["batch_size"] / median_step_seconds(model, batches)
        released = Path("saved_models") / f"{name}-fashion_mnist" / "metrics.json"
        metrics = json.loads(released.read_text()) if released.exists() else {}
        results[name] = {"pipeline_images_per_s": pipe, "train_images_per_s": per_jit[False],
                         "train_images_per_s_jit": per_jit[True], "released_metrics": metrics}
        rows.append(f"| {name} | {per_jit[False]:.0f} | {per_jit[True]:.0f} ({per_jit[True] / per_jit[False]:.2f}x) "
                    f"| {pipe:.0f} | {pipe / max(per_jit.values()):.1f}x |")
        print(rows[-1], flush=True)
    v = versions()
    header = [
        "# Training benchmark (full Fashion-MNIST, 60,000 train / 10,000 test)", "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads, "
        f"TensorFlow {v.get('tensorflow')}, Keras {v.get('keras')}; median step time over {args.steps} steps "
        "after 5 warm-up steps, batch 128.", "",
        "| model | train images/s | with --jit-compile | input pipeline images/s | pipeline / fastest training |",
        "|---|---|---|---|---|",
    ]
    metric_lines = ["", "## Released models", ""]
    for name, r in results.items():
        # train_seconds: the sum of the Keras epoch times, the training wall time without start-up.
        m = {k: v for k, v in r["released_metrics"].items()
             if v is not None and (k.startswith("test_") or k in ("epochs", "train_seconds"))}
        metric_lines.append(f"- {name}: " + (", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                                                      for k, v in m.items()) or "not released yet"))
    write_text(args.out, "\n".join(header + rows + metric_lines) + "\n")
    write_text(args.out.with_suffix(".json"), json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
