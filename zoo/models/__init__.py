"""Every model of the zoo. Importing this package imports each model's file, which registers its
recipe; `get(name)` and `names()` then look models up (as timm's `timm.models` does)."""

from zoo.models import adain, arbitrary_mobile, cnn, dcgan, stylegan, stylizer, vae, vqvae  # noqa: F401  (each registers itself)
from zoo.registry import by_model_class, get, names  # noqa: F401
