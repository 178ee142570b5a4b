"""The model registry: one name per model, so the training CLI, the evaluator, the exporters and
the tests all find models the same way (as timm does).

A model module registers its `Recipe` subclass with `@register`; the registry imports no model
(timm's `_registry.py` neither), so that every model can import it. Importing `zoo.models` imports
every model module, and `zoo.models.get` and `zoo.models.names` are these functions over the
filled registry: use those.
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


def names() -> list[str]:
    """The registered models' names, sorted."""
    return sorted(_RECIPES)


def by_model_class(class_name: str | None, path):
    """The recipe whose `model_class` is called `class_name` (the class of a bare .keras file's
    model, see zoo.deploy.runtime.keras_class), or a ZooError about the file at `path`."""
    for cls in _RECIPES.values():
        if cls.model_class is not None and cls.model_class.__name__ == class_name:
            return cls
    raise ZooError(f"cannot tell which zoo model {path} holds (its model is a {class_name or 'file of no known kind'}); "
                   "give its run folder, with config.json")


def get(name: str):
    """Return the recipe class registered as `name`, or raise a ZooError listing the known ones."""
    try:
        return _RECIPES[name]
    except KeyError:
        raise ZooError(f"unknown model {name!r}; known models: {', '.join(names()) or 'none'}") from None
