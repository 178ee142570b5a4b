"""Datasets and tf.data pipelines for the zoo."""

from zoo.data.pipeline import make_pipeline
from zoo.data.sources import DatasetInfo, Splits, load

__all__ = ["DatasetInfo", "Splits", "load", "make_pipeline"]
