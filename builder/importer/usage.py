"""Usage lines outside the class: ``net = Net()``, ``net.initialize_weights()``, ``print(net)``.

Read, never run, against an allow-list: only names bound here, the class, the imports and
``print`` / ``len``; only calls of those, of ``torch.*`` and of the net's methods; no private
attributes. What they do to the design (init steps, freezing, the seed) is kept.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .classes import ModuleSource
from .initcalls import InitChecks
from .initcode import InitCode
from .messages import Problems, Refusal
from .names import MAX_DEPTH, Evaluator, is_name
from .steps import CallMethod, Freeze, Step
from .tree import ModuleTree

_BUILTINS = ("print", "len")
_EXPRESSIONS = (
    ast.Tuple,
    ast.List,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.BoolOp,
    ast.Subscript,
    ast.IfExp,
    ast.Slice,
)


@dataclass(frozen=True)
class Usage:
    """What the usage lines do to the design."""

    steps: tuple[Step, ...]
    freezes: tuple[Freeze, ...]
    seed: int | None


def read_usage(
    module: ModuleSource, tree: ModuleTree, checks: InitChecks, problems: Problems
) -> Usage:
    evaluator = Evaluator(module.scope, tree.members)
    code = InitCode(module, evaluator, tree.scope(), checks, problems)
    reader = _UsageReader(module, code, problems)
    problems.each(module.usage, reader.statement)
    return Usage(tuple(reader.steps), tuple(code.freezes), reader.seed)


class _UsageReader:
    def __init__(self, module: ModuleSource, code: InitCode, problems: Problems) -> None:
        self.module = module
        self.scope = module.scope
        self.class_name = module.class_name
        self.code = code
        self.problems = problems
        self.steps: list[Step] = []
        self.seed: int | None = None
        entry = module.entry
        # names bound to Net() (a module-level model is the net itself)
        self.nets: set[str] = {entry.name} if entry.kind == "model" else set()
        self.defined = {*module.classes, *module.helpers}  # other classes and factories
        self.names: set[str] = set()  # other names bound by usage lines

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            value = node.value
            targets = {t.id for t in node.targets if isinstance(t, ast.Name)}
            if isinstance(value, ast.Call) and is_name(value.func, self.class_name):
                if value.args or value.keywords:
                    raise Refusal(
                        value,
                        f"{self.class_name}(...) is read without arguments: give __init__'s "
                        "parameters the values as defaults",
                    )
                self.nets |= targets
                return
            if targets <= self.scope.constants.keys() | self.scope.deferred.keys():
                return
            self.expression(value)
            self.names |= targets
            return
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Call) and self.net_call(node.value):
                return
            self.expression(node.value)
            return
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and not node.orelse:
            self.expression(node.iter)
            self.names.add(node.target.id)
            self.problems.each(node.body, self.statement)
            return
        raise Refusal(
            node,
            "outside the class only imports, constants and usage lines such as "
            f"'net = {self.class_name}()' and 'net.initialize_weights()' are read",
        )

    def net_call(self, call: ast.Call) -> bool:
        """``net.initialize_weights()``, ``net.apply(fn)``, ``torch.manual_seed(0)`` ..."""
        func = call.func
        if self.scope.dotted(func) == "torch.manual_seed" and len(call.args) == 1:
            seed = self.code.evaluator.value(call.args[0])
            if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                raise Refusal(call, "the seed must be a non-negative integer")
            if self.seed is None:
                self.seed = seed
            return True
        if self.code.calls.is_init_call(call):
            tensor = func.value if isinstance(func, ast.Attribute) and not call.args else None
            owner = _root_name(call.args[0] if call.args else tensor)
            if owner not in self.nets:
                return False
            self.steps.append(self.code.direct_init(call, owner))
            return True
        owner = _root_name(func)
        if owner not in self.nets:
            return False
        if isinstance(func, ast.Attribute) and is_name(func.value, owner):
            if func.attr == "apply":
                self.steps.append(self.code.apply_call(call, owner))
                return True
            if func.attr in self.module.init_methods:
                if call.args or call.keywords:
                    raise Refusal(call, f"{owner}.{func.attr}() takes no arguments")
                self.steps.append(CallMethod(func.attr, call.lineno))
                return True
            return False
        return self.code.freeze(call, owner) is not None

    def bound(self, name: str | None) -> bool:
        """Whether a usage line bound the name (no set union per node: that was quadratic)."""
        return name in self.nets or name in self.names

    def expression(self, node: ast.AST, depth: int = 0) -> None:
        """Refuse anything but harmless uses of the net, torch and printing."""
        if depth > MAX_DEPTH:
            raise Refusal(node, "the expression is nested too deeply")
        if isinstance(node, ast.Name):
            known = self.bound(node.id) or node.id in self.scope.imports
            known = known or node.id in self.scope.constants or node.id in self.defined
            if not known and node.id not in (self.class_name, *_BUILTINS):
                raise Refusal(node, f"{node.id!r} is not read outside the class")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise Refusal(node, f"the private attribute {node.attr!r} is not read")
            self.expression(node.value, depth + 1)
        elif isinstance(node, ast.Call):
            func = node.func
            ok = (self.scope.dotted(func) or "").split(".")[0] == "torch"
            ok = ok or self.bound(_root_name(func))
            ok = ok or any(is_name(func, name) for name in (self.class_name, *_BUILTINS))
            ok = ok or (isinstance(func, ast.Name) and func.id in self.defined)
            if not ok:
                raise Refusal(
                    node, "outside the class only calls of torch, print and the net are read"
                )
            for child in [func, *node.args, *(k.value for k in node.keywords)]:
                self.expression(child, depth + 1)
        elif isinstance(node, ast.Starred):
            self.expression(node.value, depth + 1)
        elif isinstance(node, _EXPRESSIONS):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expression(child, depth + 1)
        elif not isinstance(node, ast.Constant):
            raise Refusal(node, f"{type(node).__name__} is not read outside the class")


def _root_name(node: ast.AST | None) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None
