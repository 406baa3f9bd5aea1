"""Pooling layers."""

from __future__ import annotations

from typing import Any

from torch import nn

from .. import shapes
from ..messages import N_, message
from .base import (
    AXIS_WORDS,
    MAX_INT,
    Arg,
    ArgKind,
    LayerProblem,
    LayerType,
    Shape,
    Window,
    _image,
    _join_axes,
    _sequence,
    _size,
    axes,
    pair,
    register,
    window,
)

# --- pooling ------------------------------------------------------------------------------------


def _rank_of(layer: str) -> int:
    """Spatial axes of a pooling type: 1 for ``...1d``, else 2."""
    return 1 if layer.endswith("1d") else 2


def _pool_windows(args: dict[str, Any], n: int = 2) -> tuple[Window, ...]:
    """torch's pooling: the stride defaults to the kernel; AvgPool has no dilation."""
    stride = args["stride"]
    return tuple(
        window(k, s, d, p)
        for k, s, d, p in zip(
            axes(args["kernel_size"], n),
            axes(stride, n) if stride is not None else (None,) * n,
            axes(args.get("dilation", 1), n),
            axes(args["padding"], n),
        )
    )


def _pool_check(args: dict[str, Any]) -> str | None:
    kernel, padding = args["kernel_size"], args["padding"]
    if any(2 * p > k for k, p in zip(pair(kernel), pair(padding))):
        return message(
            "padding must be at most half of kernel_size, got padding={padding} "
            "with kernel_size={kernel}",
            padding=repr(padding),
            kernel=repr(kernel),
        )
    return _indices_check(args)


def _indices_check(args: dict[str, Any]) -> str | None:
    if args.get("return_indices"):
        return message("return_indices=True is not supported: the next layer would get a tuple")
    return None


def _need_input(shape: Shape, layer: str, args: dict[str, Any]) -> int:
    """Check the input's rank for a pooling type; its number of spatial axes."""
    n = _rank_of(layer)
    (_image if n == 2 else _sequence)(shape, layer, args)
    return n


def _pool_rule(shape: Shape, args: dict[str, Any], layer: str) -> tuple[Shape, str]:
    n = _need_input(shape, layer, args)
    out, formulas = [], []
    for axis, (size, win) in enumerate(zip(shape[1:], _pool_windows(args, n))):
        size_out, formula = shapes.pool_output_size(
            size, win.kernel, win.stride, win.pad_left, win.dilation, args["ceil_mode"]
        )
        if size_out < 1:
            raise LayerProblem(
                "kernel_size",
                message(
                    "the {kernel}-wide pooling window does not fit the input {axis} {size}: "
                    "{formula}",
                    kernel=win.kernel,
                    axis=message(AXIS_WORDS[n][axis][1]),
                    size=size,
                    formula=formula,
                ),
                message("use a smaller kernel_size, or remove this pooling layer"),
                {"op": "set", "field": "kernel_size", "value": max(1, min(size, win.kernel))},
            )
        out.append(size_out)
        formulas.append(formula)
    return (shape[0], *out), _join_axes(formulas)


def _pool_args(n: int) -> tuple[Arg, ...]:
    shape = (n,)
    return (
        _size("kernel_size", required=True, primary=True, axes=shape),
        Arg(
            "stride",
            ArgKind.OPT_SIZE,
            None,
            False,
            1,
            MAX_INT,
            help=N_("None: same as kernel_size"),
            primary=True,
            axes=shape,
        ),
        _size("padding", 0, minimum=0, primary=True, axes=shape),
    )


def _max_args(n: int) -> tuple[Arg, ...]:
    return (
        *_pool_args(n),
        _size("dilation", 1, axes=(n,)),
        Arg("return_indices", ArgKind.BOOL, False, help=N_("must stay False in a stack")),
        Arg("ceil_mode", ArgKind.BOOL, False),
    )


def _avg_args(n: int) -> tuple[Arg, ...]:
    extra = (Arg("divisor_override", ArgKind.OPT_INT, None, False, 1, MAX_INT),) if n == 2 else ()
    return (
        *_pool_args(n),
        Arg("ceil_mode", ArgKind.BOOL, False),
        Arg("count_include_pad", ArgKind.BOOL, True),
        *extra,
    )


def _max_saves(args: dict[str, Any], in_shape: Shape) -> tuple[str, ...]:
    return ("input", "indices")


def _avg_saves(args: dict[str, Any], in_shape: Shape) -> tuple[str, ...]:
    return ("input",)


def _adaptive_avg_saves(args: dict[str, Any], in_shape: Shape) -> tuple[str, ...]:
    """An adaptive average down to 1 (every axis) is torch's ``mean``, which keeps only sizes."""
    target = axes(args["output_size"], len(in_shape) - 1)
    sizes = [in_shape[1 + i] if t is None else t for i, t in enumerate(target)]
    return () if all(s == 1 for s in sizes) else ("input",)


for _name, _args, _summary in (
    ("MaxPool2d", _max_args(2), "keeps the largest value of each window"),
    ("AvgPool2d", _avg_args(2), "averages each window"),
    ("MaxPool1d", _max_args(1), "keeps the largest value of each window of the sequence"),
    ("AvgPool1d", _avg_args(1), "averages each window of the sequence"),
):
    register(
        LayerType(
            _name,
            getattr(nn, _name),
            "pool",
            "pooling",
            _args,
            (lambda layer: lambda shape, args: _pool_rule(shape, args, layer))(_name),
            (_rank_of(_name) + 1,),
            positional=("kernel_size", "stride"),
            summary=_summary,
            starter=(("kernel_size", 2),),
            windows=(lambda n: lambda args: _pool_windows(args, n))(_rank_of(_name)),
            check=_pool_check,
            functional_aliases=(_name[:3].lower() + "_pool" + _name[-2:],),
            twin=_name[:-2] + ("1d" if _name.endswith("2d") else "2d"),
            saves=_max_saves if _name.startswith("Max") else _avg_saves,
        )
    )


def _adaptive_rule(shape: Shape, args: dict[str, Any], layer: str) -> tuple[Shape, str]:
    n = _need_input(shape, layer, args)
    target = axes(args["output_size"], n)
    out, formulas = [], []
    for axis, size in enumerate(shape[1:]):
        size_out, formula = shapes.adaptive_output_size(size, target[axis])
        out.append(size_out)
        formulas.append(formula)
    return (shape[0], *out), _join_axes(formulas)


_ADAPTIVE_TWINS = {
    "AdaptiveAvgPool2d": "AdaptiveAvgPool1d",
    "AdaptiveAvgPool1d": "AdaptiveAvgPool2d",
}
_INDICES = Arg("return_indices", ArgKind.BOOL, False, help=N_("must stay False in a stack"))

for _name, _extra, _summary in (
    ("AdaptiveAvgPool2d", (), "averages down to a fixed output size"),
    ("AdaptiveMaxPool2d", (_INDICES,), "max-pools down to a fixed output size"),
    ("AdaptiveAvgPool1d", (), "averages the sequence down to a fixed length"),
):
    _n = _rank_of(_name)
    register(
        LayerType(
            _name,
            getattr(nn, _name),
            "pool",
            "pooling",
            (
                Arg(
                    "output_size",
                    ArgKind.OUTPUT_SIZE,
                    None,
                    True,
                    1,
                    MAX_INT,
                    primary=True,
                    axes=(_n,),
                ),
                *_extra,
            ),
            (lambda layer: lambda shape, args: _adaptive_rule(shape, args, layer))(_name),
            (_n + 1,),
            positional=("output_size",),
            summary=_summary,
            starter=(("output_size", 1),),
            adaptive=True,
            check=_indices_check,
            functional_aliases=("adaptive_" + _name[8:11].lower() + "_pool" + _name[-2:],),
            twin=_ADAPTIVE_TWINS.get(_name),
            saves=_max_saves if "Max" in _name else _adaptive_avg_saves,
        )
    )
