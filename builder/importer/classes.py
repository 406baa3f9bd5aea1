"""Pass 1, the module: imports, constants, the network class, its methods, and the rest.

The module's statements are sorted into what later passes read: the network class (the last
``nn.Module`` subclass) with its ``__init__`` and ``forward``, its init methods
(``def initialize_weights(self):``) and walk methods (``def _init(self, m):`` given to
``apply``), module-level init functions (``def weights_init(m):``), and the usage lines outside
the class (``net = Net()``). Nothing is evaluated here but the module's constants.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .entry import Entry, choose_entry
from .messages import (
    ClassDecorated,
    MissingMethod,
    Problems,
    Refusal,
    UnknownFunction,
    UnknownMethod,
)
from .modules import BlockClass
from .names import Constant, Evaluator, Scope, is_name

_MODULE = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})
_READ_AS = ("__init__", "forward")


@dataclass(frozen=True)
class InitMethod:
    """``def initialize_weights(self):``: init steps, run where it is called (or, if never
    called, after everything else: the recipe is meant)."""

    name: str
    node: ast.FunctionDef


@dataclass(frozen=True)
class WalkMethod:
    """``def _init_weights(self, m):`` passed to ``self.apply``: a walk over every module."""

    name: str
    node: ast.FunctionDef
    var: str


@dataclass(frozen=True)
class InitFunction:
    """``def weights_init(m):`` at module level, for ``net.apply(weights_init)``."""

    name: str
    node: ast.FunctionDef
    var: str


@dataclass(frozen=True)
class ModuleSource:
    """The module sorted for the later passes.

    ``net`` is the class whose ``__init__`` and ``forward`` are the network's (None for a
    module-level ``model = nn.Sequential(...)``); ``entry`` says how the network is made.
    """

    scope: Scope
    net: ast.ClassDef | None
    init: ast.FunctionDef | None
    forward: ast.FunctionDef | None
    init_methods: Mapping[str, InitMethod]
    walk_methods: Mapping[str, WalkMethod]
    functions: Mapping[str, InitFunction]
    usage: tuple[ast.stmt, ...]
    classes: Mapping[str, BlockClass]
    entry: Entry
    helpers: Mapping[str, ast.FunctionDef]  # functions returning a value: def conv3x3(...)

    @property
    def class_name(self) -> str:
        return self.entry.name


def read_module(tree: ast.Module, problems: Problems, entry: str | None = None) -> ModuleSource:
    """Sort the module's statements; a module without a network is a ``SpecError``."""
    scope = _module_scope(tree)
    classes = {
        c.name: block_class(c, scope)
        for c in tree.body
        if isinstance(c, ast.ClassDef) and any(scope.dotted(b) in _MODULE for b in c.bases)
    }
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    chosen = choose_entry(tree, scope, classes, entry)
    net = classes[chosen.cls].node if chosen.cls else None
    methods = _methods(net, problems) if net is not None else {}
    init_methods, walk_methods = _init_methods(methods, _applied_names(tree), problems)
    helpers = {f.name: f for f in functions if _returns(f)}
    skipped = {*map(id, functions)}
    if chosen.kind == "model":
        skipped.add(id(chosen.node))
    return ModuleSource(
        scope=scope,
        net=net,
        init=methods.get("__init__"),
        forward=methods.get("forward"),
        init_methods=init_methods,
        walk_methods=walk_methods,
        functions=_init_functions([f for f in functions if f.name not in helpers], problems),
        usage=tuple(_usage_statements(tree.body, skipped)),
        classes=classes,
        entry=chosen,
        helpers=helpers,
    )


def block_class(node: ast.ClassDef, scope: Scope) -> BlockClass:
    """A class's methods (the first of a name) and class constants (``expansion = 1``)."""
    methods: dict[str, ast.FunctionDef] = {}
    constants: dict[str, Any] = {}
    evaluator = Evaluator(scope)
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            methods.setdefault(item.name, item)
        elif (
            isinstance(item, ast.Assign)
            and len(item.targets) == 1
            and isinstance(item.targets[0], ast.Name)
        ):
            with contextlib.suppress(Refusal):
                constants[item.targets[0].id] = evaluator.value(item.value, constants)
    return BlockClass(node.name, node, methods, constants)


def _module_scope(tree: ast.Module) -> Scope:
    """The imports, then the constants (``WIDTH = 8``), of the module and its main block."""
    scope = Scope()
    body = list(_module_statements(tree.body))
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            scope.bind_import(node)
    evaluator = Evaluator(scope)
    for node in body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name = node.targets[0].id
            try:
                scope.constants[name] = Constant(name, evaluator.value(node.value), node.lineno)
            except Refusal:
                if not any(isinstance(n, ast.Call) for n in ast.walk(node.value)):
                    scope.deferred[name] = node.value
    return scope


def _methods(net: ast.ClassDef, problems: Problems) -> dict[str, ast.FunctionDef]:
    """The class's methods by name (the first of a name); other statements are problems."""
    if net.decorator_list or net.keywords:
        problems.add(ClassDecorated(net.lineno, net.name))
    methods: dict[str, ast.FunctionDef] = {}
    for node in net.body:
        if isinstance(node, ast.FunctionDef) and node.name not in methods:
            methods[node.name] = node
        elif not (is_docstring(node) or isinstance(node, ast.Pass) or _is_constant(node)):
            why = "the class body is read as __init__, forward and init methods"
            problems.refused(node, Refusal(node, why))
    for method in _READ_AS:
        if method not in methods:
            problems.add(MissingMethod(net.lineno, net.name, method))
    return methods


def _init_methods(
    methods: dict[str, ast.FunctionDef], applied: set[str], problems: Problems
) -> tuple[dict[str, InitMethod], dict[str, WalkMethod]]:
    """The methods besides ``__init__`` and ``forward``: init methods and walk methods."""
    init_methods: dict[str, InitMethod] = {}
    walk_methods: dict[str, WalkMethod] = {}
    helpers = helper_methods(methods)
    for name, node in methods.items():
        if name in _READ_AS or name in helpers:
            continue
        params = parameters(node)
        plain = not (
            node.decorator_list
            or node.args.defaults
            or node.args.vararg
            or node.args.kwarg
            or node.args.kwonlyargs
        )
        if plain and params == ["self"]:
            init_methods[name] = InitMethod(name, node)
        elif plain and len(params) == 2 and params[0] == "self" and name in applied:
            walk_methods[name] = WalkMethod(name, node, params[1])
        else:
            problems.add(UnknownMethod(node.lineno, name))
    return init_methods, walk_methods


def helper_methods(methods: Mapping[str, ast.FunctionDef]) -> set[str]:
    """Methods ``__init__`` calls (or a helper calls) that take arguments or return a value
    (``self._make_layer(block, 64, 2)``): evaluated where called, not init methods."""
    helpers: set[str] = set()
    todo = [methods["__init__"]] if "__init__" in methods else []
    while todo:
        for node in ast.walk(todo.pop()):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and is_name(node.func.value, "self")
                and node.func.attr in methods
                and node.func.attr not in helpers
                and node.func.attr not in _READ_AS
            ):
                method = methods[node.func.attr]
                returns = any(
                    isinstance(n, ast.Return) and n.value is not None for n in ast.walk(method)
                )
                if node.args or node.keywords or returns:
                    helpers.add(node.func.attr)
                    todo.append(method)
    return helpers


def _returns(node: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(node))


def _is_constant(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    )


def _init_functions(
    functions: list[ast.FunctionDef], problems: Problems
) -> dict[str, InitFunction]:
    """Module-level ``def init(m):`` functions; any other function is a problem."""
    out = {}
    for node in functions:
        params = parameters(node)
        if node.decorator_list or len(params) != 1 or node.args.defaults:
            problems.add(UnknownFunction(node.lineno, node.name))
        else:
            out[node.name] = InitFunction(node.name, node, params[0])
    return out


def _usage_statements(body: list[ast.stmt], skipped: set[int]) -> Iterator[ast.stmt]:
    """Statements outside the class that are neither imports, classes nor init functions."""
    for node in body:
        if id(node) in skipped or isinstance(node, ast.ClassDef):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass)) or is_docstring(node):
            continue
        if isinstance(node, ast.If) and _is_main_test(node.test):
            yield from _usage_statements(node.body, skipped)
            yield from _usage_statements(node.orelse, skipped)
            continue
        yield node


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements, and those of ``if __name__ == "__main__":``."""
    for node in body:
        yield node
        if isinstance(node, ast.If) and _is_main_test(node.test):
            yield from node.body


def _applied_names(tree: ast.Module) -> set[str]:
    """Names passed as ``X.apply(Y.name)`` anywhere: methods that take the module."""
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "apply"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Attribute)
        ):
            names.add(node.args[0].attr)
    return names


def _is_main_test(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and is_name(test.left, "__name__")
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def parameters(node: ast.FunctionDef) -> list[str]:
    return [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
