"""Datasets and tf.data pipelines for the zoo."""

from zoo.data.pipeline import make_pipeline
from zoo.data.sources import DatasetInfo, Splits, hold_out_validation, load

__all__ = ["DatasetInfo", "Splits", "hold_out_validation", "load", "make_pipeline"]
