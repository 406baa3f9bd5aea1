"""Upsampling and padding: layers that change a map's size without a sliding window of weights."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from torch import nn

from .. import shapes
from ..messages import N_, message
from .base import (
    AXIS_WORDS,
    MAX_INT,
    MIN_EPS,
    SAMPLE_FORMS,
    Arg,
    ArgKind,
    Footprint,
    LayerProblem,
    LayerType,
    Shape,
    Window,
    _join_axes,
    _size,
    axes,
    need_rank,
    register,
)

# --- ZeroPad2d ----------------------------------------------------------------------------------


def _pads(args: dict[str, Any]) -> tuple[int, int, int, int]:
    """``(left, right, top, bottom)``, as torch orders ZeroPad2d's padding."""
    left, right, top, bottom = axes(args["padding"], 4)
    return left, right, top, bottom


def _pad_windows(args: dict[str, Any]) -> tuple[Window, ...]:
    """Padding is a 1-wide window that moves the first unit by the padding before it."""
    left, right, top, bottom = _pads(args)
    return Window(1, 1, 1, top, bottom), Window(1, 1, 1, left, right)


def _pad_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    # torch pads the last two dimensions of any batch: a flat batch or a batch of sequences
    # runs (padding the wrong dimensions), so the rank is NetBuilder's own rule
    need_rank(shape, "ZeroPad2d", (3,), (), args)
    out, formulas = [], []
    for axis, (size, win) in enumerate(zip(shape[1:], _pad_windows(args))):
        size_out, formula = shapes.pad_output_size(size, win.pad_left, win.pad_right)
        if size_out < 1:
            raise LayerProblem(
                "padding",
                message(
                    "the negative padding crops the whole input {axis}: {formula}",
                    axis=message(AXIS_WORDS[2][axis][1]),
                    formula=formula,
                ),
                message("crop less (padding closer to 0)"),
                {"op": "set", "field": "padding", "value": 0},
                torch_fails=size_out < 0,  # torch returns an empty map for exactly 0
            )
        out.append(size_out)
        formulas.append(formula)
    return (shape[0], *out), _join_axes(formulas)


register(
    LayerType(
        "ZeroPad2d",
        nn.ZeroPad2d,
        "pad",
        "padding",
        (
            _size(
                "padding",
                required=True,
                minimum=-MAX_INT,
                primary=True,
                axes=(4,),
                help=N_("one for every side, or [left, right, top, bottom]; negative crops"),
            ),
        ),
        _pad_rule,
        (3,),
        positional=("padding",),
        summary="adds zeros around the image (negative padding crops)",
        starter=(("padding", 1),),
        windows=_pad_windows,
        functional_aliases=("pad",),
    )
)


# --- Upsample -----------------------------------------------------------------------------------

_MODE_RANKS = {"linear": 2, "bilinear": 3, "bicubic": 3}
"""The per-sample rank each interpolating mode needs (the nearest modes take both)."""
_TAPS = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "bicubic": 4}
"""Input pixels a mode reads per axis for one output pixel."""


def _upsample_check(args: dict[str, Any]) -> str | None:
    size, scale, mode = args["size"], args["scale_factor"], args["mode"]
    if (size is None) == (scale is None):
        return message("Upsample needs exactly one of size and scale_factor")
    if args["align_corners"] is not None and mode.startswith("nearest"):
        return message(
            "align_corners can only be set with the interpolating modes (linear, bilinear, "
            "bicubic), not mode={mode}: leave it out",
            mode=repr(mode),
        )
    if args["recompute_scale_factor"] and size is not None:
        return message("recompute_scale_factor is not meaningful with an explicit size")
    return None


def _upsample_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    need_rank(shape, "Upsample", (2, 3), (1,), args)
    n = len(shape) - 1
    mode = args["mode"]
    if _MODE_RANKS.get(mode, len(shape)) != len(shape):
        fitting = "linear" if n == 1 else "bilinear"
        raise LayerProblem(
            "mode",
            message(
                "mode={mode} needs a {wanted} input, got {got}",
                mode=repr(mode),
                wanted=SAMPLE_FORMS[_MODE_RANKS[mode]],
                got=SAMPLE_FORMS[len(shape)],
            ),
            message("use mode={mode} (or 'nearest')", mode=repr(fitting)),
            {"op": "set", "field": "mode", "value": fitting},
        )
    key = "size" if args["size"] is not None else "scale_factor"
    given = axes(args[key], n)
    if len(given) != n:
        raise LayerProblem(
            key,
            message(
                "{key} has {count} entries but the input has {n} spatial {axes}",
                key=key,
                count=len(given),
                n=n,
                axes=message(N_("axis") if n == 1 else N_("axes")),
            ),
            message("give {key} one number for every axis", key=key),
            {"op": "set", "field": key, "value": given[0]},
        )
    out, formulas = [], []
    for axis, (size, value) in enumerate(zip(shape[1:], given)):
        target, scale = (value, None) if key == "size" else (None, value)
        size_out, formula = shapes.upsample_output_size(size, target, scale)
        if size_out < 1:
            raise LayerProblem(
                "scale_factor",
                message(
                    "scale_factor {scale} leaves nothing of the input {axis}: {formula}",
                    scale=format(scale, "g"),
                    axis=message(AXIS_WORDS[n][axis][1]),
                    formula=formula,
                ),
                message("use a scale_factor of at least 1 (Upsample enlarges)"),
                {"op": "set", "field": "scale_factor", "value": 1.0},
            )
        out.append(size_out)
        formulas.append(formula)
    return (shape[0], *out), _join_axes(formulas)


def _upsample_footprint(
    args: dict[str, Any], in_sizes: Shape, out_sizes: Shape
) -> tuple[Footprint, ...]:
    """Where each output pixel samples the input, per torch's interpolation, in input pixels.

    With ``align_corners`` output ``o`` samples ``x = o·(I − 1)/(O − 1)``; otherwise ``x = (o +
    ½)·r − ½`` with ``r = 1/scale_factor`` (``I/O`` when ``size`` is given or the factor is
    recomputed). Linear modes read ``floor(x)`` and the next pixel (within ``x ± 1``), bicubic
    four (within ``x ± 2``); nearest reads ``floor(o·r)``, within ``[o·r − 1, o·r]``, and
    nearest-exact ``floor((o + ½)·r)``. Every interval holds all the pixels read, but most units
    read fewer: an upper bound (``exact`` False).
    """
    mode, scale = args["mode"], args["scale_factor"]
    exact_ratio = args["size"] is not None or bool(args["recompute_scale_factor"])
    scales = axes(scale, len(in_sizes)) if scale is not None else (None,) * len(in_sizes)
    span = Fraction(_TAPS[mode])
    prints = []
    for size_in, size_out, factor in zip(in_sizes, out_sizes, scales):
        if args["align_corners"]:
            ratio = Fraction(size_in - 1, size_out - 1) if size_out > 1 else Fraction(0)
            prints.append(Footprint(span, ratio, Fraction(0), False))
            continue
        ratio = Fraction(size_in, size_out) if exact_ratio else 1 / Fraction(factor)
        # nearest: centre o·r − ½; nearest-exact and the linear modes: (o + ½)·r − ½
        offset = Fraction(-1, 2) if mode == "nearest" else (ratio - 1) / 2
        prints.append(Footprint(span, ratio, offset, False))
    return tuple(prints)


register(
    LayerType(
        "Upsample",
        nn.Upsample,
        "up",
        "upsampling",
        (
            Arg(
                "size",
                ArgKind.OPT_SIZE,
                None,
                False,
                1,
                MAX_INT,
                help=N_("the output size (None: use scale_factor)"),
                primary=True,
                axes=(1, 2),
                replaces="scale_factor",
            ),
            Arg(
                "scale_factor",
                ArgKind.OPT_SCALE,
                None,
                False,
                MIN_EPS,
                1e4,
                help=N_("output = floor(input × scale_factor) (None: use size)"),
                primary=True,
                axes=(1, 2),
                replaces="size",
            ),
            Arg("mode", ArgKind.CHOICE, "nearest", choices=tuple(_TAPS), primary=True),
            Arg(
                "align_corners",
                ArgKind.OPT_BOOL,
                None,
                help=N_("interpolating modes: align the corner pixels' centres"),
            ),
            Arg("recompute_scale_factor", ArgKind.OPT_BOOL, None),
        ),
        _upsample_rule,
        (2, 3),
        summary="enlarges each map by interpolation (no weights)",
        starter=(("scale_factor", 2.0),),
        check=_upsample_check,
        footprint=_upsample_footprint,
        functional_aliases=("interpolate", "upsample"),
    )
)
