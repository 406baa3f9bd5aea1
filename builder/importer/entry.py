"""Which network the source means: the zero-argument callable nothing else uses.

Candidates, in source order: a ``nn.Module`` class with a ``forward`` whose ``__init__`` needs
no arguments, a
factory function taking none that returns a value (``def ResNet18(): return ResNet(BasicBlock,
[2, 2, 2, 2])``), and a module-level ``model = nn.Sequential(...)``. A candidate another one
names (a block used by the network) is not meant. Of the rest, one alone is the network; of
several, the one a usage line makes (``net = Net()``); otherwise the choice is ambiguous and a
``SpecError`` lists them for ``entry=``.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from ..errors import SpecError
from .modules import BlockClass
from .names import Scope, is_name

_SHOWN = 8  # candidates named in the message


@dataclass(frozen=True)
class Entry:
    """How the network is made.

    Attributes:
        name: what the user calls (``Net``, ``ResNet18``, ``model``): the spec's default name.
        kind: a class, a factory function or a module-level model assignment.
        node: the class, function or assignment.
        cls: the class whose ``__init__`` and ``forward`` are the network's (None when the
            network is a ``nn.Sequential`` value).
        value: what a factory returns or a model assignment holds.
        body: a factory's statements before its return.
    """

    name: str
    kind: Literal["class", "factory", "model"]
    node: ast.AST
    cls: str | None
    value: ast.expr | None = None
    body: tuple[ast.stmt, ...] = ()


def choose_entry(
    tree: ast.Module, scope: Scope, classes: Mapping[str, BlockClass], wanted: str | None
) -> Entry:
    """The network ``wanted`` names, or the one the source means; else a ``SpecError``."""
    candidates = list(_candidates(tree, scope, classes))
    if not candidates and classes and wanted is None:
        last = list(classes)[-1]  # its __init__'s parameters without defaults are reported
        return Entry(last, "class", classes[last].node, last)
    if not candidates:
        raise SpecError(
            "no network class found: paste a class that subclasses nn.Module "
            "(class Net(nn.Module): ...)"
        )
    by_name = {c.name: c for c in candidates}
    if wanted is not None:
        if wanted not in by_name:
            raise SpecError(
                f"entry={wanted!r} is not a network the code makes without arguments; it "
                f"makes {', '.join(by_name)}"
            )
        return by_name[wanted]
    named = {c.name: _names_in(c.node) for c in candidates}
    users = Counter(name for names in named.values() for name in names)  # linear, not pairs
    roots = [c for c in candidates if users[c.name] - (c.name in named[c.name]) == 0]
    roots = roots or candidates[-1:]
    if len(roots) == 1:
        return roots[0]
    made = [c for c in roots if c.name in _made_by_usage(tree)]
    if made:
        return made[-1]
    names = ", ".join(c.name for c in roots[:_SHOWN])
    if len(roots) > _SHOWN:
        names += f" and {len(roots) - _SHOWN} more"
    raise SpecError(
        f"the code makes several networks ({names}): say which with entry={roots[-1].name!r}"
    )


def _candidates(
    tree: ast.Module, scope: Scope, classes: Mapping[str, BlockClass]
) -> Iterator[Entry]:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in classes:
            methods = classes[node.name].methods
            init = methods.get("__init__")
            if "forward" in methods and (init is None or not _required(init, skip=1)):
                yield Entry(node.name, "class", node, node.name)
        elif isinstance(node, ast.FunctionDef) and is_factory(node):
            value = node.body[-1].value  # type: ignore[attr-defined]
            cls = None
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
                cls = value.func.id if value.func.id in classes else None
            yield Entry(node.name, "factory", node, cls, value, tuple(node.body[:-1]))
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and scope.torch_nn_class(node.value.func) == "Sequential"
        ):
            yield Entry(node.targets[0].id, "model", node, None, node.value)


def is_factory(node: ast.FunctionDef) -> bool:
    """``def ResNet18(): return ResNet(...)``: no parameters, a value returned at the end."""
    args = node.args
    return (
        not node.decorator_list
        and not (args.posonlyargs or args.args or args.vararg or args.kwonlyargs or args.kwarg)
        and bool(node.body)
        and isinstance(node.body[-1], ast.Return)
        and node.body[-1].value is not None
        and not (isinstance(node.body[-1].value, ast.Constant))
    )


def _required(node: ast.FunctionDef, skip: int) -> bool:
    """Whether a function has parameters (after ``skip``) without defaults."""
    args = node.args
    plain = [*args.posonlyargs, *args.args][skip:]
    missing = len(plain) > len(args.defaults)
    return missing or any(d is None for d in args.kw_defaults)


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _made_by_usage(tree: ast.Module) -> set[str]:
    """Names called without arguments in module-level assignments (``net = Net()``)."""
    made = set()
    for node in _top_statements(tree.body):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and not node.value.args
            and not node.value.keywords
        ):
            made.add(node.value.func.id)
    return made


def _top_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        yield node
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and is_name(node.test.left, "__name__")
        ):
            yield from node.body
