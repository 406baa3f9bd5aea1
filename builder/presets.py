"""Ready-made designs: the article's LeNet (the default), an AlexNet-like, a VGG block, an MLP,
and graphs: ResNet-18 / ResNet-50 (torchvision's layout), a CIFAR ResNet-20, a small U-Net and an
Inception-style network, built from ``builder.templates``' blocks."""

from __future__ import annotations

import copy
from typing import Any

from .templates import (
    Group,
    append_group,
    basic_block,
    bottleneck_block,
    inception_module,
    layer_names,
    unet_down,
    unet_up,
)

ARTICLE_INIT: dict[str, Any] = {
    "Conv2d": {"weight": {"scheme": "xavier_normal"}, "bias": {"scheme": "zeros"}},
    "BatchNorm2d": {"weight": {"scheme": "constant", "val": 1}, "bias": {"scheme": "zeros"}},
    "Linear": {"weight": {"scheme": "normal", "mean": 0, "std": 0.01}, "bias": {"scheme": "zeros"}},
}


def _conv(out: int, k: int, **kw: Any) -> dict[str, Any]:
    return {"type": "Conv2d", "out_channels": out, "kernel_size": k, **kw}


def _layers(*items: Any) -> list[dict[str, Any]]:
    return [{"type": i} if isinstance(i, str) else i for i in items]


def _chain(*groups: Group) -> Group:
    """The groups one after another, each reading the one before (``"@k"`` resolved)."""
    layers: Group = []
    for group in groups:
        layers = append_group(layers, group)
    return layers


def _head(classes: int) -> Group:
    """torchvision's classifier head: global average pool, flatten, ``fc``."""
    return [
        {"type": "AdaptiveAvgPool2d", "name": "avgpool", "output_size": 1},
        {"type": "Flatten", "name": "flatten"},
        {"type": "Linear", "name": "fc", "out_features": classes},
    ]


def resnet_layers(
    blocks: tuple[int, ...], bottleneck: bool = False, cifar: bool = False, classes: int = 1000
) -> Group:
    """A ResNet in torchvision's layout (``layer1_0_conv1`` for ``layer1.0.conv1``).

    Args:
        blocks: blocks per stage (ResNet-18: ``(2, 2, 2, 2)``; ResNet-50: ``(3, 4, 6, 3)``).
        bottleneck: Bottleneck blocks (×4 expansion) instead of BasicBlocks.
        cifar: the CIFAR stem (one 3×3 conv, no max-pool) and widths 16, 32, 64 (He et al.
            2016, section 4.2); the ImageNet stem (7×7/2 conv, 3/2 max-pool) and 64..512 else.
        classes: outputs of ``fc``.
    """
    width = 16 if cifar else 64
    if cifar:
        first = _conv(width, 3, padding=1, bias=False)
    else:
        first = _conv(width, 7, stride=2, padding=3, bias=False)
    stem: Group = [
        {**first, "name": "conv1"},
        {"type": "BatchNorm2d", "name": "bn1"},
        {"type": "ReLU"},
    ]
    if not cifar:
        maxpool = {"type": "MaxPool2d", "name": "maxpool", "kernel_size": 3, "stride": 2}
        stem.append({**maxpool, "padding": 1})
    groups, channels = [stem], width
    for stage, count in enumerate(blocks):
        planes = width * 2**stage
        for k in range(count):
            stride = 2 if stage and not k else 1
            prefix = f"layer{stage + 1}_{k}"
            if bottleneck:
                groups.append(bottleneck_block(channels, planes, stride, prefix))
                channels = planes * 4
            else:
                groups.append(basic_block(channels, planes, stride, prefix))
                channels = planes
    return _chain(*groups, _head(classes))


def _unet_small(classes: int = 2) -> Group:
    """Two encoder levels (16, 32 channels), a 64-channel bottleneck, two decoder levels that
    join the matching skips, and a 1×1 head: one score per class per pixel."""
    bottom: Group = [
        _conv(64, 3, padding=1, name="bottom_conv1"),
        {"type": "ReLU"},
        _conv(64, 3, padding=1, name="bottom_conv2"),
        {"type": "ReLU"},
    ]
    layers = append_group([], unet_down(16, "down1"))
    skip1 = layer_names(layers)[-2]  # the last ReLU before the pool
    layers = append_group(layers, unet_down(32, "down2"))
    skip2 = layer_names(layers)[-2]
    layers = _chain(layers, bottom, unet_up(skip2, 32, "up2"), unet_up(skip1, 16, "up1"))
    return append_group(layers, [_conv(classes, 1, name="head")])


def _inception_style(classes: int = 10) -> Group:
    """GoogLeNet's stem (without its LRNs) and inception modules 3a, 3b, then the head."""
    stem: Group = [
        _conv(64, 7, stride=2, padding=3, name="conv1"),
        {"type": "ReLU"},
        {"type": "MaxPool2d", "name": "maxpool1", "kernel_size": 3, "stride": 2, "padding": 1},
        _conv(64, 1, name="conv2"),
        {"type": "ReLU"},
        _conv(192, 3, padding=1, name="conv3"),
        {"type": "ReLU"},
        {"type": "MaxPool2d", "name": "maxpool2", "kernel_size": 3, "stride": 2, "padding": 1},
    ]
    return _chain(
        stem,
        inception_module(192, prefix="inception3a"),
        inception_module(256, 128, 128, 192, 32, 96, 64, prefix="inception3b"),
        _head(classes),
    )


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
    "ResNet-18": {
        "name": "ResNet18",
        "input_shape": [3, 224, 224],
        "layers": resnet_layers((2, 2, 2, 2)),
    },
    "ResNet-50": {
        "name": "ResNet50",
        "input_shape": [3, 224, 224],
        "layers": resnet_layers((3, 4, 6, 3), bottleneck=True),
    },
    # He et al.'s CIFAR ResNet-20 with the projection shortcut (1×1 conv + BN, their option B)
    # where the shape changes, not the paper's zero-padding option A: torch has no layer for it.
    "ResNet-20 (CIFAR)": {
        "name": "ResNet20",
        "input_shape": [3, 32, 32],
        "layers": resnet_layers((3, 3, 3), cifar=True, classes=10),
    },
    "U-Net (small)": {"name": "UNet", "input_shape": [1, 64, 64], "layers": _unet_small()},
    "Inception-style": {
        "name": "InceptionNet",
        "input_shape": [3, 96, 96],
        "layers": _inception_style(),
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
