"""Spec -> Python source: one ``nn.Module`` class that rebuilds exactly the model on screen.

The export reads like the article's ``Net``: named layers in ``__init__``, a ``forward`` with one
statement per layer and its output shape as a comment, and an ``initialize_weights`` that walks
``self.modules()`` and sets each layer type's scheme with ``isinstance``. It also draws random
numbers in exactly ``build_model``'s order, so ``torch.manual_seed(seed); Net()`` gives the same
``state_dict``, tensor for tensor. A graph (SPEC.md "Graphs") keeps all that; its ``forward`` is
written by ``codegen_forward``: merges are expressions (``x + identity``, ``torch.cat``), not
modules, and only a value read again gets a variable.

Safety, in the manner of torch.fx's code generator: the source is assembled only from identifiers
checked here again (ASCII, not keywords) and from literals of exact builtin types written with
``repr`` (strings only where they are registry choices), lines are collected in a list and joined,
and the result is ``ast.parse``'d before it is returned. A spec's free text (its ``name``) never
reaches the source: only the class name derived from it, which is ASCII letters and digits.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .analysis import Analysis, analyze, require_ok
from .codegen_forward import Op, forward_body
from .errors import SpecError
from .initializers import NONLINEARITIES, SCHEMES
from .layers import REGISTRY, LayerType
from .model import check_init_fit
from .spec import INPUT, Spec, load_spec

LINE_LENGTH = 100  # as in pyproject.toml: the export is ruff clean with the project's settings
INDENT = "    "
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_WORD = re.compile(r"[a-z][a-z0-9_-]*")  # registry choices: safe inside double quotes
_MAX_INT_LITERAL = 2**64  # seeds go up to 2**63 - 1; everything else is far smaller
# module-level names the generated code uses: a class called so would shadow them
_GLOBALS = frozenset({"torch", "nn", "F", "print", "isinstance", "super", "net", "x"})
_TENSORS = ("weight", "bias")
_QUOTES = '"""'
_RANDOM = frozenset({"Dropout", "Dropout2d"})  # draw random numbers in forward while training


def generate_code(spec: Any, *, functional_activations: bool = False) -> str:
    """Write the spec as a self-contained PyTorch module.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.
        functional_activations: write activations as ``F.relu(x)`` calls in ``forward`` (as the
            article does) instead of ``nn.ReLU()`` modules. The ``state_dict`` is the same.

    Returns:
        The source: imports, the class (``__init__`` ending with ``self.initialize_weights()``,
        ``forward``, ``initialize_weights``) and a ``__main__`` block that builds the net, runs
        a dummy input and prints its output shape.

    Raises:
        SpecError: if the spec is invalid or its analysis fails.
    """
    # Re-validate even a ``Spec``: it may have been built by hand, bypassing ``load_spec``.
    spec = load_spec(spec.to_dict() if isinstance(spec, Spec) else spec)
    analysis = analyze(spec)
    require_ok(analysis)
    check_init_fit(spec, analysis)
    writer = _Writer(spec, analysis, bool(functional_activations))
    source = "\n".join(writer.lines()) + "\n"
    try:
        ast.parse(source)
    except SyntaxError as exc:  # pragma: no cover - a bug here, never the user's input
        raise RuntimeError(f"generated code does not parse: {exc}") from exc
    return source


# --- literals and identifiers -------------------------------------------------------------------


def identifier(name: Any, what: str = "name", taken: frozenset[str] = frozenset()) -> str:
    """Check that ``name`` is a plain ASCII identifier that is safe to write into code.

    Args:
        name: the candidate (must be exactly a ``str``, not a subclass with its own formatting).
        what: what it names, for the message.
        taken: names it must not be.

    Returns:
        ``name`` unchanged.

    Raises:
        SpecError: if it is not.
    """
    if (
        type(name) is not str
        or not _IDENTIFIER.fullmatch(name)
        or keyword.iskeyword(name)
        or name in taken
    ):
        raise SpecError(f"cannot write {what} {name!r:.60} into code: not a plain identifier")
    return name


def literal(value: Any, choices: tuple[Any, ...] = ()) -> str:
    """Write a validated spec value as a Python literal.

    Only exact builtin types pass (a subclass could bring its own ``__repr__``): ``None``,
    ``bool``, ``int``, finite ``float`` (all through ``repr``, which round-trips exactly),
    strings that are among ``choices`` and plain lower-case words (written in double quotes,
    as ``ruff format`` writes them), and lists or tuples of these (written as tuples).

    Args:
        value: the value.
        choices: the strings allowed here (a registry argument's choices).

    Returns:
        The literal's source text.

    Raises:
        SpecError: for anything else.
    """
    kind = type(value)
    if value is None or kind is bool:
        return repr(value)
    if kind is int:
        if abs(value) > _MAX_INT_LITERAL:
            raise SpecError(f"cannot write {value:.3g} into code: too large")
        return repr(value)
    if kind is float:
        if not math.isfinite(value):
            raise SpecError(f"cannot write {value!r} into code: not a finite number")
        return repr(value).replace("e+", "e")  # 1e16, as ruff format writes it; same float
    if kind is str:
        if value not in choices or not _WORD.fullmatch(value):
            raise SpecError(f"cannot write {value!r:.60} into code: not one of {choices}")
        return f'"{value}"'
    if kind in (list, tuple):
        items = [literal(v, choices) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    raise SpecError(f"cannot write a {kind.__name__} value into code")


def _is_default(value: Any, default: Any) -> bool:
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    numbers = (int, float)  # 1 and 1.0 build the same layer
    same_kind = type(value) is type(default) or {type(value), type(default)} <= set(numbers)
    return same_kind and value == default


def _shape(shape: tuple[int | str, ...]) -> str:
    """``(6, 14, 14)`` as the app shows it; ``"N"`` stands for the batch size."""
    return "(" + ", ".join("N" if s == "N" else literal(s) for s in shape) + ")"


def _thousands(count: int) -> str:
    """A count for a comment: digits and commas only, however large (a parameter total may pass
    2**64 where every literal in the code stays small)."""
    if type(count) is not int:
        raise SpecError(f"cannot write {count!r} into a comment: not an integer")
    return f"{count:,}"


def call_lines(head: str, args: list[str], indent: str, tail: str = "") -> list[str]:
    """``head(args)tail`` on one line, or wrapped as ``ruff format`` wraps a call.

    Args:
        head: what comes before the parenthesis (``self.conv1 = nn.Conv2d``).
        args: the arguments' source text.
        indent: the statement's indentation.
        tail: what follows the closing parenthesis (``.requires_grad_(False)``).

    Returns:
        The lines.
    """
    one = f"{indent}{head}({', '.join(args)}){tail}"
    if len(one) <= LINE_LENGTH or not args:
        return [one]
    target, equals, value = head.partition(" = ")
    if equals and len(f"{indent}{head}(") > LINE_LENGTH:  # as ruff format: ``name = (`` ... ``)``
        return [
            f"{indent}{target} = (",
            *call_lines(value, args, indent + INDENT, tail),
            f"{indent})",
        ]
    inner = f"{indent}{INDENT}{', '.join(args)}"
    if len(inner) <= LINE_LENGTH:
        return [f"{indent}{head}(", inner, f"{indent}){tail}"]
    return [f"{indent}{head}(", *(f"{indent}{INDENT}{a}," for a in args), f"{indent}){tail}"]


def _condition_lines(keyword_: str, operands: list[str], indent: str) -> list[str]:
    """``if a or b:``, split one operand a line (as ``ruff format`` does) when too long."""
    one = f"{indent}{keyword_} {' or '.join(operands)}:"
    if len(one) <= LINE_LENGTH:
        return [one]
    inner = [f"{indent}{INDENT}{operands[0]}"]
    inner += [f"{indent}{INDENT}or {op}" for op in operands[1:]]
    return [f"{indent}{keyword_} (", *inner, f"{indent}):"]


# --- the pieces of the class --------------------------------------------------------------------


def constructor_args(entry: LayerType, args: Mapping[str, Any], in_dim: int | None) -> list[str]:
    """A layer constructor's arguments as source text: leading positional, then keywords.

    Only non-default arguments are written (like torch's ``extra_repr``); the inferred
    ``in_channels`` / ``in_features`` / ``num_features`` always are, as the number it was
    inferred to be. The registry's ``positional`` arguments are written positionally as long
    as each is present, in order; the rest are keywords, in torch's order.

    Args:
        entry: the layer's registry entry.
        args: the arguments the spec gives.
        in_dim: the inferred input dimension (for ``entry.in_key``).

    Returns:
        The arguments' source text.
    """
    given = dict(args)
    if entry.in_key:
        given[entry.in_key] = in_dim
    written = {
        a.name: literal(given[a.name], a.choices)
        for a in entry.args
        if a.name in given and (a.name == entry.in_key or not _is_default(given[a.name], a.default))
    }
    out = []
    for name in entry.positional:
        if name not in written:
            break
        out.append(written.pop(name))
    out += [f"{identifier(name, 'argument')}={text}" for name, text in written.items()]
    return out


def init_call(init: Mapping[str, Any], target: str) -> str:
    """One tensor's scheme as an ``nn.init`` call, with the arguments the spec gives.

    ``gain`` given as a nonlinearity name is written ``nn.init.calculate_gain("relu")``: the
    value ``build_model`` uses. Omitted arguments keep ``nn.init``'s defaults, which are the
    scheme table's defaults.

    Args:
        init: a validated INIT (not ``default``).
        target: ``m.weight`` or ``m.bias``.

    Returns:
        The call's source text.
    """
    name = init["scheme"]
    scheme = SCHEMES[name] if type(name) is str and name in SCHEMES else None
    if scheme is None or scheme.function is None or scheme.function.__name__ != f"{name}_":
        raise SpecError(f"cannot write scheme {name!r:.60} into code")
    args = [target]
    for arg in scheme.args:
        if arg.name not in init:
            continue
        value = init[arg.name]
        if arg.kind == "gain" and type(value) is str:
            text = f"nn.init.calculate_gain({literal(value, NONLINEARITIES)})"
        else:
            text = literal(value, arg.choices)
        args.append(f"{identifier(arg.name, 'argument')}={text}")
    return f"nn.init.{identifier(name, 'scheme')}_({', '.join(args)})"


@dataclass
class _Branch:
    """One arm of ``initialize_weights``' if/elif chain."""

    layers: list[str]  # matched by identity (layers with their own recipe)
    types: list[str]  # matched by isinstance
    body: list[str]  # statements, relative to the arm
    guard: str | None = None  # ``m.bias is not None``, joined to the isinstance test with ``and``

    def operands(self) -> list[str]:
        ops = [f"m is self.{name}" for name in self.layers]
        if len(self.types) == 1:
            ops.append(f"isinstance(m, nn.{self.types[0]})")
        elif self.types:
            ops.append(f"isinstance(m, ({', '.join(f'nn.{t}' for t in self.types)}))")
        if self.guard:
            ops[-1] += f" and {self.guard}"
        return ops


class _Writer:
    """Collects the lines of the exported module."""

    def __init__(self, spec: Spec, analysis: Analysis, functional: bool) -> None:
        self.spec = spec
        self.analysis = analysis
        self.functional = functional
        self.cls = identifier(spec.class_name, "class name", _GLOBALS)
        self.names = [identifier(layer.name, "layer name") for layer in spec.layers]
        for layer in spec.layers:
            if type(layer.type) is not str or layer.type not in REGISTRY:
                raise SpecError(f"cannot write layer type {layer.type!r:.60} into code")

    def is_functional(self, index: int) -> bool:
        return self.functional and self.spec.layers[index].entry.functional is not None

    def lines(self) -> list[str]:
        uses_f = any(self.is_functional(i) for i in range(len(self.spec.layers)))
        out = self.docstring()
        out += ["", "import torch"]
        if uses_f:
            out.append("import torch.nn.functional as F")
        out += ["from torch import nn", "", ""]
        out += [f"class {self.cls}(nn.Module):", *self.init_method(), ""]
        out += [*self.forward_method(), "", *self.initialize_weights_method(), "", ""]
        out += self.main_block()
        return out

    def docstring(self) -> list[str]:
        a = self.analysis
        frozen = a.total_params - a.trainable_params
        params = f"Parameters: {_thousands(a.total_params)}"
        if frozen:
            params += f" ({_thousands(a.trainable_params)} trainable, {_thousands(frozen)} frozen)"
        seed = literal(self.spec.seed)
        made = (
            f"Generated by NetBuilder from a network spec. The weights are reproducible: "
            f"`torch.manual_seed({seed})` followed by `{self.cls}()` gives exactly the weights "
            f"the app showed. Run this file to build the net and print its output shape."
        )
        title = f'"""{self.cls}: a PyTorch network designed in NetBuilder.'
        return [
            *textwrap.wrap(title, LINE_LENGTH),
            "",
            f"Input: one sample of shape {_shape(a.input_shape)}, in batches of "
            f"{_shape(('N', *a.input_shape))}.",
            f"Output: {_shape(a.output_shape or a.input_shape)} per sample.",
            f"{params}.",
            "",
            *textwrap.wrap(made, LINE_LENGTH),
            '"""',
        ]

    def init_method(self) -> list[str]:
        body = 2 * INDENT
        out = [f"{INDENT}def __init__(self) -> None:", f"{body}super().__init__()"]
        for index, (layer, row) in enumerate(zip(self.spec.layers, self.analysis.layers)):
            if self.is_functional(index) or layer.entry.merge:
                continue  # merges are expressions in forward (``a + b``, ``torch.cat``)
            args = constructor_args(layer.entry, layer.args, row.inferred)
            head = f"self.{self.names[index]} = nn.{layer.type}"
            out += call_lines(head, args, body)
        frozen = [
            self.names[i]
            for i, (layer, row) in enumerate(zip(self.spec.layers, self.analysis.layers))
            if not layer.trainable and row.tensors
        ]
        if frozen:
            out.append(f"{body}# frozen: training leaves these weights as they are")
            out += [f"{body}self.{name}.requires_grad_(False)" for name in frozen]
        out.append(f"{body}self.initialize_weights()")
        return out

    def forward_method(self) -> list[str]:
        body = 2 * INDENT
        out = [f"{INDENT}def forward(self, x: torch.Tensor) -> torch.Tensor:"]
        if self.analysis.is_graph:
            return out + forward_body(self.graph_ops(), body)
        for index, (layer, row) in enumerate(zip(self.spec.layers, self.analysis.layers)):
            if self.is_functional(index):
                fn = identifier(layer.entry.functional, "function")
                args = ["x", *constructor_args(layer.entry, layer.args, None)]
                statement = f"x = F.{fn}({', '.join(args)})"
            else:
                statement = f"x = self.{self.names[index]}(x)"
            comment = f"# {_shape(row.output_shape)}"
            line = f"{body}{statement}  {comment}"
            out += [line] if len(line) <= LINE_LENGTH else [f"{body}{comment}", body + statement]
        out.append(f"{body}return x")
        return out

    def graph_ops(self) -> list[Op]:
        """What each layer does in a graph's ``forward`` (see ``codegen_forward``)."""
        ops = []
        for index, (layer, row) in enumerate(zip(self.spec.layers, self.analysis.layers)):
            inputs = tuple(n if n == INPUT else identifier(n, "input") for n in layer.inputs)
            comment = f"# {_shape(row.output_shape)}"
            sensitive = layer.type in _RANDOM or layer.args.get("inplace") is True
            if layer.type == "Add":
                op = Op(self.names[index], inputs, "add", comment=comment)
            elif layer.type == "Concat":
                dim = f"dim={literal(layer.args.get('dim', 1))}"
                op = Op(self.names[index], inputs, "cat", extra=(dim,), comment=comment)
            elif self.is_functional(index):
                fn = identifier(layer.entry.functional, "function")
                extra = tuple(constructor_args(layer.entry, layer.args, None))
                op = Op(self.names[index], inputs, "call", f"F.{fn}", extra, comment, sensitive)
            else:
                head = f"self.{self.names[index]}"
                op = Op(self.names[index], inputs, "call", head, comment=comment)
            ops.append(replace(op, sensitive=sensitive))
        return ops

    def branches(self) -> list[_Branch]:
        """The arms of ``initialize_weights``, in the order they are tested.

        Why layers with their own recipe are arms *before* the per-type ones, rather than
        statements after the loop (as one might write by hand): ``build_model`` draws each
        layer's weights in layer order, weight then bias. ``self.modules()`` walks the layers in
        that same order, so matching an overridden layer by identity inside the loop (``if m is
        self.conv2``) keeps every draw in place; overwriting it after the loop would draw its
        tensors twice and shift every later layer's random numbers. Tensors whose scheme is
        ``default`` draw nothing and are not written.
        """
        spec, rows = self.spec, self.analysis.layers
        own: list[_Branch] = []
        by_type: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for index, (layer, row) in enumerate(zip(spec.layers, rows)):
            present = tuple(name for name, _ in row.tensors)
            if not layer.entry.tensor_names:
                continue  # no weights: never matched by a type rule
            # a layer without tensors here (affine=False) still matches isinstance: keep it
            # among its type's members, so the rule guards ``m.weight is not None``
            typed = spec.init.get(layer.type, {})
            type_inits = {t: typed.get(t, {"scheme": "default"}) for t in present}
            inits = {t: spec.init_for(index, t) for t in present}
            if inits == type_inits:
                by_type.setdefault(layer.type, []).append((layer.name, present))
                continue
            body = [
                init_call(inits[t], f"m.{t}") for t in present if inits[t]["scheme"] != "default"
            ]
            own.append(_Branch([self.names[index]], [], body or ["pass"]))
        typed_arms = []
        for layer_type, members in by_type.items():
            body = []
            for tensor in _TENSORS:
                init = spec.init.get(layer_type, {}).get(tensor, {"scheme": "default"})
                having = sum(tensor in present for _, present in members)
                if init["scheme"] == "default" or not having:
                    continue
                call = init_call(init, f"m.{tensor}")
                if having < len(members):  # some have bias=False / affine=False
                    body += [f"if m.{tensor} is not None:", INDENT + call]
                else:
                    body.append(call)
            arm = _Branch([], [identifier(layer_type, "layer type")], body)
            if len(body) == 2 and body[0].startswith("if "):
                # a lone nested ``if`` joins the type test (what ruff's SIM102 asks): a layer
                # failing it falls through to the other types' arms, none of which matches it
                arm.guard, arm.body = body[0][3:-1], [body[1].strip()]
            if body:
                typed_arms.append(arm)
        return _merge(own + typed_arms)

    def initialize_weights_method(self) -> list[str]:
        body = 2 * INDENT
        out = [f"{INDENT}def initialize_weights(self) -> None:"]
        arms = self.branches()
        if not arms:
            return [
                *out,
                f"{body}{_QUOTES}Every layer keeps PyTorch's default initialization.{_QUOTES}",
            ]
        summary = "Initialize each layer type as designed; the rest keep PyTorch's default."
        if any(arm.layers for arm in arms):
            details = (
                "Layers that set their own are matched first, inside the same loop: walking the "
                "layers in order keeps the random draws in NetBuilder's order."
            )
            wrapped = textwrap.wrap(
                details, LINE_LENGTH, initial_indent=body, subsequent_indent=body
            )
            out += [f"{body}{_QUOTES}{summary}", "", *wrapped, body + _QUOTES]
        else:
            out.append(f"{body}{_QUOTES}{summary}{_QUOTES}")
        out.append(f"{body}for m in self.modules():")
        for number, arm in enumerate(arms):
            out += _condition_lines("if" if number == 0 else "elif", arm.operands(), 3 * INDENT)
            if arm.layers:
                verb = "sets its" if len(arm.layers) == 1 else "set their"
                note = (
                    f"# {', '.join(arm.layers)} {verb} own initialization: tested before the types"
                )
                prefix = 4 * INDENT
                out += textwrap.wrap(note, LINE_LENGTH, initial_indent=prefix,
                                     subsequent_indent=prefix + "# ")  # fmt: skip
            out += [4 * INDENT + statement for statement in arm.body]
        return out

    def main_block(self) -> list[str]:
        a = self.analysis
        # two samples: BatchNorm without running statistics needs more than one value per channel
        batch = literal([2, *a.input_shape])[1:-1]
        out_shape = _shape((2, *(a.output_shape or a.input_shape)))[1:-1]
        return [
            'if __name__ == "__main__":',
            f"{INDENT}torch.manual_seed({literal(self.spec.seed)})",
            f"{INDENT}net = {self.cls}()",
            f"{INDENT}net.eval()",
            f"{INDENT}x = torch.randn({batch})",
            f"{INDENT}print(net(x).shape)  # torch.Size([{out_shape}])",
        ]


def _merge(arms: list[_Branch]) -> list[_Branch]:
    """Join neighbouring arms with the same statements (``if a: s elif b: s`` is ``if a or b: s``).

    Besides reading better, this keeps ``ruff`` (SIM114) from flagging the export.
    """
    out: list[_Branch] = []
    for arm in arms:
        if out and (out[-1].body, out[-1].guard) == (arm.body, arm.guard):
            out[-1].layers += arm.layers
            out[-1].types += arm.types
        else:
            out.append(arm)
    return out
