"""Pass 4, the init recipe: the init methods, walk methods and init functions, read once
``__init__`` has made the module tree (so they may name every layer it defines)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .classes import ModuleSource
from .initcalls import InitChecks
from .initcode import InitCode, size
from .messages import Problems
from .names import Evaluator, LayerScope
from .steps import Freeze, Step, Walk
from .tree import ModuleTree


@dataclass(frozen=True)
class Recipe:
    """Pass 4's result: the steps of each init method, and the walks of walk methods and
    module-level init functions, with the freezes the methods make."""

    methods: Mapping[str, tuple[Step, ...]]
    walk_methods: Mapping[str, Walk]
    functions: Mapping[str, Walk]
    freezes: tuple[Freeze, ...]


def read_recipe(
    module: ModuleSource, tree: ModuleTree, checks: InitChecks, problems: Problems
) -> Recipe:
    evaluator = Evaluator(module.scope, tree.members)
    # a module-level function knows no layers: ``self`` means nothing there
    outside = InitCode(
        module, evaluator, LayerScope({}, set(), "before this line"), checks, problems
    )
    functions = {
        name: Walk(outside.walk(f.node.body, f.var), f.node.lineno, size(f.node))
        for name, f in module.functions.items()
    }
    code = InitCode(module, evaluator, tree.scope(), checks, problems)
    walk_methods = {
        name: Walk(code.walk(m.node.body, m.var), m.node.lineno, size(m.node))
        for name, m in module.walk_methods.items()
    }
    methods: dict[str, tuple[Step, ...]] = {}
    for name, method in module.init_methods.items():
        steps: list[Step] = []
        code.statements(method.node.body, steps)
        methods[name] = tuple(steps)
    return Recipe(methods, walk_methods, functions, tuple(code.freezes))
