"""Wired groups of layers for the palette (residual, bottleneck, Inception, U-Net, dense blocks).

A group is a list of layer dicts in ``builder.edits.insert_group``'s convention: ``inputs`` name
group members by ``"@k"`` (the k-th layer of the group) and ``"@in"`` (what the group reads: the
layer before the insertion point); a layer without ``inputs`` reads the one before it. Each block
builder takes the channels the insertion point provides (``in_channels``) where the block's
layers depend on them, and an optional ``prefix`` that names every layer ``{prefix}_{part}`` in
the style of torchvision's ``state_dict`` keys (``layer1.0.conv1`` -> ``layer1_0_conv1``). The
presets (``builder.presets``) chain these builders with ``append_group``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .spec import INPUT, default_names

Group = list[dict[str, Any]]
_UNNAMED = {"Add", "Concat", "ReLU"}  # see ``_named``


def _conv(out: int, k: int, stride: int = 1, **kw: Any) -> dict[str, Any]:
    """A Conv2d dict; torch's defaults (stride 1) are left out, as an export leaves them out."""
    layer = {"type": "Conv2d", "out_channels": out, "kernel_size": k, **kw}
    if stride != 1:
        layer["stride"] = stride
    return layer


def _named(group: Group, prefix: str | None, parts: list[str]) -> Group:
    """Give the group's layers the names ``{prefix}_{part}`` (nothing without a prefix).

    Merges and activations keep their default names (``add1``, ``relu3``): an export writes
    merges as expressions in ``forward`` (``a + b``, ``torch.cat``) and may write activations
    as ``F.relu``, so no name of theirs would survive an export and re-import. The layers
    with weights, whose names are the ``state_dict`` keys, are the ones worth naming.
    """
    if prefix:
        for layer, part in zip(group, parts, strict=True):
            if layer["type"] not in _UNNAMED:
                layer["name"] = f"{prefix}_{part}"
    return group


def layer_names(layers: Group) -> list[str]:
    """Each layer's name as ``load_spec`` gives it (explicit, or its default)."""
    return default_names(
        [layer["type"] for layer in layers], [layer.get("name") for layer in layers]
    )


def basic_block(
    in_channels: int, out_channels: int | None = None, stride: int = 1, prefix: str | None = None
) -> Group:
    """ResNet's BasicBlock: 3×3 conv, BN, ReLU, 3×3 conv, BN, + shortcut, ReLU.

    The shortcut is the identity when the shape is kept, else the projection (a 1×1 conv with
    the block's stride and a BatchNorm, torchvision's ``downsample``), placed after ``bn2`` so
    that the ``state_dict`` order is torchvision's.
    """
    out = in_channels if out_channels is None else out_channels
    group: Group = [
        _conv(out, 3, stride=stride, padding=1, bias=False),
        {"type": "BatchNorm2d"},
        {"type": "ReLU"},
        _conv(out, 3, padding=1, bias=False),
        {"type": "BatchNorm2d"},
    ]
    parts = ["conv1", "bn1", "relu1", "conv2", "bn2"]
    if stride != 1 or out != in_channels:
        group += [
            _conv(out, 1, stride=stride, bias=False, inputs=["@in"]),
            {"type": "BatchNorm2d"},
            {"type": "Add", "inputs": ["@4", "@6"]},
        ]
        parts += ["downsample_0", "downsample_1", "add"]
    else:
        group.append({"type": "Add", "inputs": ["@4", "@in"]})
        parts.append("add")
    group.append({"type": "ReLU"})
    return _named(group, prefix, [*parts, "relu2"])


def bottleneck_block(
    in_channels: int, planes: int = 64, stride: int = 1, prefix: str | None = None
) -> Group:
    """ResNet's Bottleneck (v1.5, torchvision: the stride on the 3×3): 1×1 to ``planes``,
    3×3, 1×1 to ``4 × planes``, each with BN, + shortcut (projection where the shape changes)."""
    out = planes * 4
    group: Group = [
        _conv(planes, 1, bias=False),
        {"type": "BatchNorm2d"},
        {"type": "ReLU"},
        _conv(planes, 3, stride=stride, padding=1, bias=False),
        {"type": "BatchNorm2d"},
        {"type": "ReLU"},
        _conv(out, 1, bias=False),
        {"type": "BatchNorm2d"},
    ]
    parts = ["conv1", "bn1", "relu1", "conv2", "bn2", "relu2", "conv3", "bn3"]
    if stride != 1 or out != in_channels:
        group += [
            _conv(out, 1, stride=stride, bias=False, inputs=["@in"]),
            {"type": "BatchNorm2d"},
            {"type": "Add", "inputs": ["@7", "@9"]},
        ]
        parts += ["downsample_0", "downsample_1", "add"]
    else:
        group.append({"type": "Add", "inputs": ["@7", "@in"]})
        parts.append("add")
    group.append({"type": "ReLU"})
    return _named(group, prefix, [*parts, "relu3"])


def inception_module(
    in_channels: int | None = None,
    c1: int = 64,
    c3_reduce: int = 96,
    c3: int = 128,
    c5_reduce: int = 16,
    c5: int = 32,
    pool_proj: int = 32,
    prefix: str | None = None,
) -> Group:
    """GoogLeNet's Inception module (defaults: inception 3a): four branches on one input, a 1×1,
    a 1×1 then 3×3, a 1×1 then 5×5, a 3×3 max-pool then 1×1 (each conv with a ReLU), joined by a
    Concat along channels: ``c1 + c3 + c5 + pool_proj`` channels out, H×W kept.
    ``in_channels`` is only taken for ``template``'s uniform call: the layers infer theirs."""
    relu = {"type": "ReLU"}
    group: Group = [
        _conv(c1, 1),
        dict(relu),
        _conv(c3_reduce, 1, inputs=["@in"]),
        dict(relu),
        _conv(c3, 3, padding=1),
        dict(relu),
        _conv(c5_reduce, 1, inputs=["@in"]),
        dict(relu),
        _conv(c5, 5, padding=2),
        dict(relu),
        {"type": "MaxPool2d", "kernel_size": 3, "stride": 1, "padding": 1, "inputs": ["@in"]},
        _conv(pool_proj, 1),
        dict(relu),
        {"type": "Concat", "inputs": ["@1", "@5", "@9", "@12"]},
    ]
    parts = ["b1_conv", "b1_relu", "b2_reduce", "b2_relu1", "b2_conv", "b2_relu2", "b3_reduce"]
    parts += ["b3_relu1", "b3_conv", "b3_relu2", "b4_pool", "b4_conv", "b4_relu", "cat"]
    return _named(group, prefix, parts)


def _conv_pair(channels: int) -> Group:
    return [
        _conv(channels, 3, padding=1),
        {"type": "ReLU"},
        _conv(channels, 3, padding=1),
        {"type": "ReLU"},
    ]


def unet_down(channels: int = 64, prefix: str | None = None) -> Group:
    """A U-Net encoder level: 3×3 conv, ReLU, 3×3 conv, ReLU (the skip: the group's ``"@3"``),
    then a 2×2 max-pool that halves H×W."""
    group = [*_conv_pair(channels), {"type": "MaxPool2d", "kernel_size": 2}]
    return _named(group, prefix, ["conv1", "relu1", "conv2", "relu2", "pool"])


def unet_up(skip: str | None = None, channels: int = 64, prefix: str | None = None) -> Group:
    """A U-Net decoder level: a 2×2 stride-2 ConvTranspose2d (doubles H×W, to ``channels``),
    a Concat with ``skip`` (the name of the matching encoder level's output: same H×W), then
    3×3 conv, ReLU, 3×3 conv, ReLU."""
    if not skip:
        raise ValueError("the U-Net up level joins a skip: pass skip=<the encoder layer's name>")
    group: Group = [
        {"type": "ConvTranspose2d", "out_channels": channels, "kernel_size": 2, "stride": 2},
        {"type": "Concat", "inputs": [skip, "@0"]},
        *_conv_pair(channels),
    ]
    return _named(group, prefix, ["up", "cat", "conv1", "relu1", "conv2", "relu2"])


def dense_block(
    in_channels: int | None = None, growth: int = 12, count: int = 4, prefix: str | None = None
) -> Group:
    """A DenseNet block: ``count`` layers of BN, ReLU, 3×3 conv to ``growth`` channels, each
    reading the concatenation of the block's input and every earlier layer's output; the block
    ends with that concatenation of all of them (``in_channels + count × growth`` channels).
    ``in_channels`` is only taken for ``template``'s uniform call: the layers infer theirs."""
    group: Group = []
    parts: list[str] = []
    outputs = ["@in"]
    for k in range(1, count + 1):
        if k > 1:  # the k-th layer reads everything so far
            group.append({"type": "Concat", "inputs": list(outputs)})
            parts.append(f"cat{k - 1}")
        group += [{"type": "BatchNorm2d"}, {"type": "ReLU"}, _conv(growth, 3, padding=1)]
        parts += [f"bn{k}", f"relu{k}", f"conv{k}"]
        outputs.append(f"@{len(group) - 1}")
    group.append({"type": "Concat", "inputs": outputs})
    parts.append(f"cat{count}")
    return _named(group, prefix, parts)


TEMPLATES: dict[str, str] = {
    "Residual block (identity)": "ResNet's basic block: two 3×3 convs with BN, plus its input",
    "Residual block (projection)": "basic block that halves H×W and doubles channels; the "
    "shortcut is a 1×1 conv (stride 2) + BN",
    "Bottleneck block": "1×1, 3×3, 1×1 (×4 channels) convs with BN, plus a projection shortcut "
    "where the shape changes (ResNet-50)",
    "Inception module": "1×1, 3×3, 5×5 and pool branches side by side, joined by a Concat",
    "U-Net level (down)": "conv-ReLU-conv-ReLU (the skip), then a 2×2 max-pool",
    "U-Net level (up)": "2×2 transposed conv (doubles H×W), Concat with the matching skip, "
    "conv-ReLU-conv-ReLU",
    "Dense block": "DenseNet: each BN-ReLU-conv reads every earlier output, concatenated",
}

_BUILDERS: dict[str, Callable[..., Group]] = {
    "Residual block (identity)": lambda in_channels=64, **kw: basic_block(in_channels, **kw),
    "Residual block (projection)": lambda in_channels=64, out_channels=None, stride=2, **kw: (
        basic_block(in_channels, out_channels or 2 * in_channels, stride, **kw)
    ),
    "Bottleneck block": lambda in_channels=64, **kw: bottleneck_block(in_channels, **kw),
    "Inception module": inception_module,
    "U-Net level (down)": lambda in_channels=None, **kw: unet_down(**kw),
    "U-Net level (up)": lambda in_channels=None, **kw: unet_up(**kw),
    "Dense block": dense_block,
}


def template(name: str, in_channels: int | None = None, **params: Any) -> Group:
    """A fresh copy of the palette template ``name`` as a group for ``insert_group``.

    Args:
        name: a key of ``TEMPLATES``.
        in_channels: the channels at the insertion point (an identity block keeps them, a
            projection block doubles them); None takes the template's default (64).
        **params: the builder's own arguments (``out_channels``, ``planes``, ``growth``,
            ``skip`` for the U-Net up level, ...).

    Returns:
        The group's layer dicts, wired with ``"@k"`` / ``"@in"``.
    """
    if name not in _BUILDERS:
        raise KeyError(f"no template {name!r}; the templates are {list(TEMPLATES)}")
    if in_channels is not None:
        params["in_channels"] = in_channels
    return _BUILDERS[name](**params)


def append_group(layers: Group, group: Group) -> Group:
    """``layers`` followed by ``group`` with its ``"@k"`` / ``"@in"`` resolved to layer names
    (explicit, or the defaults ``load_spec`` gives), as ``insert_group`` does at the end."""
    out = layers + [dict(layer) for layer in group]
    names = layer_names(out)
    start = len(layers)
    before = names[start - 1] if start else INPUT

    def resolve(ref: str) -> str:
        if ref == "@in":
            return before
        return names[start + int(ref[1:])] if ref.startswith("@") else ref

    for layer in out[start:]:
        if isinstance(layer.get("inputs"), list):
            layer["inputs"] = [resolve(ref) for ref in layer["inputs"]]
    return out
