"""Static evaluation of ``__init__`` code into module values, never running it.

Read: constants, arithmetic, comparisons, lists and tuples, ``for`` over lists and ``range``,
``if`` on constants, locals, attributes set on ``self``, ``layers.append(...)``, helper methods
that return a module (``self._make_layer(block, 64, 2, stride=1)``), ``nn.Sequential(...)``
(also ``nn.Sequential(*layers)`` and ``nn.Sequential(OrderedDict([...]))``), torch.nn layers, and
instances of classes defined in the same source (their ``__init__`` evaluated with the given
arguments). Every statement, expression, list item and block instance spends a shared
``Budget``, so loops and nesting cannot make the work grow beyond ``MAX_WORK``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from ..layers import REGISTRY
from .arguments import check_layer, read_arguments
from .classes import is_docstring, parameters
from .data import ARITHMETIC, Budget, DataExpressions
from .messages import Refusal, line_of
from .modules import (
    MAX_CONTAINERS,
    Block,
    BlockClass,
    ClassRef,
    Leaf,
    Ordered,
    Seq,
    depth,
    is_module,
    spec_name,
)
from .names import NO_LOCALS, Evaluator, Scope, is_name
from .vocabulary import CONSTRUCTORS, CONTAINERS

MAX_NESTING = 24  # blocks and helper methods inside each other
_LAYER_COST = 50  # validating a layer costs about as much as 50 expressions
_PENDING = object()  # module-level data being evaluated


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


class _Values(Evaluator):
    """The ``Evaluator`` ``read_arguments`` takes, evaluating through the interpreter."""

    def __init__(self, interp: Interpreter, owner: Block | None, nesting: int) -> None:
        super().__init__(interp.scope)
        self.interp = interp
        self.owner = owner
        self.nesting = nesting

    def value(self, node: ast.AST, env: Mapping[str, Any] = NO_LOCALS, depth: int = 0) -> Any:
        return self.interp.expr(node, dict(env), self.owner, self.nesting, depth)


class Interpreter(DataExpressions):
    """Evaluates ``__init__`` code; ``classes`` are the block classes defined in the source."""

    def __init__(
        self,
        scope: Scope,
        classes: Mapping[str, BlockClass],
        input_shape: list[int],
        budget: Budget,
        functions: Mapping[str, ast.FunctionDef] = NO_LOCALS,
    ) -> None:
        self.scope = scope
        self.classes = classes
        self.functions = functions  # module-level helpers: def conv3x3(cin, cout, stride=1)
        self.input_shape = input_shape
        self.budget = budget
        self.data: dict[str, Any] = {}  # module-level data, evaluated once

    # --- classes and methods --------------------------------------------------------------------

    def instantiate(
        self, cls: BlockClass, args: list[Any], kwargs: dict[str, Any], node: ast.AST, nesting: int
    ) -> Block:
        """``BasicBlock(64, 64, 1)``: its ``__init__`` run with the arguments."""
        if nesting > MAX_NESTING:
            raise Refusal(node, "blocks are nested too deeply (a block that makes itself?)")
        self.budget.spend(node, _LAYER_COST)
        block = Block(cls, line_of(node))
        init = cls.methods.get("__init__")
        if init is None:
            if args or kwargs:
                raise Refusal(node, f"{cls.name}() takes no arguments")
            return block
        env = self.bind(init, args, kwargs, node, nesting)
        self.run(init.body, env, block, nesting + 1)
        return block

    def call_method(
        self,
        block: Block,
        name: str,
        args: list[Any],
        kwargs: dict[str, Any],
        node: ast.AST,
        nesting: int,
    ) -> Any:
        """``self._make_layer(block, 64, 2, stride=1)``: the method run, its return value."""
        method = block.cls.methods.get(name)
        if method is None or name in ("__init__", "forward"):
            raise Refusal(node, f"self.{name}(...) is not a helper method defined in the class")
        if nesting > MAX_NESTING:
            raise Refusal(node, "helper methods call each other too deeply")
        env = self.bind(method, args, kwargs, node, nesting)
        try:
            self.run(method.body, env, block, nesting + 1)
        except _Return as done:
            return done.value
        return None

    def bind(
        self,
        func: ast.FunctionDef,
        args: list[Any],
        kwargs: dict[str, Any],
        node: ast.AST,
        nesting: int,
    ) -> dict[str, Any]:
        """The parameters after ``self`` bound to the arguments, then to their defaults."""
        spec = func.args
        if spec.vararg or spec.kwarg or func.decorator_list:
            raise Refusal(node, f"{func.name}'s *args, **kwargs and decorators are not read")
        names = parameters(func)[1:]
        if len(args) > len(names):
            raise Refusal(node, f"{func.name} takes {len(names)} arguments, got {len(args)}")
        env = dict(zip(names, args))
        defaults = dict(zip(names[len(names) - len(spec.defaults) :], spec.defaults))
        defaults.update({a.arg: d for a, d in zip(spec.kwonlyargs, spec.kw_defaults) if d})
        known = {*names, *(a.arg for a in spec.kwonlyargs)}
        for key, value in kwargs.items():
            if key not in known or key in env:
                raise Refusal(node, f"{func.name} does not take {key!r} here")
            env[key] = value
        for key in known - env.keys():
            if key not in defaults:
                raise Refusal(node, f"{func.name} needs a value for {key!r}")
            env[key] = self.expr(defaults[key], {}, None, nesting)
        return env

    # --- statements -----------------------------------------------------------------------------

    def run(
        self, body: list[ast.stmt], env: dict[str, Any], owner: Block | None, nesting: int
    ) -> None:
        for node in body:
            self.statement(node, env, owner, nesting)

    def statement(
        self, node: ast.stmt, env: dict[str, Any], owner: Block | None, nesting: int
    ) -> None:
        self.budget.spend(node)
        if is_docstring(node) or isinstance(node, ast.Pass) or is_super_init(node):
            return
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            self.store(node.targets[0], self.expr(node.value, env, owner, nesting), env, owner)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.store(node.target, self.expr(node.value, env, owner, nesting), env, owner)
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, tuple(ARITHMETIC)):
            old = self.expr(node.target, env, owner, nesting)
            new = self.expr(node.value, env, owner, nesting)
            self.store(node.target, self.arithmetic(node, node.op, old, new), env, owner)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            self.call_statement(node.value, env, owner, nesting)
        elif isinstance(node, ast.For) and not node.orelse:
            items = self.expr(node.iter, env, owner, nesting)
            if not isinstance(items, (list, tuple)):
                raise Refusal(node.iter, "for loops are read over lists, tuples and range(...)")
            for item in list(items):
                self.budget.spend(node)
                self.store(node.target, item, env, owner)
                self.run(node.body, env, owner, nesting)
        elif isinstance(node, ast.If):
            test = self.expr(node.test, env, owner, nesting)
            self.run(node.body if test else node.orelse, env, owner, nesting)
        elif isinstance(node, ast.Return):
            raise _Return(
                None if node.value is None else self.expr(node.value, env, owner, nesting)
            )
        else:
            raise Refusal(
                node,
                "a block's __init__ is read as layers, constants, lists, for loops over lists "
                "and range, and if on constants",
            )

    def store(self, target: ast.expr, value: Any, env: dict[str, Any], owner: Block | None) -> None:
        if isinstance(target, ast.Name):
            env[target.id] = value
        elif isinstance(target, ast.Attribute) and is_name(target.value, "self") and owner:
            set_member(owner, target.attr, value, target)
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (list, tuple)):
            if len(target.elts) != len(value):
                raise Refusal(target, f"cannot unpack {len(value)} values into {len(target.elts)}")
            for item, part in zip(target.elts, value):
                self.store(item, part, env, owner)
        else:
            raise Refusal(target, "values are assigned to names and to self.<name>")

    def call_statement(
        self, call: ast.Call, env: dict[str, Any], owner: Block | None, nesting: int
    ) -> None:
        """``layers.append(block(...))``, ``layers.extend(...)`` or ``self._build()``."""
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("append", "extend")
            and len(call.args) == 1
            and not call.keywords
        ):
            target = self.expr(func.value, env, owner, nesting)
            if isinstance(target, list):
                item = self.expr(call.args[0], env, owner, nesting)
                if func.attr == "append":
                    target.append(item)
                elif isinstance(item, (list, tuple)):
                    self.budget.spend(call, len(item))
                    target.extend(item)
                else:
                    raise Refusal(call, "extend takes a list")
                return
        if isinstance(func, ast.Attribute) and is_name(func.value, "self"):
            self.expr(call, env, owner, nesting)
            return
        raise Refusal(call, "this call is not read in a block's __init__")

    # --- expressions ----------------------------------------------------------------------------

    def expr(
        self,
        node: ast.AST,
        env: dict[str, Any],
        owner: Block | None,
        nesting: int,
        depth: int = 0,
    ) -> Any:
        self.budget.spend(node)
        if depth > 60:
            raise Refusal(node, "the expression is nested too deeply")
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise Refusal(node, "only constants, arithmetic, lists and layers are read here")
        return handler(self, node, env, owner, nesting, depth + 1)

    def name(self, node: ast.Name, env, owner, nesting, depth) -> Any:
        if node.id in env:
            return env[node.id]
        if node.id in self.scope.constants:
            return self.scope.constants[node.id].value
        if node.id in self.scope.deferred:
            if node.id not in self.data:
                self.data[node.id] = _PENDING  # a value that names itself is refused
                try:
                    value = self.expr(self.scope.deferred[node.id], {}, None, nesting)
                except Refusal:
                    del self.data[node.id]
                    raise
                self.data[node.id] = value
            if self.data[node.id] is _PENDING:
                raise Refusal(node, f"{node.id!r} is defined by itself")
            return self.data[node.id]
        if node.id in self.classes:
            return ClassRef(self.classes[node.id])
        raise Refusal(node, f"{node.id!r} is not a value the reader knows here")

    def attribute(self, node: ast.Attribute, env, owner, nesting, depth) -> Any:
        if is_name(node.value, "self") and owner is not None:
            return get_member(owner, node.attr, node)
        base = self.expr(node.value, env, owner, nesting, depth)
        if isinstance(base, ClassRef) and node.attr in base.cls.constants:
            return base.cls.constants[node.attr]
        if isinstance(base, Block):
            return get_member(base, node.attr, node)
        raise Refusal(node, f"cannot read the attribute {node.attr!r} here")

    def comprehension(self, node: ast.ListComp, env, owner, nesting, depth) -> Any:
        """``[Block(c) for _ in range(3)]``: one ``for``, its ``if``s; names stay local."""
        if len(node.generators) != 1 or node.generators[0].is_async:
            raise Refusal(node, "list comprehensions are read with one for")
        loop = node.generators[0]
        items = self.expr(loop.iter, env, owner, nesting, depth)
        if not isinstance(items, (list, tuple)):
            raise Refusal(loop.iter, "for is read over lists, tuples and range(...)")
        local = dict(env)
        out = []
        for item in list(items):
            self.budget.spend(node)
            self.store(loop.target, item, local, None)
            if all(self.expr(test, local, owner, nesting, depth) for test in loop.ifs):
                out.append(self.expr(node.elt, local, owner, nesting, depth))
                self.weigh(node, out[-1])
        return out

    def call(self, node: ast.Call, env, owner, nesting, depth) -> Any:
        from .calls import evaluate_call  # the two modules read each other

        return evaluate_call(self, node, env, owner, nesting, depth)

    def layer(
        self,
        node: ast.Call,
        cls: str,
        env: dict[str, Any],
        owner: Block | None,
        nesting: int,
        name: str | None = None,
    ) -> Any:
        """``nn.Conv2d(in_planes, planes, 3)`` (a registered type) or ``nn.Sequential(...)``;
        ``name``: the attribute it is assigned to, for messages."""
        if cls == "Sequential":
            return self.sequential(node, env, owner, nesting)
        if cls == "ModuleList":
            return self.module_list(node, env, owner, nesting)
        if cls in CONTAINERS:
            raise Refusal(node, f"nn.{cls} is not read: use nn.Sequential or attributes")
        if cls not in REGISTRY or cls not in CONSTRUCTORS or REGISTRY[cls].prefix in ("add", "cat"):
            raise Refusal(
                node, f"nn.{cls} is not a layer type NetBuilder knows ({', '.join(REGISTRY)})"
            )
        self.budget.spend(node, _LAYER_COST)
        args = read_arguments(node, CONSTRUCTORS[cls], _Values(self, owner, nesting), env)
        named = {"name": spec_name(name, set())} if name else {}
        check_layer(node.lineno, {"type": cls, **named, **_plain(args)}, self.input_shape)
        return Leaf(cls, _plain(args), node.lineno)

    def sequential(
        self, node: ast.Call, env: dict[str, Any], owner: Block | None, nesting: int
    ) -> Seq:
        if node.keywords:
            raise Refusal(node, "nn.Sequential takes modules only")
        items = self.sequence(ast.List(elts=node.args), env, owner, nesting, 0)
        if len(items) == 1 and isinstance(items[0], Ordered):
            pairs = list(items[0].items)
        else:
            pairs = [(str(i), item) for i, item in enumerate(items)]
        return _container(node, pairs, listed=False)

    def module_list(
        self, node: ast.Call, env: dict[str, Any], owner: Block | None, nesting: int
    ) -> Seq:
        """``nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])``: made whole, not appended."""
        if node.keywords or len(node.args) > 1:
            raise Refusal(node, "nn.ModuleList is read with one list of modules")
        items = self.expr(node.args[0], env, owner, nesting) if node.args else []
        if not isinstance(items, (list, tuple)):
            raise Refusal(node, "nn.ModuleList is read with one list of modules")
        pairs = [(str(i), item) for i, item in enumerate(items)]
        return _container(node, pairs, listed=True)


def _container(node: ast.Call, pairs: list[tuple[str, Any]], listed: bool) -> Seq:
    for _, item in pairs:
        if not is_module(item):
            raise Refusal(node, "a container holds layers and blocks only")
    nested = 1 + max((depth(item) for _, item in pairs), default=0)
    if nested > MAX_CONTAINERS:
        raise Refusal(node, "Sequentials and blocks are nested too deeply")
    return Seq(pairs, node.lineno, nested, listed)


def _plain(args: Mapping[str, Any]) -> dict[str, Any]:
    """Tuples as lists, as a spec writes them."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()}


def get_member(owner: Block, attr: str, node: ast.AST) -> Any:
    if attr in owner.modules:
        return owner.modules[attr]
    if attr in owner.members:
        return owner.members[attr]
    if attr in owner.cls.constants:
        return owner.cls.constants[attr]
    raise Refusal(
        node,
        f"only literal values and constant arithmetic are read: self.{attr} is not set "
        "before this line",
    )


def set_member(owner: Block, attr: str, value: Any, node: ast.AST | None = None) -> None:
    """torch keeps a submodule assigned again at its first place (``_modules[attr] = value``)."""
    if is_module(value):
        owner.depth = max(owner.depth, depth(value) + 1)
        if owner.depth > MAX_CONTAINERS:
            raise Refusal(node, "Sequentials and blocks are nested too deeply")
        owner.members.pop(attr, None)
        owner.modules[attr] = value
    else:
        owner.modules.pop(attr, None)
        owner.members[attr] = value


def is_super_init(node: ast.AST) -> bool:
    """``super().__init__()``, ``super(Net, self).__init__()``, ``nn.Module.__init__(self)``."""
    call = node.value if isinstance(node, ast.Expr) else node
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


_HANDLERS: dict[type, Callable[..., Any]] = {
    ast.Constant: Interpreter.constant,
    ast.Name: Interpreter.name,
    ast.Attribute: Interpreter.attribute,
    ast.List: Interpreter.sequence,
    ast.Tuple: Interpreter.sequence,
    ast.UnaryOp: Interpreter.unary,
    ast.BinOp: Interpreter.binary,
    ast.BoolOp: Interpreter.boolean,
    ast.Compare: Interpreter.compare,
    ast.IfExp: Interpreter.if_expression,
    ast.Subscript: Interpreter.subscript,
    ast.Dict: Interpreter.dictionary,
    ast.ListComp: Interpreter.comprehension,
    ast.Call: Interpreter.call,
}
