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

Runs take long (the old CNN recipe alone took 87 minutes here), so the results file (--out, as
.md and .json) is rewritten after every run, and a later call reuses each of its rows that today's
command and hyper-parameters would make again (with the date it was measured, which the table
shows) and trains only the others: a benchmark that outlasts a session goes on in the next, on a
new machine too, from the committed results file, and a recipe whose defaults changed is trained
again. Keep the run folders with `--runs DIR` (a new recipe's run is a release candidate).
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
MACHINE = f"{platform.machine()}, {os.cpu_count()} CPU threads"


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


def recipe_flags(name: str, recipe: str, extra: list) -> list:
    """zoo.train's flags of a target's new or old recipe, and the call's extra flags."""
    return [*(TARGETS[name].old_flags if recipe == "old" else TARGETS[name].new_flags), *extra]


def command_of(model: str, flags: list) -> str:
    return " ".join(["python -m zoo.train", model, *flags])


def resolved_config(model: str, flags) -> dict:
    """The configuration that `python -m zoo.train MODEL FLAGS` resolves to with today's defaults."""
    from zoo import models
    from zoo.train import make_config, parse

    return make_config(parse([model, *flags]), models.get(model))


def hyperparameters(model: str, config: dict) -> dict:
    """What makes two runs of `model` the same recipe (`Recipe.hyperparameters`), less mixed
    precision: "auto" resolves per machine, and a run's config.json holds what it resolved to."""
    from zoo import models

    return {k: v for k, v in models.get(model).run_identity(config).items() if k != "mixed_precision"}


def run(model: str, flags: list, out: Path) -> dict:
    """Train one run in a fresh process; its command, hyper-parameters, metrics, history, wall
    time, date and machine."""
    command = [sys.executable, "-m", "zoo.train", model, *flags, "--out", str(out)]
    measured = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return row(model, flags, json.loads((out / "config.json").read_text()), measured, round(wall, 1),
               json.loads((out / "metrics.json").read_text()),
               json.loads((out / "checkpoint" / "state.json").read_text())["history"])


def row(model: str, flags: list, config: dict, measured: str, wall_seconds: float, metrics: dict,
        history: list) -> dict:
    """A row of the results file: what a later call compares to reuse it (the command, and the
    hyper-parameters of the configuration the run had) and the run's figures."""
    return {"command": command_of(model, flags), "hyperparameters": hyperparameters(model, config),
            "measured": measured, "machine": MACHINE, "wall_seconds": wall_seconds, "metrics": metrics,
            "history": history}


def earlier_run(rows, model: str, flags: list) -> dict | None:
    """A row, of an earlier call's results or of this call's, that today's `python -m zoo.train
    MODEL FLAGS` would make again: the same command and the same hyper-parameters (a recipe's
    defaults may have changed since under the same command)."""
    command, today = command_of(model, flags), hyperparameters(model, resolved_config(model, flags))
    return next((r for r in rows if r.get("command") == command and r.get("hyperparameters") == today), None)


def read_results(path: Path) -> list:
    """The rows of an earlier call's results file, [] if there is none."""
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [r for by_recipe in results.values() for r in by_recipe.values()]


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
    machines = sorted({r.get("machine", "-") for by_recipe in results.values() for r in by_recipe.values()})
    lines = ["# Time to quality (Fashion-MNIST)", "",
             f"Machine: {'; '.join(machines)}. Each run is `python -m zoo.train` in a fresh process, one after the "
             f"other, by `scripts/benchmark_training.py`{' with ' + ' '.join(extra) if extra else ''}; the last "
             "column gives when. Time to target: training "
             "time until the first epoch whose validation metric met the target (the test split is read once, at "
             "the end).", "",
             "| benchmark | recipe | command | test metric | target | met | wall time | time to target (validation) "
             "| measured |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, by_recipe in results.items():
        target = TARGETS[name]
        for recipe, r in by_recipe.items():
            value = r["metrics"].get(target.test_key)
            lines.append(f"| {name} | {recipe} | `{r['command']}` | {target.test_key} = {value:.4g} | {target.label} "
                         f"| {'yes' if target.met(value) else 'no'} | {minutes(r['wall_seconds'])} "
                         f"| {minutes(r['time_to_target'])} | {r['measured']} |")
    return "\n".join(lines) + "\n"


def write(out: Path, results: dict, extra: list):
    """The table as markdown, and its rows with each one's time to target as JSON beside it."""
    table = {name: {recipe: {**results[name][recipe], "time_to_target": time_to_target(target, results[name][recipe])}
                    for recipe in ("new", "old") if recipe in results[name]}
             for name, target in TARGETS.items() if results.get(name)}
    write_text(out, markdown(table, extra))
    write_text(out.with_suffix(".json"), json.dumps(table, indent=2) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(TARGETS),
                        help="targets, comma-separated, of " + ", ".join(TARGETS) + " (cnn-long: the CNN's long preset)")
    parser.add_argument("--recipes", default="new,old",
                        help="new (today's defaults, or the target's preset), old (the earlier release's)")
    parser.add_argument("--out", type=Path, default=ROOT / "scripts" / "benchmark_training.md",
                        help="the table; its figures go beside it as .json, whose rows a later call reuses")
    parser.add_argument("--runs", type=Path,
                        help="keep the run folders here, as DIR/TARGET-RECIPE (a new recipe's run is then a release "
                             "candidate made by its one command); default: a temporary folder")
    args, extra = parser.parse_known_args(argv)
    extra = [e for e in extra if e != "--"]
    names, recipes = args.models.split(","), args.recipes.split(",")
    unknown = sorted(set(names) - set(TARGETS)) + sorted(set(recipes) - {"new", "old"})
    if unknown:
        parser.error(f"unknown model or recipe: {', '.join(unknown)}")
    # The table starts from every earlier row still current, of every target: a call for some
    # targets keeps the others' rows, and the CNN's two targets share the old recipe's run.
    earlier, results = read_results(args.out.with_suffix(".json")), {}
    for name, target in TARGETS.items():
        for recipe in ("new", "old"):
            r = earlier_run(earlier, target.model, recipe_flags(name, recipe, extra))
            if r is not None:
                results.setdefault(name, {})[recipe] = r
    with tempfile.TemporaryDirectory(prefix="zoo-benchmark-") as tmp:
        runs = args.runs.resolve() if args.runs else Path(tmp)
        for name in names:
            target, by_recipe = TARGETS[name], results.setdefault(name, {})
            for recipe in recipes:
                flags = recipe_flags(name, recipe, extra)
                r = earlier_run([r for by in results.values() for r in by.values()], target.model, flags)
                reused = r is not None
                if not reused:
                    out = runs / f"{target.model if recipe == 'old' else name}-{recipe}"
                    if out.exists():  # an unfinished run, or another recipe's: start it again
                        shutil.rmtree(out)
                    r = run(target.model, flags, out)
                by_recipe[recipe] = r
                write(args.out, results, extra)  # after every run: a crash loses only the one
                print(f"{name} {recipe}: {r['metrics'].get(target.test_key)} in {r['wall_seconds']} s"
                      f"{' (reused, measured ' + r['measured'] + ')' if reused else ''}", flush=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
