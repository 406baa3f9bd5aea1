"""Init code as typed steps: calls on named layers, walks over the modules, freezing.

``InitCode`` reads the statements of ``__init__`` that are not layers, of init methods, of
usage lines that initialize, and of walks (``for m in self.modules():``, ``self.apply(fn)``),
one handler per kind of statement; its tests on the walked module become ``Test`` objects.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from ..layers import REGISTRY
from .classes import ModuleSource, is_docstring
from .initcalls import InitCalls, InitChecks, check_any
from .messages import Problems, Refusal
from .names import MAX_DEPTH, Evaluator, LayerScope, is_name
from .steps import (
    All,
    Always,
    AnyOf,
    ApplyFunction,
    ApplyMethod,
    Branch,
    CallMethod,
    DirectInit,
    Freeze,
    HasAttribute,
    HasTensor,
    IsInstance,
    IsLayer,
    Not,
    SetInit,
    Step,
    Test,
    Walk,
    WalkItem,
)
from .vocabulary import TENSORS

_LOOPS = ("modules", "children", "named_modules", "named_children")


class InitCode:
    """Reads init code against the layers ``layers`` can name; freezes are kept in order."""

    def __init__(
        self,
        module: ModuleSource,
        evaluator: Evaluator,
        layers: LayerScope,
        checks: InitChecks,
        problems: Problems,
    ) -> None:
        self.module = module
        self.scope = module.scope
        self.evaluator = evaluator
        self.calls = InitCalls(evaluator)
        self.layers = layers
        self.checks = checks
        self.problems = problems
        self.freezes: list[Freeze] = []

    # --- statements -----------------------------------------------------------------------------

    def statements(self, body: list[ast.stmt], steps: list[Step]) -> None:
        self.problems.each(body, lambda node: self.statement(node, steps))

    def statement(self, node: ast.stmt, steps: list[Step]) -> None:
        """A statement of an init method, or of ``__init__`` besides the layers."""
        if is_docstring(node) or isinstance(node, ast.Pass):
            return
        if isinstance(node, ast.With) and self.no_grad(node):
            self.statements(node.body, steps)
            return
        if isinstance(node, ast.For):
            steps.append(self.modules_loop(node))
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            step = self.call(node.value, "self")
            if step is not None:
                if not isinstance(step, Freeze):
                    steps.append(step)
                return
        raise Refusal(
            node,
            "__init__ and init methods are read as layers (self.conv1 = nn.Conv2d(...)), "
            "init calls (nn.init.zeros_(self.fc1.bias)), 'for m in self.modules():' loops "
            "and self.initialize_weights()",
        )

    def call(self, call: ast.Call, owner: str) -> Step | Freeze | None:
        """``owner.apply(fn)``, ``owner.initialize_weights()``, ``owner.fc1.requires_grad_()``
        or an init call on ``owner``'s layer; None for any other call."""
        func = call.func
        if isinstance(func, ast.Attribute) and is_name(func.value, owner):
            if func.attr == "apply":
                return self.apply_call(call, owner)
            if func.attr in self.module.init_methods:
                if call.args or call.keywords:
                    raise Refusal(call, f"{owner}.{func.attr}() takes no arguments")
                return CallMethod(func.attr, call.lineno)
        freeze = self.freeze(call, owner)
        if freeze is not None:
            return freeze
        if self.calls.is_init_call(call):
            return self.direct_init(call, owner)
        return None

    def apply_call(self, call: ast.Call, owner: str) -> ApplyMethod | ApplyFunction:
        """``self.apply(self._init_weights)`` / ``net.apply(init_fn)``."""
        if len(call.args) != 1 or call.keywords:
            raise Refusal(call, "apply takes one function")
        fn = call.args[0]
        if isinstance(fn, ast.Attribute) and is_name(fn.value, owner):
            if fn.attr in self.module.walk_methods:
                return ApplyMethod(fn.attr, call.lineno)
        elif isinstance(fn, ast.Name) and fn.id in self.module.functions:
            return ApplyFunction(fn.id, call.lineno)
        raise Refusal(call, "apply is read with an init function defined in this code")

    def no_grad(self, node: ast.With) -> bool:
        item = node.items[0]
        return (
            len(node.items) == 1
            and isinstance(item.context_expr, ast.Call)
            and self.scope.dotted(item.context_expr.func) == "torch.no_grad"
            and item.optional_vars is None
        )

    def freeze(self, call: ast.Call, owner: str) -> Freeze | None:
        """``self.fc1.requires_grad_(False)``; None if the call is not one."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "requires_grad_"):
            return None
        if isinstance(func.value, ast.Attribute) and func.value.attr in (*TENSORS, "data"):
            raise Refusal(
                call,
                f"freezing one tensor is not supported: freeze the layer "
                f"({owner}.fc1.requires_grad_(False))",
            )
        layer = self.layers.ref(func.value, owner)
        if call.keywords or len(call.args) > 1:
            raise Refusal(call, "requires_grad_ is read with True or False")
        flag = self.evaluator.value(call.args[0]) if call.args else True
        if not isinstance(flag, bool):
            raise Refusal(call, "requires_grad_ is read with True or False")
        return self.frozen(layer.name, flag, call.lineno)

    def frozen(self, layer: str, trainable: bool, line: int) -> Freeze:
        freeze = Freeze(layer, trainable, line)
        self.freezes.append(freeze)
        return freeze

    def direct_init(self, call: ast.Call, owner: str) -> DirectInit:
        """``nn.init.x_(self.conv1.weight(.data), ...)`` or ``self.fc3.bias.data.zero_()``."""
        target, init = self.calls.read(call)
        node = _strip_data(target)
        if not (isinstance(node, ast.Attribute) and node.attr in TENSORS):
            raise Refusal(call, f"expected a layer's weight or bias ({owner}.conv1.weight)")
        layer = self.layers.ref(node.value, owner)
        entry = REGISTRY[layer.type]
        if not entry.tensor_names:
            raise Refusal(call, f"{owner}.{layer.name} ({layer.type}) has no weights")
        if node.attr not in present_tensors(layer.type, layer.args):
            raise Refusal(call, f"{owner}.{layer.name} has no {node.attr} (set to None)")
        step = DirectInit(layer.name, node.attr, init, call.lineno)
        if not self.checks.fits(step, call.lineno, layer.type, node.attr, init):
            raise Refusal(call, silent=True)
        return step

    # --- walks ----------------------------------------------------------------------------------

    def modules_loop(self, node: ast.For) -> Walk:
        """``for m in self.modules():`` (or ``named_modules`` / ``children``) and its body."""
        it = node.iter
        if not (
            isinstance(it, ast.Call)
            and isinstance(it.func, ast.Attribute)
            and is_name(it.func.value, "self")
            and it.func.attr in _LOOPS
            and not (node.orelse or it.args or it.keywords)
        ):
            raise Refusal(node, "the initialization is read with loops 'for m in self.modules():'")
        method = it.func.attr
        target = node.target
        if method.startswith("named"):
            if not (
                isinstance(target, ast.Tuple)
                and len(target.elts) == 2
                and isinstance(target.elts[1], ast.Name)
            ):
                raise Refusal(node, f"expected 'for name, m in self.{method}():'")
            var = target.elts[1].id
        elif isinstance(target, ast.Name):
            var = target.id
        else:
            raise Refusal(node, "expected 'for m in self.modules():'")
        return Walk(self.walk(node.body, var), node.lineno, size(node))

    def walk(self, body: list[ast.stmt], var: str, depth: int = 0) -> tuple[WalkItem, ...]:
        """The body run for each module ``var``, as tests and INITs."""
        items: list[WalkItem] = []
        self.problems.each(body, lambda node: self.walk_statement(node, var, depth, items))
        return tuple(items)

    def walk_statement(self, node: ast.stmt, var: str, depth: int, items: list[WalkItem]) -> None:
        if depth > MAX_DEPTH:
            raise Refusal(node, "the code is nested too deeply")
        if is_docstring(node) or isinstance(node, ast.Pass):
            return
        if isinstance(node, ast.If):
            test = self.condition(node.test, var)
            then = self.walk(node.body, var, depth + 1)
            items.append(Branch(test, then, self.walk(node.orelse, var, depth + 1)))
            return
        if isinstance(node, ast.With) and self.no_grad(node):
            items.extend(self.walk(node.body, var, depth + 1))
            return
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and self.calls.is_init_call(node.value)
        ):
            target, init = self.calls.read(node.value)
            tensor = _strip_data(target)
            if not (
                isinstance(tensor, ast.Attribute)
                and tensor.attr in TENSORS
                and is_name(tensor.value, var)
            ):
                raise Refusal(node, f"inside the loop, initialize {var}.weight or {var}.bias")
            check_any(node.lineno, init)
            items.append(SetInit(tensor.attr, init, node.lineno))
            return
        raise Refusal(
            node,
            f"inside the loop, only tests on {var} (isinstance, {var} is self.conv1, "
            f"{var}.bias is not None) and init calls are read",
        )

    def condition(self, node: ast.expr, var: str, depth: int = 0) -> Test:
        """A test on the walked module."""
        if depth > MAX_DEPTH:
            raise Refusal(node, "the test is nested too deeply")
        if isinstance(node, ast.BoolOp):
            tests = tuple(self.condition(v, var, depth + 1) for v in node.values)
            return All(tests) if isinstance(node.op, ast.And) else AnyOf(tests)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return Not(self.condition(node.operand, var, depth + 1))
        test = None
        if isinstance(node, ast.Call):
            test = self.call_test(node, var)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1:
            test = self.compare_test(node, var)
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            test = Always(node.value)
        if test is None:
            raise Refusal(
                node,
                f"the tests read are isinstance({var}, nn.Conv2d), {var} is self.conv1 and "
                f"{var}.bias is not None",
            )
        return test

    def call_test(self, node: ast.Call, var: str) -> Test | None:
        """``isinstance(m, nn.Linear)`` / ``hasattr(m, "bias")``."""
        if not (
            isinstance(node.func, ast.Name)
            and len(node.args) == 2
            and not node.keywords
            and is_name(node.args[0], var)
        ):
            return None
        if node.func.id == "isinstance":
            return IsInstance(self.classes(node.args[1]))
        attr = node.args[1]
        if node.func.id == "hasattr" and isinstance(attr, ast.Constant) and attr.value in TENSORS:
            return HasAttribute(attr.value)
        return None

    def compare_test(self, node: ast.Compare, var: str) -> Test | None:
        """``m is self.fc1``, ``m.bias is not None``, ``type(m) == nn.Linear``."""
        left, op, right = node.left, node.ops[0], node.comparators[0]
        negate = isinstance(op, (ast.IsNot, ast.NotEq))
        identity = isinstance(op, (ast.Is, ast.IsNot))
        test: Test | None = None
        if identity and is_name(left, var):
            test = IsLayer(self.layers.ref(right, "self").name)
        elif (
            identity
            and isinstance(left, ast.Attribute)
            and is_name(left.value, var)
            and left.attr in TENSORS
            and isinstance(right, ast.Constant)
            and right.value is None
        ):
            return HasTensor(left.attr, negate)
        elif (
            isinstance(op, (ast.Is, ast.IsNot, ast.Eq, ast.NotEq))
            and isinstance(left, ast.Call)
            and is_name(left.func, "type")
            and len(left.args) == 1
            and is_name(left.args[0], var)
        ):
            test = IsInstance(self.classes(right))
        if test is None:
            return None
        return Not(test) if negate else test

    def classes(self, node: ast.expr) -> frozenset[str]:
        out = set()
        for item in node.elts if isinstance(node, ast.Tuple) else [node]:
            name = self.scope.torch_nn_class(item)
            if name is None:
                raise Refusal(item, "isinstance is read with torch.nn classes")
            out.add(name)
        return frozenset(out)


def size(node: ast.AST) -> int:
    """Syntax nodes: what running a walk once costs against ``MAX_INIT_WORK``."""
    return sum(1 for _ in ast.walk(node))


def present_tensors(layer_type: str, args: Mapping[str, object]) -> frozenset[str]:
    """The parameter tensors a layer has (``bias=False`` and ``affine=False`` take them away)."""
    entry = REGISTRY[layer_type]
    return frozenset(n for n, _ in entry.tensors(entry.resolved(dict(args)), 1))


def _strip_data(node: ast.AST) -> ast.AST:
    """``m.weight.data`` -> ``m.weight``."""
    if isinstance(node, ast.Attribute) and node.attr == "data":
        return node.value
    return node
