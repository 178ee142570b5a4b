"""The model registry: one name per model, so the training CLI, the evaluator, the exporters and
the tests all find models the same way (as timm does).

A model module registers a `Recipe` subclass with `@register`. Importing `zoo.models` imports
every model module, which fills the registry.
"""

from __future__ import annotations

from zoo.errors import ZooError

_RECIPES: dict[str, type] = {}


def register(cls):
    """Class decorator: add a `Recipe` subclass to the registry under `cls.name`."""
    if cls.name in _RECIPES:
        raise ValueError(f"model {cls.name!r} registered twice")
    _RECIPES[cls.name] = cls
    return cls


def _load_all():
    import zoo.models  # noqa: F401  (registers every model)


def names() -> list[str]:
    _load_all()
    return sorted(_RECIPES)


def get(name: str):
    """Return the recipe class registered as `name`, or raise a ZooError listing the known ones."""
    _load_all()
    try:
        return _RECIPES[name]
    except KeyError:
        raise ZooError(f"unknown model {name!r}; known models: {', '.join(names())}") from None
