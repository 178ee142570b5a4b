"""Keras 3 model zoo: classic generative models and style transfer, trained with tf.data and
exported to SavedModel, TFLite and ONNX.

The package root imports nothing heavy, so that the deploy-only runtime (`zoo.runtime`) works
where TensorFlow is not installed.
"""

__version__ = "0.1.0"
