"""The exported ``forward`` of a graph spec (SPEC.md "Graphs"), written as a person writes it.

A plain stack keeps ``codegen``'s one statement per layer. A graph reads like torchvision's
``BasicBlock``: one running variable ``x``; ``identity = x`` where the network input is read
again later; a layer's own name as a variable for an output read again after other layers
have run; merges as expressions (``x + identity``, ``torch.cat((x, self.branch(x)), dim=1)``),
not modules. A value read once flows through ``x`` or inline into the expression that reads it,
so every variable besides ``x`` holds a value that is read more than once.

Inlining evaluates a layer later than the spec's order where it waits for its reader. Only a
layer that draws random numbers (dropout, in training) or overwrites its input (``inplace``)
can tell; a graph with one of those whose inlined form changes the order is written one
statement per layer in the spec's order instead (its single-use values then get variables too).

Long statements are wrapped as ``ruff format`` wraps them: calls with one argument a line and a
trailing comma (which ``ruff format`` keeps), sums one operand a line inside parentheses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

LINE_LENGTH = 100  # as in pyproject.toml
INDENT = "    "
RUNNING = "x"
INPUT = "input"
# names a forward variable must not take: the running variable, ``self`` and the modules used
_TAKEN = frozenset({RUNNING, "self", "torch", "nn", "F"})
_KEEP_IN_X = 2  # a value read again stays in ``x`` if all its readers are this close


@dataclass(frozen=True)
class Op:
    """What one layer does in ``forward``.

    ``kind`` is ``"call"`` (``head(input, *extra)``: ``self.conv1`` or ``F.relu``), ``"add"``
    or ``"cat"`` (``extra`` is then ``("dim=1",)``). ``comment`` is the output shape's comment.
    """

    name: str
    inputs: tuple[str, ...]
    kind: str
    head: str = ""
    extra: tuple[str, ...] = ()
    comment: str = ""
    sensitive: bool = False  # draws random numbers or overwrites its input


@dataclass
class _Node:
    """An expression: ``atom`` (a name or ``dim=1``), ``call``, ``tuple`` or ``sum``."""

    kind: str
    text: str = ""
    items: list[_Node] = field(default_factory=list)
    order: list[int] = field(default_factory=list)  # the layers it evaluates, in order
    reads_x: bool = False

    def flat(self) -> str:
        if self.kind == "atom":
            return self.text
        if self.kind == "call":
            return f"{self.text}({', '.join(item.flat() for item in self.items)})"
        if self.kind == "tuple":
            return "(" + ", ".join(item.flat() for item in self.items) + ")"
        return " + ".join(_operand(item, first=i == 0) for i, item in enumerate(self.items))


def _operand(node: _Node, first: bool) -> str:
    # (a + b) + c is a + b + c; a + (b + c) keeps its parentheses (float sums do not regroup)
    text = node.flat()
    return text if first or node.kind != "sum" else f"({text})"


def _atom(text: str) -> _Node:
    return _Node("atom", text, reads_x=text == RUNNING)


def _combine(kind: str, text: str, items: list[_Node], layer: int) -> _Node:
    order = [i for item in items for i in item.order] + [layer]
    return _Node(kind, text, items, order, any(item.reads_x for item in items))


def _wrapped(node: _Node, indent: str, prefix: str, suffix: str) -> list[str]:
    """``prefix`` + the node + ``suffix`` on one line if it fits, else wrapped."""
    one = f"{indent}{prefix}{node.flat()}{suffix}"
    if len(one) <= LINE_LENGTH or node.kind == "atom":
        return [one]
    inner = indent + INDENT
    if node.kind == "sum":
        if suffix == ",":  # an item of a call or a tuple: one operand a line, no parentheses
            lines = _sum_lines(node, indent)
            return [*lines[:-1], lines[-1] + suffix]
        return [f"{indent}{prefix}(", *_sum_lines(node, inner), f"{indent}){suffix}"]
    opening = f"{node.text}(" if node.kind == "call" else "("
    return [f"{indent}{prefix}{opening}", *_items(node, inner), f"{indent}){suffix}"]


def _items(node: _Node, indent: str) -> list[str]:
    """A call's arguments or a tuple's items one a line, each with a trailing comma."""
    return [line for item in node.items for line in _wrapped(item, indent, "", ",")]


def _sum_lines(node: _Node, indent: str) -> list[str]:
    """A sum one operand a line (``a`` / ``+ b``), as ``ruff format`` splits it."""
    first = node.items[0]
    lines = _sum_lines(first, indent) if first.kind == "sum" else _wrapped(first, indent, "", "")
    for item in node.items[1:]:
        if item.kind != "sum":
            lines += _wrapped(item, indent, "+ ", "")
        elif len(f"{indent}+ ({item.flat()})") <= LINE_LENGTH:
            lines.append(f"{indent}+ ({item.flat()})")
        else:
            lines += [f"{indent}+ (", *_sum_lines(item, indent + INDENT), f"{indent})"]
    return lines


def statement_lines(target: str, node: _Node, comment: str, indent: str) -> list[str]:
    """``target = node  # comment``, the comment on its own line before a statement too long."""
    head = f"{target} = "
    one = f"{indent}{head}{node.flat()}"
    if comment and len(f"{one}  {comment}") <= LINE_LENGTH:
        return [f"{one}  {comment}"]
    before = [f"{indent}{comment}"] if comment else []
    if len(one) <= LINE_LENGTH:
        return [*before, one]
    if node.kind == "sum" and len(node.items) == 2 and node.items[1].kind == "call":
        # ruff format splits a two-operand sum inside its last call when the line allows it
        last = node.items[1]
        start = f"{indent}{head}{_operand(node.items[0], True)} + {last.text}("
        if len(start) <= LINE_LENGTH:
            body = _items(last, indent + INDENT)
            return [*before, start, *body, f"{indent})"]
    first = node.items[0] if node.kind == "sum" else None
    if first is not None and len(node.items) == 2 and first.kind == "call":
        # else inside its first call, the rest after the closing parenthesis
        start = f"{indent}{head}{first.text}("
        args = f"{indent}{INDENT}{', '.join(item.flat() for item in first.items)}"
        end = f"{indent}) + {_operand(node.items[1], False)}"
        if len(start) <= LINE_LENGTH and len(end) <= LINE_LENGTH:
            body = [args] if len(args) <= LINE_LENGTH else _items(first, indent + INDENT)
            return [*before, start, *body, end]
    if node.kind in ("call", "tuple"):
        opening = f"{indent}{head}{node.text if node.kind == 'call' else ''}("
        if len(opening) <= LINE_LENGTH:
            return [*before, *_wrapped(node, indent, head, "")]
    if node.kind == "sum":  # in parentheses: on one line if it fits there, else split
        inner = f"{indent}{INDENT}{node.flat()}"
        lines = [inner] if len(inner) <= LINE_LENGTH else _sum_lines(node, indent + INDENT)
        return [*before, f"{indent}{head}(", *lines, f"{indent})"]
    inner = _wrapped(node, indent + INDENT, "", "")
    return [*before, f"{indent}{head}(", *inner, f"{indent})"]


def _variables(ops: Sequence[Op]) -> dict[str, str]:
    """Each value's variable name, were it to need one: the layer's name, ``identity`` for the
    network input; a name that would clash gets ``_out`` (then a number)."""
    taken = set(_TAKEN) | {op.name for op in ops}
    out = {}
    for value in (INPUT, *(op.name for op in ops)):
        base = "identity" if value == INPUT else value
        name = base
        if base in _TAKEN or (value == INPUT and base in taken):
            suffix = "_in" if value == INPUT else "_out"
            name, number = base + suffix, 1
            while name in taken:
                number += 1
                name = f"{base}{suffix}{number}"
        taken.add(name)
        out[value] = name
    return out


@dataclass
class _Plan:
    """The statements of ``forward``, decided layer by layer."""

    ops: Sequence[Op]
    strict: bool
    variables: dict[str, str]
    readers: dict[str, list[int]] = field(default_factory=dict)
    statements: list[tuple[str, _Node, str]] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)
    pending: dict[str, _Node] = field(default_factory=dict)
    in_x: str = INPUT

    def __post_init__(self) -> None:
        self.readers = {INPUT: []} | {op.name: [] for op in self.ops}
        for index, op in enumerate(self.ops):
            for name in op.inputs:
                self.readers[name].append(index)

    def run(self) -> None:
        if self.strict and self.readers[INPUT] != [0]:
            self.save_input()
        for index, op in enumerate(self.ops):
            self.place(index, op, self.expression(index, op))

    def save_input(self) -> None:
        """``identity = x``: the input, read again after ``x`` moves on."""
        self.named[INPUT] = self.variables[INPUT]
        self.statements.append((self.named[INPUT], _atom(RUNNING), ""))

    def argument(self, name: str) -> _Node:
        if name in self.pending:
            return self.pending.pop(name)
        if name in self.named:
            return _atom(self.named[name])
        return _atom(RUNNING)  # ``x`` holds it: ``place`` saw to that

    def expression(self, index: int, op: Op) -> _Node:
        args = [self.argument(name) for name in op.inputs]
        if op.kind == "add":
            return _combine("sum", "", args, index)
        extra = [_atom(text) for text in op.extra]
        if op.kind == "cat":
            order = [i for arg in args for i in arg.order]
            group = _Node("tuple", "", args, order, any(arg.reads_x for arg in args))
            return _combine("call", "torch.cat", [group, *extra], index)
        return _combine("call", op.head, [*args, *extra], index)

    def x_free(self, index: int) -> bool:
        """Whether ``x`` may take a new value: nothing waiting reads it, and what it holds is
        read no more (or has its own name, or is the input, which ``identity = x`` saves)."""
        if any(node.reads_x for node in self.pending.values()):
            return False
        held = self.in_x
        return held in self.named or held == INPUT or not any(i > index for i in self.readers[held])

    def input_waits(self, index: int) -> bool:
        """Whether ``x`` still holds the input, read again later: a value that waits for a
        later reader is better inline than the reason for ``identity = x`` (Inception's
        branches all read ``x``)."""
        later = any(i > index for i in self.readers[INPUT])
        return self.in_x == INPUT and INPUT not in self.named and later

    def place(self, index: int, op: Op, node: _Node) -> None:
        readers = self.readers[op.name]
        if self.strict:
            into_x = index == len(self.ops) - 1 or readers == [index + 1]
        elif index == len(self.ops) - 1:
            into_x = True
        elif len(readers) == 1:
            if not self.x_free(index) or (readers[0] > index + 1 and self.input_waits(index)):
                self.pending[op.name] = node  # inline where it is read
                return
            into_x = True
        else:
            into_x = self.x_free(index) and max(readers) - index <= _KEEP_IN_X
        if into_x:
            if self.input_waits(index):
                self.save_input()
            self.statements.append((RUNNING, node, op.comment))
            self.in_x = op.name
        else:
            self.named[op.name] = self.variables[op.name]
            self.statements.append((self.named[op.name], node, op.comment))

    def in_order(self) -> bool:
        order = [i for _, node, _ in self.statements for i in node.order]
        return order == list(range(len(self.ops)))


def forward_body(ops: Sequence[Op], indent: str) -> list[str]:
    """The statements of a graph's ``forward``, ``return x`` included.

    Args:
        ops: one per layer, in the spec's order (validated names, safe source text).
        indent: the body's indentation.

    Returns:
        The lines.
    """
    variables = _variables(ops)
    plan = _Plan(ops, False, variables)
    plan.run()
    if not plan.in_order() and any(op.sensitive for op in ops):
        plan = _Plan(ops, True, variables)
        plan.run()
    out = []
    for target, node, comment in plan.statements:
        out += statement_lines(target, node, comment, indent)
    out.append(f"{indent}return {RUNNING}")
    return out
