"""The one exception type the builder raises for bad user input."""


class SpecError(ValueError):
    """A network spec (or something derived from it) is invalid.

    The message names the layer (position counted from 1, and name) and the field, with the
    received value, e.g. ``layer 3 (conv2): kernel_size must be a positive integer, got -1``.
    """
