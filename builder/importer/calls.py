"""Calls in evaluated ``__init__`` code: layers, blocks, helper methods and a few builtins.

``range``, ``len``, ``int``, ``min``, ``max`` and ``OrderedDict`` are the builtins read; a call of
anything else that is not a torch.nn class, a class defined in the source or ``self``'s helper
method is refused.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from .arguments import refuse_unpacking
from .data import MAX_WORK
from .messages import Refusal
from .modules import Block, ClassRef, Ordered, is_module
from .names import checked_number, is_name, is_number

if TYPE_CHECKING:
    from .interp import Interpreter

_BUILTINS = ("range", "len", "int", "min", "max", "list", "tuple", "zip", "enumerate")
_ORDERED = ("collections.OrderedDict", "OrderedDict")


def evaluate_call(
    interp: Interpreter,
    node: ast.Call,
    env: dict[str, Any],
    owner: Block | None,
    nesting: int,
    depth: int,
) -> Any:
    func = node.func
    if isinstance(func, ast.Attribute) and is_name(func.value, "self") and owner is not None:
        if func.attr in owner.modules:
            raise Refusal(node, f"self.{func.attr} is applied in forward, not in __init__")
        args, kwargs = _arguments(interp, node, env, owner, nesting, depth)
        return interp.call_method(owner, func.attr, args, kwargs, node, nesting)
    cls = interp.scope.torch_nn_class(func)
    if cls is not None:
        return interp.layer(node, cls, env, owner, nesting)
    dotted = interp.scope.dotted(func)
    if dotted in _ORDERED or (isinstance(func, ast.Name) and func.id == "OrderedDict"):
        return _ordered(interp, node, env, owner, nesting, depth)
    if isinstance(func, ast.Name) and func.id in interp.functions and func.id not in env:
        args, kwargs = _arguments(interp, node, env, owner, nesting, depth)
        return interp.call_function(func.id, args, kwargs, node, nesting)
    if isinstance(func, ast.Name) and func.id in _BUILTINS and func.id not in env:
        args, kwargs = _arguments(interp, node, env, owner, nesting, depth)
        return _builtin(interp, node, func.id, args, kwargs)
    target = interp.expr(func, env, owner, nesting, depth) if _is_local(func, env) else None
    if target is None and isinstance(func, ast.Name) and func.id in interp.classes:
        target = ClassRef(interp.classes[func.id])
    if isinstance(target, ClassRef):
        args, kwargs = _arguments(interp, node, env, owner, nesting, depth)
        return interp.instantiate(target.cls, args, kwargs, node, nesting)
    if dotted is not None and dotted.startswith("torch.nn."):
        raise Refusal(node, f"{dotted} is not a layer NetBuilder knows")
    raise Refusal(
        node,
        "only torch.nn layers are supported, and classes defined in this code (blocks)",
    )


def _is_local(func: ast.expr, env: dict[str, Any]) -> bool:
    """``block(in_planes, planes)`` where ``block`` is a parameter holding a class."""
    return isinstance(func, ast.Name) and func.id in env


def _arguments(
    interp: Interpreter,
    node: ast.Call,
    env: dict[str, Any],
    owner: Block | None,
    nesting: int,
    depth: int,
) -> tuple[list[Any], dict[str, Any]]:
    if any(k.arg is None for k in node.keywords):
        raise Refusal(node, "**kwargs are not read")
    args = interp.sequence(ast.List(elts=node.args), env, owner, nesting, depth)
    kwargs = {k.arg: interp.expr(k.value, env, owner, nesting, depth) for k in node.keywords}
    return args, kwargs  # type: ignore[return-value]


def _ordered(
    interp: Interpreter,
    node: ast.Call,
    env: dict[str, Any],
    owner: Block | None,
    nesting: int,
    depth: int,
) -> Ordered:
    """``OrderedDict([("conv1", nn.Conv2d(1, 20, 5)), ("relu1", nn.ReLU())])``."""
    refuse_unpacking(node)
    if len(node.args) != 1 or node.keywords:
        raise Refusal(node, "OrderedDict is read with one list of (name, layer) pairs")
    pairs = interp.expr(node.args[0], env, owner, nesting, depth)
    if not isinstance(pairs, (list, tuple)):
        raise Refusal(node, "OrderedDict is read with one list of (name, layer) pairs")
    items = []
    for pair in pairs:
        if not (
            isinstance(pair, (list, tuple))
            and len(pair) == 2
            and isinstance(pair[0], str)
            and is_module(pair[1])
        ):
            raise Refusal(node, "OrderedDict is read with (name, layer) pairs")
        items.append((pair[0], pair[1]))
    if len({key for key, _ in items}) != len(items):
        raise Refusal(node, "the OrderedDict names a layer twice")
    return Ordered(tuple(items))


def _builtin(
    interp: Interpreter, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    if kwargs:
        raise Refusal(node, f"{name}() is read without keywords")
    if name == "range":
        if not 1 <= len(args) <= 3 or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in args
        ):
            raise Refusal(node, "range() is read with integers")
        if len(args) == 3 and args[2] == 0:
            raise Refusal(node, "range() step must not be zero")
        items = range(*args)
        try:
            count = len(items)
        except OverflowError:  # more items than a C ssize_t holds
            count = MAX_WORK + 1
        interp.budget.spend(node, count)
        return list(items)
    if name == "len" and len(args) == 1 and isinstance(args[0], (list, tuple, str)):
        return len(args[0])
    if name == "int" and len(args) == 1 and is_number(args[0]):
        return checked_number(node, int(args[0]))
    if name in ("min", "max") and args:
        values = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        if values and all(is_number(v) for v in values):
            return min(values) if name == "min" else max(values)
    if name in ("zip", "enumerate") and args and all(isinstance(a, (list, tuple)) for a in args):
        interp.budget.spend(node, sum(len(a) for a in args))
        if name == "zip":
            return [tuple(items) for items in zip(*args)]
        if len(args) == 1:
            return [(i, item) for i, item in enumerate(args[0])]
    if name in ("list", "tuple") and len(args) == 1 and isinstance(args[0], (list, tuple)):
        interp.budget.spend(node, len(args[0]))
        return list(args[0]) if name == "list" else tuple(args[0])
    raise Refusal(node, f"{name}() is not read with these arguments")
