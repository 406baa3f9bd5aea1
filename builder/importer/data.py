"""Static values for evaluated ``__init__`` code: the work ``Budget`` and the data
expressions (constants, arithmetic, lists, dicts, comparisons), every list item spent.

The ``Interpreter`` (``interp``) adds names, attributes, calls and statements on top.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from .messages import Refusal
from .modules import is_module
from .names import checked_number, is_number

MAX_WORK = 200_000  # statements, expressions and list items evaluated, all code together
MAX_DATA_DEPTH = 3  # lists in lists (a config of (name, [widths]) pairs)
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


class Budget:
    """The work left: each unit is one statement, expression or list item evaluated."""

    def __init__(self, limit: int = MAX_WORK) -> None:
        self.left = limit
        self.reported = False

    def spend(self, node: ast.AST | None, units: int = 1) -> None:
        self.left -= units
        if self.left < 0:
            if self.reported:  # once is enough: the statements after it are not named
                raise Refusal(node, silent=True)
            self.reported = True
            raise Refusal(
                node,
                f"evaluating this code takes more than {MAX_WORK:,} steps (loops, blocks and "
                "helper calls are unrolled): write the network with fewer repetitions",
            )


class DataExpressions:
    """The data handlers of the ``Interpreter``; ``expr`` evaluates any node."""

    budget: Budget

    def expr(
        self, node: ast.AST, env: dict[str, Any], owner: Any, nesting: int, depth: int = 0
    ) -> Any:  # pragma: no cover - the Interpreter overrides it
        raise NotImplementedError

    def constant(self, node: ast.Constant, env, owner, nesting, depth) -> Any:
        if node.value is None or isinstance(node.value, (bool, int, float, str)):
            return checked_number(node, node.value)
        raise Refusal(node, f"{type(node.value).__name__} values are not read")

    def sequence(self, node: ast.List | ast.Tuple, env, owner, nesting, depth) -> Any:
        items: list[Any] = []
        for item in node.elts:
            if isinstance(item, ast.Starred):
                inner = self.expr(item.value, env, owner, nesting, depth)
                if not isinstance(inner, (list, tuple)):
                    raise Refusal(item, "only lists are unpacked with *")
                self.budget.spend(item, len(inner))
                items.extend(inner)
            else:
                items.append(self.expr(item, env, owner, nesting, depth))
        for item in items:
            self.weigh(node, item)
        return items if isinstance(node, ast.List) else tuple(items)

    def weigh(self, node: ast.AST, value: Any, depth: int = 1) -> int:
        """Spend a nested list's items (shared lists count each time they appear), at most
        ``MAX_DATA_DEPTH`` deep: a list of lists of itself cannot grow without cost.

        Returns:
            The items spent.
        """
        if not isinstance(value, (list, tuple, dict)):
            return 0
        if depth > MAX_DATA_DEPTH:
            raise Refusal(node, "lists are nested too deeply")
        items = list(value.values()) if isinstance(value, dict) else value
        self.budget.spend(node, len(items))
        return len(items) + sum(self.weigh(node, item, depth + 1) for item in items)

    def unary(self, node: ast.UnaryOp, env, owner, nesting, depth) -> Any:
        value = self.expr(node.operand, env, owner, nesting, depth)
        if isinstance(node.op, ast.Not):
            return not value
        if not is_number(value) or not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise Refusal(node, "a sign needs a number")
        return -value if isinstance(node.op, ast.USub) else value

    def binary(self, node: ast.BinOp, env, owner, nesting, depth) -> Any:
        left = self.expr(node.left, env, owner, nesting, depth)
        right = self.expr(node.right, env, owner, nesting, depth)
        return self.arithmetic(node, node.op, left, right)

    def arithmetic(self, node: ast.AST, op: ast.operator, left: Any, right: Any) -> Any:
        if isinstance(left, (list, tuple)) or isinstance(right, (list, tuple)):
            return self.list_arithmetic(node, op, left, right)
        if not (is_number(left) and is_number(right)) or type(op) not in ARITHMETIC:
            raise Refusal(node, "arithmetic is read on numbers, and + and * on lists")
        if isinstance(op, ast.Pow) and (abs(right) > 64 or abs(left) > 2**32):
            raise Refusal(node, "the power is too large")
        try:
            result = ARITHMETIC[type(op)](left, right)
        except (ZeroDivisionError, OverflowError):
            raise Refusal(node, "the arithmetic fails (division by zero or overflow)") from None
        if isinstance(result, complex):
            raise Refusal(node, "the arithmetic gives a complex number")
        return checked_number(node, result)

    def list_arithmetic(self, node: ast.AST, op: ast.operator, left: Any, right: Any) -> Any:
        """``[stride] + [1] * (n - 1)``: the result's length is spent from the budget."""
        if isinstance(op, ast.Add) and type(left) is type(right):
            # the copy of ``left`` is C's work: layers += [...] in a loop stays cheap
            self.budget.spend(node, len(left) // 16 + len(right))
            result = left + right
        elif isinstance(op, ast.Mult):
            items, times = (left, right) if isinstance(left, (list, tuple)) else (right, left)
            if not isinstance(times, int) or isinstance(times, bool):
                raise Refusal(node, "a list is repeated an integer number of times")
            self.budget.spend(node, len(items) * max(times, 0))
            result = items * times
        else:
            raise Refusal(node, "lists are read with + and * only")
        if isinstance(op, ast.Add):
            for item in right:
                self.weigh(node, item)
        else:  # each repeat of a nested item counts
            inner = sum(self.weigh(node, item) for item in items)
            self.budget.spend(node, inner * max(times - 1, 0))
        return result

    def boolean(self, node: ast.BoolOp, env, owner, nesting, depth) -> Any:
        value: Any = None
        for item in node.values:
            value = self.expr(item, env, owner, nesting, depth)
            if bool(value) != isinstance(node.op, ast.And):
                return value
        return value

    def compare(self, node: ast.Compare, env, owner, nesting, depth) -> Any:
        left = self.expr(node.left, env, owner, nesting, depth)
        for op, item in zip(node.ops, node.comparators):
            right = self.expr(item, env, owner, nesting, depth)
            identity = isinstance(op, (ast.Is, ast.IsNot))
            if not identity and (is_module(left) or is_module(right)):
                raise Refusal(node, "modules are compared with 'is None' only")
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise Refusal(node, "these values cannot be compared") from None
            left = right
        return True

    def if_expression(self, node: ast.IfExp, env, owner, nesting, depth) -> Any:
        test = self.expr(node.test, env, owner, nesting, depth)
        return self.expr(node.body if test else node.orelse, env, owner, nesting, depth)

    def subscript(self, node: ast.Subscript, env, owner, nesting, depth) -> Any:
        base = self.expr(node.value, env, owner, nesting, depth)
        if isinstance(node.slice, ast.Slice) and isinstance(base, (list, tuple)):
            bounds = [
                None if part is None else self.expr(part, env, owner, nesting, depth)
                for part in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            if not all(
                b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in bounds
            ):
                raise Refusal(node, "a slice is read with integers")
            if bounds[2] == 0:
                raise Refusal(node, "a slice step must not be zero")
            self.budget.spend(node, len(base))
            return base[slice(*bounds)]
        index = self.expr(node.slice, env, owner, nesting, depth)
        if isinstance(base, (list, tuple)) and isinstance(index, int):
            if -len(base) <= index < len(base):
                return base[index]
            raise Refusal(node, "the index is out of range")
        if isinstance(base, dict) and isinstance(index, (str, int)):
            if index in base:
                return base[index]
            raise Refusal(node, f"the dict has no key {index!r}")
        raise Refusal(node, "only lists (by integer) and dicts (by key) are indexed here")

    def dictionary(self, node: ast.Dict, env, owner, nesting, depth) -> Any:
        """``cfg = {"VGG11": [64, "M", 128]}``: constant keys."""
        out = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise Refusal(node, "** in a dict is not read")
            name = self.expr(key, env, owner, nesting, depth)
            if not isinstance(name, (str, int)):
                raise Refusal(key, "dict keys are read as strings and integers")
            out[name] = self.expr(value, env, owner, nesting, depth)
            self.weigh(node, out[name])
        return out
