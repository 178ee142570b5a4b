"""Datasets and tf.data pipelines for the zoo. TensorFlow is imported by what builds datasets, not
by this package: the AdaIN recipe reads its image folders without it (zoo.style.pairs)."""

from zoo.data.sources import DatasetInfo, Splits, hold_out_validation, load

__all__ = ["DatasetInfo", "Splits", "hold_out_validation", "load", "make_pipeline"]


def __getattr__(name):
    if name == "make_pipeline":
        from zoo.data.pipeline import make_pipeline

        return make_pipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
