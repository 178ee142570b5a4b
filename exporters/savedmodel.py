"""SavedModel: the exportable's serving function under the signature name `serving_default`,
written with Keras's ExportArchive (which tracks the model's variables, as `model.export` does,
but lets us choose the signature: named inputs, and a dict of named outputs even for a model
with a single output)."""

from __future__ import annotations

import numpy as np

from zoo.deploy.runtime import Spec

SIGNATURE = "serving_default"


def export(exportable, path, fmt, opset):
    import keras

    archive = keras.export.ExportArchive()
    archive.track(exportable.model)
    archive.add_endpoint(SIGNATURE, exportable.serve)
    archive.write_out(str(path), verbose=False)


class SavedModelRunner:
    """Run a SavedModel's serving signature with the zoo.deploy.runtime calling convention, so the
    validation and the benchmark treat every format alike."""

    def __init__(self, path, threads=None):
        import tensorflow as tf

        self.signature = tf.saved_model.load(str(path)).signatures[SIGNATURE]
        _, inputs = self.signature.structured_input_signature
        self.inputs = [Spec(name, tuple(s.shape)) for name, s in inputs.items()]
        self.outputs = [Spec(name, tuple(s.shape)) for name, s in sorted(self.signature.structured_outputs.items())]

    def __call__(self, **arrays):
        return {k: np.asarray(v) for k, v in self.signature(**arrays).items()}
