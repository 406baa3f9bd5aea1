"""Merges: the layers that join two or more inputs (``Add``, ``Concat``; SPEC.md "Graphs").

A merge's shape rule sees every input's shape. Where the shapes do not fit, the fix is an edit
on one input (``{"op": "on_input", "slot": k, "layers": [...]}``: insert these layers on the
path from input ``k``; the analysis adds the merge's index and the input's name): the projection
shortcut for ``Add`` (a 1×1 convolution with the stride that matches, and a BatchNorm), a pool,
an upsampling or a padding that aligns a ``Concat``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..messages import N_, message
from .base import Arg, ArgKind, LayerProblem, LayerType, Shape, describe, register

MAX_MERGE_INPUTS = 64
"""The most inputs one merge takes (a dense block of 64 layers is far beyond any lesson)."""
MAX_STRIDE_FIX = 64  # the largest stride a fix proposes


class Add(nn.Module):
    """The elementwise sum of its inputs (no parameters, no buffers)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = inputs[0]
        for other in inputs[1:]:
            out = out + other
        return out


class Concat(nn.Module):
    """``torch.cat`` of its inputs along ``dim`` (no parameters, no buffers)."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=self.dim)


_SAME_RANK = N_("give every input the same rank (check Flatten)")
_USE_DIM_1 = N_("use dim=1 (channels, or features of a flat vector)")


def _shape(shape: Shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def _stride_to(big: Shape, small: Shape, ceil: bool) -> int | None:
    """The one stride ``s`` that maps every spatial size of ``big`` onto ``small`` (a 1×1
    convolution rounds up, ``ceil``; a pool of kernel ``s`` rounds down), or None."""
    if not big or len(big) != len(small):
        return None
    for s in range(2, min(max(big), MAX_STRIDE_FIX) + 1):
        sized = [-(-b // s) if ceil else b // s for b in big]
        if sized == list(small):
            return s
    return None


def _pads(small: Shape, big: Shape) -> list[int] | None:
    """ZeroPad2d's ``[left, right, top, bottom]`` that grows ``small`` (H, W) to ``big``."""
    if len(small) != 2 or any(s > b for s, b in zip(small, big)):
        return None
    (dh, dw) = (big[0] - small[0], big[1] - small[1])
    return [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2]


def _projection(shape: Shape, target: Shape) -> tuple[str, list[dict[str, Any]]] | None:
    """The layers that bring a shortcut of ``shape`` to ``target`` (ResNet's projection)."""
    if len(shape) == 1:
        text = message("a Linear to {features} features", features=target[0])
        return text, [{"type": "Linear", "out_features": target[0]}]
    spatial = shape[1:]
    stride = 1 if spatial == target[1:] else _stride_to(spatial, target[1:], ceil=True)
    if stride is None:
        return None
    conv, norm = ("Conv2d", "BatchNorm2d") if len(shape) == 3 else ("Conv1d", "BatchNorm1d")
    layer: dict[str, Any] = {"type": conv, "out_channels": target[0], "kernel_size": 1}
    if stride != 1:
        layer["stride"] = stride
    layer["bias"] = False
    kernel = "1×1" if len(shape) == 3 else message(N_("size-1"))
    text = message(
        "a {kernel} {conv} ({channels} channels, stride {stride}) + {norm}",
        kernel=kernel,
        conv=conv,
        channels=target[0],
        stride=stride,
        norm=norm,
    )
    return text, [layer, {"type": norm}]


def _add_fix(shapes: tuple[Shape, ...], slot: int) -> tuple[str, dict[str, Any] | None]:
    target, shape = shapes[0], shapes[slot]
    if len(shape) != len(target):
        return message(_SAME_RANK), None
    if len(shape) == 3 and shape[0] == target[0]:
        for small, big, which in ((shape, target, slot), (target, shape, 0)):
            pads = _pads(small[1:], big[1:])
            if pads is not None:  # the smaller one padded to the other's H×W
                return (
                    message(
                        "insert ZeroPad2d(padding={pads}) on input {input} to make it {shape}",
                        pads=pads,
                        input=which + 1,
                        shape=_shape(big),
                    ),
                    {
                        "op": "on_input",
                        "slot": which,
                        "layers": [{"type": "ZeroPad2d", "padding": pads}],
                    },
                )
    projection = _projection(shape, target)
    if projection is None:
        fix = message(
            "make input {input} {shape} (its size does not divide evenly)",
            input=slot + 1,
            shape=_shape(target),
        )
        return fix, None
    text, layers = projection
    return (
        message(
            "insert {layers} on the shortcut (input {input}), the projection shortcut",
            layers=text,
            input=slot + 1,
        ),
        {"op": "on_input", "slot": slot, "layers": layers},
    )


def _add_rule(shapes: tuple[Shape, ...], args: dict[str, Any]) -> tuple[Shape, str]:
    target = shapes[0]
    for slot, shape in enumerate(shapes[1:], start=1):
        if shape != target:
            fix, action = _add_fix(shapes, slot)
            raise LayerProblem(
                "inputs",
                message(
                    "Add needs inputs of one shape: input 1 is {first}, input {input} is {shape} "
                    "(torch's broadcasting is not used)",
                    first=_shape(target),
                    input=slot + 1,
                    shape=_shape(shape),
                ),
                fix,
                action,
            )
    return target, f"sum of {len(shapes)} inputs, each {_shape(target)}"


def _cat_dim(dim: int, rank: int) -> int:
    """The per-sample axis ``dim`` names (dim counts on the batched tensor; negative from the
    end)."""
    batched = rank + 1
    if not -batched <= dim < batched:
        raise LayerProblem(
            "dim",
            message(
                "dim {dim} is out of range for a batched input of {batched} dimensions",
                dim=dim,
                batched=batched,
            ),
            message(_USE_DIM_1),
            {"op": "set", "field": "dim", "value": 1},
        )
    axis = dim % batched
    if axis == 0:
        raise LayerProblem(
            "dim",
            message("dim 0 is the batch: concatenating there would join samples, not features"),
            message(_USE_DIM_1),
            {"op": "set", "field": "dim", "value": 1},
        )
    return axis - 1


def _align(shape: Shape, target: Shape) -> tuple[str, list[dict[str, Any]]] | None:
    """A pool, upsampling or padding that gives an image ``shape`` the H×W of ``target``."""
    if len(shape) != 3:
        return None
    (h, w), (th, tw) = shape[1:], target[1:]
    pool = _stride_to((h, w), (th, tw), ceil=False)
    if pool is not None:
        return f"MaxPool2d(kernel_size={pool})", [{"type": "MaxPool2d", "kernel_size": pool}]
    if th % h == 0 and tw % w == 0 and th // h == tw // w and th > h:
        scale = th // h
        return f"Upsample(scale_factor={scale})", [{"type": "Upsample", "scale_factor": scale}]
    pads = _pads((h, w), (th, tw))
    if pads is not None:
        return f"ZeroPad2d(padding={pads})", [{"type": "ZeroPad2d", "padding": pads}]
    return None


def _concat_rule(shapes: tuple[Shape, ...], args: dict[str, Any]) -> tuple[Shape, str]:
    target = shapes[0]
    for slot, shape in enumerate(shapes[1:], start=1):
        if len(shape) != len(target):
            raise LayerProblem(
                "inputs",
                message(
                    "Concat needs inputs of one rank: input 1 is {first}, input {input} is {shape}",
                    first=describe(target),
                    input=slot + 1,
                    shape=describe(shape),
                ),
                message(_SAME_RANK),
            )
    axis = _cat_dim(args["dim"], len(target))
    for slot, shape in enumerate(shapes[1:], start=1):
        if any(a != b for i, (a, b) in enumerate(zip(shape, target)) if i != axis):
            aligned = _align(shape, target) if axis == 0 else None
            fix = message(
                "make input {input} match input 1 outside dim {dim}",
                input=slot + 1,
                dim=args["dim"],
            )
            action = None
            if aligned is not None:
                text, layers = aligned
                fix = message(  # an image: only images are aligned
                    "insert {layer} on input {input} to make it {shape} wide",
                    layer=text,
                    input=slot + 1,
                    shape=_shape(target[1:]),
                )
                action = {"op": "on_input", "slot": slot, "layers": layers}
            raise LayerProblem(
                "inputs",
                message(
                    "Concat along dim {dim} needs every other size equal: input 1 is {first}, "
                    "input {input} is {shape}",
                    dim=args["dim"],
                    first=_shape(target),
                    input=slot + 1,
                    shape=_shape(shape),
                ),
                fix,
                action,
            )
    sizes = [s[axis] for s in shapes]
    out = tuple(sum(sizes) if i == axis else v for i, v in enumerate(target))
    what = "channels" if axis == 0 and len(target) > 1 else ("features" if axis == 0 else "")
    label = what or f"dim {args['dim']}"
    return out, f"{label}: {' + '.join(map(str, sizes))} = {sum(sizes)}"


register(
    LayerType(
        "Add",
        Add,
        "add",
        "merge",
        summary="sum of two or more inputs of one shape (a residual connection)",
        merge_rule=_add_rule,
    )
)

register(
    LayerType(
        "Concat",
        Concat,
        "cat",
        "merge",
        args=(
            Arg(
                "dim",
                ArgKind.INT,
                1,
                minimum=-4,
                maximum=3,
                primary=True,
                help=N_("the dimension joined, counted on the batched tensor (1: channels)"),
            ),
        ),
        summary="torch.cat of two or more inputs (Inception, U-Net, DenseNet)",
        merge_rule=_concat_rule,
    )
)
