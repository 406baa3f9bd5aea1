"""Pass 2, ``__init__`` evaluated into a module tree: the named layers, in definition order.

Each statement goes to its handler: a local constant (``n = 16 * 5 * 5``), a layer
(``self.conv1 = nn.Conv2d(3, 6, n)``), a constant member (``self.width = 8``), freezing (``for p
in self.fc1.parameters(): p.requires_grad = False``), or init code (read by ``InitCode`` against
the layers defined so far). The tree records only plain attributes for now; containers
(``nn.Sequential``) and block classes would become subtrees here.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..layers import REGISTRY
from .arguments import check_layer, read_arguments
from .classes import ModuleSource, is_docstring, parameters
from .initcalls import InitChecks
from .initcode import InitCode
from .messages import InitParameters, InitStarArgs, Problems, Refusal
from .names import Evaluator, LayerScope, is_attr, is_name
from .steps import Freeze, LayerDef, Step
from .vocabulary import CONSTRUCTORS, CONTAINERS


@dataclass(frozen=True)
class ModuleTree:
    """Pass 2's result.

    Attributes:
        layers: the named layers by attribute, in definition order.
        failed: attributes whose definition was refused (already reported; later references
            to them are not reported again).
        members: constants assigned to ``self`` (``self.width = 8``).
        steps: the init steps ``__init__`` runs, in order (calls of init methods included).
        freezes: its ``requires_grad`` settings, in order.
    """

    layers: Mapping[str, LayerDef]
    failed: frozenset[str]
    members: Mapping[str, Any]
    steps: tuple[Step, ...]
    freezes: tuple[Freeze, ...]

    def scope(self) -> LayerScope:
        """The layers as code after ``__init__`` names them."""
        return LayerScope(self.layers, self.failed, "in __init__")


def evaluate_init(
    module: ModuleSource, input_shape: Sequence[int], checks: InitChecks, problems: Problems
) -> ModuleTree:
    """Read ``__init__`` (none: an empty tree, already reported)."""
    return _InitReader(module, input_shape, checks, problems).read()


class _InitReader:
    def __init__(
        self,
        module: ModuleSource,
        input_shape: Sequence[int],
        checks: InitChecks,
        problems: Problems,
    ) -> None:
        self.module = module
        self.input_shape = input_shape
        self.problems = problems
        self.layers: dict[str, LayerDef] = {}
        self.failed: set[str] = set()
        self.members: dict[str, Any] = {}
        self.env: dict[str, Any] = {}  # __init__'s local constants
        self.steps: list[Step] = []
        self.evaluator = Evaluator(module.scope, self.members)
        scope = LayerScope(self.layers, self.failed, "before this line")
        self.code = InitCode(module, self.evaluator, scope, checks, problems)

    def read(self) -> ModuleTree:
        node = self.module.init
        if node is not None:
            self.parameters(node)
            self.problems.each(node.body, self.statement)
        return ModuleTree(
            dict(self.layers),
            frozenset(self.failed),
            dict(self.members),
            tuple(self.steps),
            tuple(self.code.freezes),
        )

    def parameters(self, node: ast.FunctionDef) -> None:
        """``def __init__(self, classes=10, *, hidden=16)``: the defaults become locals."""
        plain = parameters(node)[1:]
        args = node.args
        defaults = args.defaults
        missing = plain[: len(plain) - len(defaults)]
        missing += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
        if missing:
            self.problems.add(InitParameters(node.lineno, ", ".join(missing)))
        if args.vararg or args.kwarg:
            self.problems.add(InitStarArgs(node.lineno))
        pairs = list(zip(plain[len(plain) - len(defaults) :], defaults))
        pairs += [(a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d]
        for param, default in pairs:
            try:
                self.env[param] = self.evaluator.value(default)
            except Refusal as refusal:
                self.problems.refused(node, refusal)

    def statement(self, node: ast.stmt) -> None:
        if is_docstring(node) or isinstance(node, ast.Pass):
            return
        if isinstance(node, ast.Expr) and _is_super_init(node.value):
            return
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:  # a local: n = 16 * 5 * 5
            self.env[target.id] = self.evaluator.value(value, self.env)
            return
        if (
            isinstance(target, ast.Attribute)
            and is_name(target.value, "self")
            and value is not None
        ):
            self.assign(node, target.attr, value)
            return
        if isinstance(node, ast.For) and self.parameters_loop(node):
            return
        self.code.statement(node, self.steps)

    def assign(self, node: ast.stmt, attr: str, value: ast.expr) -> None:
        """``self.conv1 = nn.Conv2d(...)`` (or ``self.n = 10``, a constant member)."""
        if attr in self.layers:
            first = self.layers[attr].line
            raise Refusal(node, f"self.{attr} is assigned twice (first on line {first})")
        if not isinstance(value, ast.Call):
            self.members[attr] = self.evaluator.value(value, self.env)
            return
        self.failed.add(attr)  # until it is read
        cls = self.module.scope.torch_nn_class(value.func)
        if cls is None:
            raise Refusal(value, "only torch.nn layers are supported")
        if cls in CONTAINERS:
            raise Refusal(
                value,
                f"nn.{cls} containers are not supported: define each layer as its own "
                "attribute (self.conv1 = nn.Conv2d(...))",
            )
        if cls not in REGISTRY:
            raise Refusal(
                value, f"nn.{cls} is not a layer type NetBuilder knows ({', '.join(REGISTRY)})"
            )
        args = read_arguments(value, CONSTRUCTORS[cls], self.evaluator, self.env)
        check_layer(value.lineno, {"type": cls, "name": attr, **args}, self.input_shape)
        self.layers[attr] = LayerDef(attr, cls, args, value.lineno)
        self.failed.discard(attr)

    def parameters_loop(self, node: ast.For) -> bool:
        """``for p in self.fc1.parameters(): p.requires_grad = False`` freezes fc1."""
        it = node.iter
        if not (
            isinstance(node.target, ast.Name)
            and isinstance(it, ast.Call)
            and isinstance(it.func, ast.Attribute)
            and it.func.attr == "parameters"
            and not it.args
            and not it.keywords
            and len(node.body) == 1
            and not node.orelse
        ):
            return False
        layer = self.code.layers.ref(it.func.value, "self")
        var = node.target.id
        body = node.body[0]
        flag = None
        if (
            isinstance(body, ast.Assign)
            and len(body.targets) == 1
            and is_attr(body.targets[0], var, "requires_grad")
        ):
            flag = self.evaluator.value(body.value)
        elif (
            isinstance(body, ast.Expr)
            and isinstance(body.value, ast.Call)
            and is_attr(body.value.func, var, "requires_grad_")
            and len(body.value.args) <= 1
            and not body.value.keywords
        ):
            flag = self.evaluator.value(body.value.args[0]) if body.value.args else True
        if not isinstance(flag, bool):
            raise Refusal(body, "only p.requires_grad = False (or True) is read here")
        self.code.frozen(layer.name, flag, node.lineno)
        return True


def _is_super_init(call: ast.expr) -> bool:
    """``super().__init__()``, ``super(Net, self).__init__()``, ``nn.Module.__init__(self)``."""
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "__init__"
        and not call.keywords
    ):
        return False
    inner = call.func.value
    if isinstance(inner, ast.Call) and is_name(inner.func, "super"):
        return not call.args and not inner.keywords
    return (
        isinstance(inner, ast.Attribute)
        and inner.attr == "Module"
        and len(call.args) == 1
        and is_name(call.args[0], "self")
    )
