"""Designs several test files share (kept here once)."""

from __future__ import annotations

from typing import Any

VGG16_CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M"]
VGG16_CONFIG += [512, 512, 512, "M"]


def vgg16_features(relu: bool = True) -> list[dict[str, Any]]:
    """VGG-16's feature layers (3×3 convs with padding 1, 2×2 max-pools), ReLU after each conv."""
    layers: list[dict[str, Any]] = []
    for c in VGG16_CONFIG:
        if c == "M":
            layers.append({"type": "MaxPool2d", "kernel_size": 2})
        else:
            layers.append({"type": "Conv2d", "out_channels": c, "kernel_size": 3, "padding": 1})
            if relu:
                layers.append({"type": "ReLU"})
    return layers
