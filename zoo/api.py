"""The zoo as a library: make a model by name, or load a trained one by name or path.

    model = zoo.create_model("vae", latent_dim=2)          # keras.Model, built, not compiled
    zoo.list_models()                                       # what create_model makes: ["cnn", ...]
    zoo.list_models(released=True)                          # what load finds: ["cnn-fashion_mnist", ...]
    cnn = zoo.load("cnn-fashion_mnist")                     # the trained keras.Model
    cnn = zoo.load("cnn-fashion_mnist", runtime="onnx")     # cnn(image=batch)["probabilities"]
    vae = zoo.load("vae-fashion_mnist", runtime="tflite")   # vae["encoder"], vae["decoder"]

As with timm's `create_model` and keras-hub's `from_preset`, one name gives the same network
that `python -m zoo.train` fits, and one name gives a trained model whichever runtime runs it,
from whatever folder the caller works in. Nothing is reimplemented here: the registry builds,
`zoo.training.runs` loads `.keras` files in safe mode, and `zoo.deploy.runtime` opens and checks exported files.

Importing this module imports neither TensorFlow nor Keras; `create_model`, `list_models()` and
`load(..., runtime="keras")` import them when called, `load(..., runtime="onnx" | "tflite")` and
`list_models(released=True)` never do, so the `[deploy]` install can use them.
"""

from __future__ import annotations

from zoo.deploy import runtime as deploy
from zoo.deploy.bundle import Bundle, open_export
from zoo.errors import ZooError
from zoo.training.runs import Run, load_keras_model, locate, released_models

DEFAULT_NUM_CLASSES = 10  # the default --dataset's (Fashion-MNIST), as Recipe.default_image_shape


def list_models(released: bool = False) -> list[str]:
    """The names `create_model` takes (the registered models), or with `released=True` the names
    `load` takes (the trained models in `models_dirs()`), sorted, as timm's `list_models`."""
    if released:
        return sorted(released_models())
    from zoo import models

    return models.names()


def create_model(name: str, preset: str | None = None, **hparams):
    """The registered model `name` as `python -m zoo.train NAME` would build it, but not compiled
    (no optimizer, loss network or schedule: see `Recipe.build_model`), with fresh weights
    (`keras.utils.set_random_seed` first makes them reproducible).

    `hparams` override the training configuration: the recipe's defaults and zoo.train's flags,
    by their config.json names (`latent_dim=2`, `widths="8,16,32"`), over the recipe's `preset`
    if one is named (the CNN's "long"). No data is loaded: the
    network is built for the recipe's default image shape (28x28x1, Fashion-MNIST's, for the CNN,
    VAE and DCGAN; any size for the stylizer), changed by `image_size` and `channels`, and for 10
    classes, changed by `num_classes`. The stylizer takes `styles` (its paintings, as
    zoo.train's --styles), which give its number of styles and their names.
    """
    from zoo import models
    from zoo.data import DatasetInfo
    from zoo.train import check_values, make_config, parse

    recipe_cls = models.get(name)
    if preset is not None and preset not in recipe_cls.presets:
        raise ZooError(f"{name} has no preset {preset!r}; it has {', '.join(map(repr, recipe_cls.presets)) or 'none'}")
    config = make_config(parse([name, *(["--preset", preset] if preset else [])]), recipe_cls)
    accepted = sorted(set(config) - {"model"} | {"num_classes"})
    unknown = sorted(set(hparams) - set(accepted))
    if unknown:
        raise ZooError(f"{name} has no hyper-parameter {', '.join(map(repr, unknown))}; it takes {', '.join(accepted)}")
    num_classes = hparams.get("num_classes", DEFAULT_NUM_CLASSES)
    config.update((k, v) for k, v in hparams.items() if k != "num_classes")
    side = config["image_size"]
    height, width, channels = recipe_cls.default_image_shape
    info = DatasetInfo(name=config["dataset"], source="zoo.create_model (no data loaded)",
                       image_shape=(side or height, side or width, config["channels"] or channels),
                       num_classes=num_classes, class_names=None, num_train=0, num_test=0)
    try:
        check_values(config, recipe_cls)
        return recipe_cls(config).build_model(info)
    except (TypeError, ValueError) as e:  # a value of the wrong type or size, as Keras words it
        raise ZooError(f"cannot create {name} with {hparams}: {e}") from None


def load(name_or_path, runtime: str | None = None):
    """A trained model: a released name (see `list_models(released=True)`), else a run folder,
    an export folder or a `.keras`, `.onnx` or `.tflite` file.

    `runtime` is "keras" (the default for names and folders: the keras.Model, loaded in safe
    mode), "onnx" or "tflite" (a `zoo.deploy.runtime` Runner of the export's float32 file: called with
    named float32 inputs, it returns a dict of named outputs; a model exported as several networks
    gives a dict of Runners by name: the VAE's "encoder" and "decoder", the stylizer's "stylizer"
    and "stylizer_tile", AdaIN's "style_encoder", "transfer" and "transfer_tile"); AdaIN's keras.Model,
    loaded from a name or folder, comes with its VGG19 encoder attached, and a CNN with the
    test-time views of its run (`--tta`), as evaluated and exported. A file runs in its own
    format, a `.keras` file as saved. Exported files must match the sha256 in their folder's
    manifest.json; quantized variants load by their file path.
    """
    if runtime not in (None, *deploy.RUNTIMES):
        raise ZooError(f"runtime must be one of {', '.join(deploy.RUNTIMES)}, got {runtime!r}")
    path = locate(name_or_path)
    if path.is_file():
        kind = path.suffix[1:]
        if kind not in deploy.RUNTIMES:
            raise ZooError(f"cannot load {path}: give a .keras, .onnx or .tflite file, or a folder")
        if runtime not in (None, kind):
            raise ZooError(f"runtime={runtime!r} cannot run {path.name}; leave runtime out to run it as {kind}")
        if kind == "keras":
            import zoo.models  # noqa: F401  (registers the classes the file holds)

            return load_keras_model(path)
        return deploy.load(path, strict=True)
    if runtime in (None, "keras"):
        from zoo import models

        run = Run.open(path)
        return models.get(run.config["model"])(run.config).ready(run.load_model())
    runners = open(path, runtime).runners
    return next(iter(runners.values())) if len(runners) == 1 else runners


def open(name_or_path, runtime: str | None = None, threads: int | None = None, low_memory=(),  # noqa: A001
         strict: bool = False) -> Bundle:
    """The one way to open a trained model for running: a released name, a run folder, an
    export folder or a single `.keras`, `.onnx` or `.tflite` file, as a `zoo.deploy.bundle.Bundle`
    (a Runner per network, the manifest and its extras, a word on how it runs).

    `runtime`: "onnx" (the default for folders), "tflite" or "keras" (the trained model.keras,
    which needs TensorFlow); a file runs in its own format. From a folder come the float32
    files; a file comes with the networks exported beside it in the same format and
    quantization. `low_memory`: networks (tile networks) to open with less memory;
    `strict`: refuse a file that no manifest lists (see `zoo.deploy.runtime.load`).
    """
    if runtime not in (None, *deploy.RUNTIMES):
        raise ZooError(f"runtime must be one of {', '.join(deploy.RUNTIMES)}, got {runtime!r}")
    path = locate(name_or_path)
    if path.is_file():
        kind = next((name for name, suffix in deploy.SUFFIXES.items() if suffix == path.suffix), None)
        if kind is None:
            raise ZooError(f"cannot run {path}: give a .keras, .onnx or .tflite file, or a folder")
        if runtime not in (None, kind):
            raise ZooError(f"runtime {runtime!r} cannot run {path.name}; leave the runtime out to run it as {kind}, "
                           "or give a folder")
        runtime = kind
    if runtime == "keras":
        from exporters.keras_runtime import open_keras

        return open_keras(path, threads)
    return open_export(path, runtime or "onnx", threads=threads, low_memory=low_memory, strict=strict)
