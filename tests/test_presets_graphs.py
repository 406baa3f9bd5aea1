"""The graph presets (ResNet, U-Net, Inception) and the palette templates against plain torch.

The oracles: torchvision's ResNet layout written here by hand (torchvision is not installed),
a hand-written U-Net and Inception network, ``sum(p.numel())``, ``torchinfo.summary`` and torch's
forward passes. Weights are carried over by position after the ``state_dict`` keys and shapes
have been compared in order, so equal outputs mean the graph is wired as the oracle is.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
import torch
import torchinfo
from torch import nn

from builder import analyze, build_model, load_spec
from builder.edits import insert_group
from builder.limits import MAX_LAYERS
from builder.presets import preset
from builder.templates import TEMPLATES, template
from tests.designs import resnet50, resnet152
from tests.test_graphs import walk_graph

# --- torchvision's ResNet, by hand -----------------------------------------------------------


def _downsample(cin: int, cout: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _downsample(cin, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, planes * 4, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet(nn.Module):
    def __init__(
        self, block: type, layers: list[int], classes: int = 1000, cifar: bool = False
    ) -> None:
        super().__init__()
        width = 16 if cifar else 64
        self.inplanes = width
        if cifar:
            self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if cifar else nn.MaxPool2d(3, 2, 1)
        for i, count in enumerate(layers):
            setattr(self, f"layer{i + 1}", self._make_layer(block, width * 2**i, count, min(i, 1)))
        self.stages = len(layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, classes)

    def _make_layer(self, block: type, planes: int, count: int, stride: int) -> nn.Sequential:
        blocks = []
        for k in range(count):
            blocks.append(block(self.inplanes, planes, stride + 1 if k == 0 else 1))
            self.inplanes = planes * block.expansion
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --- the other presets, by hand --------------------------------------------------------------


def _pair(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.ReLU(),
    )


class HandUNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.down1 = _pair(1, 16)
        self.down2 = _pair(16, 32)
        self.bottom = _pair(32, 64)
        self.up2 = nn.ConvTranspose2d(64, 32, 2, stride=2)
        self.dec2 = _pair(64, 32)
        self.up1 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec1 = _pair(32, 16)
        self.head = nn.Conv2d(16, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.down1(x)
        s2 = self.down2(nn.functional.max_pool2d(s1, 2))
        out = self.bottom(nn.functional.max_pool2d(s2, 2))
        out = self.dec2(torch.cat((s2, self.up2(out)), 1))
        out = self.dec1(torch.cat((s1, self.up1(out)), 1))
        return self.head(out)


class HandInceptionModule(nn.Module):
    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pp: int) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(cin, c1, 1)
        self.b2r = nn.Conv2d(cin, c3r, 1)
        self.b2 = nn.Conv2d(c3r, c3, 3, padding=1)
        self.b3r = nn.Conv2d(cin, c5r, 1)
        self.b3 = nn.Conv2d(c5r, c5, 5, padding=2)
        self.b4 = nn.Conv2d(cin, pp, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        relu = torch.relu
        parts = (
            relu(self.b1(x)),
            relu(self.b2(relu(self.b2r(x)))),
            relu(self.b3(relu(self.b3r(x)))),
            relu(self.b4(nn.functional.max_pool2d(x, 3, 1, 1))),
        )
        return torch.cat(parts, 1)


class HandInception(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3)
        self.conv2 = nn.Conv2d(64, 64, 1)
        self.conv3 = nn.Conv2d(64, 192, 3, padding=1)
        self.a = HandInceptionModule(192, 64, 96, 128, 16, 32, 32)
        self.b = HandInceptionModule(256, 128, 128, 192, 32, 96, 64)
        self.fc = nn.Linear(480, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = nn.functional.max_pool2d
        x = pool(torch.relu(self.conv1(x)), 3, 2, 1)
        x = pool(torch.relu(self.conv3(torch.relu(self.conv2(x)))), 3, 2, 1)
        x = self.b(self.a(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


CASES: dict[str, tuple[Any, list[int] | None]] = {
    "ResNet-18": (lambda: ResNet(BasicBlock, [2, 2, 2, 2]), [3, 64, 64]),
    "ResNet-50": (lambda: ResNet(Bottleneck, [3, 4, 6, 3]), [3, 64, 64]),
    "ResNet-20 (CIFAR)": (lambda: ResNet(BasicBlock, [3, 3, 3], 10, cifar=True), None),
    "U-Net (small)": (HandUNet, None),
    "Inception-style": (HandInception, None),
}
TORCHVISION_LAYOUT = {"ResNet-18", "ResNet-50"}


def _small(name: str) -> dict[str, Any]:
    spec = preset(name)
    shape = CASES[name][1]
    if shape is not None:  # the same network on smaller images, to keep the test fast
        spec["input_shape"] = shape
    return spec


@pytest.mark.parametrize("name", list(CASES))
def test_preset_matches_hand_written_torch(name: str) -> None:
    spec = _small(name)
    analysis = analyze(spec)
    assert analysis.ok, analysis.error
    assert analyze(preset(name)).ok  # at the preset's own input size too
    net = build_model(spec).eval()
    oracle = CASES[name][0]().eval()
    assert analysis.total_params == sum(p.numel() for p in oracle.parameters())
    mine, theirs = net.state_dict(), oracle.state_dict()
    assert [v.shape for v in mine.values()] == [v.shape for v in theirs.values()]
    if name in TORCHVISION_LAYOUT:  # torchvision's keys, with "." for "_" in the module path
        mapped = [k.rsplit(".", 1)[0].replace(".", "_") + "." + k.rsplit(".", 1)[1] for k in theirs]
        assert list(mine) == mapped
    oracle.load_state_dict(dict(zip(theirs, mine.values())))
    x = torch.randn(2, *spec["input_shape"])
    with torch.no_grad():
        out = net(x)
        assert torch.allclose(out, oracle(x), rtol=1e-4, atol=1e-5)
    assert tuple(out.shape[1:]) == analysis.output_shape
    info = torchinfo.summary(net, input_size=(1, *spec["input_shape"]), verbose=0)
    assert info.total_params == analysis.total_params


def test_full_size_parameter_counts_are_torchvisions() -> None:
    hand18, hand50 = ResNet(BasicBlock, [2, 2, 2, 2]), ResNet(Bottleneck, [3, 4, 6, 3])
    for design, hand in ((preset("ResNet-18"), hand18), (preset("ResNet-50"), hand50)):
        analysis = analyze(design)
        assert analysis.total_params == sum(p.numel() for p in hand.parameters())
        assert analysis.output_shape == (1000,)
    assert resnet50()["layers"] == preset("ResNet-50")["layers"]
    assert analyze(preset("U-Net (small)")).output_shape == (2, 64, 64)


def test_resnet152_fits_and_analyses_fast() -> None:
    design = resnet152()
    assert len(design["layers"]) <= MAX_LAYERS
    load_spec(design)  # the layer limit and every check pass
    analyze(design)  # warm
    start = time.perf_counter()
    analysis = analyze(design)
    took = time.perf_counter() - start
    assert analysis.ok
    hand = ResNet(Bottleneck, [3, 8, 36, 3])
    assert analysis.total_params == sum(p.numel() for p in hand.parameters())
    assert took < 0.5, took


# --- templates -------------------------------------------------------------------------------


def _base(channels: int = 16) -> dict[str, Any]:
    """A stem that gives ``channels`` × 16 × 16, then a head the template goes before."""
    return {
        "input_shape": [3, 16, 16],
        "seed": 2,
        "layers": [
            {"type": "Conv2d", "out_channels": channels, "kernel_size": 3, "padding": 1},
            {"type": "ReLU"},
            {"type": "AdaptiveAvgPool2d", "output_size": 1},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 5},
        ],
    }


def _with_template(name: str) -> dict[str, Any]:
    if name == "U-Net level (up)":  # a down level, a middle conv, then the up level at the end
        design = insert_group(_base(), 2, template("U-Net level (down)", channels=8))
        design = insert_group(
            design, 7, [{"type": "Conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1}]
        )
        skip = load_spec(design).layers[5].name  # the down level's second ReLU
        return insert_group(design, 8, template(name, 16, skip=skip, channels=8))
    return insert_group(_base(), 2, template(name, 16))


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_template_inserted_analyses_and_runs(name: str) -> None:
    design = _with_template(name)
    analysis = analyze(design)
    assert analysis.ok, analysis.error
    assert analysis.is_graph == (name != "U-Net level (down)")  # the down level is a chain
    net = build_model(design).eval()
    assert analysis.total_params == sum(p.numel() for p in net.parameters())
    spec = load_spec(design)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():  # walk the graph module by module: every row's shape is torch's
        assert torch.equal(net(x), walk_graph(net, spec, analysis, x))


def test_templates_do_what_they_say() -> None:
    rows = {n: analyze(_with_template(n)).layers for n in TEMPLATES}
    shape_before_head = {n: r[-4].output_shape for n, r in rows.items()}
    assert shape_before_head["Residual block (identity)"] == (16, 16, 16)
    assert shape_before_head["Residual block (projection)"] == (32, 8, 8)
    assert shape_before_head["Bottleneck block"] == (256, 16, 16)
    assert shape_before_head["Inception module"] == (64 + 128 + 32 + 32, 16, 16)
    assert shape_before_head["U-Net level (down)"] == (64, 8, 8)  # 64 channels by default
    assert shape_before_head["U-Net level (up)"] == (8, 16, 16)
    assert shape_before_head["Dense block"] == (16 + 4 * 12, 16, 16)
    # a dense block's k-th layer reads the block's input and every earlier layer
    cats = [r for r in rows["Dense block"] if r.type == "Concat"]
    assert [len(r.inputs) for r in cats] == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="skip"):
        template("U-Net level (up)", 16)
    with pytest.raises(KeyError):
        template("nope")
    # a template is a fresh copy each time
    first = template("Residual block (identity)", 8)
    first[0]["out_channels"] = 99
    assert template("Residual block (identity)", 8)[0]["out_channels"] == 8
    assert copy.deepcopy(template("Dense block")) == template("Dense block")
