"""Time to quality on this machine: each Fashion-MNIST model trained by today's default command
(and the CNN by its long preset too) and by the recipe of its earlier release, one after the
other in one run of this script.

    python scripts/benchmark_training.py [--models cnn,cnn-long,vae,dcgan] [--recipes new,old] [--runs DIR]
        [--out scripts/benchmark_training.md] [-- EXTRA zoo.train FLAGS, e.g. --limit 2048]

Every run is `python -m zoo.train MODEL FLAGS` in a fresh process, timed from its start to its
exit (start-up, data, training, the one test evaluation). The table gives per run the test
metric, whether it meets the model's target, the wall time, and the time to target: the
training time (the sum of the epoch times, start-up not counted) until the first epoch whose
*validation* metric met the target (the DCGAN's: the Fréchet distance to the validation images
after every epoch). The test split is read once, at the end of each run; the time to target never
looks at it. Both recipes hold out today's validation split, the old one too: the time to target
is measured on it.

Runs take long (the old CNN recipe alone took 87 minutes here): run this in the background, with
`--runs DIR` to keep the run folders. Then a later call with the same `--runs DIR` reuses each run
that finished there with the same command and hyper-parameters (its figures and the date it was
measured, which the table shows) and trains only the others: a benchmark that outlasts a session
goes on in the next, and a recipe whose defaults changed is trained again.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo.fileio import write_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class Target(NamedTuple):
    model: str
    test_key: str  # in metrics.json
    validation_key: str  # in the per-epoch history
    value: float
    higher_is_better: bool
    old_flags: tuple  # the earlier release's recipe in today's flags (its model card)
    label: str
    new_flags: tuple = ()  # today's recipe: the defaults, or a preset of them

    def met(self, value) -> bool:
        return value is not None and (value >= self.value if self.higher_is_better else value <= self.value)


# The targets of issue 10; the old recipes as their released models' cards give them.
OLD_CNN = ("--epochs", "30", "--batch-size", "128", "--learning-rate", "2e-3", "--blocks", "vgg", "--stem", "0",
           "--widths", "48,96,192", "--dropout", "0.3", "--label-smoothing", "0", "--warmup-epochs", "0",
           "--augment", "crop+flip", "--tta", "none", "--weight-decay", "0", "--no-mixed-precision")
# The earlier DCGAN release's test Fréchet distance on the features of today's released CNN
# (`python -m zoo.evaluate RELEASE --classifier saved_models/cnn-fashion_mnist`): distances are
# comparable only on one CNN's features, so it was measured again when the CNN was re-released.
OLD_DCGAN_FD = 2.2955
TARGETS = {
    "cnn": Target("cnn", "test_accuracy", "val_accuracy", 0.94, True, OLD_CNN, "accuracy >= 94.0%"),
    "cnn-long": Target("cnn", "test_accuracy", "val_accuracy", 0.95, True, OLD_CNN, "accuracy >= 95.0%",
                       ("--preset", "long")),
    "vae": Target("vae", "test_negative_elbo_nats", "val_loss", 236.0, False,
                  ("--epochs", "6", "--batch-size", "128", "--learning-rate", "1e-3", "--latent-dim", "16",
                   "--width", "32", "--hidden", "256", "--depth", "1", "--activation", "relu", "--schedule", "constant",
                   "--no-mixed-precision"),
                  "negative ELBO <= 236 nats"),
    "dcgan": Target("dcgan", "test_frechet_distance_zoo_cnn", "val_frechet_distance", OLD_DCGAN_FD / 2, False,
                    ("--epochs", "7", "--batch-size", "128", "--learning-rate", "2e-4", "--latent-dim", "100",
                     "--schedule", "constant", "--no-mixed-precision"),
                    f"Fréchet distance <= {OLD_DCGAN_FD / 2:.3f} (half the earlier release's {OLD_DCGAN_FD:.3f})"),
}


RESULT_FILE = "benchmark_run.json"  # in each run folder: the figures of a finished run, for reuse


def command_of(model: str, flags: list) -> str:
    return " ".join(["python -m zoo.train", model, *flags])


def run(model: str, flags: list, out: Path) -> dict:
    """Train one run in a fresh process; its metrics, history, wall time and date, also written
    to the run folder as RESULT_FILE once the run has finished."""
    command = [sys.executable, "-m", "zoo.train", model, *flags, "--out", str(out)]
    measured = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} failed:\n{result.stderr[-2000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "checkpoint" / "state.json").read_text())["history"]
    r = {"command": command_of(model, flags), "measured": measured, "wall_seconds": round(wall, 1),
         "metrics": metrics, "history": history}
    write_text(out / RESULT_FILE, json.dumps(r, indent=2) + "\n")
    return r


def resolved_config(model: str, flags) -> dict:
    """The configuration that `python -m zoo.train MODEL FLAGS` resolves to with today's defaults."""
    from zoo import registry
    from zoo.train import make_config, parse

    return make_config(parse([model, *flags]), registry.get(model))


def hyperparameters(model: str, config: dict) -> dict:
    """What makes two runs of `model` the same recipe: its hyper-parameters and data flags, not
    the run's folder or machine (mixed precision "auto" resolves per machine, so it is left out)."""
    from zoo import registry

    keys = [*registry.get(model).defaults, "dataset", "limit", "augment", "steps_per_epoch", "seed"]
    return {key: config.get(key) for key in keys if key != "mixed_precision"}


def finished(model: str, flags: list, out: Path) -> dict | None:
    """The figures of a run that already finished in `out` with the same command and the same
    hyper-parameters (a recipe's defaults may have changed since under the same command), or None."""
    try:
        r = json.loads((out / RESULT_FILE).read_text())
        ran = json.loads((out / "config.json").read_text())
    except (OSError, ValueError):
        return None
    today = resolved_config(model, flags)
    same = r.get("command") == command_of(model, flags) and hyperparameters(model, ran) == hyperparameters(model, today)
    return r if same else None


def time_to_target(target: Target, result: dict) -> float | None:
    """Training seconds until the first epoch that met the target on the validation split."""
    elapsed = 0.0
    for epoch in result["history"]:
        elapsed += epoch["seconds"]
        if target.met(epoch.get(target.validation_key)):
            return round(elapsed, 1)
    return None


def markdown(results: dict, extra: list) -> str:
    minutes = lambda s: "-" if s is None else f"{s / 60:.1f} min"  # noqa: E731
    lines = ["# Time to quality (Fashion-MNIST)", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPU threads; runs one after the other in one "
             f"process of `scripts/benchmark_training.py`{' with ' + ' '.join(extra) if extra else ''}. Time to "
             "target: training time until the first epoch whose validation metric met the target (the test split "
             "is read once, at the end).", "",
             "| benchmark | recipe | command | test metric | target | met | wall time | time to target (validation) "
             "| measured |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, by_recipe in results.items():
        target = TARGETS[name]
        for recipe, r in by_recipe.items():
            value = r["metrics"].get(target.test_key)
            lines.append(f"| {name} | {recipe} | `{r['command']}` | {target.test_key} = {value:.4g} | {target.label} "
                         f"| {'yes' if target.met(value) else 'no'} | {minutes(r['wall_seconds'])} "
                         f"| {minutes(r['time_to_target'])} | {r.get('measured', '-')} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(TARGETS),
                        help="targets, comma-separated, of " + ", ".join(TARGETS) + " (cnn-long: the CNN's long preset)")
    parser.add_argument("--recipes", default="new,old",
                        help="new (today's defaults, or the target's preset), old (the earlier release's)")
    parser.add_argument("--out", type=Path, default=ROOT / "scripts" / "benchmark_training.md")
    parser.add_argument("--runs", type=Path,
                        help="keep the run folders here, as DIR/TARGET-RECIPE (a new recipe's run is then a release "
                             "candidate made by its one command); default: a temporary folder")
    args, extra = parser.parse_known_args(argv)
    extra = [e for e in extra if e != "--"]
    names, recipes = args.models.split(","), args.recipes.split(",")
    unknown = sorted(set(names) - set(TARGETS)) + sorted(set(recipes) - {"new", "old"})
    if unknown:
        parser.error(f"unknown model or recipe: {', '.join(unknown)}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="zoo-benchmark-") as tmp:
        runs = args.runs.resolve() if args.runs else Path(tmp)
        for name in names:
            target = TARGETS[name]
            for recipe in recipes:
                flags = [*(target.old_flags if recipe == "old" else target.new_flags), *extra]
                # The CNN's targets share the old recipe's run: the second one reuses it.
                out = runs / f"{target.model if recipe == 'old' else name}-{recipe}"
                r = finished(target.model, flags, out)
                reused = r is not None
                if not reused:
                    if out.exists():  # an unfinished or different run: start it again
                        shutil.rmtree(out)
                    r = run(target.model, flags, out)
                r["time_to_target"] = time_to_target(target, r)
                results.setdefault(name, {})[recipe] = r
                print(f"{name} {recipe}: {r['metrics'].get(target.test_key)} in {r['wall_seconds']} s"
                      f"{' (reused, measured ' + r['measured'] + ')' if reused else ''}", flush=True)
    write_text(args.out, markdown(results, extra))
    write_text(args.out.with_suffix(".json"), json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
