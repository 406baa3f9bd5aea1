"""Pass 2, ``__init__`` evaluated into a module tree: the named layers, in definition order.

Each statement goes to its handler: a local constant (``n = 16 * 5 * 5``), a layer
(``self.conv1 = nn.Conv2d(3, 6, n)``), a constant member (``self.width = 8``), freezing (``for p
in self.fc1.parameters(): p.requires_grad = False``), or init code (read by ``InitCode`` against
the layers defined so far). Values that are more than a
constant go through the static ``Interpreter``: ``nn.Sequential``s, instances of block classes
defined in the source, helper methods (``self._make_layer(...)``), ``for`` loops and ``if``s; each
submodule's layers are then named by their flattened path (``layer1_0_conv1``).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..layers import REGISTRY
from ..limits import MAX_LAYERS
from .classes import ModuleSource, is_docstring, parameters
from .data import Budget
from .initcalls import InitChecks
from .initcode import InitCode
from .interp import Interpreter, is_super_init, set_member
from .messages import InitParameters, InitStarArgs, Problems, Refusal, line_of
from .modules import Block, BlockClass, Leaf, Module, Seq, leaves, place, spec_name
from .names import Evaluator, LayerScope, is_attr, is_name
from .steps import Freeze, LayerDef, Step


@dataclass(frozen=True)
class ModuleTree:
    """Pass 2's result.

    Attributes:
        layers: every torch.nn layer by spec name (``layer1_0_conv1``), in registration order.
        refs: the network's own layer attributes (``self.fc1``), for init code.
        modules: the network's submodules by attribute (layers, ``nn.Sequential``s, blocks).
        root: the network itself when it is a ``nn.Sequential`` value (no class).
        failed: attributes whose definition was refused (already reported; later references
            to them are not reported again).
        members: constants assigned to ``self`` (``self.width = 8``).
        steps: the init steps ``__init__`` runs, in order (calls of init methods included).
        freezes: its ``requires_grad`` settings, in order.
    """

    layers: Mapping[str, LayerDef]
    refs: Mapping[str, LayerDef]
    modules: Mapping[str, Module]
    root: Module | None
    failed: frozenset[str]
    members: Mapping[str, Any]
    steps: tuple[Step, ...]
    freezes: tuple[Freeze, ...]

    def scope(self) -> LayerScope:
        """The layers as code after ``__init__`` names them."""
        return LayerScope(self.refs, self.failed, "in __init__")


def evaluate_init(
    module: ModuleSource,
    input_shape: Sequence[int],
    checks: InitChecks,
    problems: Problems,
    budget: Budget,
) -> ModuleTree:
    """Read ``__init__`` (none: an empty tree, already reported)."""
    return _InitReader(module, input_shape, checks, problems, budget).read()


class _InitReader:
    def __init__(
        self,
        module: ModuleSource,
        input_shape: Sequence[int],
        checks: InitChecks,
        problems: Problems,
        budget: Budget,
    ) -> None:
        self.module = module
        self.input_shape = input_shape
        self.problems = problems
        self.layers: dict[str, LayerDef] = {}
        self.refs: dict[str, LayerDef] = {}
        self.modules: dict[str, Module] = {}
        self.placed: dict[str, int] = {}  # attribute -> the line it was placed on
        self.shown: dict[str, Module] = {}  # attribute -> the module whose layers are named
        self.names: set[str] = set()  # spec names taken
        self.root: Module | None = None
        self.failed: set[str] = set()
        self.members: dict[str, Any] = {}
        self.env: dict[str, Any] = {}  # __init__'s locals
        self.steps: list[Step] = []
        self.evaluator = Evaluator(module.scope, self.members)
        self.interp = Interpreter(
            module.scope, module.classes, list(input_shape), budget, module.helpers
        )
        net = module.classes.get(module.entry.cls or "")
        cls = net or BlockClass(module.class_name, ast.ClassDef(), {}, {})
        self.top = Block(cls, 0, self.modules, self.members)
        scope = LayerScope(self.refs, self.failed, "before this line")
        self.code = InitCode(module, self.evaluator, scope, checks, problems)

    def read(self) -> ModuleTree:
        entry = self.module.entry
        node = self.module.init
        if entry.kind == "factory" or entry.cls is None:
            self.problems.each([entry.node], self.entry_value)
        elif node is not None:
            self.parameters(node)
        if node is not None and entry.cls is not None:
            self.problems.each(node.body, self.statement)
        return ModuleTree(
            dict(self.layers),
            dict(self.refs),
            dict(self.modules),
            self.root,
            frozenset(self.failed),
            dict(self.members),
            tuple(self.steps),
            tuple(self.code.freezes),
        )

    def entry_value(self, node: ast.AST) -> None:
        """A factory's result or a module-level model: the class's arguments, or the model."""
        entry = self.module.entry
        env: dict[str, Any] = {}
        if entry.body:
            self.interp.run(list(entry.body), env, self.top, 0)
        value = entry.value
        if value is None:
            return
        if entry.cls is not None and isinstance(value, ast.Call):
            init = self.module.init
            args = self.interp.sequence(ast.List(elts=value.args), env, self.top, 0, 0)
            if any(k.arg is None for k in value.keywords):
                raise Refusal(value, "**kwargs are not read")
            kwargs = {
                k.arg: self.interp.expr(k.value, env, self.top, 0) for k in value.keywords if k.arg
            }
            if init is not None:
                self.env.update(self.interp.bind(init, list(args), kwargs, value, 0))
            return
        result = self.interp.expr(value, env, self.top, 0)
        if not isinstance(result, (Seq, Leaf)):
            raise Refusal(value, "the network is read as a class, or as an nn.Sequential")
        self.root = result
        for key, leaf in _root_leaves(result):
            self.register(leaf, key, node)

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
                self.env[param] = self.interp.expr(default, {}, None, 0)
            except Refusal as refusal:
                self.problems.refused(node, refusal)

    def statement(self, node: ast.stmt) -> None:
        if is_docstring(node) or isinstance(node, ast.Pass) or is_super_init(node):
            return
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:  # a local: n = 16 * 5 * 5
            self.env[target.id] = self.interp.expr(value, self.env, self.top, 0)
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
        if _builds(node):  # for loops over lists, if on constants, layers.append(...)
            try:
                self.interp.statement(node, self.env, self.top, 0)
            finally:
                self.sync(node)
            return
        self.code.statement(node, self.steps)

    def assign(self, node: ast.stmt, attr: str, value: ast.expr) -> None:
        """``self.conv1 = nn.Conv2d(...)``, ``self.layer1 = self._make_layer(...)``, a block, a
        ``nn.Sequential`` (or ``self.n = 10``, a constant member)."""
        if attr in self.placed and any(True for _ in leaves(self.modules[attr])):
            first = self.placed[attr]
            raise Refusal(node, f"self.{attr} is assigned twice (first on line {first})")
        self.failed.add(attr)  # until it is read
        cls = self.module.scope.torch_nn_class(value.func) if isinstance(value, ast.Call) else None
        try:
            if cls is not None and isinstance(value, ast.Call):
                result = self.interp.layer(value, cls, self.env, self.top, 0, name=attr)
            else:
                result = self.interp.expr(value, self.env, self.top, 0)
        finally:
            self.sync(node)
        set_member(self.top, attr, result)
        self.sync(node)
        self.failed.discard(attr)

    def sync(self, node: ast.AST) -> None:
        """Name the layers of submodules set since the last time (helper methods set some)."""
        for attr, value in self.modules.items():
            if self.shown.get(attr) is not value:  # new, or an empty Sequential replaced
                if any(leaf.name for leaf in leaves(value)):
                    raise Refusal(node, f"a layer of self.{attr} is already placed elsewhere")
                self.shown[attr] = value
                self.placed.setdefault(attr, line_of(node))
                for leaf in place(value, attr, node, self.names):
                    self.register(leaf, leaf.name or attr, node)
                    if leaf is value:
                        self.refs[attr] = self.layers[leaf.name or attr]

    def register(self, leaf: Leaf, key: str, node: ast.AST) -> None:
        if len(self.layers) >= MAX_LAYERS:
            raise Refusal(node, f"the network has more than {MAX_LAYERS} layers")
        self.layers[key] = LayerDef(key, leaf.type, leaf.args, leaf.line, leaf.explicit)

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
        names = self.frozen_layers(it.func.value)
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
        for name in names:
            self.code.frozen(name, flag, node.lineno)
        return True

    def frozen_layers(self, node: ast.expr) -> list[str]:
        """``self.fc1`` or ``self.layer1`` (a Sequential or block: each layer with weights)."""
        if isinstance(node, ast.Attribute) and is_name(node.value, "self"):
            module = self.modules.get(node.attr)
            if module is not None and not isinstance(module, Leaf):
                return [
                    leaf.name
                    for leaf in leaves(module)
                    if leaf.name and REGISTRY[leaf.type].tensor_names
                ]
        return [self.code.layers.ref(node, "self").name]


def _builds(node: ast.stmt) -> bool:
    """Statements read by evaluation: ``for`` over a list, ``if``, ``layers.append(...)``."""
    if isinstance(node, ast.If):
        return True
    if isinstance(node, ast.For):
        it = node.iter
        return not (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute))
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr in ("append", "extend")
    )


def _root_leaves(root: Seq | Leaf) -> list[tuple[str, Leaf]]:
    """A model that is a ``nn.Sequential``: its layers, named by an OrderedDict's keys, else
    left to default names (``conv1``, ``relu1``)."""
    if isinstance(root, Leaf):
        root.explicit = False
        return [("0", root)]
    out = []
    used: set[str] = set()
    for number, (key, child) in enumerate(root.children):
        named = not key.isdigit()
        for index, leaf in enumerate(leaves(child)):
            if named:
                leaf.name = spec_name(key if isinstance(child, Leaf) else f"{key}_{index}", used)
                used.add(leaf.name)
            else:
                leaf.explicit = False
                leaf.name = f"{number}_{index}"
            out.append((leaf.name, leaf))
    return out
