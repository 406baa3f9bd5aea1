"""Convolutions."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from torch import nn

from .. import shapes
from ..messages import N_, message
from .base import (
    AXIS_WORDS,
    MAX_INT,
    Arg,
    ArgKind,
    Footprint,
    LayerProblem,
    LayerType,
    Shape,
    TensorList,
    Window,
    _check_in,
    _image,
    _join_axes,
    _sequence,
    _size,
    axes,
    macs_per_position,
    register,
    saves_input,
    window,
)

# --- Conv2d, Conv1d -----------------------------------------------------------------------------


def _conv_windows(args: dict[str, Any], n: int = 2) -> tuple[Window, ...]:
    padding = args["padding"]
    return tuple(
        window(k, s, d, p)
        for k, s, d, p in zip(
            axes(args["kernel_size"], n),
            axes(args["stride"], n),
            axes(args["dilation"], n),
            (padding,) * n if isinstance(padding, str) else axes(padding, n),
        )
    )


def _conv_check(args: dict[str, Any]) -> str | None:
    stride, groups = args["stride"], args["groups"]
    if args["padding"] == "same" and max(axes(stride, 1)) > 1:
        return message("padding='same' needs stride 1, got stride={stride}", stride=repr(stride))
    for key in ("out_channels", "in_channels"):
        if args[key] is not None and args[key] % groups:
            return message(
                "groups={groups} must divide {key}={value}", groups=groups, key=key, value=args[key]
            )
    return None


def _in_groups(shape: Shape, args: dict[str, Any]) -> int:
    """The input channels (a given in_channels must match), which groups must divide."""
    in_channels = _check_in(shape, args, "in_channels", "channels")
    groups = args["groups"]
    if in_channels % groups:
        raise LayerProblem(
            "groups",
            message(
                "groups={groups} does not divide the {channels} input channels",
                groups=groups,
                channels=in_channels,
            ),
            message("choose groups that divides both in_channels and out_channels"),
        )
    return in_channels


def _conv_saves(args: dict[str, Any], in_shape: Shape) -> tuple[str, ...]:
    """A convolution keeps its input, or the padded copy it makes itself: torch pads with
    ``F.pad`` first for a padding_mode other than zeros (reflect and replicate keep the input
    too, for their own backward) and for ``padding="same"`` split unevenly."""
    mode = args["padding_mode"]
    if mode in ("reflect", "replicate"):
        return ("input", "padded_input")
    wins = _conv_windows(args, len(in_shape) - 1)
    if mode == "circular" or any(w.pad_left != w.pad_right for w in wins):
        return ("padded_input",)
    return ("input",)


def _conv_rule(shape: Shape, args: dict[str, Any], layer: str) -> tuple[Shape, str]:
    n = 2 if layer == "Conv2d" else 1
    (_image if n == 2 else _sequence)(shape, layer, args)
    _in_groups(shape, args)
    out, formulas = [], []
    for axis, (size, win) in enumerate(zip(shape[1:], _conv_windows(args, n))):
        if args["padding"] == "same":
            size_out, formula = shapes.conv_same_output_size(size)
        else:
            size_out, formula = shapes.conv_output_size(
                size, win.kernel, win.stride, win.pad_left, win.dilation
            )
        pads = (win.pad_left, win.pad_right)
        _check_padding_mode(args["padding_mode"], pads, size, axis, n)
        if size_out < 1:
            need = math.ceil((win.reach - size) / 2)
            raise LayerProblem(
                "kernel_size",
                message(
                    "the kernel reaches {reach} {unit} but the input is only {size} {axis} "
                    "(padding {padding}): {formula}",
                    reach=win.reach,
                    unit=message(N_("pixels") if n == 2 else N_("positions")),
                    size=size,
                    axis=message(AXIS_WORDS[n][axis][0]),
                    padding=pads[0],
                    formula=formula,
                ),
                message(
                    "set padding to {need}, use a smaller kernel_size, "
                    "or remove a pooling layer before",
                    need=need,
                ),
                {"op": "set", "field": "padding", "value": need},
            )
        out.append(size_out)
        formulas.append(formula)
    return (args["out_channels"], *out), _join_axes(formulas)


_LOWER_PADDING = N_("lower the padding or use padding_mode='zeros'")


def _check_padding_mode(mode: str, pads: tuple[int, int], size: int, axis: int, n: int = 2) -> None:
    dim = message(AXIS_WORDS[n][axis][1])
    if mode == "reflect" and max(pads) >= size:
        raise LayerProblem(
            "padding",
            message(
                "padding_mode='reflect' needs padding smaller than the input {dim} {size}, "
                "got {padding}",
                dim=dim,
                size=size,
                padding=max(pads),
            ),
            message(_LOWER_PADDING),
        )
    if mode == "circular" and max(pads) > size:
        raise LayerProblem(
            "padding",
            message(
                "padding_mode='circular' needs padding at most the input {dim} {size}, "
                "got {padding}",
                dim=dim,
                size=size,
                padding=max(pads),
            ),
            message(_LOWER_PADDING),
        )


def _conv_tensors(args: dict[str, Any], in_dim: int | None, n: int = 2) -> TensorList:
    if in_dim is None:
        return []
    out = args["out_channels"]
    kernel = axes(args["kernel_size"], n)
    tensors: TensorList = [("weight", (out, in_dim // args["groups"], *kernel))]
    if args["bias"]:
        tensors.append(("bias", (out,)))
    return tensors


def _conv_args(n: int) -> tuple[Arg, ...]:
    """Conv2d's / Conv1d's arguments in torch's order (1-d: one int per size)."""
    shape = (n,)
    return (
        Arg("in_channels", ArgKind.INT, None, False, 1, MAX_INT, inferred=True),
        Arg(
            "out_channels",
            ArgKind.INT,
            None,
            True,
            1,
            MAX_INT,
            help=N_("number of filters"),
            primary=True,
        ),
        _size("kernel_size", required=True, primary=True, axes=shape),
        _size("stride", 1, primary=True, axes=shape),
        Arg(
            "padding",
            ArgKind.PADDING,
            0,
            False,
            0,
            MAX_INT,
            ("same", "valid"),
            primary=True,
            axes=shape,
        ),
        _size("dilation", 1, axes=shape),
        Arg("groups", ArgKind.INT, 1, False, 1, MAX_INT),
        Arg("bias", ArgKind.BOOL, True),
        Arg(
            "padding_mode",
            ArgKind.CHOICE,
            "zeros",
            choices=("zeros", "reflect", "replicate", "circular"),
        ),
    )


for _name, _n, _summary in (
    ("Conv2d", 2, "2-D convolution: learnable filters slide over the image"),
    ("Conv1d", 1, "1-D convolution: learnable filters slide along the sequence"),
):
    register(
        LayerType(
            _name,
            getattr(nn, _name),
            "conv",
            "convolution",
            _conv_args(_n),
            (lambda layer: lambda shape, args: _conv_rule(shape, args, layer))(_name),
            (_n + 1,),
            "in_channels",
            (lambda n: lambda args, in_dim: _conv_tensors(args, in_dim, n))(_n),
            positional=("in_channels", "out_channels", "kernel_size"),
            summary=_summary,
            tensor_ndim=(("weight", _n + 2), ("bias", 1)),
            starter=(("out_channels", 16), ("kernel_size", 3)),
            windows=(lambda n: lambda args: _conv_windows(args, n))(_n),
            check=_conv_check,
            macs=macs_per_position,
            twin="Conv1d" if _name == "Conv2d" else "Conv2d",
            default_init="fan_in_uniform",
            saves=_conv_saves,
        )
    )


# --- ConvTranspose2d ----------------------------------------------------------------------------


def _transposed_check(args: dict[str, Any]) -> str | None:
    groups = args["groups"]
    for key in ("out_channels", "in_channels"):
        if args[key] is not None and args[key] % groups:
            return message(
                "groups={groups} must divide {key}={value}", groups=groups, key=key, value=args[key]
            )
    pads, strides, dilations = (
        axes(args[key], 2) for key in ("output_padding", "stride", "dilation")
    )
    for extra, stride, dilation in zip(pads, strides, dilations):
        if extra >= stride and extra >= dilation:
            return message(
                "output_padding must be smaller than either stride or dilation, got "
                "output_padding={output_padding}, stride={stride}, dilation={dilation}",
                output_padding=repr(args["output_padding"]),
                stride=repr(args["stride"]),
                dilation=repr(args["dilation"]),
            )
    return None


def _transposed_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    _image(shape, "ConvTranspose2d", args)
    _in_groups(shape, args)
    out, formulas = [], []
    geometry = zip(
        *(axes(args[key], 2) for key in ("kernel_size", "stride", "padding", "dilation")),
        axes(args["output_padding"], 2),
    )
    for axis, (size, (k, s, p, d, extra)) in enumerate(zip(shape[1:], geometry)):
        size_out, formula = shapes.conv_transpose_output_size(size, k, s, p, d, extra)
        if size_out < 1:
            most = ((size - 1) * s + d * (k - 1) + extra) // 2
            raise LayerProblem(
                "padding",
                message(
                    "padding {padding} crops away the whole output {axis}: {formula}",
                    padding=p,
                    axis=message(AXIS_WORDS[2][axis][1]),
                    formula=formula,
                ),
                message("set padding to at most {most}", most=most),
                {"op": "set", "field": "padding", "value": most},
                torch_fails=size_out < 0,  # torch returns an empty map for exactly 0
            )
        out.append(size_out)
        formulas.append(formula)
    return (args["out_channels"], *out), _join_axes(formulas)


def _transposed_tensors(args: dict[str, Any], in_dim: int | None) -> TensorList:
    """torch's transposed weight: ``(in_channels, out_channels / groups, kH, kW)``."""
    if in_dim is None:
        return []
    out = args["out_channels"]
    tensors: TensorList = [
        ("weight", (in_dim, out // args["groups"], *axes(args["kernel_size"], 2)))
    ]
    if args["bias"]:
        tensors.append(("bias", (out,)))
    return tensors


def _transposed_footprint(
    args: dict[str, Any], in_sizes: Shape, out_sizes: Shape
) -> tuple[Footprint, ...]:
    """Output unit ``o`` gathers input ``i`` through tap ``j`` where ``o = i·s − p + j·d``: in
    input pixels, the interval ``[(o + p − d·(k − 1)) / s, (o + p) / s]``. So the jump divides
    by the stride, the span is ``d·(k − 1) / s`` and the first centre ``(p − d·(k − 1)/2) / s``.
    Every whole pixel inside is seen when the dilation is 1 and the kernel at least the stride
    (else some units fall between the taps: the interval is then an upper bound)."""
    prints = []
    for k, s, p, d in zip(
        *(axes(args[key], 2) for key in ("kernel_size", "stride", "padding", "dilation"))
    ):
        reach = d * (k - 1)
        prints.append(
            Footprint(
                Fraction(reach, s),
                Fraction(1, s),
                Fraction(2 * p - reach, 2 * s),
                d == 1 and k >= s,
            )
        )
    return tuple(prints)


register(
    LayerType(
        "ConvTranspose2d",
        nn.ConvTranspose2d,
        "conv",
        "upsampling",
        (
            Arg("in_channels", ArgKind.INT, None, False, 1, MAX_INT, inferred=True),
            Arg(
                "out_channels",
                ArgKind.INT,
                None,
                True,
                1,
                MAX_INT,
                help=N_("number of filters"),
                primary=True,
            ),
            _size("kernel_size", required=True, primary=True),
            _size("stride", 1, primary=True, help=N_("the upsampling factor")),
            _size("padding", 0, minimum=0, primary=True, help=N_("crops dilation·(k−1) − padding")),
            _size("output_padding", 0, minimum=0, help=N_("adds to one side of the output")),
            Arg("groups", ArgKind.INT, 1, False, 1, MAX_INT),
            Arg("bias", ArgKind.BOOL, True),
            _size("dilation", 1),
            Arg(
                "padding_mode",
                ArgKind.CHOICE,
                "zeros",
                choices=("zeros",),
                help=N_("torch supports only zeros here"),
            ),
        ),
        _transposed_rule,
        (3,),
        "in_channels",
        _transposed_tensors,
        positional=("in_channels", "out_channels", "kernel_size"),
        summary="transposed convolution: learnable upsampling (stride s: about s× larger)",
        tensor_ndim=(("weight", 4), ("bias", 1)),
        starter=(("out_channels", 16), ("kernel_size", 2), ("stride", 2)),
        check=_transposed_check,
        macs=macs_per_position,
        footprint=_transposed_footprint,
        default_init="fan_in_uniform",
        saves=saves_input,
    )
)
