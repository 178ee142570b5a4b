"""Copy a finished run into saved_models/<name>/ as a released model with a model card.

    python scripts/release_model.py saved_models/runs/cnn-release saved_models/cnn-fashion_mnist

Copies model.keras, config.json, metrics.json and the run's pictures (the last sample grid
only), records the model's reference outputs (exporters.reference: what tests/test_released.py
holds the released files to), then writes MODEL_CARD.md from them. An earlier release in `dest` is replaced, its
pictures and exports included: export the new one with `python -m exporters DEST`. The released
folder is itself a run folder, so `zoo.evaluate`, `python -m exporters` and `zoo.generate` take it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sysconfig
from pathlib import Path

from exporters import reference
from zoo import hparams, models
from zoo.fileio import write_text

DATA_LICENCES = {
    "fashion_mnist": "Fashion-MNIST, (c) Zalando SE, MIT licence (https://github.com/zalandoresearch/fashion-mnist)",
}


def portable_paths(text: str) -> str:
    """The card as any reader's machine sees it: the project's folder as the relative paths the
    README's commands use, installed packages' files as PACKAGE/FILE, the home folder as ~ (data
    caches, Keras's weights), never the training machine's absolute paths."""
    project = str(Path(__file__).resolve().parent.parent) + "/"
    packages = {sysconfig.get_paths()[key] + "/" for key in ("purelib", "platlib")}
    for prefix in sorted({project, *packages}, key=len, reverse=True):
        text = text.replace(prefix, "")
    return text.replace(str(Path.home()) + "/", "~/")


def ancestors(config) -> list:
    """The models a run started from (`zoo.train --init-from`, zoo.training.warm_start), nearest first."""
    stages, lineage = [], config.get("lineage")
    while lineage:
        stages.append(lineage)
        lineage = lineage.get("lineage")
    return stages


def making_of(config, backend) -> list:
    """The commands that made a run, oldest first: those of the models it started from, then its
    own, each with the commands that resumed it."""
    lines, stages = [], ancestors(config)
    for step, stage in enumerate(reversed(stages), start=1):
        lines += [f"# {step}. the model that --init-from {stage['init_from']} named (model.keras sha256 "
                  f"{stage['sha256'][:12]}...)" + (", made by:" if stage.get("command") else "")]
        if stage.get("command"):
            lines += [" ".join(stage["command"]), *(" ".join(cmd) + "   # resumed" for cmd in stage["resumed_with"])]
    if lines:
        lines.append(f"# {len(stages) + 1}. this model, from its weights:")
    return lines + [backend + " ".join(config.get("command", [])),
                    *(backend + " ".join(cmd) + "   # resumed" for cmd in config.get("resumed_with", []))]


def model_card(title, config, metrics, recipe, pictures, extra):
    info = config.get("dataset_info", {})
    backend = f"KERAS_BACKEND={config['backend']} " if config.get("backend", "tensorflow") != "tensorflow" else ""
    others = {k: v for k, v in recipe.run_identity(config).items() if v is not None and k not in recipe.defaults}
    lines = [
        f"# {title}", "",
        f"{recipe.description}. After {recipe.paper}.", "",
        "## Data", "",
        f"- {info.get('name', config['dataset'])}: {info.get('num_train')} training and {info.get('num_test')} test images "
        f"of shape {tuple(info.get('image_shape', ()))}, read from {info.get('source', config['dataset'])}.",
        f"- Licence: {DATA_LICENCES.get(info.get('name'), 'see the dataset')}.", "",
        "## How it was made", "",
        "```", *making_of(config, backend), "```", "",
        "Hyper-parameters (`python -m zoo.train " + recipe.name + " --help` says the same):", "",
        *hparams.table(recipe.Hyperparameters, recipe.hyperparameter_values(config)), "",
        *(["Data options, seed and preset: " + ", ".join(f"{k}={v}" for k, v in others.items()) + "."] if others else []),
        f"Versions: {', '.join(f'{k} {v}' for k, v in config.get('versions', {}).items())}.",
        *([f"Training time: {metrics['train_seconds'] / 60:.0f} min, the sum of the Keras epoch times"
           + (f", on {config['device']}" if config.get("device") else "") + "".join(
               f"; before it, {stage['train_seconds'] / 60:.0f} min of the model it started from"
               for stage in ancestors(config) if stage.get("train_seconds")) + "."]
          if metrics.get("train_seconds") else []),
        *([f"Wall time: {metrics['wall_seconds_this_session'] / 60:.1f} min, the command's from its start to its "
           "end (start-up, data, training, the test evaluation and pictures)."]
          if metrics.get("wall_seconds_this_session") and not config.get("resumed_with") else []), "",
        "## Test metrics", "",
        "| metric | value |", "|---|---|",
        *(f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
          for k, v in metrics.items() if k.startswith("test_") or k.startswith("fd_")),
        "",
    ]
    lines += extra
    lines += ["## Pictures", "", *(f"![{p.stem}](images/{p.name})" for p in pictures), "",
              "## Licence", "", "Model weights: Apache-2.0, as the zoo. Training data: see above.", ""]
    return portable_paths("\n".join(lines))


def save_without_optimizer(src, dest):
    """Released files are for inference: the model is saved uncompiled, without the optimizer
    state (twice the model's size with Adam) that only resuming needs, and which the run folder
    keeps. Uncompiled, it also loads without Keras warning about optimizer variables it lacks."""
    import keras

    from zoo.fileio import atomic_path
    from zoo.training.runs import load_keras_model

    trained = load_keras_model(src)
    config = keras.saving.serialize_keras_object(trained)
    config.pop("compile_config", None)
    released = keras.saving.deserialize_keras_object(config)
    released.set_weights(trained.get_weights())
    with atomic_path(dest, suffix=".keras") as tmp:
        released.save(tmp)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--card-only", action="store_true",
                        help="only write MODEL_CARD.md again (after benchmarks added their figures), leaving the "
                             "released model, and so its export manifest's checksums, untouched")
    args = parser.parse_args()
    config = json.loads((args.run / "config.json").read_text())
    metrics = json.loads((args.run / "metrics.json").read_text())
    recipe = models.get(config["model"])(config)
    pictures = [p for p in sorted((args.run / "images").glob("*.*")) if p.suffix in (".png", ".jpg")
                and not re.match(r"(samples_epoch_|stylized-epoch-)", p.name)]
    if not args.card_only:
        for stale in ("images", "export"):  # an earlier release's pictures and exports are of another model
            shutil.rmtree(args.dest / stale, ignore_errors=True)
        (args.dest / "images").mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "metrics.json"):
            shutil.copy2(args.run / name, args.dest / name)
        save_without_optimizer(args.run / "model.keras", args.dest / "model.keras")
        reference.record(args.dest)
        for p in pictures:
            shutil.copy2(p, args.dest / "images" / p.name)
    extra = recipe.release(args.run, args.dest)
    write_text(args.dest / "MODEL_CARD.md", model_card(args.dest.name, config, metrics, recipe, pictures, extra))
    print(f"released {args.run} as {args.dest}")


if __name__ == "__main__":
    main()
