"""From what users type after `--style` to the weight vector a multi-style network takes.

The network blends styles by a non-negative weight per style that sums to 1 (Dumoulin et al.'s
interpolation). Users name styles instead of counting positions, and give relative weights
that need not add up: `starry_night`, `starry_night:0.7,great_wave:0.3`, or `a:2,b:1`; a name
without a weight counts 1, so `a,b` is an even blend. Every mistake is refused with the list of
known names, because a typo silently giving some other style would look like a bad model.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.errors import ZooError

EXAMPLE = "--style NAME or --style NAME:0.7,OTHER:0.3"


def parse_weights(spec: str | None, names: list) -> np.ndarray:
    """float32 [len(names)] summing to 1 for `spec`; no spec is fine only for a one-style model."""
    known = ", ".join(names)
    if not spec:
        if len(names) == 1:
            return np.ones(1, np.float32)
        raise ZooError(f"this model has {len(names)} styles; choose with {EXAMPLE}: {known}")
    weights = np.zeros(len(names), np.float32)
    for name, weight in parse_blend(spec):
        if name not in names:
            raise ZooError(f"unknown style {name!r} in --style {spec!r}; this model's styles: {known}")
        weights[names.index(name)] = weight
    return weights


def parse_blend(spec: str) -> list:
    """[(item, weight)] of `ITEM[:WEIGHT],...`, the weights normalised to sum 1: the blend of
    named styles, or of style images for an arbitrary-style model."""
    blend = {}
    for entry in spec.split(","):
        item, _, value = (part.strip() for part in entry.partition(":"))
        if not item:
            raise ZooError(f"--style {spec!r} has an empty entry; write {EXAMPLE}")
        if item in blend:
            raise ZooError(f"style {item!r} is named twice in --style {spec!r}")
        blend[item] = _weight(value, item, spec) if value else 1.0
    total = sum(blend.values())
    if total == 0:
        raise ZooError(f"the weights of --style {spec!r} are all zero; give at least one style a positive weight")
    return [(item, weight / total) for item, weight in blend.items()]


def _weight(text: str, name: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ZooError(f"the weight of style {name!r} in --style {spec!r} must be a number >= 0, got {text!r}")
    return value


def describe(weights: np.ndarray, names: list) -> str:
    """'ihc' or 'ihc 70% + raphael_madonna 30%': the blend in words, for labels and messages."""
    parts = [(n, w) for n, w in zip(names, weights) if w > 0]
    if len(parts) == 1:
        return parts[0][0]
    return " + ".join(f"{n} {w:.0%}" for n, w in parts)
