"""Linear, reshaping and dropout layers."""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from ..messages import N_, message
from .base import (
    MAX_INT,
    OUT_OF_RANGE,
    Arg,
    ArgKind,
    LayerProblem,
    LayerType,
    Shape,
    TensorList,
    _check_in,
    _image,
    _inplace,
    register,
    saves_input,
    saves_view,
)

# --- Linear -------------------------------------------------------------------------------------


def _linear_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    if len(shape) != 1:
        raise LayerProblem(
            "input",
            message(
                "Linear needs a flat input, got shape {shape} ({count} values)",
                shape=list(shape),
                count=math.prod(shape),
            ),
            message("add a Flatten before it"),
            {"op": "insert", "layer": {"type": "Flatten"}},
            torch_fails=False,
        )
    in_features = _check_in(shape, args, "in_features", "features")
    return (args["out_features"],), f"{in_features} features in → {args['out_features']} out"


def _linear_tensors(args: dict[str, Any], in_dim: int | None) -> TensorList:
    if in_dim is None:
        return []
    tensors: TensorList = [("weight", (args["out_features"], in_dim))]
    if args["bias"]:
        tensors.append(("bias", (args["out_features"],)))
    return tensors


register(
    LayerType(
        "Linear",
        nn.Linear,
        "fc",
        "linear",
        (
            Arg("in_features", ArgKind.INT, None, False, 1, MAX_INT, inferred=True),
            Arg("out_features", ArgKind.INT, None, True, 1, MAX_INT, primary=True),
            Arg("bias", ArgKind.BOOL, True),
        ),
        _linear_rule,
        (1,),
        "in_features",
        _linear_tensors,
        positional=("in_features", "out_features"),
        summary="fully connected: every input feature to every output",
        tensor_ndim=(("weight", 2), ("bias", 1)),
        starter=(("out_features", 10),),
        default_init="fan_in_uniform",
        saves=saves_input,
    )
)


# --- reshaping ----------------------------------------------------------------------------------


def _flatten_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    full = (-1, *shape)  # with the batch dimension
    rank = len(full)
    start, end = args["start_dim"], args["end_dim"]
    for key, dim in (("start_dim", start), ("end_dim", end)):
        if not -rank <= dim < rank:
            raise LayerProblem(
                key,
                message(OUT_OF_RANGE, key=key, dim=dim, rank=rank, low=-rank, high=rank - 1),
                message("use start_dim=1, end_dim=-1 to flatten everything but the batch"),
            )
    start, end = start % rank, end % rank
    if start == 0:
        raise LayerProblem(
            "start_dim",
            message("start_dim=0 would merge the batch dimension into the features"),
            message("set start_dim to 1"),
            {"op": "set", "field": "start_dim", "value": 1},
            torch_fails=False,
        )
    if end < start:
        raise LayerProblem(
            "end_dim",
            message(
                "end_dim ({end}) comes before start_dim ({start})",
                end=args["end_dim"],
                start=args["start_dim"],
            ),
            message("set end_dim to -1"),
            {"op": "set", "field": "end_dim", "value": -1},
        )
    merged = math.prod(full[start : end + 1])
    out = (*full[1:start], merged, *full[end + 1 :])
    parts = "·".join(str(s) for s in full[start : end + 1])
    return out, f"{parts} = {merged}" if end > start else "nothing to merge"


register(
    LayerType(
        "Flatten",
        nn.Flatten,
        "flatten",
        "reshape",
        (
            Arg(
                "start_dim",
                ArgKind.INT,
                1,
                False,
                -MAX_INT,
                MAX_INT,
                help=N_("1: keep the batch"),
                primary=True,
            ),
            Arg("end_dim", ArgKind.INT, -1, False, -MAX_INT, MAX_INT, primary=True),
        ),
        _flatten_rule,
        summary="turns C×H×W feature maps into one vector",
        saves=saves_view,
    )
)

register(
    LayerType(
        "Identity",
        nn.Identity,
        "identity",
        "reshape",
        summary="passes the input on",
        saves=saves_view,
    )
)


# --- dropout ------------------------------------------------------------------------------------

_P = Arg(
    "p",
    ArgKind.FLOAT,
    0.5,
    False,
    0.0,
    1.0,
    help=N_("probability of zeroing an element"),
    primary=True,
)


def _dropout2d_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    _image(shape, "Dropout2d")
    return shape, "same shape as the input"


register(
    LayerType(
        "Dropout",
        nn.Dropout,
        "drop",
        "dropout",
        (_P, _inplace()),
        positional=("p",),
        summary="zeroes random elements while training",
        functional_aliases=("dropout",),
        saves=lambda args, in_shape: ("view", "mask") if args["inplace"] else ("mask",),
    )
)
register(
    LayerType(
        "Dropout2d",
        nn.Dropout2d,
        "drop",
        "dropout",
        (_P, _inplace()),
        _dropout2d_rule,
        (3,),
        positional=("p",),
        summary="zeroes whole random channels while training",
        functional_aliases=("dropout2d",),
        saves=lambda args, in_shape: (
            ("view", "channel_mask") if args["inplace"] else ("channel_mask",)
        ),
    )
)
