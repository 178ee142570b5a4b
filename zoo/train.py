"""Train a zoo model: `python -m zoo.train MODEL [options]`.

Writes a run folder (see zoo.training.runs) that `--resume`, `zoo.evaluate` and `python -m exporters` take.
Runs on the Keras backend that KERAS_BACKEND names, TensorFlow (the default) or JAX.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()  # before Keras is imported: a run's wall time counts its start-up too
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo import hparams, models  # noqa: E402
from zoo.errors import ArgumentParser, ZooError, check_at_least, cli  # noqa: E402
from zoo.fileio import write_json  # noqa: E402
from zoo.log import log, setup  # noqa: E402
from zoo.data.sources import has_tensorflow  # noqa: E402
from zoo.training.callbacks import ResumableCheckpoint, RunHistory, StopOnNaN, TimeLimit  # noqa: E402
from zoo.training.runs import Run, device_name, is_chief, versions  # noqa: E402
from zoo.training.warm_start import copy_weights, load_source  # noqa: E402

STRATEGIES = ("default", "mirrored", "multiworker")
BACKENDS = ("tensorflow", "jax")


def build_parser(model_name=None):
    parser = ArgumentParser(
        prog="python -m zoo.train",
        description="Train a zoo model and write a run folder (model.keras, checkpoints, TensorBoard logs, "
                    "config.json, metrics.json, PNG pictures). The Keras backend is KERAS_BACKEND's: "
                    "tensorflow (the default) or jax (pip install -e '.[jax]').",
    )
    parser.add_argument("model", choices=models.names(), help="which model to train (see python -m zoo.list)")
    recipe = models.get(model_name) if model_name in models.names() else None
    # The shared hyper-parameters' flags default to None, so that a --preset's value or a resumed
    # run's is kept unless the flag is given; their help shows the model's default.
    shared = (lambda name, fallback: hparams.common_help(recipe.Hyperparameters, name)  # noqa: E731
              if recipe and name in recipe.defaults else fallback)
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", default="fashion_mnist",
                      help="tensorflow-datasets name (mnist, fashion_mnist, cifar10...), a folder of IDX files, "
                           "or a folder of images (one sub-folder per class for the CNN)")
    data.add_argument("--data-dir", help="prepared tensorflow-datasets folder (works offline)")
    data.add_argument("--image-size", type=int, help="resize images to this square side")
    data.add_argument("--channels", type=int, choices=(1, 3), help="convert images to 1 or 3 channels")
    data.add_argument("--limit", type=int, help="use only the first N training images (quick runs)")
    data.add_argument("--validation-split", type=float, metavar="FRACTION",
                      help=shared("validation_split", "share of the training images held out and monitored after "
                                                      "every epoch; 0 holds out none"))
    data.add_argument("--augment", choices=("none", "crop", "flip", "crop+flip"),
                      help="tf.data augmentation (default: the model's own)")
    hp = parser.add_argument_group("training" if recipe else "training (defaults depend on the model: see python -m "
                                                             "zoo.list)")
    hp.add_argument("--epochs", type=int, help=shared("epochs", None))
    hp.add_argument("--batch-size", type=int, help=shared("batch_size", "global batch size (split across replicas)"))
    hp.add_argument("--learning-rate", type=float, help=shared("learning_rate", None))
    hp.add_argument("--steps-per-epoch", type=int, help=shared("steps_per_epoch", "batches per epoch"))
    hp.add_argument("--seed", type=int, default=0, help="seed for weights, noise, shuffling and augmentation")
    run = parser.add_argument_group("run")
    run.add_argument("--out", help="run folder to create (default: saved_models/runs/MODEL-DATASET-TIME)")
    run.add_argument("--resume", metavar="RUN_DIR",
                     help="continue the run in RUN_DIR from its last checkpoint (--epochs may extend it)")
    run.add_argument("--init-from", metavar="MODEL",
                     help="start a new run from the weights of a released model, a run folder or a .keras file of "
                          "the same architecture (fine-tuning: a fresh optimizer, this run's hyper-parameters)")
    run.add_argument("--widen", action="store_true",
                     help="with --init-from: the new run's network may be wider than the source's (--widths): the "
                          "source's weights fill its leading channels and its new channels start as Net2Net's "
                          "widening, without changing the source's pictures")
    run.add_argument("--time-limit", type=float, metavar="MINUTES",
                     help="stop at the end of the first epoch that ends after this many minutes of training (this "
                          "session's); the run stays resumable, and --epochs is then an upper bound")
    run.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction,
                     help=shared("mixed_precision", "mixed_float16 on GPU, mixed_bfloat16 on CPU (default: the "
                                                    "model's; 'auto' models use it on GPUs and on CPUs with bfloat16 "
                                                    "instructions)"))
    run.add_argument("--jit-compile", action="store_true",
                     help="compile train steps with XLA (always so with the JAX backend)")
    run.add_argument("--strategy", choices=STRATEGIES, default="default",
                     help="mirrored = data parallel over all local GPUs (or --cpu-devices): tf.distribute's "
                          "MirroredStrategy, or keras.distribution.DataParallel with JAX; multiworker = "
                          "MultiWorkerMirroredStrategy from TF_CONFIG (TensorFlow only)")
    run.add_argument("--cpu-devices", type=int, default=1,
                     help="split the CPU into N devices (to run --strategy mirrored without GPUs)")
    if recipe:
        if recipe.presets:
            hp.add_argument("--preset", choices=sorted(recipe.presets),
                            help="named defaults for another time budget (the flags given still override them): "
                                 + "; ".join(f"{name}: {flags(values)}" for name, values in recipe.presets.items()))
        own = parser.add_argument_group(f"{model_name} options")
        hparams.add_flags(own, recipe.Hyperparameters)
        recipe.add_arguments(own)
    return parser


def flags(config: dict) -> str:
    """Config values as the zoo.train flags that set them."""
    return " ".join(f"--{key.replace('_', '-')} {value}" for key, value in config.items())


def parse(argv):
    """zoo.train's arguments: a --preset's values are the defaults that the flags override."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("model", nargs="?")
    first.add_argument("--preset")
    known, _ = first.parse_known_args(argv)
    parser = build_parser(known.model)
    presets = models.get(known.model).presets if known.model in models.names() else {}
    parser.set_defaults(**presets.get(known.preset, {}))  # an unknown preset: the parser's own error
    args = parser.parse_args(argv)
    check_values(vars(args), models.get(args.model))
    return args


def check_values(values: dict, recipe_cls):
    """Refuse values that no run can use, with the flag's name: the CLI's flags, and the
    hyper-parameters of `zoo.create_model` (config keys, which are the flags' names), checked
    against the model's `Hyperparameters` (types, choices, least values)."""
    if values.get("learning_rate") is not None and not values["learning_rate"] > 0:
        raise ZooError(f"--learning-rate must be positive, got {values['learning_rate']}")
    hparams.check(recipe_cls.Hyperparameters, {k: v for k, v in values.items() if v is not None})
    for flag in ("limit", "image_size", "cpu_devices"):
        check_at_least(flag, values.get(flag))
    if values.get("time_limit") is not None and not values["time_limit"] > 0:
        raise ZooError(f"--time-limit must be a positive number of minutes, got {values['time_limit']}")


def make_config(args, recipe_cls):
    """Recipe defaults, overridden by every flag the user gave."""
    config = {"model": recipe_cls.name, **recipe_cls.defaults}
    for key, value in vars(args).items():
        if value is not None or key not in config:
            config[key] = value
    return config


def set_backend(config, backend):
    """Record the Keras backend in the run's config. Under JAX every step is XLA-compiled: Keras
    runs un-jitted JAX steps op by op, many times slower."""
    config["backend"] = backend
    if backend == "jax":
        config["jit_compile"] = True
    return config


def keras_backend() -> str:
    """The backend Keras runs on (KERAS_BACKEND), if the zoo trains on it: TensorFlow, or JAX,
    whose steps are the same Keras code except the DCGAN's gradients."""
    try:
        import keras
    except ImportError as e:
        raise ZooError(f"Keras cannot load its backend ({e}); zoo.train runs with KERAS_BACKEND=tensorflow "
                       "or KERAS_BACKEND=jax (pip install -e '.[jax]')") from None
    backend = keras.backend.backend()
    if backend not in BACKENDS:
        raise ZooError(f"zoo.train runs with the tensorflow or jax backend, not {backend}; "
                       "set KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax")
    return backend


def make_strategy(name, cpu_devices):
    """The tf.distribute strategy of --strategy, on the TensorFlow backend."""
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    if cpu_devices > 1:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
    if name == "mirrored":
        devices = None if tf.config.list_physical_devices("GPU") else [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ZooError("--strategy multiworker needs the TF_CONFIG environment variable (cluster and task)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def make_distribution(name, cpu_devices):
    """--strategy on the JAX backend: mirrored is keras.distribution.DataParallel over the local
    devices, the CPU split into `cpu_devices` without accelerators; None for the default."""
    import jax
    import keras

    if name == "multiworker":
        raise ZooError("--strategy multiworker needs the TensorFlow backend (KERAS_BACKEND=tensorflow); "
                       "with JAX, --strategy mirrored trains on the local devices")
    if cpu_devices > 1:
        jax.config.update("jax_num_cpu_devices", cpu_devices)  # before JAX first lists its devices
    return keras.distribution.DataParallel() if name == "mirrored" else None


def has_gpu(backend) -> bool:
    """Whether the backend computes on a GPU, where mixed precision means float16."""
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def cpu_has_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX; Linux reports it in
    /proc/cpuinfo). Without, TensorFlow emulates bfloat16 and mixed precision is slower, not faster."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def resolve_precision(setting, backend) -> bool:
    """--mixed-precision as given, or for a model's 'auto' default: on where it pays."""
    if setting == "auto":
        return has_gpu(backend) or cpu_has_bfloat16()
    return bool(setting)


def set_precision(enabled, backend):
    import keras

    policy = ("mixed_float16" if has_gpu(backend) else "mixed_bfloat16") if enabled else "float32"
    keras.mixed_precision.set_global_policy(policy)
    if enabled:
        log.info(f"mixed precision: {policy}")


def set_learning_rate(model, value):
    """Give every optimizer of `model` a new constant learning rate (the checkpoint restored the old
    one); optimizers on a schedule were already rebuilt from the new config."""
    import keras

    for optimizer in {id(v): v for v in vars(model).values() if isinstance(v, keras.optimizers.Optimizer)}.values():
        if not isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            optimizer.learning_rate = value
    log.info(f"learning rate set to {value}")


@cli
def main(argv=None):
    """`python -m zoo.train`. Called in a process that goes on (a notebook, the tests), it leaves
    Keras's global dtype policy as it found it, whether the run finished or was refused."""
    keras = sys.modules.get("keras")  # a process without Keras yet has no policy to keep
    policy = keras.mixed_precision.global_policy() if keras else None
    try:
        return train(argv)
    finally:
        if keras:
            keras.mixed_precision.set_global_policy(policy)


def train(argv):
    backend = keras_backend()
    args = parse(sys.argv[1:] if argv is None else argv)
    setup()

    recipe_cls = models.get(args.model)
    command = ["python", "-m", "zoo.train", *(argv or sys.argv[1:])]
    chief = is_chief()
    if args.resume and args.init_from:
        raise ZooError("--init-from starts a new run from a model's weights and --resume continues a run: give one")
    if args.widen and not args.init_from:
        raise ZooError("--widen widens the network of --init-from: give --init-from MODEL")
    if args.widen and not recipe_cls.widenable:
        raise ZooError(f"--widen: {args.model}'s network cannot start wider than its source (its channels are "
                       "concatenated); train it at the source's widths")
    if args.resume:
        run = Run.open(args.resume)
        config = run.config
        if config.get("model") != args.model:
            raise ZooError(f"{run.root} is a {config.get('model')!r} run; cannot resume it as {args.model!r}")
        trained_on = config.get("backend", "tensorflow")  # runs older than this record were TensorFlow's
        if trained_on != backend:
            raise ZooError(f"{run.root} was trained with the {trained_on} backend; resume it with "
                           f"KERAS_BACKEND={trained_on}")
        # A resumed run keeps its configuration, but may be extended or cooled down.
        for key in ("epochs", "learning_rate", "time_limit"):
            if getattr(args, key):
                config[key] = getattr(args, key)
        config.setdefault("resumed_with", []).append(command)
        if chief:
            run.write_config(config)
        log.info(f"resuming {run.root}")
    else:
        config = set_backend(make_config(args, recipe_cls), backend)
        run = None

    import keras

    log.info(f"Keras backend: {backend}")
    cpu_devices = config.get("cpu_devices") or 1
    if backend == "jax":
        distribution = make_distribution(config["strategy"], cpu_devices)
        replicas = distribution.device_mesh.devices.size if distribution else 1
        scope = distribution.scope if distribution else contextlib.nullcontext
    else:
        strategy = make_strategy(config["strategy"], cpu_devices)
        replicas = strategy.num_replicas_in_sync
        scope = strategy.scope
    log.info(f"{config['strategy']} strategy: {replicas} replicas")
    # After the devices are set up (JAX fixes its CPU devices when first asked for any), before
    # the new run's config.json records the choice.
    config["mixed_precision"] = resolve_precision(config.get("mixed_precision"), backend)
    set_precision(config["mixed_precision"], backend)
    keras.utils.set_random_seed(config["seed"])
    recipe = recipe_cls(config)
    splits = recipe.load_data()
    if recipe.needs_labels and not splits.info.num_classes:
        raise ZooError(f"{args.model} needs labelled images; {splits.info.source} has no classes "
                       "(put the images of each class in a sub-folder)")
    validation = f"{splits.info.num_validation} validation / " if splits.info.num_validation else ""
    log.info(f"data: {splits.info.source}: {splits.info.num_train} train / {validation}{splits.info.num_test} test "
             f"images of shape {splits.info.image_shape}")

    distributed = replicas > 1  # the test metrics: the single-device evaluation of the saved model at the end
    # before the run folder: a batch bigger than the data is refused with nothing written
    train_ds, _ = recipe.pipelines(splits, config["batch_size"])
    validation_ds = None
    if splits.validation is not None and recipe.validate_each_epoch and not distributed:
        _, validation_ds = recipe.pipelines(dataclasses.replace(splits, test=splits.validation), config["batch_size"])

    source = None
    if run is None and args.init_from:
        source, config["lineage"] = load_source(args.init_from, recipe_cls)
        if args.widen:
            config["lineage"]["widen"] = True
    elif run is not None and config.get("lineage") and not run.state_path.is_file():
        source = load_source(config["lineage"]["init_from"], recipe_cls)[0]  # stopped before its first checkpoint
    with scope():  # the model's and its optimizers' variables are the strategy's
        model = recipe.build(splits.info)
        if source is not None:  # before a new run's folder exists: weights that do not fit leave nothing behind
            grown = recipe.grown_weights()
            count = copy_weights(model, source, config["lineage"]["init_from"], grown,
                                 widen=config["lineage"].get("widen", False))
            log.info(f"started from the {count} weights of {config['lineage']['init_from']}"
                     + (f"; {len(model.weights) - count} new weights ({', '.join(g + '*' for g in grown)}) start as the identity"
                        if len(model.weights) > count else ""))

    if run is None:
        # Non-chief workers of a multi-worker run do the same work (collectives need every worker)
        # but write into a throw-away folder, as the Keras multi-worker guide does.
        out = config["out"] if chief else tempfile.mkdtemp(prefix="zoo-worker-")
        run = Run.create(out, args.model, config["dataset"])
        config.update(dataset_info=splits.info.to_json(), versions=versions(), command=command,
                      device=device_name(backend))
        run.write_config(config)

    with scope():
        initial_epoch, history = ResumableCheckpoint.restore(run, model, recipe)
    if initial_epoch:
        log.info(f"restored checkpoint of epoch {initial_epoch}")
        if args.learning_rate:
            set_learning_rate(model, args.learning_rate)
    callbacks = [
        StopOnNaN(run),
        *recipe.callbacks(run, splits),  # first: what they add to an epoch's logs is recorded below
        RunHistory(run, history),
        ResumableCheckpoint(run, history),
        # Keras writes TensorBoard logs with tf.summary
        *([keras.callbacks.TensorBoard(log_dir=str(run.logs))] if has_tensorflow() else []),
        *([TimeLimit(config["time_limit"])] if config.get("time_limit") else []),
    ]
    if not has_tensorflow():
        log.warning("TensorFlow is not installed: no TensorBoard logs (the checkpoint keeps the history, images/ the "
                    "loss curves)")
    log.info(f"training {args.model} for {config['epochs']} epochs into {run.root}")
    start = time.perf_counter()
    # Keras's JAX trainer distributes the batches of fit() inside the distribution's scope only.
    fit_scope = scope() if backend == "jax" else contextlib.nullcontext()
    if config["strategy"] == "multiworker":
        # Keras 3.15's fit() reduces the first batch with strategy.reduce(), which
        # MultiWorkerMirroredStrategy cannot do for a tuple (keras-team/keras#20585). The model is
        # built already, so skip that step: clear the model's own strategy and run fit() inside
        # the strategy's scope, where Keras picks the same strategy up for the train function.
        # Its per-step logs are then averaged over workers with reduce(axis=0), which needs
        # at least one dimension: give each logged scalar one.
        model._distribute_strategy = None
        fit_scope = strategy.scope()
        train_step = model.train_step
        model.train_step = lambda data: {k: keras.ops.reshape(v, (1,)) for k, v in train_step(data).items()}
    with fit_scope:
        model.fit(
            train_ds, epochs=config["epochs"], initial_epoch=initial_epoch, callbacks=callbacks,
            steps_per_epoch=config.get("steps_per_epoch"),
            validation_data=validation_ds,
            shuffle=False,  # the tf.data pipeline shuffles
            verbose=1 if sys.stdout.isatty() else 2,
        )
    seconds = time.perf_counter() - start
    if not chief:  # its copy of the run was only there for the collectives of training
        shutil.rmtree(run.root, ignore_errors=True)
        return 0
    if initial_epoch >= config["epochs"]:
        log.info(f"the run already has {initial_epoch} epochs; evaluating it again")
        if not run.model_path.is_file():  # a run folder committed without it: checkpoint and config only
            run.save_model(model)

    # Evaluate the saved model, loaded outside any distribution strategy: it is what users get,
    # and single-device evaluation needs no collectives.
    model = run.load_model()
    metrics = recipe.evaluate(model, splits)
    recipe.report(run, model, splits)

    write_json(run.metrics_path, {
        "model": args.model, "dataset": splits.info.name, "data_source": splits.info.source,
        "epochs": len(history), **metrics,
        "final_train": {k: v for k, v in history[-1].items() if k not in ("epoch", "seconds")} if history else {},
        # Older checkpoints did not time their epochs: then the total is unknown, not zero.
        "train_seconds": round(sum(h["seconds"] for h in history), 1) if all("seconds" in h for h in history) else None,
        "train_seconds_this_session": round(seconds, 1),
        # the command's wall time up to here: start-up, data, training, the test evaluation and pictures
        "wall_seconds_this_session": round(time.perf_counter() - STARTED, 1),
    })
    summary = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float))
    print(f"run saved to {run.root}" + (f": {summary}" if summary else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
