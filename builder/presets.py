"""Ready-made designs: the article's LeNet (the default), an AlexNet-like, a VGG block, an MLP."""

from __future__ import annotations

import copy
from typing import Any

ARTICLE_INIT: dict[str, Any] = {
    "Conv2d": {"weight": {"scheme": "xavier_normal"}, "bias": {"scheme": "zeros"}},
    "BatchNorm2d": {"weight": {"scheme": "constant", "val": 1}, "bias": {"scheme": "zeros"}},
    "Linear": {"weight": {"scheme": "normal", "mean": 0, "std": 0.01}, "bias": {"scheme": "zeros"}},
}


def _conv(out: int, k: int, **kw: Any) -> dict[str, Any]:
    return {"type": "Conv2d", "out_channels": out, "kernel_size": k, **kw}


def _layers(*items: Any) -> list[dict[str, Any]]:
    return [{"type": i} if isinstance(i, str) else i for i in items]


_PRESETS: dict[str, dict[str, Any]] = {
    "LeNet (the article)": {
        "name": "LeNet",
        "input_shape": [3, 32, 32],
        "layers": _layers(
            _conv(6, 5),
            "ReLU",
            {"type": "MaxPool2d", "kernel_size": 2, "stride": 2},
            _conv(16, 5),
            "ReLU",
            {"type": "MaxPool2d", "kernel_size": 2, "stride": 2},
            "Flatten",
            {"type": "Linear", "out_features": 120},
            "ReLU",
            {"type": "Linear", "out_features": 84},
            "ReLU",
            {"type": "Linear", "out_features": 10},
        ),
    },
    "AlexNet-like": {
        "name": "AlexNet",
        "input_shape": [3, 224, 224],
        "layers": _layers(
            _conv(64, 11, stride=4, padding=2),
            "ReLU",
            {"type": "MaxPool2d", "kernel_size": 3, "stride": 2},
            _conv(192, 5, padding=2),
            "ReLU",
            {"type": "MaxPool2d", "kernel_size": 3, "stride": 2},
            _conv(384, 3, padding=1),
            "ReLU",
            _conv(256, 3, padding=1),
            "ReLU",
            _conv(256, 3, padding=1),
            "ReLU",
            {"type": "MaxPool2d", "kernel_size": 3, "stride": 2},
            {"type": "AdaptiveAvgPool2d", "output_size": 6},
            "Flatten",
            "Dropout",
            {"type": "Linear", "out_features": 4096},
            "ReLU",
            "Dropout",
            {"type": "Linear", "out_features": 4096},
            "ReLU",
            {"type": "Linear", "out_features": 1000},
        ),
    },
    "VGG block with BatchNorm": {
        "name": "VGGBlock",
        "input_shape": [3, 32, 32],
        "layers": _layers(
            _conv(64, 3, padding=1),
            "BatchNorm2d",
            "ReLU",
            _conv(64, 3, padding=1),
            "BatchNorm2d",
            "ReLU",
            {"type": "MaxPool2d", "kernel_size": 2},
            _conv(128, 3, padding=1),
            "BatchNorm2d",
            "ReLU",
            _conv(128, 3, padding=1),
            "BatchNorm2d",
            "ReLU",
            {"type": "MaxPool2d", "kernel_size": 2},
            "Flatten",
            {"type": "Linear", "out_features": 10},
        ),
    },
    "MLP": {
        "name": "MLP",
        "input_shape": [784],
        "layers": _layers(
            {"type": "Linear", "out_features": 256},
            "ReLU",
            {"type": "Dropout", "p": 0.2},
            {"type": "Linear", "out_features": 128},
            "ReLU",
            {"type": "Linear", "out_features": 10},
        ),
    },
    "empty": {"name": "Net", "input_shape": [3, 32, 32], "layers": []},
}

DEFAULT_PRESET = "LeNet (the article)"
PRESET_NAMES = tuple(_PRESETS)


def preset(name: str = DEFAULT_PRESET) -> dict[str, Any]:
    """A fresh copy of a preset design as a spec dict (article init recipe, seed 0)."""
    design = copy.deepcopy(_PRESETS[name])
    return {"version": 1, "seed": 0, **design, "init": copy.deepcopy(ARTICLE_INIT)}


_ZEROS = {"scheme": "zeros"}
INIT_PLANS: dict[str, dict[str, Any]] = {
    "this design's plan": {},  # placeholder: the app substitutes the design's own init
    "the article's recipe": ARTICLE_INIT,
    "PyTorch default": {},
    "Kaiming (He) normal, ReLU": {
        "Conv2d": {"weight": {"scheme": "kaiming_normal", "nonlinearity": "relu"}, "bias": _ZEROS},
        "Linear": {"weight": {"scheme": "kaiming_normal", "nonlinearity": "relu"}, "bias": _ZEROS},
    },
    "Xavier (Glorot) uniform": {
        "Conv2d": {"weight": {"scheme": "xavier_uniform"}, "bias": _ZEROS},
        "Linear": {"weight": {"scheme": "xavier_uniform"}, "bias": _ZEROS},
    },
    "N(0, 0.01) everywhere": {
        "Conv2d": {"weight": {"scheme": "normal", "std": 0.01}, "bias": _ZEROS},
        "Linear": {"weight": {"scheme": "normal", "std": 0.01}, "bias": _ZEROS},
    },
    "N(0, 1) everywhere": {
        "Conv2d": {"weight": {"scheme": "normal", "std": 1.0}, "bias": _ZEROS},
        "Linear": {"weight": {"scheme": "normal", "std": 1.0}, "bias": _ZEROS},
    },
}


def init_plan(name: str, design: dict[str, Any] | None = None) -> dict[str, Any]:
    """A named initializer plan (``"this design's plan"`` is the design's own ``init``)."""
    if name == "this design's plan":
        return copy.deepcopy((design or {}).get("init", {}))
    return copy.deepcopy(INIT_PLANS[name])
