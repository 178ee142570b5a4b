"""Keras 3 model zoo: classic generative models and style transfer, trained with tf.data and
exported to SavedModel, TFLite and ONNX.

    model = zoo.create_model("cnn")                         # see zoo.api
    net = zoo.load("cnn-fashion_mnist", runtime="onnx")

The package root imports nothing heavy, so that the deploy-only runtime (`zoo.deploy.runtime`) works
where TensorFlow is not installed: the library functions of `zoo.api` are imported on first use
(PEP 562), and only those that need Keras import it.
"""

from importlib.metadata import version as _version

from zoo.names import DISTRIBUTION

__version__ = _version(DISTRIBUTION)  # pyproject.toml's, as installed
__all__ = ["create_model", "list_models", "load", "open"]


def __getattr__(name):
    if name not in __all__:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    from zoo import api

    value = globals()[name] = getattr(api, name)  # later lookups skip this function
    return value


def __dir__():
    return sorted({*globals(), *__all__})
