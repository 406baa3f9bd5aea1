"""Designs several test files share (kept here once)."""

from __future__ import annotations

from typing import Any

from builder.presets import resnet_layers

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


def resnet50(input_shape: tuple[int, ...] = (3, 224, 224)) -> dict[str, Any]:
    """torchvision's ResNet-50 (Bottleneck blocks 3, 4, 6, 3; 25,557,032 parameters)."""
    layers = resnet_layers((3, 4, 6, 3), bottleneck=True)
    return {"name": "ResNet50", "input_shape": list(input_shape), "layers": layers}


def resnet152(input_shape: tuple[int, ...] = (3, 224, 224)) -> dict[str, Any]:
    """torchvision's ResNet-152 (Bottleneck blocks 3, 8, 36, 3), flattened into one design."""
    layers = resnet_layers((3, 8, 36, 3), bottleneck=True)
    return {"name": "ResNet152", "input_shape": list(input_shape), "layers": layers}
