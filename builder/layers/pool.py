"""Pooling layers."""

from __future__ import annotations

from typing import Any

from torch import nn

from .. import shapes
from .base import (
    MAX_INT,
    Arg,
    ArgKind,
    LayerProblem,
    LayerType,
    Shape,
    _image,
    _join_axes,
    _size,
    pair,
    register,
)

# --- pooling ------------------------------------------------------------------------------------


def _pool_rule(shape: Shape, args: dict[str, Any], layer: str, dilated: bool) -> tuple[Shape, str]:
    _image(shape, layer)
    kernel = pair(args["kernel_size"])
    stride = pair(args["stride"] if args["stride"] is not None else args["kernel_size"])
    padding = pair(args["padding"])
    dilation = pair(args["dilation"]) if dilated else (1, 1)
    out, formulas = [], []
    for axis, size in enumerate(shape[1:]):
        size_out, formula = shapes.pool_output_size(
            size, kernel[axis], stride[axis], padding[axis], dilation[axis], args["ceil_mode"]
        )
        if size_out < 1:
            raise LayerProblem(
                "kernel_size",
                f"the {kernel[axis]}-wide pooling window does not fit the input "
                f"{'height' if axis == 0 else 'width'} {size}: {formula}",
                "use a smaller kernel_size, or remove this pooling layer",
                {"op": "set", "field": "kernel_size", "value": max(1, min(size, kernel[axis]))},
            )
        out.append(size_out)
        formulas.append(formula)
    return (shape[0], *out), _join_axes(formulas)


_POOL_ARGS = (
    _size("kernel_size", required=True),
    Arg("stride", ArgKind.OPT_SIZE, None, False, 1, MAX_INT, help="None: same as kernel_size"),
    _size("padding", 0, minimum=0),
)

register(
    LayerType(
        "MaxPool2d",
        nn.MaxPool2d,
        "pool",
        "pooling",
        (
            *_POOL_ARGS,
            _size("dilation", 1),
            Arg("return_indices", ArgKind.BOOL, False, help="must stay False in a stack"),
            Arg("ceil_mode", ArgKind.BOOL, False),
        ),
        lambda shape, args: _pool_rule(shape, args, "MaxPool2d", True),
        (3,),
        positional=("kernel_size", "stride"),
        summary="keeps the largest value of each window",
    )
)

register(
    LayerType(
        "AvgPool2d",
        nn.AvgPool2d,
        "pool",
        "pooling",
        (
            *_POOL_ARGS,
            Arg("ceil_mode", ArgKind.BOOL, False),
            Arg("count_include_pad", ArgKind.BOOL, True),
            Arg("divisor_override", ArgKind.OPT_INT, None, False, 1, MAX_INT),
        ),
        lambda shape, args: _pool_rule(shape, args, "AvgPool2d", False),
        (3,),
        positional=("kernel_size", "stride"),
        summary="averages each window",
    )
)


def _adaptive_rule(shape: Shape, args: dict[str, Any], layer: str) -> tuple[Shape, str]:
    _image(shape, layer)
    target = pair(args["output_size"])
    out, formulas = [], []
    for axis, size in enumerate(shape[1:]):
        size_out, formula = shapes.adaptive_output_size(size, target[axis])
        out.append(size_out)
        formulas.append(formula)
    return (shape[0], *out), _join_axes(formulas)


for _name, _cls, _extra, _summary in (
    ("AdaptiveAvgPool2d", nn.AdaptiveAvgPool2d, (), "averages down to a fixed output size"),
    (
        "AdaptiveMaxPool2d",
        nn.AdaptiveMaxPool2d,
        (Arg("return_indices", ArgKind.BOOL, False, help="must stay False in a stack"),),
        "max-pools down to a fixed output size",
    ),
):
    register(
        LayerType(
            _name,
            _cls,
            "pool",
            "pooling",
            (Arg("output_size", ArgKind.OUTPUT_SIZE, None, True, 1, MAX_INT), *_extra),
            (lambda layer: lambda shape, args: _adaptive_rule(shape, args, layer))(_name),
            (3,),
            positional=("output_size",),
            summary=_summary,
        )
    )
