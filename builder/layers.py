"""The layer registry: ONE entry per layer type.

An entry holds the torch class, its constructor arguments with defaults and bounds (which drive
validation and the UI widgets), its output-shape rule, the parameter and buffer tensors it owns,
and how its constructor is spelt in code. Adding a layer type is one ``register(...)`` call here
plus one row in the shared test table.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from . import shapes

MAX_INT = 2**31 - 1
MIN_EPS = 1e-12  # a normalization's eps must be > 0; the smallest one a spec (and widget) takes

Shape = tuple[int, ...]
TensorList = list[tuple[str, Shape]]


class ArgKind(enum.Enum):
    """How one constructor argument is written in a spec (and so which widget edits it)."""

    INT = "int"  # an integer in [minimum, maximum]
    SIZE = "size"  # an int or a [h, w] pair of ints in [minimum, maximum]
    PADDING = "padding"  # SIZE >= 0, or "same" / "valid" (Conv2d)
    OPT_SIZE = "opt_size"  # None or SIZE (pool stride: None means kernel_size)
    OUTPUT_SIZE = "output_size"  # an int or a pair whose entries are ints or None
    FLOAT = "float"  # a finite number in [minimum, maximum]
    OPT_FLOAT = "opt_float"  # None or FLOAT (BatchNorm momentum)
    OPT_INT = "opt_int"  # None or INT (AvgPool2d divisor_override)
    BOOL = "bool"
    CHOICE = "choice"  # one of ``choices``
    DIM = "dim"  # None or an integer dimension index (Softmax dim)


@dataclass(frozen=True)
class Arg:
    """One constructor argument, named exactly as in ``torch.nn``."""

    name: str
    kind: ArgKind
    default: Any = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    inferred: bool = False
    help: str = ""


class LayerProblem(Exception):
    """Raised by a shape rule: this layer cannot take its input.

    Attributes:
        field: the spec field at fault (or ``"input"``).
        message: what is wrong, with the numbers.
        fix: a suggestion in words.
        action: the same fix as an edit (``{"op": "insert" | "set", ...}``), or None.
        torch_fails: True where torch itself raises on this input; False where the rule is
            NetBuilder's stricter one (e.g. Linear on an unflattened tensor).
    """

    def __init__(
        self,
        field: str,
        message: str,
        fix: str = "",
        action: dict[str, Any] | None = None,
        torch_fails: bool = True,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.fix = fix
        self.action = action
        self.torch_fails = torch_fails


def pair(value: Any) -> tuple[Any, Any]:
    """An int-or-pair argument as a ``(h, w)`` tuple."""
    if isinstance(value, (list, tuple)):
        return value[0], value[1]
    return value, value


def _no_tensors(args: dict[str, Any], in_dim: int | None) -> TensorList:
    return []


def _same_shape(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    return shape, "same shape as the input"


@dataclass(frozen=True)
class LayerType:
    """One entry of the registry.

    Attributes:
        name: the ``torch.nn`` class name, as written in a spec's ``type``.
        cls: the torch class.
        prefix: default-name prefix (``conv`` -> ``conv1``).
        category: palette group for the UI.
        args: the constructor arguments in torch's order.
        rule: ``(input_shape, args) -> (output_shape, formula)``, raising ``LayerProblem``.
        ranks: per-sample ranks the layer takes (None: any).
        in_key: the argument inferred from the input (``in_channels`` ...), or None.
        tensors: ``(args, in_dim) -> [(name, shape)]`` of its parameters, in torch's order.
        buffers: the same for its buffers.
        positional: leading arguments written positionally in generated code.
        functional: the ``torch.nn.functional`` spelling for activations (``"relu"``), or None.
        summary: one line for the palette.
    """

    name: str
    cls: type[nn.Module]
    prefix: str
    category: str
    args: tuple[Arg, ...] = ()
    rule: Callable[[Shape, dict[str, Any]], tuple[Shape, str]] = _same_shape
    ranks: tuple[int, ...] | None = None
    in_key: str | None = None
    tensors: Callable[[dict[str, Any], int | None], TensorList] = _no_tensors
    buffers: Callable[[dict[str, Any], int | None], TensorList] = _no_tensors
    positional: tuple[str, ...] = ()
    functional: str | None = None
    summary: str = ""
    tensor_names: tuple[str, ...] = field(default=())

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)

    def resolved(self, given: dict[str, Any]) -> dict[str, Any]:
        """Every argument with torch's default filled in where the spec omits it."""
        return {a.name: given.get(a.name, a.default) for a in self.args}


REGISTRY: dict[str, LayerType] = {}


def register(entry: LayerType) -> LayerType:
    """Add a layer type; a duplicate name is a programming error."""
    if entry.name in REGISTRY:
        raise ValueError(f"layer type {entry.name} registered twice")
    REGISTRY[entry.name] = entry
    return entry


# --- shared argument definitions --------------------------------------------------------------


def _size(
    name: str, default: Any = None, required: bool = False, minimum: int = 1, **kw: Any
) -> Arg:
    return Arg(name, ArgKind.SIZE, default, required, minimum, MAX_INT, **kw)


def _inplace() -> Arg:
    return Arg("inplace", ArgKind.BOOL, False, help="overwrite the input (saves memory)")


def _join_axes(formulas: list[str]) -> str:
    """``H: ...; W: ...``, or one ``H, W: ...`` line when both axes compute the same thing."""
    if len(formulas) == 2 and formulas[0] == formulas[1]:
        return f"H, W: {formulas[0]}"
    return "; ".join(f"{axis}: {f}" for axis, f in zip("HW", formulas))


def _image(shape: Shape, layer: str) -> None:
    """Raise unless the per-sample shape is ``[C, H, W]``."""
    if len(shape) == 3:
        return
    if len(shape) == 1:
        raise LayerProblem(
            "input",
            f"{layer} needs a [C, H, W] input, got a flat vector of {shape[0]} features",
            "move it before the Flatten, or give the network an image input_shape [C, H, W]",
            # torch itself accepts a 2-D batch in these two (as one unbatched image)
            torch_fails=layer not in ("Dropout2d", "AdaptiveAvgPool2d"),
        )
    raise LayerProblem(
        "input",
        f"{layer} needs a [C, H, W] input, got shape {list(shape)}",
        "keep the input as [C, H, W] (check Flatten's start_dim / end_dim)",
        torch_fails=False,
    )


def _check_in(shape: Shape, args: dict[str, Any], key: str, what: str) -> int:
    """The inferred input dimension; a given ``key`` must match it."""
    actual = shape[0]
    given = args.get(key)
    if given is not None and given != actual:
        raise LayerProblem(
            key,
            f"{key} is {given} but the input has {actual} {what}",
            f"set {key} to {actual} (or leave it out to infer it)",
            {"op": "set", "field": key, "value": actual},
        )
    return actual


# --- Conv2d -------------------------------------------------------------------------------------


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
    kernel, stride, dilation = (
        pair(args["kernel_size"]),
        pair(args["stride"]),
        pair(args["dilation"]),
    )
    padding = args["padding"]
    out, formulas = [], []
    for axis, size in enumerate(shape[1:]):
        k, s, d = kernel[axis], stride[axis], dilation[axis]
        if padding == "same":
            total = d * (k - 1)
            pads = (total // 2, total - total // 2)
            size_out, formula = shapes.conv_same_output_size(size)
        else:
            p = 0 if padding == "valid" else pair(padding)[axis]
            pads = (p, p)
            size_out, formula = shapes.conv_output_size(size, k, s, p, d)
        _check_padding_mode(args["padding_mode"], pads, size, axis)
        if size_out < 1:
            reach = d * (k - 1) + 1
            need = math.ceil((reach - size) / 2)
            raise LayerProblem(
                "kernel_size",
                f"the kernel reaches {reach} pixels but the input is only {size} "
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
            Arg("out_channels", ArgKind.INT, None, True, 1, MAX_INT, help="number of filters"),
            _size("kernel_size", required=True),
            _size("stride", 1),
            Arg("padding", ArgKind.PADDING, 0, False, 0, MAX_INT, ("same", "valid")),
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
        tensor_names=("weight", "bias"),
    )
)


# --- pooling ------------------------------------------------------------------------------------


def _pool_rule(shape: Shape, args: dict[str, Any], layer: str, dilated: bool) -> tuple[Shape, str]:
    _image(shape, layer)
    kernel = pair(args["kernel_size"])
    stride = pair(args["stride"] if args["stride"] is not None else args["kernel_size"])
    padding = pair(args["padding"])
    dilation = pair(args["dilation"]) if dilated else (1, 1)
    out, formulas = [], []
    for axis, size in enumerate(shape[1:]):
        size_out, formula = shapes.pool_output_size(
            size, kernel[axis], stride[axis], padding[axis], dilation[axis], args["ceil_mode"]
        )
        if size_out < 1:
            raise LayerProblem(
                "kernel_size",
                f"the {kernel[axis]}-wide pooling window does not fit the input "
                f"{'height' if axis == 0 else 'width'} {size}: {formula}",
                "use a smaller kernel_size, or remove this pooling layer",
                {"op": "set", "field": "kernel_size", "value": max(1, min(size, kernel[axis]))},
            )
        out.append(size_out)
        formulas.append(formula)
    return (shape[0], *out), _join_axes(formulas)


_POOL_ARGS = (
    _size("kernel_size", required=True),
    Arg("stride", ArgKind.OPT_SIZE, None, False, 1, MAX_INT, help="None: same as kernel_size"),
    _size("padding", 0, minimum=0),
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
        lambda shape, args: _pool_rule(shape, args, "MaxPool2d", True),
        (3,),
        positional=("kernel_size", "stride"),
        summary="keeps the largest value of each window",
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
        lambda shape, args: _pool_rule(shape, args, "AvgPool2d", False),
        (3,),
        positional=("kernel_size", "stride"),
        summary="averages each window",
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


for _name, _cls, _extra, _summary in (
    ("AdaptiveAvgPool2d", nn.AdaptiveAvgPool2d, (), "averages down to a fixed output size"),
    (
        "AdaptiveMaxPool2d",
        nn.AdaptiveMaxPool2d,
        (Arg("return_indices", ArgKind.BOOL, False, help="must stay False in a stack"),),
        "max-pools down to a fixed output size",
    ),
):
    register(
        LayerType(
            _name,
            _cls,
            "pool",
            "pooling",
            (Arg("output_size", ArgKind.OUTPUT_SIZE, None, True, 1, MAX_INT), *_extra),
            (lambda layer: lambda shape, args: _adaptive_rule(shape, args, layer))(_name),
            (3,),
            positional=("output_size",),
            summary=_summary,
        )
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
    if layer == "BatchNorm2d":
        _image(shape, layer)
    elif len(shape) not in (1, 2):
        raise LayerProblem(
            "input",
            f"BatchNorm1d needs a [C] or [C, L] input, got shape {list(shape)}",
            "use BatchNorm2d on images, or put a Flatten before it",
        )
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
    ("BatchNorm1d", nn.BatchNorm1d, "normalizes each feature over the batch"),
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
            tensor_names=("weight", "bias"),
        )
    )


# --- Linear -------------------------------------------------------------------------------------


def _linear_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    if len(shape) != 1:
        raise LayerProblem(
            "input",
            f"Linear needs a flat input, got shape {list(shape)} ({math.prod(shape)} values)",
            "add a Flatten before it",
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
            Arg("out_features", ArgKind.INT, None, True, 1, MAX_INT),
            Arg("bias", ArgKind.BOOL, True),
        ),
        _linear_rule,
        (1,),
        "in_features",
        _linear_tensors,
        positional=("in_features", "out_features"),
        summary="fully connected: every input feature to every output",
        tensor_names=("weight", "bias"),
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
                f"{key}={dim} is out of range for a {rank}-D batch (valid: {-rank} to {rank - 1})",
                "use start_dim=1, end_dim=-1 to flatten everything but the batch",
            )
    start, end = start % rank, end % rank
    if start == 0:
        raise LayerProblem(
            "start_dim",
            "start_dim=0 would merge the batch dimension into the features",
            "set start_dim to 1",
            {"op": "set", "field": "start_dim", "value": 1},
            torch_fails=False,
        )
    if end < start:
        raise LayerProblem(
            "end_dim",
            f"end_dim ({args['end_dim']}) comes before start_dim ({args['start_dim']})",
            "set end_dim to -1",
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
            Arg("start_dim", ArgKind.INT, 1, False, -MAX_INT, MAX_INT, help="1: keep the batch"),
            Arg("end_dim", ArgKind.INT, -1, False, -MAX_INT, MAX_INT),
        ),
        _flatten_rule,
        summary="turns C×H×W feature maps into one vector",
    )
)

register(LayerType("Identity", nn.Identity, "identity", "reshape", summary="passes the input on"))


# --- dropout ------------------------------------------------------------------------------------

_P = Arg("p", ArgKind.FLOAT, 0.5, False, 0.0, 1.0, help="probability of zeroing an element")


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
    )
)


# --- activations --------------------------------------------------------------------------------


def _dim_rule(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    dim, rank = args["dim"], len(shape) + 1
    if dim is not None and not -rank <= dim < rank:
        raise LayerProblem(
            "dim",
            f"dim={dim} is out of range for a {rank}-D batch (valid: {-rank} to {rank - 1})",
            "use dim=1 (the classes) or dim=-1",
            {"op": "set", "field": "dim", "value": 1},
        )
    return shape, "same shape as the input"


for _name, _cls, _args, _functional, _summary in (
    ("ReLU", nn.ReLU, (_inplace(),), "relu", "max(0, x)"),
    (
        "LeakyReLU",
        nn.LeakyReLU,
        (Arg("negative_slope", ArgKind.FLOAT, 0.01, False, -1e6, 1e6), _inplace()),
        "leaky_relu",
        "x, or negative_slope·x below 0",
    ),
    (
        "ELU",
        nn.ELU,
        (Arg("alpha", ArgKind.FLOAT, 1.0, False, -1e6, 1e6), _inplace()),
        "elu",
        "x, or alpha·(exp(x) − 1) below 0",
    ),
    (
        "GELU",
        nn.GELU,
        (Arg("approximate", ArgKind.CHOICE, "none", choices=("none", "tanh")),),
        "gelu",
        "x·Φ(x), smooth ReLU",
    ),
    ("SiLU", nn.SiLU, (_inplace(),), "silu", "x·sigmoid(x)"),
    ("Sigmoid", nn.Sigmoid, (), "sigmoid", "1 / (1 + exp(−x))"),
    ("Tanh", nn.Tanh, (), "tanh", "tanh(x)"),
    (
        "Softmax",
        nn.Softmax,
        (Arg("dim", ArgKind.DIM, None, False, -MAX_INT, MAX_INT),),
        "softmax",
        "probabilities along dim",
    ),
    (
        "LogSoftmax",
        nn.LogSoftmax,
        (Arg("dim", ArgKind.DIM, None, False, -MAX_INT, MAX_INT),),
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
        )
    )

REQUIRED_TYPES = (
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "BatchNorm2d",
    "Linear",
    "Flatten",
    "ReLU",
    "Dropout",
)
PARAM_TYPES = tuple(name for name, entry in REGISTRY.items() if entry.tensor_names)
