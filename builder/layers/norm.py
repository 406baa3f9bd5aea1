"""Normalization layers."""

from __future__ import annotations

from typing import Any

from torch import nn

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
    need_rank,
    register,
)

# --- normalization ------------------------------------------------------------------------------


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
    Arg("eps", ArgKind.FLOAT, 1e-5, False, MIN_EPS, 1.0, help="added to the variance (> 0)"),
    Arg("momentum", ArgKind.OPT_FLOAT, 0.1, False, 0.0, 1.0, help="None: cumulative average"),
    Arg("affine", ArgKind.BOOL, True, help="learnable gamma (weight) and beta (bias)"),
    Arg("track_running_stats", ArgKind.BOOL, True),
    Arg("bias", ArgKind.BOOL, True, help="learnable beta (with affine)"),
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
        )
    )
