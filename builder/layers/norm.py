"""Normalization layers."""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from ..messages import N_, message
from .base import (
    MAX_INT,
    MIN_EPS,
    Arg,
    ArgKind,
    LayerProblem,
    LayerType,
    Shape,
    TensorList,
    _check_in,
    _image,
    need_rank,
    register,
)

# --- normalization ------------------------------------------------------------------------------

_BN_SAVES = ("input", "channel_stats", "channel_stats")  # the input, the batch's mean and invstd


def _instance_saves(args: dict[str, Any], in_shape: Shape) -> tuple[str, ...]:
    """InstanceNorm runs BatchNorm on the batch seen as one sample of N·C channels: the mean and
    invstd per (sample, channel), the affine weight repeated per sample, and with running
    statistics those two repeated too."""
    count = 2 + bool(args["affine"]) + 2 * bool(args["track_running_stats"])
    return ("input", *("instance_stats",) * count)


def _bn_tensors(args: dict[str, Any], in_dim: int | None) -> TensorList:
    if in_dim is None or not args["affine"]:
        return []
    tensors: TensorList = [("weight", (in_dim,))]
    if args["bias"]:
        tensors.append(("bias", (in_dim,)))
    return tensors


def _bn_buffers(args: dict[str, Any], in_dim: int | None) -> TensorList:
    if in_dim is None or not args["track_running_stats"]:
        return []
    return [("running_mean", (in_dim,)), ("running_var", (in_dim,)), ("num_batches_tracked", ())]


def _bn_rule(shape: Shape, args: dict[str, Any], layer: str) -> tuple[Shape, str]:
    # torch's BatchNorm2d takes only a 4-D batch, BatchNorm1d a 2-D or 3-D one
    if layer == "BatchNorm2d":
        need_rank(shape, layer, (3,), (1, 2), args)
    else:
        need_rank(shape, layer, (1, 2), (3,), args)
    try:
        _check_in(shape, args, "num_features", "channels" if len(shape) > 1 else "features")
    except LayerProblem as problem:
        # without affine parameters or running statistics torch has nothing to check against
        problem.torch_fails = args["affine"] or args["track_running_stats"]
        raise
    return shape, f"normalizes each of the {shape[0]} channels; shape unchanged"


_BN_ARGS = (
    Arg("num_features", ArgKind.INT, None, False, 1, MAX_INT, inferred=True),
    Arg("eps", ArgKind.FLOAT, 1e-5, False, MIN_EPS, 1.0, help=N_("added to the variance (> 0)")),
    Arg("momentum", ArgKind.OPT_FLOAT, 0.1, False, 0.0, 1.0, help=N_("None: cumulative average")),
    Arg("affine", ArgKind.BOOL, True, help=N_("learnable gamma (weight) and beta (bias)")),
    Arg("track_running_stats", ArgKind.BOOL, True),
    Arg("bias", ArgKind.BOOL, True, help=N_("learnable beta (with affine)")),
)

for _name, _cls, _summary in (
    ("BatchNorm2d", nn.BatchNorm2d, "normalizes each channel over the batch"),
    (
        "BatchNorm1d",
        nn.BatchNorm1d,
        "normalizes each feature (each channel of a sequence) over the batch",
    ),
):
    register(
        LayerType(
            _name,
            _cls,
            "bn",
            "normalization",
            _BN_ARGS,
            (lambda layer: lambda shape, args: _bn_rule(shape, args, layer))(_name),
            (3,) if _name == "BatchNorm2d" else (1, 2),
            "num_features",
            _bn_tensors,
            _bn_buffers,
            positional=("num_features",),
            summary=_summary,
            tensor_ndim=(("weight", 1), ("bias", 1)),
            twin="BatchNorm1d" if _name == "BatchNorm2d" else "BatchNorm2d",
            saves=lambda args, in_shape: _BN_SAVES,
        )
    )


# --- GroupNorm, LayerNorm, InstanceNorm2d -------------------------------------------------------


def _group_check(args: dict[str, Any]) -> str | None:
    groups, channels = args["num_groups"], args["num_channels"]
    if channels is not None and channels % groups:
        return message(
            "num_groups={groups} must divide num_channels={channels}",
            groups=groups,
            channels=channels,
        )
    return None


def _group_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    channels = _check_in(shape, args, "num_channels", "channels" if len(shape) > 1 else "features")
    groups = args["num_groups"]
    if channels % groups:
        fit = math.gcd(channels, groups)
        raise LayerProblem(
            "num_groups",
            message(
                "num_groups={groups} does not divide the {channels} input channels",
                groups=groups,
                channels=channels,
            ),
            message(
                "set num_groups to {fit} (or another divisor of {channels})",
                fit=fit,
                channels=channels,
            ),
            {"op": "set", "field": "num_groups", "value": fit},
        )
    return shape, f"normalizes each sample's {groups} groups of {channels // groups} channels"


def _normalized(shape: Shape, args: dict[str, Any]) -> tuple[int, ...]:
    """LayerNorm's normalized_shape as a tuple: the given one (an int is one dimension), else
    the whole sample shape."""
    given = args["normalized_shape"]
    if given is None:
        return tuple(shape)
    return tuple(given) if isinstance(given, (list, tuple)) else (given,)


def _infer_normalized(shape: Shape, args: dict[str, Any]) -> Any:
    """The inferred value as the constructor takes it: a given one as written (``10`` stays an
    int), else the whole sample shape."""
    given = args["normalized_shape"]
    return tuple(shape) if given is None else given


def _layer_norm_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    normalized = _normalized(shape, args)
    if tuple(shape[len(shape) - len(normalized) :]) != normalized:
        raise LayerProblem(
            "normalized_shape",
            message(
                "normalized_shape {normalized} is not the end of the input's shape {shape}",
                normalized=list(normalized),
                shape=list(shape),
            ),
            message(
                "leave normalized_shape out to normalize the whole sample {shape}, or give "
                "its last dimensions",
                shape=list(shape),
            ),
            {"op": "set", "field": "normalized_shape", "value": list(shape)},
        )
    count = math.prod(normalized)
    return shape, f"normalizes each sample over its last {count} values; shape unchanged"


def _layer_norm_tensors(args: dict[str, Any], normalized: Any) -> TensorList:
    if normalized is None or not args["elementwise_affine"]:
        return []
    dims = tuple(normalized) if isinstance(normalized, (list, tuple)) else (normalized,)
    tensors: TensorList = [("weight", dims)]
    if args["bias"]:
        tensors.append(("bias", dims))
    return tensors


def _instance_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    _image(shape, "InstanceNorm2d", args)
    try:
        _check_in(shape, args, "num_features", "channels")
    except LayerProblem as problem:
        problem.torch_fails = args["affine"] or args["track_running_stats"]
        raise
    if shape[1] * shape[2] == 1:
        raise LayerProblem(
            "input",
            message("InstanceNorm2d needs more than one value per channel, got a 1×1 input"),
            message("remove it, or move it before the layer that shrinks the map to 1×1"),
            # with running statistics torch still runs in eval mode (training raises)
            torch_fails=not args["track_running_stats"],
        )
    return shape, f"normalizes each sample's {shape[0]} channels over their {shape[1]}×{shape[2]}"


_EPS = Arg("eps", ArgKind.FLOAT, 1e-5, False, MIN_EPS, 1.0, help=N_("added to the variance (> 0)"))

register(
    LayerType(
        "GroupNorm",
        nn.GroupNorm,
        "norm",
        "normalization",
        (
            Arg("num_groups", ArgKind.INT, None, True, 1, MAX_INT, primary=True),
            Arg("num_channels", ArgKind.INT, None, False, 1, MAX_INT, inferred=True),
            _EPS,
            Arg("affine", ArgKind.BOOL, True, help=N_("learnable per-channel weight and bias")),
            Arg("bias", ArgKind.BOOL, True, help=N_("learnable bias (with affine)")),
        ),
        _group_rule,
        None,
        "num_channels",
        _bn_tensors,
        positional=("num_groups", "num_channels"),
        summary="normalizes groups of channels within each sample (no batch statistics)",
        tensor_ndim=(("weight", 1), ("bias", 1)),
        starter=(("num_groups", 1),),
        check=_group_check,
        saves=lambda args, in_shape: ("input", "group_stats", "group_stats"),
    )
)

register(
    LayerType(
        "LayerNorm",
        nn.LayerNorm,
        "norm",
        "normalization",
        (
            Arg(
                "normalized_shape",
                ArgKind.SHAPE,
                None,
                False,
                1,
                MAX_INT,
                inferred=True,
                help=N_("the trailing dimensions to normalize; omitted: the whole sample"),
            ),
            _EPS,
            Arg("elementwise_affine", ArgKind.BOOL, True, help=N_("learnable weight and bias")),
            Arg("bias", ArgKind.BOOL, True, help=N_("learnable bias (with elementwise_affine)")),
        ),
        _layer_norm_rule,
        None,
        "normalized_shape",
        _layer_norm_tensors,
        positional=("normalized_shape",),
        summary="normalizes each sample over its last dimensions (no batch statistics)",
        # the weight has the normalized shape (1 to 3 dimensions): schemes are checked as for
        # a vector, which every shape takes
        tensor_ndim=(("weight", 1), ("bias", 1)),
        infer=_infer_normalized,
        saves=lambda args, in_shape: ("input", "row_stats", "row_stats"),
    )
)

register(
    LayerType(
        "InstanceNorm2d",
        nn.InstanceNorm2d,
        "norm",
        "normalization",
        (
            Arg("num_features", ArgKind.INT, None, False, 1, MAX_INT, inferred=True),
            _EPS,
            Arg("momentum", ArgKind.OPT_FLOAT, 0.1, False, 0.0, 1.0, help=N_("None: cumulative")),
            Arg("affine", ArgKind.BOOL, False, help=N_("learnable per-channel weight and bias")),
            Arg("track_running_stats", ArgKind.BOOL, False),
            Arg("bias", ArgKind.BOOL, True, help=N_("learnable bias (with affine)")),
        ),
        _instance_rule,
        (3,),
        "num_features",
        _bn_tensors,
        _bn_buffers,
        positional=("num_features",),
        summary="normalizes each channel of each sample over its H×W",
        tensor_ndim=(("weight", 1), ("bias", 1)),
        saves=_instance_saves,
    )
)
