"""The names that code on both sides of an export shares: the kinds of model, the networks a
model exports and their inputs and outputs, the files of a run's export. The bottom layer of the
zoo (it imports nothing): the recipes that make models, the exporters that write them, and the
TensorFlow-free CLIs and pages that run them all read these from here.
"""

DISTRIBUTION = "keras-zoo"  # the project's name in pyproject.toml, whose installed version runs record


class Task:
    """The kinds of model (`Recipe.task`, the export manifest's "task"): how the exporters check
    a model's files (accuracy, PSNR) and whether they take images of any size."""

    CLASSIFIER, GAN, VAE, IMAGE_TO_IMAGE = "classifier", "gan", "vae", "image-to-image"
    VQ_VAE = "vq-vae"  # an autoencoder of discrete codes and a prior that samples them


# Exported networks ("exportables") and their inputs and outputs.
CLASSIFIER, GENERATOR, ENCODER, DECODER = "classifier", "generator", "encoder", "decoder"
IMAGE, LATENT, LOGITS, PROBABILITIES = "image", "z", "logits", "probabilities"
PRIOR, CODES = "prior", "codes"  # a VQ-VAE's autoregressive prior and the code indices it and the decoder take
TRUNCATION = "truncation"  # a StyleGAN generator's second input: psi [N, 1], 1 no truncation, 0 the average image

MANIFEST = "manifest.json"  # what an export folder holds: files, checksums, tolerances, extras
EXPORT_DIR = "export"  # a run folder's export folder, python -m exporters's default
