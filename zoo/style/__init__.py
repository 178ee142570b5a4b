"""Running a trained multi-style stylizer on what users have: photos, folders of them, videos.

The `zoo.stylize` command line only parses and dispatches; the work is here, one module per
concept, so that scripts and tests use the same pieces:

- `model`: open a stylizer (Keras, ONNX or TFLite), learn its style names, stylize one image;
- `weights`: turn `--style starry_night:0.7,great_wave:0.3` into the network's weight vector;
- `controls`: what users adjust after the network (strength, keeping the photo's colours);
- `video`: decoding and encoding frames with ffmpeg, and smoothing flicker between them;
- `tiling`: stylizing photos too big for one pass.

Nothing here imports TensorFlow or Keras except the Keras runtime itself, opened lazily.
"""
