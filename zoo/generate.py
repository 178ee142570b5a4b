"""`python -m zoo.generate MODEL -n 64 --seed 0 --out grid.png`: draw images from a generative
model (the DCGAN's and StyleGAN's generators or the VAE's decoder from N(0, I), the StyleGAN's with
`--truncation`; the VQ-VAE's decoder from the codes its PixelCNN prior draws one position at a
time) and save a grid of them, or with
`--out FILE.npy` the raw samples (N x H x W x C, float32 in [0, 1]) to score with any classifier.

The random numbers of a seed are zoo.portable_random's, which the models' web pages draw too:
the same seed gives the same grid here and in the browser.

With --runtime onnx or tflite only the deploy runtime is used (no TensorFlow needed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from zoo import model_flags
from zoo.deploy.autoregressive import sample_codes
from zoo.deploy.bundle import Bundle
from zoo.errors import ArgumentParser, ZooError, cli
from zoo.fileio import atomic_path
from zoo.images import sample_grid, save_image
from zoo.names import CODES, DECODER, GENERATOR, IMAGE, LOGITS, PRIOR, TRUNCATION
from zoo.portable_random import standard_normal

GENERATORS = (GENERATOR, DECODER)  # the exportables that map latent vectors to images


def draw(bundle: Bundle, count: int, seed: int, truncation: float | None = None) -> np.ndarray:
    """`count` images [N, H, W, C] in [0, 1] that the model of `bundle` draws for `seed`; a
    StyleGAN's at `truncation` psi (default 1: none)."""
    if PRIOR in bundle:  # a VQ-VAE: codes from its prior, position by position, then its decoder
        prior, decoder = bundle[PRIOR], bundle[DECODER]
        grid = tuple(prior.inputs[0].shape[1:])
        codes = sample_codes(lambda c: prior(**{CODES: c})[LOGITS], count, grid, seed)
        return decoder(**{CODES: codes})[IMAGE]
    runner = bundle.first(GENERATORS, "a generative model")
    feed = {}
    if any(spec.name == TRUNCATION for spec in runner.inputs):
        feed[TRUNCATION] = np.full((count, 1), 1.0 if truncation is None else truncation, np.float32)
    elif truncation is not None:
        raise ZooError(f"{bundle.how} takes no truncation; --truncation is for StyleGAN generators")
    (z, *others) = [spec for spec in runner.inputs if spec.name != TRUNCATION]
    if others or len(z.shape) != 2:
        raise ZooError(f"{bundle.how} takes {z.name!r} of shape {z.shape}, not a latent vector; "
                       "zoo.generate runs generators, decoders and priors")
    feed[z.name] = standard_normal(seed, (count, z.shape[1]))
    return next(v for v in runner(**feed).values() if v.ndim == 4)


@cli
def main(argv=None):
    parser = ArgumentParser(prog="python -m zoo.generate", description=__doc__.split("\n\n")[0])
    model_flags.add_arguments(parser)
    parser.add_argument("-n", type=int, default=64, help="number of images")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random numbers, 0 to 4294967295")
    parser.add_argument("--out", default="grid.png",
                        help="picture of the grid (.png, .jpg), or .npy: the images themselves, N x H x W x C float32")
    parser.add_argument("--truncation", type=float, metavar="PSI",
                        help="a StyleGAN's truncation psi: 1 (the default) none, towards 0 more typical and less "
                             "varied images")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not 1 <= args.n <= 4096:
        raise ZooError(f"-n must be between 1 and 4096, got {args.n}")
    if not 0 <= args.seed < 2**32:
        raise ZooError(f"--seed must be from 0 to {2**32 - 1}, got {args.seed}")
    if args.truncation is not None and not 0.0 <= args.truncation <= 2.0:
        raise ZooError(f"--truncation must be from 0 to 2, got {args.truncation}")
    images = draw(model_flags.open_model(args), args.n, args.seed, args.truncation)
    out = Path(args.out)
    if out.suffix.lower() == ".npy":
        try:
            with atomic_path(out, suffix=".npy") as tmp:
                np.save(tmp, images.astype(np.float32))
        except OSError as e:
            raise ZooError(f"cannot write {out}: {e}") from None
    else:
        save_image(out, sample_grid(images))
    print(f"wrote {out}: {args.n} images of {images.shape[1]}x{images.shape[2]} ({args.runtime if not args.model else args.model})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
