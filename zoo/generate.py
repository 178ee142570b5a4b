"""`python -m zoo.generate RUN_DIR --runtime onnx|tflite|keras -n 64 --out grid.png`: sample the
DCGAN's generator or the VAE's decoder from N(0, I) and save a grid of the images.

The latent vectors of a seed are zoo.portable_random's, which the models' web pages draw too:
the same seed gives the same grid here and in the browser.

With --runtime onnx or tflite only the deploy runtime is used (no TensorFlow needed).
"""

from __future__ import annotations

import sys

from zoo import model_flags
from zoo.errors import ArgumentParser, ZooError, cli
from zoo.images import sample_grid, save_image
from zoo.names import DECODER, GENERATOR
from zoo.portable_random import standard_normal

GENERATORS = (GENERATOR, DECODER)  # the exportables that map latent vectors to images


@cli
def main(argv=None):
    parser = ArgumentParser(prog="python -m zoo.generate", description=__doc__.split("\n\n")[0])
    model_flags.add_arguments(parser)
    parser.add_argument("-n", type=int, default=64, help="number of images")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent vectors, 0 to 4294967295")
    parser.add_argument("--out", default="grid.png", help="PNG file to write")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not 1 <= args.n <= 4096:
        raise ZooError(f"-n must be between 1 and 4096, got {args.n}")
    if not 0 <= args.seed < 2**32:
        raise ZooError(f"--seed must be from 0 to {2**32 - 1}, got {args.seed}")
    runner = model_flags.open_model(args).first(GENERATORS, "a generator or decoder")
    (z,) = runner.inputs
    if len(z.shape) != 2:
        raise ZooError(f"{args.model or args.run_dir} takes {z.name!r} of shape {z.shape}, not a latent vector; "
                       "zoo.generate runs generators and decoders")
    latent = standard_normal(args.seed, (args.n, z.shape[1]))
    images = next(v for v in runner(**{z.name: latent}).values() if v.ndim == 4)

    save_image(args.out, sample_grid(images))
    print(f"wrote {args.out}: {args.n} images of {images.shape[1]}x{images.shape[2]} ({args.runtime if not args.model else args.model})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
