"""Names and constants: what the module's imports and assignments bind, and constant values.

``Scope`` holds the module's bindings (``Importation``: ``import torch.nn as nn``; ``Constant``:
``WIDTH = 8``) and spells a name through them (``nn.init.zeros_`` -> ``torch.nn.init.zeros_``).
``Evaluator`` computes literal values and constant arithmetic, one handler per node type; it
never runs anything, and refuses numbers and lists that could grow without bound.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any

from .messages import Refusal
from .steps import LayerDef

MAX_DEPTH = 60  # nesting of one expression or block the reader follows
MAX_NUMBER = 2**63  # constant arithmetic beyond this is refused (no huge powers or products)
MAX_ITEMS = 8  # a tuple or list constant is short: no argument needs more
# conventional names a pasted snippet often uses without its imports
CONVENTIONAL = {
    "torch": "torch",
    "nn": "torch.nn",
    "F": "torch.nn.functional",
    "init": "torch.nn.init",
}
NO_LOCALS: Mapping[str, Any] = {}


@dataclass(frozen=True)
class Importation:
    """``import torch.nn as nn`` / ``from torch import nn``: ``nn`` stands for ``torch.nn``."""

    name: str
    target: str
    line: int


@dataclass(frozen=True)
class Constant:
    """``WIDTH = 8`` at module level: a name with a value the reader could compute."""

    name: str
    value: Any
    line: int


class Scope:
    """The module's bindings: its imports and its constants."""

    def __init__(self) -> None:
        self.imports: dict[str, Importation] = {}
        self.constants: dict[str, Constant] = {}
        # data the Evaluator does not read (a dict, a long list): evaluated where __init__ uses it
        self.deferred: dict[str, ast.expr] = {}

    def bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                name = alias.asname or root
                target = alias.name if alias.asname else root
                self.imports[name] = Importation(name, target, node.lineno)
        elif node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    name = alias.asname or alias.name
                    target = f"{node.module}.{alias.name}"
                    self.imports[name] = Importation(name, target, node.lineno)

    def dotted(self, node: ast.AST) -> str | None:
        """``nn.init.zeros_`` -> ``torch.nn.init.zeros_`` through the imports; None if not one."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
            if len(parts) > MAX_DEPTH:
                raise Refusal(node, "the name is too long")
        if not isinstance(node, ast.Name):
            return None
        binding = self.imports.get(node.id)
        root = binding.target if binding else None
        if root is None and node.id not in self.constants:
            root = CONVENTIONAL.get(node.id)
        if root is None:
            return None
        return ".".join([root, *reversed(parts)])

    def torch_nn_class(self, node: ast.AST) -> str | None:
        """``nn.Conv2d`` -> ``"Conv2d"``: a class right in ``torch.nn``; None for anything else."""
        dotted = self.dotted(node)
        if not dotted or not dotted.startswith("torch.nn.") or dotted.count(".") != 2:
            return None
        return dotted.rsplit(".", 1)[1]


class Evaluator:
    """Literal values and constant arithmetic.

    Names are looked up in ``env`` (``__init__``'s locals), then in the module's constants;
    ``self.NAME`` in ``members`` (the constants ``__init__`` assigns, as far as it has been read).
    Anything else raises ``Refusal``.
    """

    def __init__(self, scope: Scope, members: Mapping[str, Any] = NO_LOCALS) -> None:
        self.scope = scope
        self.members = members

    def value(self, node: ast.AST, env: Mapping[str, Any] = NO_LOCALS, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise Refusal(node, "the expression is nested too deeply")
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise Refusal(node, "only literal values and constant arithmetic are read")
        return handler(self, node, env, depth)

    def constant(self, node: ast.Constant, env: Mapping[str, Any], depth: int) -> Any:
        if node.value is None or isinstance(node.value, (bool, int, float, str)):
            return checked_number(node, node.value)
        raise Refusal(node, f"{type(node.value).__name__} values are not read")

    def sequence(self, node: ast.Tuple | ast.List, env: Mapping[str, Any], depth: int) -> Any:
        if len(node.elts) > MAX_ITEMS:
            raise Refusal(node, "only short tuples are read")
        items = [self.value(e, env, depth + 1) for e in node.elts]
        if any(isinstance(item, list) for item in items):
            # constants that nest each other would share 8**n items; no argument nests
            raise Refusal(node, "only flat tuples of numbers are read")
        return items

    def unary(self, node: ast.UnaryOp, env: Mapping[str, Any], depth: int) -> Any:
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise Refusal(node, "only literal values and constant arithmetic are read")
        operand = self.value(node.operand, env, depth + 1)
        if not is_number(operand):
            raise Refusal(node, "a sign needs a number")
        return checked_number(node, -operand if isinstance(node.op, ast.USub) else operand)

    def binary(self, node: ast.BinOp, env: Mapping[str, Any], depth: int) -> Any:
        left = self.value(node.left, env, depth + 1)
        right = self.value(node.right, env, depth + 1)
        return _arithmetic(node, left, right)

    def name(self, node: ast.Name, env: Mapping[str, Any], depth: int) -> Any:
        if node.id in env:
            return env[node.id]
        if node.id in self.scope.constants:
            return self.scope.constants[node.id].value
        raise Refusal(node, f"{node.id!r} is not a constant the reader knows")

    def attribute(self, node: ast.Attribute, env: Mapping[str, Any], depth: int) -> Any:
        if is_name(node.value, "self") and node.attr in self.members:
            return self.members[node.attr]
        raise Refusal(node, "only literal values and constant arithmetic are read")

    def call(self, node: ast.Call, env: Mapping[str, Any], depth: int) -> Any:
        if self.scope.dotted(node.func) != "math.sqrt":
            raise Refusal(node, "only literal values and constant arithmetic are read")
        if len(node.args) != 1 or node.keywords:
            raise Refusal(node, "math.sqrt takes one number")
        operand = self.value(node.args[0], env, depth + 1)
        if not is_number(operand) or operand < 0:
            raise Refusal(node, "math.sqrt needs a number >= 0")
        return math.sqrt(operand)


_HANDLERS: dict[type, Callable[[Evaluator, Any, Mapping[str, Any], int], Any]] = {
    ast.Constant: Evaluator.constant,
    ast.Tuple: Evaluator.sequence,
    ast.List: Evaluator.sequence,
    ast.UnaryOp: Evaluator.unary,
    ast.BinOp: Evaluator.binary,
    ast.Name: Evaluator.name,
    ast.Attribute: Evaluator.attribute,
    ast.Call: Evaluator.call,
}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def checked_number(node: ast.AST, value: Any) -> Any:
    if not is_number(value):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise Refusal(node, "the number is not finite")
    if abs(value) > MAX_NUMBER:
        raise Refusal(node, "the number is too large")
    return value


_OPERATIONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
}


def _arithmetic(node: ast.BinOp, left: Any, right: Any) -> Any:
    """``+ - * / // % **`` on two numbers, bounded so no input can make a huge one."""
    if not (is_number(left) and is_number(right)):
        raise Refusal(node, "arithmetic is read on numbers only")
    op = type(node.op)
    if op is ast.Pow and (abs(right) > 64 or abs(left) > 2**32):
        raise Refusal(node, "the power is too large")
    if op not in _OPERATIONS:
        raise Refusal(node, "only + - * / // % ** are read")
    try:
        result = _OPERATIONS[op](left, right)
    except (ZeroDivisionError, OverflowError):
        raise Refusal(node, "the arithmetic fails (division by zero or overflow)") from None
    if isinstance(result, complex):
        raise Refusal(node, "the arithmetic gives a complex number")
    return checked_number(node, result)


def same(value: Any, default: Any) -> bool:
    """Whether a given argument is torch's default (``1`` and ``1.0`` alike, ``True`` not ``1``)."""
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    if is_number(value) and is_number(default):
        return value == default
    return type(value) is type(default) and value == default


class LayerScope:
    """The layers a reference like ``self.conv1`` can name: those ``__init__`` defined so far
    (while it is read) or all of them (after it)."""

    def __init__(self, layers: Mapping[str, LayerDef], failed: Set[str], where: str) -> None:
        self.layers = layers
        self.failed = failed  # attributes whose definition was refused: already reported
        self.where = where

    def ref(self, node: ast.AST, owner: str) -> LayerDef:
        """``self.conv1`` -> conv1's definition; ``Refusal`` for anything else."""
        if not (isinstance(node, ast.Attribute) and is_name(node.value, owner)):
            raise Refusal(node, f"expected a layer ({owner}.conv1)")
        if node.attr in self.failed:
            raise Refusal(node, silent=True)
        if node.attr not in self.layers:
            raise Refusal(node, f"{owner}.{node.attr} is not a layer defined {self.where}")
        return self.layers[node.attr]


def is_name(node: ast.AST | None, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def is_attr(node: ast.AST | None, owner: str, attr: str) -> bool:
    return isinstance(node, ast.Attribute) and is_name(node.value, owner) and node.attr == attr
