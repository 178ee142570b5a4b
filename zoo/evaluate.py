"""Evaluate a run on its test set: `python -m zoo.evaluate RUN_DIR [--json]`.

CNN: accuracy. VAE: negative ELBO in nats. DCGAN: Fréchet distance on the zoo CNN's features,
with the real-vs-real floor.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.errors import ArgumentParser, ZooError, check_at_least, cli  # noqa: E402
from zoo.log import setup  # noqa: E402
from zoo.training.runs import Run  # noqa: E402


@cli
def main(argv=None):
    parser = ArgumentParser(prog="python -m zoo.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run folder written by python -m zoo.train")
    parser.add_argument("--dataset", help="evaluate on this dataset instead of the run's own")
    parser.add_argument("--data-dir", help="prepared tensorflow-datasets folder")
    parser.add_argument("--limit", type=int, help="evaluate on the first N/5 test images only")
    parser.add_argument("--classifier", help="zoo CNN run or .keras for the DCGAN's Fréchet distance")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    check_at_least("limit", args.limit)
    setup(verbose=not args.json)

    from zoo import models

    run = Run.open(args.run)
    config = run.config
    if "model" not in config:
        raise ZooError(f"{run.config_path} names no model")
    config.update({k: v for k, v in vars(args).items() if v is not None and k not in ("run", "json")})
    if args.dataset and not args.data_dir:
        config["data_dir"] = None
    recipe = models.get(config["model"])(config)
    model = run.load_model()
    splits = recipe.load_data()
    metrics = {"run": str(run.root), "model": config["model"], "dataset": splits.info.name,
               "data_source": splits.info.source, **recipe.evaluate(model, splits)}
    notes = [note for metric, note in recipe.metric_notes.items() if metric in metrics]
    if notes:
        metrics["note"] = "; ".join(notes)
    if args.json:
        print(json.dumps(metrics))
    else:
        width = max(map(len, metrics))
        for key, value in metrics.items():
            print(f"{key:<{width}}  {value:.4f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
