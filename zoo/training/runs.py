"""A run folder: everything one training run leaves behind, and the way back into it.

    RUN/
      config.json     the recipe name, hyper-parameters, dataset and versions
      model.keras     the latest complete model (rewritten atomically after every epoch)
      checkpoint/     state.json + epoch-NNNN.weights.h5 (weights and optimizer state) for --resume
      logs/           TensorBoard event files
      images/         loss curves, per-epoch sample grids, evaluation pictures
      metrics.json    test metrics of the finished run
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import re
import zipfile
from pathlib import Path

from zoo.errors import ZooError, first_line
from zoo.fileio import atomic_path, creating, read_json, write_json
from zoo.names import DISTRIBUTION

RUNS_ROOT = Path("saved_models") / "runs"
VERSIONED = ("tensorflow", "keras", "jax", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert")


def device_name(backend) -> str:
    """What computes the training steps, for config.json and model cards (training times mean
    little without it): the accelerator's name, else the CPU's model and core count."""
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "cpu":
            return f"{device.device_kind} ({device.platform}, JAX)"
    else:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return f"{tf.config.experimental.get_device_details(gpus[0]).get('device_name', 'GPU')} (TensorFlow)"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "CPU"
    return f"{cpu}, {os.cpu_count()} cores"


def versions() -> dict:
    """The versions that made a run or an export (config.json, manifest.json): the zoo's,
    Python's, and those of the installed packages among `VERSIONED`, read from their metadata
    (nothing is imported)."""
    found = {"zoo": importlib.metadata.version(DISTRIBUTION), "python": platform.python_version()}
    for dist in VERSIONED:
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


class Run:
    def __init__(self, root):
        self.root = Path(root)

    config_path = property(lambda self: self.root / "config.json")
    model_path = property(lambda self: self.root / "model.keras")
    metrics_path = property(lambda self: self.root / "metrics.json")
    checkpoint_dir = property(lambda self: self.root / "checkpoint")
    state_path = property(lambda self: self.checkpoint_dir / "state.json")
    logs = property(lambda self: self.root / "logs")
    images = property(lambda self: self.root / "images")

    @classmethod
    def create(cls, out, model_name, dataset_name):
        """Make a new run folder (default: saved_models/runs/MODEL-DATASET-TIMESTAMP)."""
        if out is None:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(dataset_name).name)
            out = RUNS_ROOT / f"{model_name}-{safe}-{stamp}"
        run = cls(out)
        if run.config_path.exists():
            raise ZooError(f"{run.root} already holds a run; pass --resume {run.root} to continue it, or another --out")
        with creating(run.root):  # also a folder that exists but takes no files
            run.images.mkdir(parents=True, exist_ok=True)
            probe = run.root / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        return run

    @classmethod
    def open(cls, path):
        """Open an existing run folder, or raise ZooError if `path` is not one."""
        run = cls(path)
        if not run.root.is_dir():
            raise ZooError(f"run folder {run.root} does not exist")
        if not run.config_path.is_file():
            raise ZooError(f"{run.root} is not a zoo run folder (no config.json)")
        return run

    @property
    def config(self) -> dict:
        try:
            return read_json(self.config_path)
        except ValueError as e:
            raise ZooError(f"{self.config_path} is not valid JSON: {e}") from None

    def write_config(self, config):
        write_json(self.config_path, config)

    def save_model(self, model):
        """model.keras, written atomically: a crash leaves the last one whole."""
        with atomic_path(self.model_path, suffix=".keras") as tmp:
            model.save(tmp)

    def load_model(self):
        """Load model.keras in safe mode (no Lambda layers or pickled code from the file)."""
        return load_keras_model(self.model_path)


def load_keras_model(path):
    """Load a `.keras` file in safe mode, turning every failure into a one-line ZooError.

    The zoo's own Keras classes must be registered first, by importing the module that defines
    them (`import zoo.models` registers every model's): this module sits below the models."""
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"no model file at {path}; train the run first or give a .keras file")
    if not zipfile.is_zipfile(path):
        raise ZooError(f"cannot load {path}: corrupt or not a .keras file (not a zip archive)")
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except ValueError as e:
        msg = first_line(e)
        if "safe_mode" in str(e) or "Lambda" in str(e):
            msg = "it contains a Lambda layer or other code, which safe mode refuses to load"
        raise ZooError(f"cannot load {path}: {msg}") from None
    except Exception as e:  # zip, h5 or JSON damage, or a class nobody registered
        unknown = re.match(r"Could not locate class '([^']+)'", str(e))
        if unknown:
            raise ZooError(f"cannot load {path}: it needs the Keras class {unknown[1]!r}, which no loaded module "
                           "registers (a model of another project, or of another version of this one)") from None
        raise ZooError(f"cannot load {path}: corrupt or not a .keras file ({type(e).__name__}: {first_line(e)})") from None


MODELS_DIR_VARIABLE = "ZOO_MODELS_DIR"
# The released models of the project this package comes from (a checkout or an editable
# install): found by the package's own location, not the working directory.
PROJECT_MODELS_DIR = Path(__file__).resolve().parents[2] / "saved_models"


def models_dirs() -> list[Path]:
    """The folders that hold released models, searched in order (the first match of a name wins):
    every folder of `$ZOO_MODELS_DIR` (separated like PATH), then the project's `saved_models/`."""
    extra = os.environ.get(MODELS_DIR_VARIABLE, "")
    return [Path(p).expanduser() for p in extra.split(os.pathsep) if p] + [PROJECT_MODELS_DIR]


def released_models() -> dict[str, Path]:
    """{name: folder} of the released models: the run folders (with config.json) directly inside
    `models_dirs()`, so saved_models/runs/ and its training runs are not among them."""
    found = {}
    for root in models_dirs():
        if root.is_dir():
            for folder in sorted(root.iterdir()):
                if Run(folder).config_path.is_file():
                    found.setdefault(folder.name, folder)
    return found


def locate(name_or_path) -> Path:
    """The folder of a released model called `name_or_path`, else that path if it exists."""
    if isinstance(name_or_path, str) and name_or_path in (released := released_models()):
        return released[name_or_path]
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    names = ", ".join(sorted(released_models())) or "none"
    searched = ", ".join(map(str, models_dirs()))
    raise ZooError(f"no released model or file {str(name_or_path)!r}; released models: {names} "
                   f"(in {searched}; ${MODELS_DIR_VARIABLE} adds folders)")


def is_chief() -> bool:
    """True unless this process is a non-chief worker of a multi-worker run (those must not
    write the run folder). Without a chief in TF_CONFIG, worker 0 is the chief, as in TF."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task")
    if not task or task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in tf_config.get("cluster", {})
