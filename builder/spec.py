"""The network spec as frozen dataclasses: ``load_spec`` validates, ``to_dict`` gives it back.

Validation happens here, once, at the boundary: every string becomes a registry key or an enum
value, every number is checked against the registry's bounds, and every problem is a
``SpecError`` naming the layer (position from 1, and name), the field and the received value.
"""

from __future__ import annotations

import copy
import difflib
import json
import keyword
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from .errors import SpecError
from .initializers import SCHEMES, InitArg
from .layers import MAX_INT, PARAM_TYPES, REGISTRY, TENSOR_NDIM, Arg, ArgKind, LayerType
from .layers.merge import MAX_MERGE_INPUTS
from .limits import MAX_INPUT_ELEMENTS, MAX_LAYERS
from .messages import N_, message

VERSION = 1
TOP_KEYS = ("version", "name", "input_shape", "seed", "layers", "init")
LAYER_META_KEYS = ("type", "name", "init", "trainable", "inputs")
INPUT = "input"  # the network's input, as a layer's ``inputs`` names it (a reserved name)
TENSORS = ("weight", "bias")
MAX_NAME = 64
MAX_SPEC_NAME = 80
MAX_SEED = 2**63 - 1
MAX_SPEC_BYTES = 5_000_000  # JSON text of one design given to load_spec (an upload is 1 MB)
MAX_INIT_VALUE = 1e6  # |mean|, std, val, a, b, gain of an initializer
INIT_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    # an initializer argument's kind -> (low, high, low end open, high end open)
    "float": (-MAX_INIT_VALUE, MAX_INIT_VALUE, False, False),
    "nonneg": (0.0, MAX_INIT_VALUE, False, False),
    "positive": (0.0, MAX_INIT_VALUE, True, False),
    "fraction": (0.0, 1.0, False, True),
    "gain": (0.0, MAX_INIT_VALUE, True, False),
}
OPEN_END = 1e-6  # how far inside an open end a widget stops
TRUNC_TAIL = 5.0  # trunc_normal's window may start at most this many std from the mean
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
RESERVED_NAMES = frozenset(dir(nn.Module)) | {"initialize_weights", "forward", "self", INPUT}
_LAYER = N_("layer {index} ({name})")  # where a message points: a layer's position and name


@dataclass(frozen=True)
class Layer:
    """One validated layer.

    Attributes:
        type: the torch class name (a registry key).
        name: the layer's attribute name (explicit or default).
        args: the constructor arguments the spec gives, in the spec's JSON form.
        init: the per-layer override ``{"weight": INIT, "bias": INIT}`` (possibly empty).
        trainable: False freezes the layer's parameters (``requires_grad_(False)``).
        explicit_name: whether the spec named it.
        extra: meta keys written back as given (``trainable``, ``inputs``).
        inputs: the names of the layers it reads (``"input"``: the network's input), resolved:
            the previous layer where the spec gives no ``inputs``.
    """

    type: str
    name: str
    args: dict[str, Any]
    init: dict[str, dict[str, Any]] = field(default_factory=dict)
    trainable: bool = True
    explicit_name: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()

    @property
    def entry(self) -> LayerType:
        return REGISTRY[self.type]

    def resolved(self) -> dict[str, Any]:
        """All constructor arguments, with torch's defaults where the spec omits them."""
        return self.entry.resolved(self.args)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "name": self.name, **copy.deepcopy(self.args)}
        if self.init:
            out["init"] = copy.deepcopy(self.init)
        out.update(copy.deepcopy(self.extra))
        return out


@dataclass(frozen=True)
class Spec:
    """A validated network spec (format version 1)."""

    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    init: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    seed: int = 0
    name: str | None = None
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready normalized spec; ``load_spec(spec.to_dict())`` round-trips."""
        out: dict[str, Any] = {"version": self.version}
        if self.name is not None:
            out["name"] = self.name
        out["input_shape"] = list(self.input_shape)
        out["seed"] = self.seed
        out["layers"] = [layer.to_dict() for layer in self.layers]
        out["init"] = copy.deepcopy(self.init)
        return out

    def to_json(self, indent: int | None = None) -> str:
        """Canonical JSON (sorted keys): equal designs give equal strings (a cache key)."""
        return json.dumps(self.to_dict(), sort_keys=indent is None, indent=indent)

    def init_for(self, index: int, tensor: str) -> dict[str, Any]:
        """The INIT that applies to one tensor: layer ``init`` > type ``init`` > default."""
        layer = self.layers[index]
        if tensor in layer.init:
            return layer.init[tensor]
        return self.init.get(layer.type, {}).get(tensor, {"scheme": "default"})

    @property
    def class_name(self) -> str:
        """``name`` as a CamelCase identifier for the exported class (default ``Net``)."""
        return class_name(self.name)


def class_name(name: str | None) -> str:
    """Make a valid, non-keyword CamelCase ASCII identifier of ``name`` (default ``Net``)."""
    words = re.findall(r"[A-Za-z0-9]+", name or "")
    text = "".join(w[0].upper() + w[1:] for w in words) or "Net"
    if text[0].isdigit() or keyword.iskeyword(text) or text in {"Module", "F", "nn", "torch"}:
        text = "Net" + text
    return text


def _show(value: Any) -> str:
    """A received value for a message: repr, cut short so hostile input cannot flood it.

    Deeply nested values and integers too long to print (Python refuses over 4,300 digits) are
    described instead of printed.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        return f"a deeply nested {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _hint(value: Any, options: Any) -> str:
    """`` (did you mean 'x'?)`` for a near miss of a string, else nothing."""
    if not isinstance(value, str) or len(value) > 100:
        return ""
    match = difflib.get_close_matches(value, list(options), 1)
    return message(" (did you mean {match}?)", match=repr(match[0])) if match else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )


_POSITIVE = N_("{where}: {key} must be a positive integer, got {value}")
_NON_NEGATIVE = N_("{where}: {key} must be a non-negative integer, got {value}")
_BETWEEN = N_("{where}: {key} must be between {low} and {high}, got {value}")
_TRUE_OR_FALSE = N_("{where}: {key} must be true or false, got {value}")


def _got(msgid: str, where: Any, key: str, value: Any, **params: Any) -> Any:
    """A message about ``key`` at ``where`` that shows the received ``value``."""
    return message(msgid, where=where, key=key, value=_show(value), **params)


def _int_in(where: str, key: str, value: Any, low: float, high: float) -> int:
    if not _is_int(value):
        raise SpecError(
            _got(N_("{where}: {key} must be an integer, got {value}"), where, key, value)
        )
    if not low <= value <= high:
        if low == 1 and high == MAX_INT:
            raise SpecError(_got(_POSITIVE, where, key, value))
        if low == 0 and high == MAX_INT:
            raise SpecError(_got(_NON_NEGATIVE, where, key, value))
        raise SpecError(_got(_BETWEEN, where, key, value, low=low, high=high))
    return value


_LIST_FORMS = {
    (1,): message("one integer"),
    (2,): message("one integer or a pair [h, w]"),
    (4,): message("one integer or a list [left, right, top, bottom]"),
    (1, 2): message("one integer or a list of one per spatial axis ([l] or [h, w])"),
}
_MUST_BE = N_("{where}: {key} must be {form}, got {value}")


def _size_value(
    where: str, key: str, value: Any, low: int, allow_none: bool = False, lengths: Any = (2,)
) -> Any:
    if isinstance(value, (list, tuple)):
        if len(value) not in lengths:
            raise SpecError(_got(_MUST_BE, where, key, value, form=_LIST_FORMS[lengths]))
        return [
            None if (allow_none and v is None) else _int_in(where, key, v, low, MAX_INT)
            for v in value
        ]
    return _int_in(where, key, value, low, MAX_INT)


def _number_in(where: str, arg: Arg, value: Any) -> Any:
    key = arg.name
    if not _is_number(value):
        raise SpecError(_got(N_("{where}: {key} must be a number, got {value}"), where, key, value))
    if not arg.minimum <= value <= arg.maximum:
        raise SpecError(_got(_BETWEEN, where, key, value, low=arg.minimum, high=arg.maximum))
    return value


def _special_value(where: str, arg: Arg, value: Any) -> Any:
    """The kinds beyond torch's plain ints, floats and sizes: OPT_BOOL, OPT_SCALE, SHAPE."""
    key, kind = arg.name, arg.kind
    if kind is ArgKind.OPT_BOOL:
        if value is not None and not isinstance(value, bool):
            msgid = N_("{where}: {key} must be true, false or null, got {value}")
            raise SpecError(_got(msgid, where, key, value))
        return value
    if kind is ArgKind.OPT_SCALE:
        if value is None:
            return None
        if isinstance(value, (list, tuple)):
            if len(value) not in arg.axes:
                raise SpecError(
                    f"{where}: {key} must be a number or a list of one per spatial axis, "
                    f"got {_show(value)}"
                )
            return [_number_in(where, arg, v) for v in value]
        return _number_in(where, arg, value)
    if kind is ArgKind.SHAPE:
        if isinstance(value, (list, tuple)):
            if not 1 <= len(value) <= 3:
                raise SpecError(
                    f"{where}: {key} must be an integer or a list of 1 to 3 integers, "
                    f"got {_show(value)}"
                )
            return [_int_in(where, key, v, arg.minimum, arg.maximum) for v in value]
        return _int_in(where, key, value, arg.minimum, arg.maximum)
    raise AssertionError(f"unhandled argument kind {kind}")  # pragma: no cover


def _validate_arg(where: str, arg: Arg, value: Any) -> Any:
    """Check one constructor argument against its registry entry; return its JSON form."""
    key, kind = arg.name, arg.kind
    if kind is ArgKind.INT:
        return _int_in(where, key, value, arg.minimum, arg.maximum)
    if kind is ArgKind.SIZE:
        return _size_value(where, key, value, int(arg.minimum), lengths=arg.axes)
    if kind is ArgKind.OPT_SIZE:
        if value is None:
            return None
        return _size_value(where, key, value, int(arg.minimum), lengths=arg.axes)
    if kind is ArgKind.PADDING:
        if isinstance(value, str):
            if value not in arg.choices:
                form = "an integer, a pair" if arg.axes == (2,) else "an integer"
                raise SpecError(
                    f"{where}: {key} must be {form}, 'same' or 'valid', got {_show(value)}"
                )
            return value
        return _size_value(where, key, value, 0, lengths=arg.axes)
    if kind is ArgKind.OUTPUT_SIZE:
        if value is None:
            raise SpecError(_got(_MUST_BE, where, key, None, form=_LIST_FORMS[arg.axes]))
        return _size_value(where, key, value, 1, allow_none=True, lengths=arg.axes)
    if kind is ArgKind.OPT_INT:
        return None if value is None else _int_in(where, key, value, arg.minimum, arg.maximum)
    if kind is ArgKind.DIM:
        return None if value is None else _int_in(where, key, value, arg.minimum, arg.maximum)
    if kind in (ArgKind.FLOAT, ArgKind.OPT_FLOAT):
        if value is None and kind is ArgKind.OPT_FLOAT:
            return None
        return _number_in(where, arg, value)
    if kind is ArgKind.BOOL:
        if not isinstance(value, bool):
            raise SpecError(_got(_TRUE_OR_FALSE, where, key, value))
        return value
    if kind is ArgKind.CHOICE:
        if value not in arg.choices:
            options = ", ".join(repr(c) for c in arg.choices)
            msgid = N_("{where}: {key} must be one of {options}, got {value}")
            raise SpecError(_got(msgid, where, key, value, options=options))
        return value
    return _special_value(where, arg, value)


def _check_layer_alone(where: str, entry: LayerType, args: dict[str, Any]) -> None:
    """Argument combinations torch refuses that the layer shows on its own (its entry's rule)."""
    problem = entry.check(entry.resolved(args))
    if problem:
        raise SpecError(message("{where}: {problem}", where=where, problem=problem))


def _validate_init_arg(where: str, arg: InitArg, value: Any) -> Any:
    key = arg.name
    if arg.kind == "choice":
        if value not in arg.choices:
            raise SpecError(
                f"{where}: {key} must be one of {', '.join(arg.choices)}, got {_show(value)}"
            )
        return value
    if arg.kind == "int":
        return _int_in(where, key, value, 1, MAX_INT)
    if arg.kind == "gain":
        if isinstance(value, str):
            if value not in SCHEMES["kaiming_normal"].arg("nonlinearity").choices:
                raise SpecError(
                    f"{where}: gain must be a positive number or a nonlinearity name "
                    f"('relu', 'tanh', ...), got {_show(value)}"
                )
            return value
        if not _is_number(value) or not 0 < value <= MAX_INIT_VALUE:
            raise SpecError(
                f"{where}: gain must be a positive number up to {MAX_INIT_VALUE:g}, "
                f"got {_show(value)}"
            )
        return value
    if not _is_number(value):
        raise SpecError(f"{where}: {key} must be a number, got {_show(value)}")
    low, high, low_open, high_open = INIT_RANGES[arg.kind]
    if not (low < value if low_open else low <= value) or not (
        value < high if high_open else value <= high
    ):
        # float32 weights: larger values overflow (or make every activation inf)
        raise SpecError(
            f"{where}: {key} must be in {'(' if low_open else '['}{low:g}, {high:g}"
            f"{')' if high_open else ']'}, got {_show(value)}"
        )
    return value


def init_arg_bounds(kind: str) -> tuple[float, float]:
    """The closed range a widget for an initializer argument of ``kind`` may offer.

    The same table validates specs (``INIT_RANGES``), so a widget can never offer a value the
    spec refuses; an open end is moved in by ``OPEN_END``.
    """
    low, high, low_open, high_open = INIT_RANGES[kind]
    return (low + OPEN_END if low_open else low, high - OPEN_END if high_open else high)


def validate_init(where: str, init: Any, ndim: int | None) -> dict[str, Any]:
    """Validate one INIT (``{"scheme": NAME, ...}``) for a tensor with ``ndim`` dimensions."""
    if not isinstance(init, Mapping):
        raise SpecError(f"{where} must be an object like {{'scheme': 'zeros'}}, got {_show(init)}")
    name = init.get("scheme")
    if not isinstance(name, str) or name not in SCHEMES:
        extra = _hint(name, SCHEMES)
        raise SpecError(
            f"{where}: scheme must be one of {', '.join(SCHEMES)}, got {_show(name)}{extra}"
        )
    scheme = SCHEMES[name]
    out: dict[str, Any] = {"scheme": name}
    for key, value in init.items():
        if key == "scheme":
            continue
        arg = scheme.arg(key) if isinstance(key, str) else None
        if arg is None:
            allowed = ", ".join(a.name for a in scheme.args) or "no arguments"
            raise SpecError(f"{where}: {name} takes {allowed}; unknown key {_show(key)}")
        out[key] = _validate_init_arg(f"{where} ({name})", arg, value)
    for arg in scheme.args:
        if arg.required and arg.name not in out:
            raise SpecError(f"{where}: {name} needs {arg.name}")
    if name in ("uniform", "trunc_normal"):
        a = out.get("a", scheme.arg("a").default)
        b = out.get("b", scheme.arg("b").default)
        if not a < b:
            raise SpecError(f"{where}: {name} needs a < b, got a={_show(a)}, b={_show(b)}")
        if name == "trunc_normal":
            mean = out.get("mean", 0.0)
            std = out.get("std", 1.0)
            if (a - mean) / std > TRUNC_TAIL or (b - mean) / std < -TRUNC_TAIL:
                raise SpecError(
                    f"{where}: trunc_normal needs [a, b] within {TRUNC_TAIL:g} std of the mean "
                    f"(there is no probability to sample from), got a={_show(a)}, b={_show(b)}, "
                    f"mean={_show(mean)}, std={_show(std)}"
                )
    if ndim is not None and not scheme.min_ndim <= ndim <= scheme.max_ndim:
        raise SpecError(
            f"{where}: {name} fits {scheme.fits}, not a tensor with {ndim} dimension"
            f"{'s' if ndim != 1 else ''}"
        )
    return out


def _validate_tensor_inits(where: str, layer_type: str, value: Any) -> dict[str, Any]:
    if _is_number(value):  # torch's PReLU(init=0.25) is the starting slope: here, the initializer
        raise SpecError(
            f"{where} must be an object like {{'weight': {{'scheme': 'constant', 'val': "
            f"{_show(value)}}}}} (a number is torch's own init argument, e.g. PReLU's starting "
            "slope: in a spec it is the weight's initializer)"
        )
    if not isinstance(value, Mapping):
        raise SpecError(f"{where} must be an object like {{'weight': {{...}}, 'bias': {{...}}}}")
    out = {}
    for tensor, init in value.items():
        if tensor not in TENSORS:
            raise SpecError(f"{where}: unknown tensor {_show(tensor)} (use 'weight' or 'bias')")
        if tensor not in TENSOR_NDIM[layer_type]:  # PReLU: a weight (its slopes) and no bias
            raise SpecError(
                f"{where}: {layer_type} has no {tensor} (its tensors: "
                f"{', '.join(TENSOR_NDIM[layer_type])})"
            )
        ndim = TENSOR_NDIM[layer_type][tensor]
        out[tensor] = validate_init(f"{where}.{tensor}", init, ndim)
    return out


def default_names(types: list[str], explicit: list[str | None]) -> list[str]:
    """Fill in default names: the k-th layer of a prefix is ``prefix + k`` or the next free one."""
    used = {n for n in explicit if n is not None}
    counts: dict[str, int] = {}
    names = []
    for layer_type, name in zip(types, explicit):
        prefix = REGISTRY[layer_type].prefix
        counts[prefix] = counts.get(prefix, 0) + 1
        if name is None:
            number = counts[prefix]
            while f"{prefix}{number}" in used:
                number += 1
            name = f"{prefix}{number}"
            used.add(name)
        names.append(name)
    return names


_JSON_KINDS = {
    str: "a string",
    list: "a list",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _json_text(text: str | bytes, where: str) -> Any:
    if isinstance(text, str):
        text = text.removeprefix("\ufeff")  # a byte-order mark from a Windows editor
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(
            f"{where} is too large ({len(text):,} characters; at most {MAX_SPEC_BYTES:,})"
        )
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, huge ints
        raise SpecError(f"{where} is not valid JSON: {exc}") from None


def require_object(data: Any, what: str = "a design") -> Mapping[str, Any]:
    """``data`` itself if it is a JSON object (a mapping), else ``SpecError``: never parsed again.

    Args:
        data: a value decoded from JSON (a link, an upload).
        what: how the message names it.
    """
    if not isinstance(data, Mapping):
        kind = _JSON_KINDS.get(type(data), type(data).__name__)
        raise SpecError(f"{what} is a JSON object, got {kind}")
    return data


def _parse(obj: Any) -> Any:
    """The design as a Python value: a ``str`` / ``bytes`` is always JSON text, never a path.

    Only an ``os.PathLike`` is read as a file (SPEC.md: share links and uploads can therefore never
    make the server read its own disk).
    """
    if isinstance(obj, (str, bytes, bytearray)):
        return _json_text(obj, "the design")
    if isinstance(obj, os.PathLike):
        path = Path(obj)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_SPEC_BYTES + 1)
        except (OSError, ValueError) as exc:
            raise SpecError(f"cannot read spec file {_show(str(path))}: {exc}") from None
        return _json_text(data, f"spec file {_show(str(path))}")
    if isinstance(obj, Spec):
        return obj.to_dict()
    return obj


def load_spec(obj: Any) -> Spec:
    """Validate a spec given as a dict, JSON text (``str`` / ``bytes``) or a ``pathlib.Path``.

    Args:
        obj: the spec.

    Returns:
        The validated ``Spec``.

    Raises:
        SpecError: naming the layer (position from 1, and name), the field and the value.
    """
    data = require_object(_parse(obj))
    for key in data:
        if key not in TOP_KEYS:
            extra = _hint(key, TOP_KEYS)
            msgid = N_("spec: unknown key {key}{hint}")
            raise SpecError(message(msgid, key=_show(key), hint=extra))
    version = data.get("version", VERSION)
    if version != VERSION or isinstance(version, bool):
        msgid = N_("spec: unknown version {value} (this NetBuilder reads version 1)")
        raise SpecError(message(msgid, value=_show(version)))
    name = data.get("name")
    if name is not None and (
        not isinstance(name, str) or len(name) > MAX_SPEC_NAME or not name.isprintable()
    ):
        msgid = N_("spec: name must be printable text of at most {limit} characters, got {value}")
        raise SpecError(message(msgid, limit=MAX_SPEC_NAME, value=_show(name)))
    shape = data.get("input_shape")
    if not isinstance(shape, (list, tuple)) or len(shape) not in (1, 2, 3):
        msgid = N_(
            "spec: input_shape must be [C, H, W], [C, L] or [F] (one sample, no batch), got {value}"
        )
        raise SpecError(message(msgid, value=_show(shape)))
    input_shape = tuple(_int_in("spec", "input_shape", v, 1, MAX_INT) for v in shape)
    if math.prod(input_shape) > MAX_INPUT_ELEMENTS:
        msgid = N_(
            "spec: input_shape {shape} has {count} elements per sample; the limit is {limit}"
        )
        count, limit = f"{math.prod(input_shape):,}", f"{MAX_INPUT_ELEMENTS:,}"
        raise SpecError(message(msgid, shape=list(input_shape), count=count, limit=limit))
    seed = _int_in("spec", "seed", data.get("seed", 0), 0, MAX_SEED)

    raw_layers = data.get("layers", [])
    if not isinstance(raw_layers, (list, tuple)):
        raise SpecError(
            message("spec: layers must be a list, got {value}", value=_show(raw_layers))
        )
    if len(raw_layers) > MAX_LAYERS:
        msgid = N_("spec: {count} layers; a design holds at most {limit}")
        raise SpecError(message(msgid, count=len(raw_layers), limit=MAX_LAYERS))
    types, explicit = _types_and_names(raw_layers)
    names = default_names(types, explicit)

    layers = [
        _load_layer(i, raw, layer_type, layer_name, explicit[i] is not None, names)
        for i, (raw, layer_type, layer_name) in enumerate(zip(raw_layers, types, names))
    ]

    raw_init = data.get("init", {})
    if not isinstance(raw_init, Mapping):
        raise SpecError(f"spec: init must be an object keyed by layer type, got {_show(raw_init)}")
    init = {}
    for layer_type, value in raw_init.items():
        if layer_type not in PARAM_TYPES:
            raise SpecError(
                f"init: {_show(layer_type)} is not a layer type with weights "
                f"({', '.join(PARAM_TYPES)})"
            )
        init[layer_type] = _validate_tensor_inits(f"init.{layer_type}", layer_type, value)

    _check_dirac_groups(layers, init)
    return Spec(input_shape, tuple(layers), init, seed, name, version)


def _types_and_names(raw_layers: Any) -> tuple[list[str], list[str | None]]:
    """Each layer's type and its explicit name (None where it has none), checked."""
    types: list[str] = []
    explicit: list[str | None] = []
    for i, raw in enumerate(raw_layers):
        where = message("layer {index}", index=i + 1)
        if not isinstance(raw, Mapping):
            msgid = N_("{where}: must be an object with a 'type', got {value}")
            raise SpecError(message(msgid, where=where, value=_show(raw)))
        layer_type = raw.get("type")
        if not isinstance(layer_type, str) or layer_type not in REGISTRY:
            extra = _hint(layer_type, REGISTRY)
            msgid = N_("{where}: type must be a known layer type, got {value}{hint}")
            raise SpecError(message(msgid, where=where, value=_show(layer_type), hint=extra))
        types.append(layer_type)
        layer_name = raw.get("name")
        if layer_name is not None:
            _check_name(message(_LAYER, index=i + 1, name=layer_type), layer_name, explicit)
        explicit.append(layer_name)
    return types, explicit


def _check_name(where: Any, layer_name: Any, explicit: list[str | None]) -> None:
    """An explicit layer name: an ASCII identifier, not reserved, not used before."""
    if (
        not isinstance(layer_name, str)
        or not _IDENTIFIER.match(layer_name)
        or len(layer_name) > MAX_NAME
    ):
        msgid = N_(
            "{where}: name must be a Python identifier of ASCII letters, digits and _, "
            "starting with a letter, got {value}"
        )
        raise SpecError(message(msgid, where=where, value=_show(layer_name)))
    if keyword.iskeyword(layer_name) or layer_name in RESERVED_NAMES:
        msgid = N_("{where}: name {name} is reserved by Python or nn.Module")
        raise SpecError(message(msgid, where=where, name=repr(layer_name)))
    if layer_name in explicit:
        msgid = N_("{where}: name {name} is used twice")
        raise SpecError(message(msgid, where=where, name=repr(layer_name)))


def _load_inputs(
    where: str, index: int, raw: Mapping[str, Any], entry: LayerType, names: list[str]
) -> tuple[str, ...]:
    """A layer's ``inputs``, resolved (SPEC.md "Graphs"): names of earlier layers or ``input``;
    a merge takes 2 to ``MAX_MERGE_INPUTS``, any other layer exactly one."""
    if "inputs" not in raw:
        if entry.merge:
            msgid = N_("{where}: inputs: {layer} joins 2 or more inputs; name them, e.g. {example}")
            example = [names[index - 1] if index else INPUT, INPUT]
            raise SpecError(message(msgid, where=where, layer=entry.name, example=example))
        return (names[index - 1] if index else INPUT,)
    given = raw["inputs"]
    if not isinstance(given, (list, tuple)) or not all(isinstance(n, str) for n in given):
        msgid = N_('{where}: inputs must be a list of layer names (or "input"), got {value}')
        raise SpecError(message(msgid, where=where, value=_show(given)))
    low, high = (2, MAX_MERGE_INPUTS) if entry.merge else (1, 1)
    if not low <= len(given) <= high:
        if entry.merge:
            msgid = N_("{where}: inputs: {layer} takes 2 to {limit} inputs, got {count}")
        else:
            msgid = N_(
                "{where}: inputs: {layer} takes exactly one input, got {count} "
                "(join branches with an Add or Concat layer)"
            )
        params = {"layer": entry.name, "limit": MAX_MERGE_INPUTS, "count": len(given)}
        raise SpecError(message(msgid, where=where, **params))
    earlier = {name: i for i, name in enumerate(names[:index])}
    for name in given:
        if name == INPUT or name in earlier:
            continue
        if name == names[index]:
            msgid = N_("{where}: inputs: a layer cannot take its own output")
            raise SpecError(message(msgid, where=where))
        if name in names:
            later = names.index(name)
            msgid = N_(
                "{where}: inputs: {name} is layer {index}, after this one; a layer reads only "
                "earlier layers (move it below its inputs)"
            )
            raise SpecError(message(msgid, where=where, name=name, index=later + 1))
        extra = _hint(name, [INPUT, *earlier])
        msgid = N_("{where}: inputs: no earlier layer is named {value}{hint}")
        raise SpecError(message(msgid, where=where, value=_show(name), hint=extra))
    return tuple(given)


def _load_layer(
    index: int,
    raw: Mapping[str, Any],
    layer_type: str,
    layer_name: str,
    explicit: bool,
    names: list[str],
) -> Layer:
    """Validate one layer's arguments, its own ``init``, ``trainable`` and ``inputs``
    (``load_spec``)."""
    where = message(_LAYER, index=index + 1, name=layer_name)
    entry = REGISTRY[layer_type]
    args: dict[str, Any] = {}
    for key, value in raw.items():
        if key in LAYER_META_KEYS:
            continue
        arg = entry.arg(key) if isinstance(key, str) else None
        if arg is None:
            known = [a.name for a in entry.args]
            extra = _hint(key, known)
            msgid = N_("{where}: {layer} has no argument {value}{hint}")
            raise SpecError(
                message(msgid, where=where, layer=layer_type, value=_show(key), hint=extra)
            )
        args[key] = _validate_arg(where, arg, value)
    for arg in entry.args:
        if arg.required and arg.name not in args:
            msgid = N_("{where}: {layer} needs {key}")
            raise SpecError(message(msgid, where=where, layer=layer_type, key=arg.name))
    _check_layer_alone(where, entry, args)
    layer_init: dict[str, Any] = {}
    if "init" in raw:
        if layer_type not in PARAM_TYPES:
            msgid = N_("{where}: init is set but {layer} has no weights")
            raise SpecError(message(msgid, where=where, layer=layer_type))
        layer_init = _validate_tensor_inits(f"{where}: init", layer_type, raw["init"])
        present = {n for n, _ in entry.tensors(entry.resolved(args), 1)}
        affine = next((a.name for a in entry.args if a.name.endswith("affine")), "affine")
        for tensor in layer_init:
            if tensor not in present:
                raise SpecError(
                    f"{where}: init.{tensor} is set but this layer has no {tensor} "
                    f"({'bias=False' if tensor == 'bias' else affine + '=False'})"
                )
    trainable = raw.get("trainable", True)
    if not isinstance(trainable, bool):
        raise SpecError(_got(_TRUE_OR_FALSE, where, "trainable", trainable))
    extra: dict[str, Any] = {"trainable": trainable} if "trainable" in raw else {}
    inputs = _load_inputs(where, index, raw, entry, names)
    if "inputs" in raw:
        extra["inputs"] = list(inputs)
    return Layer(layer_type, layer_name, args, layer_init, trainable, explicit, extra, inputs)


def _check_dirac_groups(layers: list[Layer], init: dict[str, Any]) -> None:
    """``dirac`` with ``groups`` needs out_channels divisible by groups (torch's dirac_ rule)."""
    for i, layer in enumerate(layers):
        if layer.type not in ("Conv1d", "Conv2d"):  # weight's first dimension is out_channels
            continue  # (ConvTranspose2d's is in_channels, inferred: checked at build)
        weight = layer.init.get("weight") or init.get(layer.type, {}).get("weight")
        if not weight or weight["scheme"] != "dirac":
            continue
        groups = weight.get("groups", 1)
        out = layer.args["out_channels"]
        if out % groups:
            source = "its init" if "weight" in layer.init else f"init.{layer.type}"
            raise SpecError(
                f"layer {i + 1} ({layer.name}): dirac with groups={groups} ({source}) needs "
                f"out_channels divisible by {groups}, got out_channels={out}"
            )
