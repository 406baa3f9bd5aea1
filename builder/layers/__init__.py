"""The layer registry: ONE entry per layer type, each holding everything about its type.

An entry holds the torch class, its constructor arguments with defaults, bounds, choices, help and
a "primary" flag (which drive validation and the UI widgets), its category and starter arguments,
its output-shape rule, its window geometry (kernel, stride, padding split, dilation: normalized
once, used by shapes, the receptive field and memory), its parameter and buffer tensors with
their ranks, its mult-adds rule, its name prefix, and how its constructor and functional forms
are spelt in code. Adding a layer type is one ``register(...)`` call in the module of its family
plus one row in the shared test table (``tests/cases.py``).
"""

from __future__ import annotations

from . import activation, conv, core, merge, norm, pool, resample  # noqa: F401  (each registers its family)
from .base import (
    CATEGORIES,
    MAX_INT,
    MIN_EPS,
    REGISTRY,
    Arg,
    ArgKind,
    Footprint,
    LayerProblem,
    LayerType,
    Shape,
    TensorList,
    Window,
    axes,
    macs_per_position,
    pair,
    register,
    window,
)

REQUIRED_TYPES = (
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "BatchNorm2d",
    "Linear",
    "Flatten",
    "ReLU",
    "Dropout",
)
PARAM_TYPES = tuple(
    sorted(
        (name for name, entry in REGISTRY.items() if entry.tensor_names),
        key=lambda name: REGISTRY[name].category == "activation",  # PReLU after the layers
    )
)
TENSOR_NDIM = {name: dict(REGISTRY[name].tensor_ndim) for name in PARAM_TYPES}
"""What each parameter tensor of a type looks like, for checking that a scheme fits it."""

__all__ = [
    "CATEGORIES",
    "MAX_INT",
    "MIN_EPS",
    "PARAM_TYPES",
    "REGISTRY",
    "REQUIRED_TYPES",
    "TENSOR_NDIM",
    "Arg",
    "ArgKind",
    "Footprint",
    "LayerProblem",
    "LayerType",
    "Shape",
    "TensorList",
    "Window",
    "axes",
    "macs_per_position",
    "pair",
    "register",
    "window",
]
