"""What the reader knows by name, all derived from the layer registry, ``nn.init`` and torch.

Nothing here lists layer types. Each registered type is read from its constructor
(``nn.Conv2d(3, 6, 5)``, its parameters in the class's signature order) and from each of its
functional spellings (``LayerType.functional`` and ``functional_aliases``: ``F.max_pool2d`` ->
``MaxPool2d``, ``F.dropout`` -> ``Dropout``), whose parameters come from the torch function's own
signature (or, for a builtin, the signature its docstring opens with). An activation's spelling
is also read as ``torch.<name>(x)`` and ``x.<name>()`` where torch has them.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from ..initializers import SCHEMES
from ..layers import REGISTRY, LayerType

REQUIRED = object()  # a parameter without a default
UNKNOWN = object()  # a default the reader could not read: no given value is taken for it


@dataclass(frozen=True)
class Parameter:
    """One parameter of a torch function or constructor."""

    name: str
    default: Any = REQUIRED
    positional: bool = True


@dataclass(frozen=True)
class Signature:
    """How the arguments of one call map to a layer type's arguments.

    Attributes:
        layer_type: the registry type the call makes.
        order: the names its positional arguments take, in torch's order (after the input, for
            a function).
        renamed: parameters named otherwise than the layer's argument (``F.pad``'s ``pad`` is
            ``ZeroPad2d``'s ``padding``).
        extras: parameters the layer lacks, with their defaults: read only at that value
            (``device=None``; ``F.interpolate``'s ``antialias=False``).
        training: a ``training`` parameter the layer lacks (``F.dropout``): it must be given as
            ``self.training``, or the function stays active in eval mode.
    """

    layer_type: str
    order: tuple[str, ...]
    renamed: Mapping[str, str] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)
    training: bool = False

    @property
    def entry(self) -> LayerType:
        return REGISTRY[self.layer_type]


# --- parameters of torch's callables ------------------------------------------------------------


def _from_signature(function: Callable[..., Any]) -> list[Parameter] | None:
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    named = [p for p in params if p.kind in (*kinds, inspect.Parameter.KEYWORD_ONLY)]
    if not named:  # a dispatcher taking *args, **kwargs
        return None
    return [
        Parameter(p.name, REQUIRED if p.default is p.empty else p.default, p.kind in kinds)
        for p in named
    ]


def _literal(node: ast.expr) -> Any:
    """A default as written in a docstring signature: a constant, else ``UNKNOWN``."""
    if isinstance(node, ast.Constant):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, (int, float))
    ):
        return -node.operand.value
    return UNKNOWN


def _from_docstring(function: Callable[..., Any], name: str) -> list[Parameter] | None:
    """``max_pool2d(input, kernel_size, stride=None, ...) -> Tensor``: a builtin's first line,
    parsed (never run) as the head of a ``def``."""
    lines = [line.strip() for line in (function.__doc__ or "").splitlines() if line.strip()]
    if not lines:
        return None
    try:
        stub = ast.parse(f"def {lines[0].split('->')[0].strip()}: pass").body[0]
    except SyntaxError:
        return None
    if not isinstance(stub, ast.FunctionDef) or stub.name != name:
        return None
    args = stub.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [REQUIRED] * (len(positional) - len(args.defaults))
    defaults += [_literal(d) for d in args.defaults]
    params = [Parameter(a.arg, d) for a, d in zip(positional, defaults)]
    params += [
        Parameter(a.arg, REQUIRED if d is None else _literal(d), positional=False)
        for a, d in zip(args.kwonlyargs, args.kw_defaults)
    ]
    return params


def _signature(entry: LayerType, params: list[Parameter], training_kept: bool) -> Signature | None:
    """The mapping of ``params`` onto ``entry``'s arguments; None if a parameter the layer lacks
    has no default (``F.prelu``'s ``weight``: such a call is not one layer of the type)."""
    names = {a.name for a in entry.args}
    given = {p.name for p in params}
    renamed: dict[str, str] = {}
    orphans = [p.name for p in params if p.default is REQUIRED and p.name not in names]
    missing = [a.name for a in entry.args if a.required and a.name not in given]
    if len(orphans) == 1 and len(missing) == 1:  # F.pad(input, pad) is ZeroPad2d(padding)
        renamed[orphans[0]] = missing[0]
    training = training_kept and "training" in given and "training" not in names
    extras = {}
    for p in params:
        if p.name in names or p.name in renamed or (training and p.name == "training"):
            continue
        if p.default is REQUIRED:
            return None
        extras[p.name] = p.default
    order = tuple(p.name for p in params if p.positional)
    return Signature(entry.name, order, renamed, extras, training)


def _constructor(entry: LayerType) -> Signature:
    """``nn.Conv2d(...)``: positional in torch's order (``device`` and ``dtype`` included)."""
    params = _from_signature(entry.cls)
    if params is None:  # pragma: no cover - every registry class has a signature
        params = [Parameter(a.name, a.default) for a in entry.args]
    signature = _signature(entry, params, training_kept=False)
    if signature is None:  # pragma: no cover - a constructor argument the registry lacks
        raise ValueError(f"{entry.name}: the registry lacks a required constructor argument")
    return signature


def _parameters(
    entry: LayerType, name: str, function: Callable[..., Any], twin: list[Parameter] | None
) -> list[Parameter]:
    """A function's parameters: its signature, its docstring's, its twin's (``torch.relu``:
    ``F.relu``'s), else the input and the layer's own arguments."""
    params = _from_signature(function) or _from_docstring(function, name) or twin
    return params or [Parameter("input"), *(Parameter(a.name, a.default) for a in entry.args)]


def _functionals() -> tuple[dict[str, Signature], dict[str, Signature]]:
    """Functions applied to the running value (dotted name -> signature), and tensor methods."""
    functions: dict[str, Signature] = {}
    methods: dict[str, Signature] = {}
    for entry in REGISTRY.values():
        spellings = [*([entry.functional] if entry.functional else []), *entry.functional_aliases]
        for name in spellings:
            function = vars(F).get(name)
            if not callable(function):
                continue
            params = _parameters(entry, name, function, None)
            signature = _signature(entry, params[1:], training_kept=True)
            if signature is None:
                continue
            functions[f"torch.nn.functional.{name}"] = signature
            if name != entry.functional:
                continue
            # an activation: torch.relu(x) as torch declares it, and x.relu() as F.relu
            twin = vars(torch).get(name)
            if callable(twin):
                own = _signature(entry, _parameters(entry, name, twin, params)[1:], True)
                if own is not None:
                    functions[f"torch.{name}"] = own
            if hasattr(torch.Tensor, name):
                methods[name] = signature
    return functions, methods


CONSTRUCTORS = {name: _constructor(entry) for name, entry in REGISTRY.items()}
FUNCTIONS, TENSOR_METHODS = _functionals()
CONTAINERS = ("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict")
RESHAPES = ("view", "reshape")  # tensor methods read as a Flatten to (batch, features)

# --- initializers -------------------------------------------------------------------------------

TENSORS = ("weight", "bias")


def _init_order(name: str) -> tuple[str, ...]:
    """An ``nn.init`` function's parameters after the tensor, in torch's order."""
    scheme = SCHEMES[name]
    params = _from_signature(scheme.function) if scheme.function else None
    if params is None:  # pragma: no cover
        return tuple(a.name for a in scheme.args)
    return tuple(p.name for p in params[1:])


INIT_FUNCTIONS: dict[str, str] = {}  # dotted name -> scheme
for _scheme in SCHEMES.values():
    if _scheme.function is not None:
        INIT_FUNCTIONS[f"torch.nn.init.{_scheme.name}_"] = _scheme.name
        INIT_FUNCTIONS[f"torch.nn.init.{_scheme.name}"] = _scheme.name  # deprecated spelling
INIT_ORDER = {name: _init_order(name) for name in set(INIT_FUNCTIONS.values())}
# Tensor methods that initialize in place: method -> (scheme, parameters in order)
TENSOR_INITS = {
    "zero_": ("zeros", ()),
    "fill_": ("constant", ("val",)),
    "normal_": ("normal", ("mean", "std")),
    "uniform_": ("uniform", ("a", "b")),
}
TENSOR_INIT_KEYWORDS = {"value": "val", "to": "b", "mean": "mean", "std": "std"}
