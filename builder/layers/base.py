"""The registry's building blocks: argument kinds, ``Arg``, ``LayerType``, ``register`` and the
helpers every family of layers shares.

The layer registry: ONE entry per layer type.

An entry holds the torch class, its constructor arguments with defaults and bounds (which drive
validation and the UI widgets), its output-shape rule, the parameter and buffer tensors it owns,
and how its constructor is spelt in code. Adding a layer type is one ``register(...)`` call here
plus one row in the shared test table.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

MAX_INT = 2**31 - 1
MIN_EPS = 1e-300  # a normalization's eps must be > 0: the smallest one a spec (and a widget) takes

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
    primary: bool = False  # shown first in a layer's card; the rest sit behind "more arguments"


@dataclass(frozen=True)
class Window:
    """One spatial axis of a sliding window, normalized once from the arguments.

    torch's defaults are applied here and nowhere else: a pooling stride of None is the kernel,
    ``padding="same"`` splits ``dilation·(kernel − 1)`` with the extra pixel on the right, and
    ``"valid"`` is no padding. Shapes, the receptive field and memory all read these numbers.
    """

    kernel: int
    stride: int
    dilation: int
    pad_left: int
    pad_right: int

    @property
    def reach(self) -> int:
        """Input pixels one window spans: ``dilation·(kernel − 1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1


def window(kernel: int, stride: int | None, dilation: int, padding: Any) -> Window:
    """A ``Window`` from one axis's arguments as torch takes them (see ``Window``)."""
    if padding == "same":
        total = dilation * (kernel - 1)
        return Window(
            kernel, 1 if stride is None else stride, dilation, total // 2, total - total // 2
        )
    pad = 0 if padding == "valid" else padding
    return Window(kernel, kernel if stride is None else stride, dilation, pad, pad)


def _fine(args: dict[str, Any]) -> str | None:
    return None


def _macs_once(args: dict[str, Any], out_shape: Shape, params: int) -> int:
    """torchinfo's count for layers without a spatial sweep: every parameter used once."""
    return params


def macs_per_position(args: dict[str, Any], out_shape: Shape, params: int) -> int:
    """torchinfo's count for convolutions: every parameter once per output position."""
    return params * math.prod(out_shape[1:])


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
        tensor_ndim: ``(name, ndim)`` of each parameter tensor it can have, in torch's order
            (which initializer schemes fit it).
        starter: the arguments a layer added from the palette starts with.
        windows: ``args -> (Window per spatial axis)`` for sliding-window layers, else None.
        adaptive: True for adaptive pools (their windows follow from the input size).
        macs: ``(args, output_shape, params) -> multiply-adds`` for one sample (torchinfo's).
        functional_aliases: ``torch.nn.functional`` names the importer reads as this type
            (``F.max_pool2d`` -> ``MaxPool2d``), besides ``functional``.
        check: ``resolved args -> message or None``: argument combinations torch refuses that
            the layer shows on its own (``padding="same"`` with a stride), checked at load.
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
    tensor_ndim: tuple[tuple[str, int], ...] = ()
    starter: tuple[tuple[str, Any], ...] = ()
    windows: Callable[[dict[str, Any]], tuple[Window, ...]] | None = None
    adaptive: bool = False
    macs: Callable[[dict[str, Any], Shape, int], int] = _macs_once
    functional_aliases: tuple[str, ...] = ()
    check: Callable[[dict[str, Any]], str | None] = _fine

    @property
    def tensor_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.tensor_ndim)

    @property
    def primary(self) -> tuple[str, ...]:
        """The arguments a card shows first."""
        return tuple(a.name for a in self.args if a.primary)

    def new_args(self) -> dict[str, Any]:
        """A fresh copy of the starter arguments."""
        return {
            key: list(value) if isinstance(value, list) else value for key, value in self.starter
        }

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)

    def resolved(self, given: dict[str, Any]) -> dict[str, Any]:
        """Every argument with torch's default filled in where the spec omits it."""
        return {a.name: given.get(a.name, a.default) for a in self.args}


REGISTRY: dict[str, LayerType] = {}


CATEGORIES = (
    "convolution",
    "pooling",
    "normalization",
    "linear",
    "activation",
    "reshape",
    "dropout",
)
"""Palette groups, in the order the palette shows them."""


def register(entry: LayerType) -> LayerType:
    """Add a layer type; a duplicate name or an unknown category is a programming error."""
    if entry.name in REGISTRY:
        raise ValueError(f"layer type {entry.name} registered twice")
    if entry.category not in CATEGORIES:
        raise ValueError(f"layer type {entry.name}: unknown category {entry.category}")
    if not {a.name for a in entry.args} >= {key for key, _ in entry.starter} | set(entry.primary):
        raise ValueError(f"layer type {entry.name}: starter / primary names unknown arguments")
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
