"""Activation functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ..messages import N_, message
from .base import (
    MAX_INT,
    MIN_EPS,
    OUT_OF_RANGE,
    Arg,
    ArgKind,
    LayerProblem,
    LayerType,
    Shape,
    TensorList,
    _inplace,
    _same_shape,
    register,
    saves_input,
)

# --- activations --------------------------------------------------------------------------------


def _dim_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    dim, rank = args["dim"], len(shape) + 1
    if dim is not None and not -rank <= dim < rank:
        raise LayerProblem(
            "dim",
            message(OUT_OF_RANGE, key="dim", dim=dim, rank=rank, low=-rank, high=rank - 1),
            message("use dim=1 (the classes) or dim=-1"),
            {"op": "set", "field": "dim", "value": 1},
        )
    return shape, "same shape as the input"


_KEEPS = {
    "ReLU": "output",
    "Sigmoid": "output",
    "Tanh": "output",
    "Softmax": "output",
    "LogSoftmax": "output",
}
"""What each activation keeps for its backward when it is not in place (the rest: its input)."""
_INPLACE_KEEPS = {"ReLU": "output", "LeakyReLU": "output", "ELU": "output"}
"""In place, these keep their output (the input's storage); SiLU, Hardswish and Mish a copy of
the input."""


def _activation_saves(name: str) -> Callable[[dict[str, Any], Shape], tuple[str, ...]]:
    def saves(args: dict[str, Any], in_shape: Shape) -> tuple[str, ...]:
        if args.get("inplace"):
            return ("view", _INPLACE_KEEPS.get(name, "input_copy"))
        return (_KEEPS.get(name, "input"),)

    return saves


for _name, _cls, _args, _functional, _summary in (
    ("ReLU", nn.ReLU, (_inplace(),), "relu", "max(0, x)"),
    (
        "LeakyReLU",
        nn.LeakyReLU,
        (Arg("negative_slope", ArgKind.FLOAT, 0.01, False, -1e6, 1e6, primary=True), _inplace()),
        "leaky_relu",
        "x, or negative_slope·x below 0",
    ),
    (
        "ELU",
        nn.ELU,
        (Arg("alpha", ArgKind.FLOAT, 1.0, False, -1e6, 1e6, primary=True), _inplace()),
        "elu",
        "x, or alpha·(exp(x) − 1) below 0",
    ),
    (
        "GELU",
        nn.GELU,
        (Arg("approximate", ArgKind.CHOICE, "none", choices=("none", "tanh"), primary=True),),
        "gelu",
        "x·Φ(x), smooth ReLU",
    ),
    ("SiLU", nn.SiLU, (_inplace(),), "silu", "x·sigmoid(x)"),
    ("Hardswish", nn.Hardswish, (_inplace(),), "hardswish", "x·relu6(x + 3)/6, a cheap SiLU"),
    ("Mish", nn.Mish, (_inplace(),), "mish", "x·tanh(softplus(x))"),
    (
        "Softplus",
        nn.Softplus,
        (
            Arg("beta", ArgKind.FLOAT, 1.0, False, MIN_EPS, 1e6, primary=True, help=N_("> 0")),
            Arg("threshold", ArgKind.FLOAT, 20.0, False, -1e6, 1e6, help=N_("linear above it")),
        ),
        "softplus",
        "log(1 + exp(beta·x)) / beta, a smooth ReLU",
    ),
    ("Sigmoid", nn.Sigmoid, (), "sigmoid", "1 / (1 + exp(−x))"),
    ("Tanh", nn.Tanh, (), "tanh", "tanh(x)"),
    (
        "Softmax",
        nn.Softmax,
        (Arg("dim", ArgKind.DIM, None, False, -MAX_INT, MAX_INT, primary=True),),
        "softmax",
        "probabilities along dim",
    ),
    (
        "LogSoftmax",
        nn.LogSoftmax,
        (Arg("dim", ArgKind.DIM, None, False, -MAX_INT, MAX_INT, primary=True),),
        "log_softmax",
        "log-probabilities along dim",
    ),
):
    register(
        LayerType(
            _name,
            _cls,
            _name.lower(),
            "activation",
            _args,
            _dim_rule if _name in ("Softmax", "LogSoftmax") else _same_shape,
            functional=_functional,
            summary=_summary,
            starter=(("dim", 1),) if _name in ("Softmax", "LogSoftmax") else (),
            saves=_activation_saves(_name),
        )
    )


# --- PReLU --------------------------------------------------------------------------------------


def _prelu_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    count, channels = args["num_parameters"], shape[0]
    if count not in (1, channels):
        many, one = (
            (N_("channels"), N_("channel")) if len(shape) > 1 else (N_("features"), N_("feature"))
        )
        raise LayerProblem(
            "num_parameters",
            message(
                "num_parameters={count} must be 1 (one slope) or the input's {channels} {what}",
                count=count,
                channels=channels,
                what=message(many),
            ),
            message(
                "set num_parameters to {channels} (one slope per {what}) or 1",
                channels=channels,
                what=message(one),
            ),
            {"op": "set", "field": "num_parameters", "value": channels},
        )
    slopes = "one learned slope" if count == 1 else f"a learned slope per {count} channels"
    return shape, f"same shape as the input; {slopes}"


def _prelu_tensors(args: dict[str, Any], in_dim: int | None) -> TensorList:
    return [("weight", (args["num_parameters"],))]


register(
    LayerType(
        "PReLU",
        nn.PReLU,
        "prelu",
        "activation",
        (
            Arg(
                "num_parameters",
                ArgKind.INT,
                1,
                False,
                1,
                MAX_INT,
                help=N_(
                    "1, or one slope per channel; the starting slope is the weight's init "
                    "(constant 0.25 by default)"
                ),
                primary=True,
            ),
        ),
        _prelu_rule,
        tensors=_prelu_tensors,
        positional=("num_parameters",),
        summary="x, or a learned slope·x below 0",
        tensor_ndim=(("weight", 1),),
        saves=saves_input,
    )
)
