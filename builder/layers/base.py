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
from fractions import Fraction
from typing import Any

from torch import nn

from ..messages import N_, message

MAX_INT = 2**31 - 1
MIN_EPS = 1e-300  # a normalization's eps must be > 0: the smallest one a spec (and a widget) takes

Shape = tuple[int, ...]
TensorList = list[tuple[str, Shape]]


class ArgKind(enum.Enum):
    """How one constructor argument is written in a spec (and so which widget edits it)."""

    INT = "int"  # an integer in [minimum, maximum]
    SIZE = "size"  # an int, or a list of ints (``Arg.axes`` long: [h, w]) in [minimum, maximum]
    PADDING = "padding"  # SIZE >= 0, or "same" / "valid" (Conv2d)
    OPT_SIZE = "opt_size"  # None or SIZE (pool stride: None means kernel_size)
    OUTPUT_SIZE = "output_size"  # an int or a list whose entries are ints or None
    FLOAT = "float"  # a finite number in [minimum, maximum]
    OPT_FLOAT = "opt_float"  # None or FLOAT (BatchNorm momentum)
    OPT_INT = "opt_int"  # None or INT (AvgPool2d divisor_override)
    BOOL = "bool"
    OPT_BOOL = "opt_bool"  # None, true or false (Upsample align_corners)
    CHOICE = "choice"  # one of ``choices``
    DIM = "dim"  # None or an integer dimension index (Softmax dim)
    OPT_SCALE = "opt_scale"  # None, a FLOAT, or a list of them (``Arg.axes``: Upsample)
    SHAPE = "shape"  # an int or a list of 1 to 3 ints: a trailing shape (LayerNorm)


SIZE_KINDS = (ArgKind.SIZE, ArgKind.PADDING, ArgKind.OPT_SIZE, ArgKind.OUTPUT_SIZE)
"""The kinds whose value is one int or a list of ``Arg.axes`` ints."""


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
    axes: tuple[int, ...] = (2,)  # list lengths a SIZE-like argument takes ([h, w]; 1-d: [l])
    replaces: str | None = None  # the argument a value here takes the place of (Upsample's
    # size and scale_factor: exactly one is given, so an editor setting one drops the other)


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


@dataclass(frozen=True)
class Footprint:
    """How a layer without a forward window (a transposed convolution, an upsampling) maps one
    spatial axis, for the receptive field's recurrence (``builder.receptive``). In units of the
    input's jump::

        rf_out = rf_in + span · jump_in
        jump_out = jump_in · factor
        start_out = start_in + offset · jump_in

    ``exact``: the interval a unit gets is exactly the hull of the input pixels it depends on
    (False: an upper bound that holds them all).
    """

    span: Fraction
    factor: Fraction
    offset: Fraction
    exact: bool = True


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


def axes(value: Any, n: int) -> tuple[Any, ...]:
    """An int-or-list argument as one value per spatial axis (``n`` of them; a list of one is
    that value on every axis, as torch reads ``(3,)``)."""
    if isinstance(value, (list, tuple)):
        return tuple(value) * n if len(value) == 1 else tuple(value)
    return (value,) * n


def pair(value: Any) -> tuple[Any, Any]:
    """An int-or-pair argument as a ``(h, w)`` tuple."""
    h, w = axes(value, 2)
    return h, w


def _no_tensors(args: dict[str, Any], in_dim: int | None) -> TensorList:
    return []


SAVED_KINDS = {
    "input": "the layer's input (the tensor another layer made: shared, not copied)",
    "output": "the layer's output",
    "view": "not a saved tensor: the output shares the input's storage (a view, an in-place op)",
    "input_copy": "a copy of the input (an in-place SiLU / Hardswish / Mish keeps the original)",
    "padded_input": "a padded copy of the input (a convolution padding by itself: a padding_mode "
    "other than zeros, or padding='same' split unevenly)",
    "indices": "the position of each maximum: int64, one per output element",
    "mask": "Dropout's mask, one per output element (the value type on CPU, a bool on CUDA)",
    "channel_mask": "Dropout2d's mask, one value per sample and channel",
    "channel_stats": "a per-channel statistic over the batch (BatchNorm's mean or inverse std)",
    "group_stats": "a per-sample, per-group statistic (GroupNorm's mean or inverse std)",
    "row_stats": "a statistic per normalized row (LayerNorm's mean or inverse std)",
    "instance_stats": "a per-sample, per-channel vector (InstanceNorm's statistics, and its "
    "affine weight and running statistics repeated per sample)",
}
"""What a layer's ``saves`` lists: each entry one tensor autograd keeps for the backward pass
(checked against ``torch.autograd.graph.saved_tensors_hooks`` on every layer of the shared test
table, ``tests/test_memory_model.py``). Parameters it keeps (a weight) are not listed: they are
counted as parameters."""


def _saves_nothing(args: dict[str, Any], in_shape: Shape) -> tuple[str, ...]:
    return ()


def saves_input(args: dict[str, Any], in_shape: Shape) -> tuple[str, ...]:
    return ("input",)


def saves_output(args: dict[str, Any], in_shape: Shape) -> tuple[str, ...]:
    return ("output",)


def saves_view(args: dict[str, Any], in_shape: Shape) -> tuple[str, ...]:
    return ("view",)


def _same_shape(shape: Shape, args: dict[str, Any]) -> tuple[Shape, str]:
    return shape, "same shape as the input"


def _channels(shape: Shape, args: dict[str, Any]) -> Any:
    """The inferred ``in_key`` of most layers: the input's first dimension (channels, features)."""
    return shape[0]


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
        infer: ``(input shape, args) -> value`` of ``in_key`` (the input's channels; LayerNorm:
            the trailing shape it normalizes), called once the rule has accepted the input.
        twin: the same layer for the other input rank (``Conv2d`` <-> ``Conv1d``): offered as
            the fix when the input's rank does not fit.
        footprint: ``(args, input sizes, output sizes) -> (Footprint per spatial axis)`` for
            layers that resample without a forward window (transposed convolution, Upsample).
        default_init: what ``reset_parameters`` draws (``"default"`` in a spec):
            ``"fan_in_uniform"`` (convolutions, Linear: ``kaiming_uniform_(a=√5)`` weight and a
            ``U(±1/√fan_in)`` bias, fan_in as torch computes it from the weight) or
            ``"constant"`` (normalization ones and zeros, PReLU's 0.25).
        merge_rule: for a merge (a layer of two or more inputs), ``(input shapes, args) ->
            (output_shape, formula)`` raising ``LayerProblem``; None for every other layer.
        saves: ``(resolved args, input shape) -> kinds`` of the tensors autograd keeps for the
            backward pass, one entry per tensor (``SAVED_KINDS``; ``"view"``: the output
            shares the input's storage). Read by ``builder.memory``.
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
    infer: Callable[[Shape, dict[str, Any]], Any] = _channels
    twin: str | None = None
    footprint: Callable[[dict[str, Any], Shape, Shape], tuple[Footprint, ...]] | None = None
    default_init: str = "constant"
    merge_rule: Callable[[tuple[Shape, ...], dict[str, Any]], tuple[Shape, str]] | None = None
    saves: Callable[[dict[str, Any], Shape], tuple[str, ...]] = _saves_nothing

    @property
    def merge(self) -> bool:
        """Whether the layer joins two or more inputs (``Add``, ``Concat``: SPEC.md "Graphs")."""
        return self.merge_rule is not None

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
    "upsampling",
    "padding",
    "normalization",
    "linear",
    "activation",
    "reshape",
    "dropout",
    "merge",
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
    return Arg("inplace", ArgKind.BOOL, False, help=N_("overwrite the input (saves memory)"))


AXIS_WORDS = {
    1: ((N_("long"), N_("length")),),
    2: ((N_("high"), N_("height")), (N_("wide"), N_("width"))),
}
"""Per number of spatial axes, how each axis's size is said (``only 4 high``, ``input width``)."""


def _join_axes(formulas: list[str]) -> str:
    """``H: ...; W: ...``, or one ``H, W: ...`` line when both axes compute the same thing
    (``L: ...`` for a sequence)."""
    if len(formulas) == 1:
        return f"L: {formulas[0]}"
    if len(formulas) == 2 and formulas[0] == formulas[1]:
        return f"H, W: {formulas[0]}"
    return "; ".join(f"{axis}: {f}" for axis, f in zip("HW", formulas))


SAMPLE_FORMS = {1: "[F]", 2: "[C, L]", 3: "[C, H, W]"}
"""How each per-sample rank is written: a flat vector, a sequence, an image."""


def describe(shape: Shape) -> str:
    """``a sequence [C, L] = [16, 64]``: a per-sample shape in words."""
    if len(shape) == 1:
        return message("a flat vector of {count} features", count=shape[0])
    kind = {2: N_("a sequence"), 3: N_("an image")}.get(len(shape))
    form = SAMPLE_FORMS.get(len(shape), "")
    if kind is None or not form:
        return message("shape {shape}", shape=list(shape))
    return message("{kind} {form} = {shape}", kind=message(kind), form=form, shape=list(shape))


def _twin_action(layer: str, twin: str, args: dict[str, Any] | None) -> dict[str, Any] | None:
    """``{"op": "set", "field": "type", "value": twin}`` where the layer's arguments all carry
    over to its twin as they are (no [h, w] pair going to a 1-d layer, no argument it lacks)."""
    entry, other = REGISTRY[layer], REGISTRY[twin]
    for arg in entry.args:
        value = (args or {}).get(arg.name, arg.default)
        if value == arg.default and type(value) is type(arg.default):
            continue
        target = other.arg(arg.name)
        if target is None or (isinstance(value, list) and len(value) not in target.axes):
            return None
        if isinstance(value, str) and value not in target.choices:
            return None
    return {"op": "set", "field": "type", "value": twin}


def need_rank(
    shape: Shape,
    layer: str,
    ranks: tuple[int, ...],
    torch_fails_on: tuple[int, ...] = (),
    args: dict[str, Any] | None = None,
) -> None:
    """Raise unless the per-sample shape has one of ``ranks`` (``SAMPLE_FORMS``).

    Args:
        shape: the layer's per-sample input shape.
        layer: its type name (its entry's ``twin`` is offered as the fix where it fits).
        ranks: the per-sample ranks it takes.
        torch_fails_on: the ranks on which torch itself raises (elsewhere torch may run, e.g.
            reading a batch of sequences as one unbatched image: NetBuilder's stricter rule).
        args: the layer's arguments (whether they carry over to the twin as they are).
    """
    if len(shape) in ranks:
        return
    wanted = " or ".join(SAMPLE_FORMS[r] for r in ranks)
    problem = message(
        "{layer} needs a {wanted} input, got {got}", layer=layer, wanted=wanted, got=describe(shape)
    )
    twin = REGISTRY[layer].twin if layer in REGISTRY else None
    fails = len(shape) in torch_fails_on
    if twin and len(shape) in (REGISTRY[twin].ranks or ()):
        what = message(N_("a sequence [C, L]") if len(shape) == 2 else N_("an image [C, H, W]"))
        action = _twin_action(layer, twin, args)
        fix = message("use {twin} for {what}", twin=twin, what=what)
        raise LayerProblem("input", problem, fix, action, fails)
    if len(shape) == 1:
        fix = message(
            "move it before the Flatten, or give the network an input_shape {wanted}", wanted=wanted
        )
    else:
        fix = message(
            "keep the input as {wanted} (check Flatten's start_dim / end_dim)", wanted=wanted
        )
    raise LayerProblem("input", problem, fix, torch_fails=fails)


def _image(shape: Shape, layer: str, args: dict[str, Any] | None = None) -> None:
    """Raise unless the per-sample shape is ``[C, H, W]``.

    torch raises on a flat batch ``[N, F]`` except in ``Dropout2d`` and ``AdaptiveAvgPool2d``
    (which read it as one unbatched sample); a batch of sequences ``[N, C, L]`` it reads as one
    unbatched image, so there the rule is NetBuilder's own.
    """
    fails = () if layer in ("Dropout2d", "AdaptiveAvgPool2d") else (1,)
    need_rank(shape, layer, (3,), fails, args)


def _sequence(shape: Shape, layer: str, args: dict[str, Any] | None = None) -> None:
    """Raise unless the per-sample shape is ``[C, L]``: torch's 1-d layers raise on a batch of
    images ``[N, C, H, W]`` and read a flat batch ``[N, F]`` as one unbatched sequence."""
    need_rank(shape, layer, (2,), (3,), args)


OUT_OF_RANGE = N_("{key}={dim} is out of range for a {rank}-D batch (valid: {low} to {high})")
"""A dimension argument (Softmax's dim, Flatten's start_dim / end_dim) outside the batch."""

_IN_WORDS = (N_("channels"), N_("features"))  # the ``what`` of ``_check_in``, said in words


def _check_in(shape: Shape, args: dict[str, Any], key: str, what: str) -> int:
    """The inferred input dimension; a given ``key`` must match it."""
    actual = shape[0]
    given = args.get(key)
    if given is not None and given != actual:
        raise LayerProblem(
            key,
            message(
                "{key} is {given} but the input has {actual} {what}",
                key=key,
                given=given,
                actual=actual,
                what=message(what),
            ),
            message("set {key} to {actual} (or leave it out to infer it)", key=key, actual=actual),
            {"op": "set", "field": key, "value": actual},
        )
    return actual
