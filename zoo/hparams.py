"""Typed hyper-parameters: each model declares, once, a frozen dataclass of what makes a run of it
what it is (its `Recipe.Hyperparameters`). From that declaration come zoo.train's flags (type,
choices, default, help), the defaults that `zoo.list` shows, the checked keyword arguments of
`zoo.create_model`, the values config.json records and the model card's table.

    @dataclasses.dataclass(frozen=True)
    class CNNHyperparameters(FashionMNISTHyperparameters):
        dropout: float = hp(0.1, "dropout before the classifier; 0: none", minimum=0.0)

The fields of `Hyperparameters` itself (epochs, batch size, learning rate, steps per epoch) are
zoo.train's own flags, shared by every model; a model sets their defaults by redeclaring them
(`epochs: int = default(Hyperparameters, "epochs", 13)`).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import types
import typing

from zoo.errors import ZooError


def hp(default, help: str, *, choices=None, minimum=None, maximum=None, metavar=None):
    """A hyper-parameter field: its default, what it does (the flag's help and the card's text),
    the values it may take, and the least and greatest one (numbers)."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices, "minimum": minimum,
                                                        "maximum": maximum, "metavar": metavar})


def default(cls, name: str, value):
    """Field `name` of the dataclass `cls` with another default: a model's own epochs or
    learning rate, with the shared help and bounds."""
    return dataclasses.field(default=value, metadata=cls.__dataclass_fields__[name].metadata)


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """What every model has. A model's dataclass subclasses this one (or FashionMNISTHyperparameters)."""

    epochs: int = hp(10, "passes over the training data, or epochs of --steps-per-epoch batches", minimum=1)
    batch_size: int = hp(128, "global batch size (split across replicas)", minimum=1)
    learning_rate: float = hp(1e-3, "the optimizer's learning rate (the peak of a schedule); positive")
    steps_per_epoch: int | None = hp(None, "batches per epoch; none: one pass over the data", minimum=1)


@dataclasses.dataclass(frozen=True)
class FashionMNISTHyperparameters(Hyperparameters):
    """The models trained on a labelled image dataset (Fashion-MNIST by default)."""

    validation_split: float = hp(0.1, "share of the training images held out and monitored after every epoch (the "
                                      "test split is read once, at the end); 0 holds out none", minimum=0.0)
    mixed_precision: bool | str = hp("auto", "bfloat16 (CPU) or float16 (GPU) compute with float32 weights; auto: "
                                             "where the device computes it natively")


# zoo.train's own flags, in its "training" and "data" groups (with None as their parser default,
# so that a preset or a resumed run's value is kept unless the flag is given).
COMMON = ("epochs", "batch_size", "learning_rate", "steps_per_epoch", "validation_split", "mixed_precision")


@functools.lru_cache(maxsize=None)
def fields(cls) -> tuple:
    """(field, type) of a hyper-parameter dataclass, the types resolved from its annotations."""
    hints = typing.get_type_hints(cls)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(cls))


def defaults(cls) -> dict:
    return {f.name: f.default for f, _ in fields(cls)}


def _scalar(kind):
    """The non-None type of `int | None`; `kind` itself when it is not optional."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return options[0] if len(options) == 1 else None
    return kind


def coerce(cls, name: str, value):
    """`value` as field `name` of `cls` takes it (an int where a float is wanted, "8,16,32" kept
    as text), or a ZooError naming the flag and what it takes."""
    found = {f.name: (f, kind) for f, kind in fields(cls)}
    if name not in found:
        return value
    f, kind = found[name]
    flag = "--" + name.replace("_", "-")
    if value is None:
        if f.default is None:
            return None
        raise ZooError(f"{flag} needs a value")
    scalar = _scalar(kind)
    if scalar is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ZooError(f"{flag} takes a number, got {value!r}")
        value = float(value)
    elif scalar in (int, str, bool) and type(value) is not scalar:
        raise ZooError(f"{flag} takes {scalar.__name__} values, got {value!r}")
    choices, minimum = f.metadata.get("choices"), f.metadata.get("minimum")
    if choices and value not in choices:
        raise ZooError(f"{flag} must be one of {', '.join(map(str, choices))}, got {value!r}")
    maximum = f.metadata.get("maximum")
    if minimum is not None and isinstance(value, (int, float)) and value < minimum:
        raise ZooError(f"{flag} must be at least {minimum}, got {value}")
    if maximum is not None and isinstance(value, (int, float)) and value > maximum:
        raise ZooError(f"{flag} must be at most {maximum}, got {value}")
    return value


def channel_counts(value, flag: str = "--widths", count: int = 3) -> tuple:
    """A "C1,C2,C3" hyper-parameter (kept as text in config.json and on the command line) as
    `count` positive ints, or a ZooError naming the flag."""
    try:
        counts = tuple(int(c) for c in str(value).split(","))
    except ValueError:
        counts = ()
    if len(counts) != count or min(counts) < 1:
        raise ZooError(f"{flag} needs {count} positive channel counts, got {value!r}")
    return counts


def check(cls, values: dict) -> dict:
    """Every hyper-parameter of `values` coerced and checked (`coerce`); other keys as they are."""
    return {key: coerce(cls, key, value) for key, value in values.items()}


def add_flags(group, cls, *, skip=COMMON):
    """A flag for every field of `cls` but `skip`: `--dropout FLOAT` with the field's default,
    choices and help; a bool field is a --flag/--no-flag pair."""
    for f, kind in fields(cls):
        if f.name in skip:
            continue
        flag, meta, scalar = "--" + f.name.replace("_", "-"), f.metadata, _scalar(kind)
        options = {"default": f.default, "help": meta["help"].replace("%", "%%")}  # argparse formats help with %
        if scalar is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **options)
            continue
        if meta.get("choices"):
            options["choices"] = meta["choices"]
        if meta.get("metavar"):
            options["metavar"] = meta["metavar"]
        group.add_argument(flag, type=scalar or str, **options)


def common_help(cls, name: str) -> str:
    """The help of one of zoo.train's shared flags, with this model's default."""
    f = next(f for f, _ in fields(cls) if f.name == name)
    text = f.metadata["help"].replace("%", "%%")
    return f"{text} (default: {f.default})" if f.default is not None else text


def table(cls, values: dict) -> list:
    """The model card's table of hyper-parameters: each of `values` (what the run used), its
    default and what it does (Markdown lines)."""
    lines = ["| hyper-parameter | value | default | what it does |", "|---|---|---|---|"]
    for f, _ in fields(cls):
        value = values.get(f.name, f.default)
        shown = lambda v: "none" if v is None else str(v)  # noqa: E731
        lines.append(f"| {f.name} | {shown(value)} | {shown(f.default)} | {f.metadata['help']} |")
    return lines
