"""The Keras side of serving, shared by the exporters and the deploy runtime's `--runtime keras`:
the one serving function every export format is converted from, and the Runner over it.

A leaf module (it imports nothing of the zoo's but the runtime's Spec): the runtime reaches Keras
models through it without importing the exporters, and the exporters build on it. TensorFlow is
imported only when a serving function is made.
"""

from __future__ import annotations

from zoo.deploy import runtime


def serving_function(model, dynamic_hw: bool):
    """The signature every format is converted from: inputs named like the model's, any batch
    (and any height and width for image-to-image models), a dict of named float32 outputs (a
    single-output model's output takes the name of its output layer)."""
    import tensorflow as tf

    specs = []
    for x in model.inputs:
        shape = [None, *x.shape[1:]]
        if dynamic_hw and len(shape) == 4:
            shape[1] = shape[2] = None
        specs.append(tf.TensorSpec(shape, tf.float32, name=x.name))
    names = list(model.output) if isinstance(model.output, dict) else list(model.output_names)

    @tf.function(input_signature=specs)
    def serve(*args):
        out = model(args[0] if len(args) == 1 else list(args), training=False)
        values = [out[n] for n in names] if isinstance(out, dict) else tf.nest.flatten(out)
        return {n: tf.cast(v, tf.float32) for n, v in zip(names, values)}

    return serve


class KerasRunner:
    """The Keras model behind the zoo.deploy.runtime calling convention (the reference, and the
    benchmark's baseline)."""

    def __init__(self, serve):
        self.serve = serve
        self.inputs = [runtime.Spec(s.name, tuple(s.shape)) for s in serve.input_signature]
        self.outputs = [runtime.Spec(k, tuple(s.shape)) for k, s in serve.get_concrete_function().structured_outputs.items()]

    def __call__(self, **arrays):
        return {k: v.numpy() for k, v in self.serve(*(arrays[s.name] for s in self.inputs)).items()}
