"""Importing this package registers every model of the zoo."""

from zoo.models import cnn, dcgan, vae  # noqa: F401
from zoo.models import stylizer  # noqa: F401
from zoo.models import adain  # noqa: F401
from zoo.models import arbitrary_mobile  # noqa: F401
