"""`zoo.train --init-from MODEL`: a new run that starts from a trained model's weights.

Fine-tuning is how a changed recipe reaches a released model without paying for its whole
training again: the stylizer's upsampling and last layer changed (layers without weights of
their own), so the new network starts from the released one's weights, not from scratch, and
unlearns what the change asks of it. The new run gets every weight
(matched by variable path and shape) and nothing else: a fresh optimizer, epoch 0, its own
hyper-parameters. A source whose weights do not match exactly is refused: a partial copy would
train a different network from the one its card describes. The one exception is layers that
the recipe grows (`Recipe.grown_weights`): layers that start as the identity, such as residual
blocks whose last scale is 0, keep their initial weights, and the network starts as the source.
The other is `--widen`, a wider network than the source (more channels, the same layers): each
weight of the source fills the leading channels of the wider one, and the new channels start as
Net2Net's (Chen, Goodfellow & Shlens 2016) function-preserving widening makes them, fresh
weights into them and zeros out of them (the input channels of every kernel that mixes channels),
so that the wider network draws the source's pictures at its first step and learns to use its
new channels from there.

The run's config.json records where its weights came from (`lineage`): the source's command
and training time, which a release's card shows as the first step of making it.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ZooError
from zoo.fileio import read_json, sha256
from zoo.training.runs import Run, load_keras_model, locate


def load_source(spec: str, recipe_cls):
    """(keras.Model, lineage) of a released name, a run folder or a `.keras` file, loaded in safe
    mode before the new run's folder exists, so a bad `--init-from` leaves nothing behind.
    `lineage` says where the weights came from: the spec, the file's sha256 and, for a run,
    the commands that made it (with the flags of its `legacy` values, which today's defaults
    no longer give) and their training time."""
    path = locate(spec)
    lineage = {"init_from": spec}
    if path.is_dir():
        run = Run.open(path)
        config = run.config
        if config.get("model") != recipe_cls.name:
            raise ZooError(f"--init-from {spec} is a {config.get('model')!r} model; this run trains {recipe_cls.name!r}")
        legacy = [part for key, value in recipe_cls.legacy.items() if config.get(key) is None
                  for part in (f"--{key.replace('_', '-')}", str(value))]
        metrics = read_json(run.metrics_path) if run.metrics_path.is_file() else {}
        lineage.update(command=config.get("command", []) + legacy, resumed_with=config.get("resumed_with", []),
                       train_seconds=metrics.get("train_seconds"), lineage=config.get("lineage"))
        path = run.model_path
    model = load_keras_model(path)
    lineage["sha256"] = sha256(path)
    return model, lineage


# Weights that mix their input channels into their output channels, input channels on axis -2
# (Conv2D and Dense "kernel", SeparableConv2D's "pointwise_kernel"); a depthwise kernel's
# channels are its own, and a widened one keeps its fresh weights in its new channels.
MIXING = ("kernel", "pointwise_kernel")


def widened(fresh, source, path: str):
    """`source`'s values in the leading slice of `fresh` (a wider weight), the new input
    channels of a mixing kernel zeroed: what the new channels compute reaches nothing yet."""
    value = np.array(fresh)
    value[tuple(slice(0, n) for n in source.shape)] = source
    if path.rsplit("/", 1)[-1] in MIXING and value.ndim >= 2:
        value[..., source.shape[-2]:, :] = 0
    return value


def copy_weights(model, source, spec: str, grown: tuple = (), widen: bool = False) -> int:
    """Assign every weight of `model` from the variable of `source` with the same path and
    shape; refuse (ZooError) unless the two have exactly the same weights, but for the weights
    of layers whose names start with one of `grown`, which `model` may have and `source` not
    (they keep their initial values), and, with `widen`, weights at least as large on every
    axis, which take the source's as `widened` does. Returns the count of weights copied."""
    theirs = {v.path: v for v in source.weights}
    mine = {v.path: v for v in model.weights}
    grown = tuple(grown)
    new = {p for p in mine if p not in theirs and any(part.startswith(grown) for part in p.split("/"))}
    mine = {p: v for p, v in mine.items() if p not in new}
    missing = [p for p in mine if p not in theirs]
    extra = [p for p in theirs if p not in mine]
    shapes = {p: (tuple(theirs[p].shape), tuple(mine[p].shape)) for p in mine if p in theirs}
    wider = {p for p, (a, b) in shapes.items()
             if widen and a != b and len(a) == len(b) and all(m <= n for m, n in zip(a, b))}
    reshaped = [p for p, (a, b) in shapes.items() if a != b and p not in wider]
    if missing or extra or reshaped:
        problems = [f"{len(missing)} weights missing from it (first: {missing[0]})" if missing else "",
                    f"{len(extra)} it has that this model lacks (first: {extra[0]})" if extra else "",
                    f"{len(reshaped)} of other shapes (first: {reshaped[0]} {shapes[reshaped[0]][0]} vs "
                    f"{shapes[reshaped[0]][1]})" if reshaped else ""]
        hint = "a wider one than it" if widen else "the same widths, or --widen for wider ones"
        raise ZooError(f"--init-from {spec} does not fit this model: " + "; ".join(p for p in problems if p)
                       + f" (it needs the same architecture: the same blocks and styles, and {hint})")
    for path, variable in mine.items():
        value = theirs[path].value
        variable.assign(widened(variable.value, np.asarray(value), path) if path in wider else value)
    return len(mine)
