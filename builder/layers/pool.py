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
    Window,
    _image,
    _join_axes,
    _size,
    pair,
    register,
    window,
)

# --- pooling ------------------------------------------------------------------------------------


def _pool_windows(args: dict[str, Any]) -> tuple[Window, ...]:
    """torch's pooling: the stride defaults to the kernel; AvgPool2d has no dilation."""
    stride = args["stride"]
    return tuple(
        window(k, s, d, p)
        for k, s, d, p in zip(
            pair(args["kernel_size"]),
            pair(stride) if stride is not None else (None, None),
            pair(args.get("dilation", 1)),
            pair(args["padding"]),
        )
    )


def _pool_check(args: dict[str, Any]) -> str | None:
    kernel, padding = args["kernel_size"], args["padding"]
    if any(2 * p > k for k, p in zip(pair(kernel), pair(padding))):
        return (
            f"padding must be at most half of kernel_size, got padding={padding!r} "
            f"with kernel_size={kernel!r}"
        )
    return _indices_check(args)


def _indices_check(args: dict[str, Any]) -> str | None:
    if args.get("return_indices"):
        return "return_indices=True is not supported: the next layer would get a tuple"
    return None


def _pool_rule(shape: Shape, args: dict[str, Any], layer: str) -> tuple[Shape, str]:
    _image(shape, layer)
    out, formulas = [], []
    for axis, (size, win) in enumerate(zip(shape[1:], _pool_windows(args))):
        size_out, formula = shapes.pool_output_size(
            size, win.kernel, win.stride, win.pad_left, win.dilation, args["ceil_mode"]
        )
        if size_out < 1:
            raise LayerProblem(
                "kernel_size",
                f"the {win.kernel}-wide pooling window does not fit the input "
                f"{'height' if axis == 0 else 'width'} {size}: {formula}",
                "use a smaller kernel_size, or remove this pooling layer",
                {"op": "set", "field": "kernel_size", "value": max(1, min(size, win.kernel))},
            )
        out.append(size_out)
        formulas.append(formula)
    return (shape[0], *out), _join_axes(formulas)


_POOL_ARGS = (
    _size("kernel_size", required=True, primary=True),
    Arg(
        "stride",
        ArgKind.OPT_SIZE,
        None,
        False,
        1,
        MAX_INT,
        help="None: same as kernel_size",
        primary=True,
    ),
    _size("padding", 0, minimum=0, primary=True),
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
        lambda shape, args: _pool_rule(shape, args, "MaxPool2d"),
        (3,),
        positional=("kernel_size", "stride"),
        summary="keeps the largest value of each window",
        starter=(("kernel_size", 2),),
        windows=_pool_windows,
        check=_pool_check,
        functional_aliases=("max_pool2d",),
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
        lambda shape, args: _pool_rule(shape, args, "AvgPool2d"),
        (3,),
        positional=("kernel_size", "stride"),
        summary="averages each window",
        starter=(("kernel_size", 2),),
        windows=_pool_windows,
        check=_pool_check,
        functional_aliases=("avg_pool2d",),
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


for _name, _cls, _extra, _summary, _functional in (
    (
        "AdaptiveAvgPool2d",
        nn.AdaptiveAvgPool2d,
        (),
        "averages down to a fixed output size",
        "adaptive_avg_pool2d",
    ),
    (
        "AdaptiveMaxPool2d",
        nn.AdaptiveMaxPool2d,
        (Arg("return_indices", ArgKind.BOOL, False, help="must stay False in a stack"),),
        "max-pools down to a fixed output size",
        "adaptive_max_pool2d",
    ),
):
    register(
        LayerType(
            _name,
            _cls,
            "pool",
            "pooling",
            (
                Arg("output_size", ArgKind.OUTPUT_SIZE, None, True, 1, MAX_INT, primary=True),
                *_extra,
            ),
            (lambda layer: lambda shape, args: _adaptive_rule(shape, args, layer))(_name),
            (3,),
            positional=("output_size",),
            summary=_summary,
            starter=(("output_size", 1),),
            adaptive=True,
            check=_indices_check,
            functional_aliases=(_functional,),
        )
    )
