"""The table of ``torch.nn.init`` schemes: their arguments, the tensors they fit, what they promise.

A scheme is applied with the real ``torch.nn.init`` function; ``default`` means the layer's own
``reset_parameters()`` (what its constructor already drew), so it draws nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .layers import REGISTRY

NONLINEARITIES = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
)
FAN_MODES = ("fan_in", "fan_out")


@dataclass(frozen=True)
class InitArg:
    """One argument of a scheme, named as in ``torch.nn.init``.

    ``kind`` is ``"float"`` (any finite number), ``"nonneg"`` (>= 0), ``"positive"`` (> 0),
    ``"fraction"`` (0 <= x < 1), ``"gain"`` (a positive number or a nonlinearity name),
    ``"int"`` (integer >= 1) or ``"choice"``.
    """

    name: str
    kind: str
    default: Any
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class Scheme:
    """One initializer: its ``torch.nn.init`` function, arguments, and tensor ranks it fits."""

    name: str
    label: str
    function: Callable[..., torch.Tensor] | None
    args: tuple[InitArg, ...] = ()
    min_ndim: int = 0
    max_ndim: int = 99
    fits: str = "any tensor"

    def arg(self, name: str) -> InitArg | None:
        return next((a for a in self.args if a.name == name), None)


_MATRIX = "weights with 2 or more dimensions"
_GAIN = InitArg("gain", "gain", 1.0, help="a number, or a nonlinearity name such as 'relu'")
_KAIMING = (
    InitArg("a", "float", 0.0, help="negative slope of the rectifier after this layer"),
    InitArg("mode", "choice", "fan_in", choices=FAN_MODES),
    InitArg("nonlinearity", "choice", "leaky_relu", choices=NONLINEARITIES),
)

SCHEMES: dict[str, Scheme] = {
    s.name: s
    for s in (
        Scheme("default", "PyTorch default (reset_parameters)", None),
        Scheme("zeros", "zeros", nn.init.zeros_),
        Scheme("ones", "ones", nn.init.ones_),
        Scheme("constant", "constant", nn.init.constant_, (InitArg("val", "float", 0.0, True),)),
        Scheme(
            "normal",
            "normal N(mean, std²)",
            nn.init.normal_,
            (InitArg("mean", "float", 0.0), InitArg("std", "nonneg", 1.0)),
        ),
        Scheme(
            "uniform",
            "uniform U(a, b)",
            nn.init.uniform_,
            (InitArg("a", "float", 0.0), InitArg("b", "float", 1.0)),
        ),
        Scheme(
            "trunc_normal",
            "truncated normal",
            nn.init.trunc_normal_,
            (
                InitArg("mean", "float", 0.0),
                InitArg("std", "positive", 1.0),
                InitArg("a", "float", -2.0, help="lower cut-off (absolute value)"),
                InitArg("b", "float", 2.0, help="upper cut-off (absolute value)"),
            ),
        ),
        Scheme(
            "xavier_uniform",
            "Xavier (Glorot) uniform",
            nn.init.xavier_uniform_,
            (_GAIN,),
            2,
            fits=_MATRIX,
        ),
        Scheme(
            "xavier_normal",
            "Xavier (Glorot) normal",
            nn.init.xavier_normal_,
            (_GAIN,),
            2,
            fits=_MATRIX,
        ),
        Scheme(
            "kaiming_uniform",
            "Kaiming (He) uniform",
            nn.init.kaiming_uniform_,
            _KAIMING,
            2,
            fits=_MATRIX,
        ),
        Scheme(
            "kaiming_normal",
            "Kaiming (He) normal",
            nn.init.kaiming_normal_,
            _KAIMING,
            2,
            fits=_MATRIX,
        ),
        Scheme("orthogonal", "orthogonal", nn.init.orthogonal_, (_GAIN,), 2, fits=_MATRIX),
        Scheme(
            "dirac",
            "Dirac (identity conv)",
            nn.init.dirac_,
            (InitArg("groups", "int", 1),),
            3,
            5,
            "conv weights",
        ),
        Scheme("eye", "identity matrix", nn.init.eye_, (), 2, 2, "Linear weights"),
        Scheme(
            "sparse",
            "sparse normal",
            nn.init.sparse_,
            (InitArg("sparsity", "fraction", 0.1, True), InitArg("std", "nonneg", 0.01)),
            2,
            2,
            "Linear weights",
        ),
    )
}


def resolved_args(init: Mapping[str, Any]) -> dict[str, Any]:
    """The scheme's arguments with torch's defaults filled in (``scheme`` key removed)."""
    scheme = SCHEMES[init["scheme"]]
    return {a.name: init.get(a.name, a.default) for a in scheme.args}


def gain_value(gain: float | str) -> float:
    """A ``gain`` argument as a number: nonlinearity names go through ``calculate_gain``."""
    if isinstance(gain, str):
        return float(nn.init.calculate_gain(gain))
    return float(gain)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` as ``torch.nn.init`` computes them ."""
    if len(shape) < 2:
        return (shape[0] if shape else 1), (shape[0] if shape else 1)
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def apply_init(tensor: torch.Tensor, init: Mapping[str, Any]) -> None:
    """Apply one (validated) scheme to ``tensor`` in place with the real ``torch.nn.init`` call."""
    scheme = SCHEMES[init["scheme"]]
    if scheme.function is None:
        return
    kwargs = resolved_args(init)
    if "gain" in kwargs:
        kwargs["gain"] = gain_value(kwargs["gain"])
    with torch.no_grad():
        scheme.function(tensor, **kwargs)


SLOW_SCHEMES: dict[str, str] = {
    "orthogonal": "a QR decomposition of the whole matrix",
    "sparse": "a Python loop over its columns, each shuffling all rows",
    "trunc_normal": "an inverse error function per value",
}
"""The schemes whose work grows faster than a plain draw's, and why (``init_seconds``)."""


def init_seconds(init: Mapping[str, Any], shape: tuple[int, ...]) -> float:
    """Estimated seconds ``apply_init`` spends on a tensor of ``shape`` with a slow scheme.

    Rates measured with torch's own functions on one core of the 2-core reference server:
    ``orthogonal`` 0.05 ns per ``rows · cols · min(rows, cols)`` (its QR; 5400×5400: 8 s),
    ``sparse`` 12 µs plus 20 ns a row per column (``Linear(3,000,000 → 10)``'s weight: 36 s),
    ``trunc_normal`` 90 ns a value (30 M values: 2.7 s). Other schemes cost about what
    ``normal`` does (6 ns a value; bounded by the parameter limits): 0 here.

    Args:
        init: a validated INIT dict.
        shape: the tensor's shape.
    """
    name = init["scheme"]
    numel = math.prod(shape)
    if name == "orthogonal" and numel:
        rows = shape[0]
        cols = numel // rows
        return 0.05e-9 * max(rows, cols) * min(rows, cols) ** 2
    if name == "sparse" and len(shape) == 2:
        rows, cols = shape
        return cols * (12e-6 + 20e-9 * rows)
    if name == "trunc_normal":
        return 90e-9 * numel
    return 0.0


def default_kind(layer_type: str) -> str:
    """What ``default`` (the layer's ``reset_parameters``) draws for this type: the registry's
    ``default_init``, ``"fan_in_uniform"`` or ``"constant"``. A type the registry does not know
    (a plain module's) is read by its name: BatchNorm constants, else fan-in uniform."""
    entry = REGISTRY.get(layer_type)
    if entry is not None:
        return entry.default_init
    return "constant" if layer_type.startswith("BatchNorm") else "fan_in_uniform"


def _trunc_normal_std(mean: float, std: float, a: float, b: float) -> float:
    alpha, beta = (a - mean) / std, (b - mean) / std

    def pdf(x: float) -> float:
        return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    z = cdf(beta) - cdf(alpha)
    if z <= 0:
        return 0.0
    term1 = (alpha * pdf(alpha) - beta * pdf(beta)) / z
    term2 = (pdf(alpha) - pdf(beta)) / z
    return std * math.sqrt(max(0.0, 1 + term1 - term2 * term2))


def _pattern_std(ones: int, numel: int) -> float:
    """Bessel-corrected std of a 0/1 tensor with ``ones`` ones among ``numel`` entries."""
    if numel < 2:
        return 0.0
    p = ones / numel
    return math.sqrt(p * (1 - p) * numel / (numel - 1))


def expected_std(
    init: Mapping[str, Any],
    shape: tuple[int, ...],
    layer_type: str,
    weight_shape: tuple[int, ...] | None = None,
) -> float | None:
    """The standard deviation ``init`` promises for a tensor of ``shape``.

    Args:
        init: a validated INIT dict.
        shape: the tensor's shape.
        layer_type: the torch class name of the layer owning it (for ``default``).
        weight_shape: the layer's weight shape (a bias's ``default`` depends on its fan-in).

    Returns:
        The promised std, or None where it is unknown.
    """
    args = resolved_args(init)
    name = init["scheme"]
    numel = math.prod(shape)
    if name == "default":
        if default_kind(layer_type) == "constant":
            return 0.0
        fan_in = fans(weight_shape if weight_shape is not None else shape)[0]
        return 1 / math.sqrt(3 * fan_in) if fan_in > 0 else 0.0
    if name in ("zeros", "ones", "constant"):
        return 0.0
    if name == "normal":
        return float(args["std"])
    if name == "uniform":
        return (args["b"] - args["a"]) / math.sqrt(12)
    if name == "trunc_normal":
        return _trunc_normal_std(args["mean"], args["std"], args["a"], args["b"])
    fan_in, fan_out = fans(shape)
    if name in ("xavier_uniform", "xavier_normal"):
        return gain_value(args["gain"]) * math.sqrt(2.0 / (fan_in + fan_out))
    if name in ("kaiming_uniform", "kaiming_normal"):
        gain = nn.init.calculate_gain(args["nonlinearity"], args["a"])
        fan = fan_in if args["mode"] == "fan_in" else fan_out
        return gain / math.sqrt(fan) if fan > 0 else None
    if name == "orthogonal":
        rows = shape[0]
        cols = numel // rows if rows else 0
        return gain_value(args["gain"]) / math.sqrt(max(rows, cols, 1))
    if name == "sparse":
        # sparse_ zeroes ceil(sparsity·rows) entries of every column: the exact kept fraction
        rows = shape[0]
        kept = (rows - math.ceil(args["sparsity"] * rows)) / rows if rows else 0.0
        return args["std"] * math.sqrt(kept)
    if name == "eye":
        return _pattern_std(min(shape[0], shape[1]), numel)
    if name == "dirac":
        groups = args["groups"]
        out_per_group = shape[0] // groups
        ones = groups * min(out_per_group, shape[1])
        return _pattern_std(ones, numel)
    return None
