"""Pass 3, ``forward`` read into a dataflow graph: the operations, in the order they run.

Values are numbered: 0 is forward's input, and operation ``i`` (from 0) makes value ``i + 1``.
Each operation records the values it reads (``source``, or a merge's ``sources``). Variables
hold values; any expression may read any of them, so skips and branches are plain reads:
``out += self.shortcut(x)`` and ``a + b`` are an ``Add``, ``torch.cat([a, b], 1)`` a ``Concat``.
Applying ``self.X`` follows what ``__init__`` made: a layer is one operation, a
``nn.Sequential`` applies its children in turn, and a block instance has its own ``forward``
read with its input (each instance once; the shared ``Budget`` bounds the total).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .arguments import check_layer
from .classes import ModuleSource, is_docstring, parameters
from .data import Budget
from .functional import ADDS, CATS, Made, cat_dim, function_layer, method_layer
from .interp import Interpreter
from .messages import ForwardInputs, NoReturn, Problems, Refusal, Unreadable, line_of
from .modules import Block, BlockClass, Leaf, Module, Seq
from .names import MAX_DEPTH, Evaluator, is_name
from .steps import ApplyLayer, Merge, NewLayer, Operation
from .tree import ModuleTree

_NOT_A_STEP = (
    "forward is read as steps 'x = layer(x)', merges ('out += self.shortcut(x)', torch.cat) "
    "and a return: no branches, loops or other statements"
)
_FAILED = -1  # a variable whose statement could not be read: its uses are not reported again


@dataclass(frozen=True)
class Dataflow:
    """Pass 3's result: forward's operations and the value it returns (0: none read)."""

    operations: tuple[Operation, ...]
    output: int = 0


@dataclass
class _Frame:
    """One ``forward`` being read: the network's or a block instance's."""

    owner: Block | None
    values: dict[str, int] = field(default_factory=dict)
    result: int | None = None
    modules: dict[str, Module] = field(default_factory=dict)  # for layer in self.layers:


def read_forward(
    module: ModuleSource,
    tree: ModuleTree,
    input_shape: Sequence[int],
    problems: Problems,
    budget: Budget,
) -> Dataflow:
    reader = _ForwardReader(module, tree, input_shape, problems, budget)
    if tree.root is not None:
        try:
            output = reader.apply(tree.root, 0, module.entry.node, 0)
        except Refusal as refusal:
            problems.refused(module.entry.node, refusal)
            return Dataflow(())
        return Dataflow(tuple(reader.operations), output)
    node = module.forward
    if node is None:  # already reported
        return Dataflow(())
    return reader.read(node)


class _ForwardReader:
    def __init__(
        self,
        module: ModuleSource,
        tree: ModuleTree,
        input_shape: Sequence[int],
        problems: Problems,
        budget: Budget,
    ) -> None:
        self.scope = module.scope
        self.tree = tree
        self.evaluator = Evaluator(module.scope, tree.members)
        self.input_shape = input_shape
        self.problems = problems
        self.budget = budget
        self.operations: list[Operation] = []
        self.snippet = problems.text.snippet
        self.interp = Interpreter(
            module.scope, module.classes, list(input_shape), budget, module.helpers
        )
        cls = module.classes.get(module.entry.cls or "")
        cls = cls or BlockClass(module.class_name, ast.ClassDef(), {}, {})
        self.top = Block(cls, 0, dict(tree.modules), dict(tree.members))

    def read(self, node: ast.FunctionDef) -> Dataflow:
        params = parameters(node)
        args = node.args
        if len(params) != 2 or args.vararg or args.kwarg or args.kwonlyargs:
            self.problems.add(ForwardInputs(node.lineno))
        if len(params) < 2:
            return Dataflow(())
        frame = _Frame(None, {params[1]: 0})
        self.problems.each(node.body, lambda statement: self.top_statement(statement, frame))
        if frame.result is None:
            if not any(isinstance(s, ast.Return) for s in node.body):
                self.problems.add(NoReturn(node.lineno))
            return Dataflow(tuple(self.operations))
        return Dataflow(tuple(self.operations), frame.result)

    def top_statement(self, node: ast.stmt, frame: _Frame) -> None:
        """A statement of the network's forward: on a refusal, its operations are dropped."""
        mark = len(self.operations)
        try:
            self.statement(node, frame)
        except Refusal:
            del self.operations[mark:]
            for target in _targets(node):
                frame.values[target] = _FAILED
            raise

    # --- statements -----------------------------------------------------------------------------

    def statement(self, node: ast.stmt, frame: _Frame) -> None:
        self.budget.spend(node)
        if frame.result is not None:
            raise Refusal(node, "code after return never runs")
        if is_docstring(node) or isinstance(node, ast.Pass):
            return
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                frame.values[target.id] = self.tensor(node.value, frame, 0)
                return
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            frame.values[node.target.id] = self.tensor(node.value, frame, 0)
            return
        elif (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(node.op, ast.Add)
        ):
            left = self.variable(node.target, frame)
            right = self.tensor(node.value, frame, 0)
            frame.values[node.target.id] = self.merge(node, [left, right], {"type": "Add"})
            return
        elif isinstance(node, ast.Return):
            if node.value is None:
                raise Refusal(node, "forward must return its result")
            frame.result = self.tensor(node.value, frame, 0)
            return
        elif (
            isinstance(node, ast.For)
            and isinstance(node.target, ast.Name)
            and isinstance(node.iter, ast.Attribute)
            and is_name(node.iter.value, "self")
            and not node.orelse
        ):
            self.loop(node, node.target.id, self.member(node.iter, frame), frame)
            return
        elif isinstance(node, ast.If):  # if self.downsample is not None: on __init__'s values
            for statement in node.body if self.static(node.test, frame) else node.orelse:
                self.statement(statement, frame)
            return
        raise Refusal(node, _NOT_A_STEP)

    def static(self, node: ast.expr, frame: _Frame) -> Any:
        """A test on what ``__init__`` set (``self.downsample is not None``), never on tensors."""
        why = "forward's if is read on values __init__ sets (if self.downsample is not None:)"
        if any(isinstance(n, ast.Name) and n.id in frame.values for n in ast.walk(node)):
            raise Refusal(node, f"{why}: no branches on tensors")
        try:
            return self.interp.expr(node, {}, frame.owner or self.top, 0)
        except Refusal as refusal:
            raise Refusal(refusal.node, f"{why}: {refusal.why}") from None

    def loop(self, node: ast.For, var: str, container: Module, frame: _Frame) -> None:
        """``for layer in self.layers: x = layer(x)`` over a ModuleList or Sequential."""
        if not isinstance(container, Seq):
            raise Refusal(node.iter, "for is read over an nn.ModuleList or nn.Sequential")
        for _, child in container.children:
            self.budget.spend(node)
            frame.modules[var] = child
            for statement in node.body:
                self.statement(statement, frame)
        frame.modules.pop(var, None)

    # --- modules applied ------------------------------------------------------------------------

    def apply(self, module: Module, source: int, node: ast.AST, depth: int) -> int:
        """``module`` applied to value ``source``: the value it makes."""
        if depth > MAX_DEPTH:
            raise Refusal(node, "blocks are nested too deeply")
        if isinstance(module, Leaf):
            if module.name is None:
                raise Refusal(node, "this layer is not a submodule of the network")
            return self.add(ApplyLayer(line_of(node), source, module.name))
        if isinstance(module, Seq):
            if module.listed:
                raise Refusal(
                    node,
                    "an nn.ModuleList is not applied as a whole: for layer in self.layers: "
                    "x = layer(x)",
                )
            for _, child in module.children:
                source = self.apply(child, source, node, depth + 1)
            return source
        return self.block(module, source, node, depth)

    def block(self, block: Block, source: int, node: ast.AST, depth: int) -> int:
        """A block instance's ``forward``, read with its input."""
        forward = block.cls.methods.get("forward")
        if forward is None:
            raise Refusal(node, f"class {block.cls.name!r} has no forward")
        params = parameters(forward)
        args = forward.args
        if len(params) != 2 or args.vararg or args.kwarg or args.kwonlyargs:
            raise Refusal(forward, f"{block.cls.name}.forward is read with one input")
        frame = _Frame(block, {params[1]: source})
        for statement in forward.body:
            try:
                self.statement(statement, frame)
            except Refusal as refusal:
                if refusal.silent or refusal.problem is not None:
                    raise
                line = line_of(refusal.node) or statement.lineno
                problem = Unreadable(line, self.snippet(statement), refusal.why)
                raise Refusal(None, problem=problem) from None
        if frame.result is None:
            raise Refusal(forward, f"{block.cls.name}.forward never returns its result")
        return frame.result

    # --- expressions ----------------------------------------------------------------------------

    def tensor(self, node: ast.expr, frame: _Frame, depth: int) -> int:
        """The value an expression makes; its operations are added as they run."""
        self.budget.spend(node)
        if depth > MAX_DEPTH:
            raise Refusal(node, "the expression is nested too deeply")
        if isinstance(node, ast.Name):
            return self.variable(node, frame)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.tensor(node.left, frame, depth + 1)
            right = self.tensor(node.right, frame, depth + 1)
            return self.merge(node, [left, right], {"type": "Add"})
        if not isinstance(node, ast.Call):
            raise Refusal(
                node,
                "forward is read as layer calls, F.* functions, view/flatten and merges "
                "(a + b, torch.cat): no other arithmetic",
            )
        func = node.func
        if isinstance(func, ast.Attribute) and is_name(func.value, "self"):
            return self.apply_attribute(node, func, frame, depth)
        if isinstance(func, ast.Name) and func.id in frame.modules:  # layer(x) in a loop
            if len(node.args) != 1 or node.keywords:
                raise Refusal(node, f"{func.id} is applied to one input")
            source = self.tensor(node.args[0], frame, depth + 1)
            return self.apply(frame.modules[func.id], source, node, depth + 1)
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not (isinstance(root, ast.Name) and root.id in frame.values):
            dotted = self.scope.dotted(func)
            if dotted is not None:
                return self.function(node, dotted, frame, depth)
        if isinstance(func, ast.Attribute):
            source = self.tensor(func.value, frame, depth + 1)
            text = self.snippet(node) or f"x.{func.attr}(...)"
            return self.made(node, source, method_layer(node, func, self.evaluator, text))
        raise Refusal(node, "forward is read as layer calls, F.* functions and view/flatten steps")

    def variable(self, node: ast.Name, frame: _Frame) -> int:
        value = frame.values.get(node.id)
        if value is None:
            raise Refusal(node, f"{node.id!r} is not a value forward has made before this line")
        if value == _FAILED:
            raise Refusal(node, silent=True)
        return value

    def apply_attribute(
        self, node: ast.Call, func: ast.Attribute, frame: _Frame, depth: int
    ) -> int:
        """``self.conv1(x)``, ``self.layer1(x)`` (a Sequential), ``self.block(x)``."""
        module = self.member(func, frame)
        if len(node.args) != 1 or node.keywords:
            raise Refusal(node, f"self.{func.attr} is applied to one input")
        source = self.tensor(node.args[0], frame, depth + 1)
        return self.apply(module, source, node, depth + 1)

    def member(self, func: ast.Attribute, frame: _Frame) -> Module:
        if frame.owner is None:
            if func.attr in self.tree.failed:
                raise Refusal(func, silent=True)
            module = self.tree.modules.get(func.attr)
        else:
            module = frame.owner.modules.get(func.attr)
        if module is None:
            raise Refusal(func, f"self.{func.attr} is not a layer defined in __init__")
        return module

    def function(self, node: ast.Call, dotted: str, frame: _Frame, depth: int) -> int:
        """``F.relu(x)``, ``torch.flatten(x, 1)``, merges (``torch.cat``, ``torch.add``) ..."""
        if dotted in CATS:
            first = node.args[0] if node.args else None
            if not isinstance(first, (ast.List, ast.Tuple)) or len(first.elts) < 2:
                raise Refusal(node, "torch.cat is read with a list of two or more tensors")
            sources = [self.tensor(item, frame, depth + 1) for item in first.elts]
            return self.merge(node, sources, cat_dim(node, self.evaluator))
        if dotted in ADDS:
            if len(node.args) != 2 or node.keywords:
                raise Refusal(node, "torch.add is read with two tensors")
            sources = [self.tensor(item, frame, depth + 1) for item in node.args]
            return self.merge(node, sources, {"type": "Add"})
        first = node.args[0] if node.args else None
        made = function_layer(node, dotted, self.evaluator)
        if first is None or isinstance(first, ast.Starred):
            raise Refusal(node, f"{dotted} is read with the input first")
        return self.made(node, self.tensor(first, frame, depth + 1), made)

    # --- operations -----------------------------------------------------------------------------

    def add(self, operation: Operation) -> int:
        self.budget.spend(None, 10)
        self.operations.append(operation)
        return len(self.operations)

    def made(self, node: ast.Call, source: int, made: Made) -> int:
        check_layer(node.lineno, made.layer, self.input_shape)
        return self.add(NewLayer(node.lineno, source, made.layer, made.features, made.text))

    def merge(self, node: ast.AST, sources: list[int], layer: dict[str, Any]) -> int:
        return self.add(Merge(line_of(node), tuple(sources), layer))


def _targets(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []
