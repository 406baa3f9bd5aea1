"""Convolutions."""

from __future__ import annotations

import math
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
    TensorList,
    Window,
    _check_in,
    _image,
    _join_axes,
    _size,
    macs_per_position,
    pair,
    register,
    window,
)

# --- Conv2d -------------------------------------------------------------------------------------


def _conv_windows(args: dict[str, Any]) -> tuple[Window, ...]:
    return tuple(
        window(k, s, d, padding)
        for k, s, d, padding in zip(
            pair(args["kernel_size"]),
            pair(args["stride"]),
            pair(args["dilation"]),
            pair(args["padding"])
            if not isinstance(args["padding"], str)
            else (args["padding"],) * 2,
        )
    )


def _conv_check(args: dict[str, Any]) -> str | None:
    stride, groups = args["stride"], args["groups"]
    if args["padding"] == "same" and max(pair(stride)) > 1:
        return f"padding='same' needs stride 1, got stride={stride!r}"
    for key in ("out_channels", "in_channels"):
        if args[key] is not None and args[key] % groups:
            return f"groups={groups} must divide {key}={args[key]}"
    return None


def _conv_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    _image(shape, "Conv2d")
    in_channels = _check_in(shape, args, "in_channels", "channels")
    groups = args["groups"]
    if in_channels % groups:
        raise LayerProblem(
            "groups",
            f"groups={groups} does not divide the {in_channels} input channels",
            "choose groups that divides both in_channels and out_channels",
        )
    out, formulas = [], []
    for axis, (size, win) in enumerate(zip(shape[1:], _conv_windows(args))):
        if args["padding"] == "same":
            size_out, formula = shapes.conv_same_output_size(size)
        else:
            size_out, formula = shapes.conv_output_size(
                size, win.kernel, win.stride, win.pad_left, win.dilation
            )
        pads = (win.pad_left, win.pad_right)
        _check_padding_mode(args["padding_mode"], pads, size, axis)
        if size_out < 1:
            need = math.ceil((win.reach - size) / 2)
            raise LayerProblem(
                "kernel_size",
                f"the kernel reaches {win.reach} pixels but the input is only {size} "
                f"{'high' if axis == 0 else 'wide'} (padding {pads[0]}): {formula}",
                f"set padding to {need}, use a smaller kernel_size, "
                "or remove a pooling layer before",
                {"op": "set", "field": "padding", "value": need},
            )
        out.append(size_out)
        formulas.append(formula)
    return (args["out_channels"], *out), _join_axes(formulas)


def _check_padding_mode(mode: str, pads: tuple[int, int], size: int, axis: int) -> None:
    dim = "height" if axis == 0 else "width"
    if mode == "reflect" and max(pads) >= size:
        raise LayerProblem(
            "padding",
            f"padding_mode='reflect' needs padding smaller than the input {dim} {size}, "
            f"got {max(pads)}",
            "lower the padding or use padding_mode='zeros'",
        )
    if mode == "circular" and max(pads) > size:
        raise LayerProblem(
            "padding",
            f"padding_mode='circular' needs padding at most the input {dim} {size}, "
            f"got {max(pads)}",
            "lower the padding or use padding_mode='zeros'",
        )


def _conv_tensors(args: dict[str, Any], in_dim: int | None) -> TensorList:
    if in_dim is None:
        return []
    kh, kw = pair(args["kernel_size"])
    out = args["out_channels"]
    tensors: TensorList = [("weight", (out, in_dim // args["groups"], kh, kw))]
    if args["bias"]:
        tensors.append(("bias", (out,)))
    return tensors


register(
    LayerType(
        "Conv2d",
        nn.Conv2d,
        "conv",
        "convolution",
        (
            Arg("in_channels", ArgKind.INT, None, False, 1, MAX_INT, inferred=True),
            Arg(
                "out_channels",
                ArgKind.INT,
                None,
                True,
                1,
                MAX_INT,
                help="number of filters",
                primary=True,
            ),
            _size("kernel_size", required=True, primary=True),
            _size("stride", 1, primary=True),
            Arg("padding", ArgKind.PADDING, 0, False, 0, MAX_INT, ("same", "valid"), primary=True),
            _size("dilation", 1),
            Arg("groups", ArgKind.INT, 1, False, 1, MAX_INT),
            Arg("bias", ArgKind.BOOL, True),
            Arg(
                "padding_mode",
                ArgKind.CHOICE,
                "zeros",
                choices=("zeros", "reflect", "replicate", "circular"),
            ),
        ),
        _conv_rule,
        (3,),
        "in_channels",
        _conv_tensors,
        positional=("in_channels", "out_channels", "kernel_size"),
        summary="2-D convolution: learnable filters slide over the image",
        tensor_ndim=(("weight", 4), ("bias", 1)),
        starter=(("out_channels", 16), ("kernel_size", 3)),
        windows=_conv_windows,
        check=_conv_check,
        macs=macs_per_position,
    )
)
