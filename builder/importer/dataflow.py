"""Pass 3, ``forward`` read into a dataflow: the operations, in the order they run.

Values are numbered: 0 is forward's input, and operation ``i`` (from 0) makes value ``i + 1``.
Each operation records the value it reads (``source``). Expressions are read one handler per
node type: a variable is the value it holds; a call is a layer applied (``self.conv1(x)``), a
function (``F.relu(x)``, ``torch.flatten(x, 1)``) or a tensor method (``x.view(-1, 400)``).
A plain stack reads one running value from statement to statement; anything else (a skip
connection, a second input) is refused here, statement by statement.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..layers import REGISTRY
from .arguments import check_layer, read_arguments
from .classes import ModuleSource, is_docstring, parameters
from .messages import ForwardInputs, NoReturn, Problems, Refusal
from .names import MAX_DEPTH, Evaluator, is_attr, is_name, same
from .steps import ApplyLayer, NewLayer, Operation
from .tree import ModuleTree
from .vocabulary import FUNCTIONS, RESHAPES, TENSOR_METHODS, Signature

_NOT_A_STEP = (
    "forward is read as steps 'x = layer(x)' and a return: no branches, loops or other statements"
)


@dataclass(frozen=True)
class Dataflow:
    """Pass 3's result: forward's operations, and every ``self.X`` it mentions."""

    operations: tuple[Operation, ...]
    mentioned: frozenset[str]


@dataclass(frozen=True)
class _Read:
    """What an expression reads: the variable at its bottom, and the value it makes."""

    variable: str
    value: int


def read_forward(
    module: ModuleSource, tree: ModuleTree, input_shape: Sequence[int], problems: Problems
) -> Dataflow:
    node = module.forward
    if node is None:  # already reported
        return Dataflow((), frozenset())
    return _ForwardReader(module, tree, input_shape, problems).read(node)


class _ForwardReader:
    def __init__(
        self,
        module: ModuleSource,
        tree: ModuleTree,
        input_shape: Sequence[int],
        problems: Problems,
    ) -> None:
        self.scope = module.scope
        self.layers = tree.scope()
        self.evaluator = Evaluator(module.scope, tree.members)
        self.input_shape = input_shape
        self.problems = problems
        self.operations: list[Operation] = []
        self.pending: list[Operation] = []  # the statement being read
        self.values: dict[str, int] = {}  # variable -> the value it holds
        self.current = ""  # the running value's variable
        self.returned = False
        self.snippet = problems.text.snippet

    def read(self, node: ast.FunctionDef) -> Dataflow:
        params = parameters(node)
        args = node.args
        if len(params) != 2 or args.vararg or args.kwarg or args.kwonlyargs:
            self.problems.add(ForwardInputs(node.lineno))
        if len(params) < 2:
            return Dataflow((), frozenset())
        mentioned = frozenset(
            n.attr
            for n in ast.walk(node)
            if isinstance(n, ast.Attribute) and is_name(n.value, "self")
        )
        self.current = params[1]
        self.values[self.current] = 0
        self.problems.each(node.body, self.statement)
        if not self.returned:
            self.problems.add(NoReturn(node.lineno))
        return Dataflow(tuple(self.operations), mentioned)

    # --- statements -----------------------------------------------------------------------------

    def statement(self, node: ast.stmt) -> None:
        if self.returned:
            raise Refusal(node, "code after return never runs")
        if is_docstring(node) or isinstance(node, ast.Pass):
            return
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        elif isinstance(node, ast.Return):
            self.returned = True
            value = node.value
            if value is None:
                raise Refusal(node, "forward must return its result")
        if value is None or (target is not None and not isinstance(target, ast.Name)):
            raise Refusal(node, _NOT_A_STEP)
        made = self.values[self.current]
        try:
            made = self.step(value)
        finally:
            if isinstance(target, ast.Name):  # the running value goes on, read or not
                self.values[target.id] = made
                self.current = target.id

    def step(self, node: ast.expr) -> int:
        """One statement's expression, which must read the running value."""
        self.pending = []
        read = self.expression(node, 0)
        if read.variable != self.current:
            raise Refusal(
                node,
                f"it reads {read.variable!r}, not the running value {self.current!r}: skip "
                "connections and second inputs are not supported",
            )
        self.operations += self.pending
        return read.value

    # --- expressions ----------------------------------------------------------------------------

    def expression(self, node: ast.expr, depth: int) -> _Read:
        """Walk ``f(g(x))`` down to its variable; the operations are added as they run."""
        if depth > MAX_DEPTH:
            raise Refusal(node, "the expression is nested too deeply")
        if isinstance(node, ast.Name):
            return _Read(node.id, self.values.get(node.id, -1))
        if not isinstance(node, ast.Call):
            raise Refusal(
                node,
                "forward is read as layer calls, F.* functions and view/flatten "
                "(no arithmetic: skip connections are not supported)",
            )
        func = node.func
        if isinstance(func, ast.Attribute) and is_name(func.value, "self"):
            return self.apply_layer(node, func, depth)
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not is_name(root, self.current):
            dotted = self.scope.dotted(func)
            if dotted is not None:
                return self.function(node, dotted, depth)
        if isinstance(func, ast.Attribute):
            return self.method(node, func, depth)
        raise Refusal(node, "forward is read as layer calls, F.* functions and view/flatten steps")

    def add(self, source: _Read, make: Callable[[int], Operation]) -> _Read:
        """Append the operation ``make(source value)``; what it reads and the value it makes."""
        self.pending.append(make(source.value))
        return _Read(source.variable, len(self.operations) + len(self.pending))

    def apply_layer(self, node: ast.Call, func: ast.Attribute, depth: int) -> _Read:
        """``self.conv1(x)``."""
        layer = self.layers.ref(func, "self")
        if len(node.args) != 1 or node.keywords:
            raise Refusal(node, f"self.{layer.name} is applied to one input")
        source = self.expression(node.args[0], depth + 1)
        return self.add(source, lambda value: ApplyLayer(node.lineno, value, layer.name))

    def new_layer(self, node: ast.Call, source: _Read, layer: dict[str, Any]) -> _Read:
        check_layer(node.lineno, layer, self.input_shape)
        return self.add(source, lambda value: NewLayer(node.lineno, value, layer))

    def function(self, node: ast.Call, dotted: str, depth: int) -> _Read:
        """``F.relu(x)``, ``torch.flatten(x, 1)``, ``F.max_pool2d(x, 2)`` ..."""
        if dotted != "torch.flatten" and dotted not in FUNCTIONS:
            raise Refusal(
                node, f"{dotted} is not a function the reader knows (F.relu, F.max_pool2d, ...)"
            )
        first = node.args[0] if node.args else None
        if first is None or isinstance(first, ast.Starred):
            raise Refusal(node, f"{dotted} is read with the input first")
        source = self.expression(first, depth + 1)
        if dotted == "torch.flatten":
            return self.new_layer(node, source, self.flatten(node, 1, dotted))
        signature = FUNCTIONS[dotted]
        args = read_arguments(node, signature, self.evaluator, skip=1)
        if signature.training and not _is_training(node, signature):
            raise Refusal(
                node,
                f"{dotted} without training=self.training stays active in eval mode: "
                f"write training=self.training, or use an nn.{signature.layer_type} layer",
            )
        return self.new_layer(node, source, {"type": signature.layer_type, **args})

    def method(self, node: ast.Call, func: ast.Attribute, depth: int) -> _Read:
        """``x.view(-1, 400)``, ``x.flatten(1)``, ``x.relu()`` ..."""
        source = self.expression(func.value, depth + 1)
        if func.attr in RESHAPES:
            features = self.view(node, func.attr)
            text = self.snippet(node) or f"x.{func.attr}(...)"
            return self.add(
                source,
                lambda value: NewLayer(node.lineno, value, {"type": "Flatten"}, features, text),
            )
        if func.attr == "flatten":
            return self.new_layer(node, source, self.flatten(node, 0, "x.flatten"))
        if func.attr in TENSOR_METHODS:
            signature = TENSOR_METHODS[func.attr]
            args = read_arguments(node, signature, self.evaluator)
            return self.new_layer(node, source, {"type": signature.layer_type, **args})
        raise Refusal(node, f".{func.attr}() is not a step the reader knows")

    def flatten(self, node: ast.Call, skip: int, what: str) -> dict[str, Any]:
        """``torch.flatten(x, 1)`` / ``x.flatten(1)``: there start_dim defaults to 0."""
        order = ("start_dim", "end_dim")
        if len(node.args) - skip > 2:
            raise Refusal(node, f"{what} takes start_dim and end_dim")
        given = {"start_dim": 0, "end_dim": -1}
        pairs = [*zip(order, node.args[skip:]), *((k.arg, k.value) for k in node.keywords)]
        for key, value in pairs:
            if key not in order:
                raise Refusal(node, f"{what} is read with start_dim and end_dim")
            given[key] = self.evaluator.value(value)
        if given["start_dim"] == 0:
            fix = f"{what}(x, 1)" if skip else "x.flatten(1)"
            raise Refusal(node, f"this also flattens the batch dimension: write {fix}")
        entry = REGISTRY["Flatten"]
        return {
            "type": "Flatten",
            **{k: v for k, v in given.items() if not same(v, entry.arg(k).default)},
        }

    def view(self, node: ast.Call, method: str) -> int | None:
        """``x.view(-1, 16 * 5 * 5)`` / ``x.view(x.size(0), -1)``: a Flatten to (batch, n).

        Returns:
            The feature count given, which the analysis must confirm; None for ``-1``.
        """
        args = node.args
        if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
            args = args[0].elts
        usage = f"x.{method}(-1, n) or x.{method}(x.size(0), -1)"
        if len(args) != 2 or node.keywords:
            raise Refusal(node, f"a {method} is read to (batch, features) only: {usage}")
        free_batch = _is_batch(args[0])
        if not free_batch and self.constant(args[0]) != -1:
            raise Refusal(node, f"the batch size must stay free: {usage}")
        features = self.constant(args[1])
        if not isinstance(features, int) or isinstance(features, bool):
            raise Refusal(node, f"the feature count must be a constant integer: {usage}")
        if features == -1 and not free_batch:
            raise Refusal(node, f"one of the sizes must be given: {usage}")
        if features == 0 or features < -1:
            raise Refusal(node, f"the feature count must be positive: {usage}")
        return None if features == -1 else features

    def constant(self, node: ast.expr) -> Any:
        """A value if it is a constant, else None."""
        try:
            return self.evaluator.value(node)
        except Refusal:
            return None


def _is_training(node: ast.Call, signature: Signature) -> bool:
    given = dict(zip(signature.order, node.args[1:]))
    given.update({k.arg: k.value for k in node.keywords if k.arg})
    return is_attr(given.get("training"), "self", "training")


def _is_batch(node: ast.AST) -> bool:
    """``x.size(0)``, ``x.shape[0]``, ``x.size()[0]``, ``len(x)``: the batch size."""
    if isinstance(node, ast.Call):
        if is_name(node.func, "len"):
            return len(node.args) == 1 and isinstance(node.args[0], ast.Name)
        return (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "size"
            and isinstance(node.func.value, ast.Name)
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == 0
        )
    if isinstance(node, ast.Subscript):
        base = node.value
        zero = isinstance(node.slice, ast.Constant) and node.slice.value == 0
        shape = isinstance(base, ast.Attribute) and base.attr == "shape"
        size = (
            isinstance(base, ast.Call)
            and isinstance(base.func, ast.Attribute)
            and base.func.attr == "size"
            and not base.args
        )
        return zero and (shape or size)
    return False
