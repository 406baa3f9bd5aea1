"""What the reader reports: one message class per kind of problem, each naming its line.

Problems are collected, never raised one at a time (as pyflakes collects its ``Message``s): a
statement that cannot be read raises a ``Refusal``, the pass that reads it records the problem
and goes on with the next statement, and ``Problems.raise_if_any`` raises one ``SpecError``
listing them all by line, the first ``MAX_PROBLEMS`` in full.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from ..errors import SpecError

MAX_PROBLEMS = 20  # message lines shown; the rest are counted
MAX_SNIPPET = 60  # characters of a statement quoted in a message
_LINE_END = re.compile(r"\r\n|\r|\n")  # the parser's line ends (not form feeds)

Node = TypeVar("Node", bound=ast.AST)


# --- the messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem, at ``line``; ``template`` is filled with the fields to make its text."""

    line: int
    template: ClassVar[str] = "line {line}"

    def text(self) -> str:
        return self.template.format(**vars(self))


@dataclass(frozen=True)
class Unreadable(Problem):
    """A statement the reader does not understand, quoted, and why."""

    statement: str
    why: str
    template: ClassVar[str] = "line {line}: cannot read {statement!r}: {why}"


@dataclass(frozen=True)
class Refused(Problem):
    """A message written in full elsewhere (torch-facing validation names its own line)."""

    message: str
    template: ClassVar[str] = "{message}"


@dataclass(frozen=True)
class ClassDecorated(Problem):
    name: str
    template: ClassVar[str] = (
        "line {line}: cannot read the decorators or keywords of class {name!r}"
    )


@dataclass(frozen=True)
class MissingMethod(Problem):
    cls: str
    method: str
    template: ClassVar[str] = "line {line}: class {cls!r} has no {method}"


@dataclass(frozen=True)
class UnknownMethod(Problem):
    name: str
    template: ClassVar[str] = (
        "line {line}: cannot read method {name!r}: besides __init__ and forward, the class is "
        "read with init methods only (def initialize_weights(self): for m in self.modules(): ...)"
    )


@dataclass(frozen=True)
class UnknownFunction(Problem):
    name: str
    template: ClassVar[str] = (
        "line {line}: cannot read function {name!r}: outside the class only an init function "
        "taking one module (def init(m): ...) is read"
    )


@dataclass(frozen=True)
class InitParameters(Problem):
    names: str
    template: ClassVar[str] = (
        "line {line}: __init__'s parameters need default values to be read ({names})"
    )


@dataclass(frozen=True)
class InitStarArgs(Problem):
    template: ClassVar[str] = "line {line}: __init__'s *args / **kwargs are not read"


@dataclass(frozen=True)
class ForwardInputs(Problem):
    template: ClassVar[str] = (
        "line {line}: forward is read with one input (def forward(self, x)); second inputs are "
        "not supported"
    )


@dataclass(frozen=True)
class NoReturn(Problem):
    template: ClassVar[str] = "line {line}: forward never returns its result"


@dataclass(frozen=True)
class InitCycle(Problem):
    name: str
    template: ClassVar[str] = "line {line}: self.{name}() calls itself in a cycle"


@dataclass(frozen=True)
class AppliedTwice(Problem):
    name: str
    first: int
    template: ClassVar[str] = (
        "line {line}: self.{name} is applied a second time (first on line {first}): a design uses "
        "a layer with weights once; define another layer"
    )


@dataclass(frozen=True)
class ViewMismatch(Problem):
    """``x.view(-1, n)`` whose ``n`` is not what its input holds per sample."""

    statement: str
    features: int
    shape: str
    values: int
    template: ClassVar[str] = (
        "line {line}: {statement} makes {features} features per sample, but its input has shape "
        "({shape}): {values} values per sample"
    )


class CodeImportWarning(UserWarning):
    """Something the import left out or changed, which the code had (an unused layer)."""


# --- refusing one statement ---------------------------------------------------------------------


class Refusal(Exception):
    """One statement the reader does not understand: the statement is skipped, reading goes on.

    Attributes:
        node: where (its line is named); None for the statement being read.
        why: what was not understood, after ``line N: cannot read '...':``.
        problem: the whole problem instead; None with ``why``.
        silent: already reported (a reference to a layer whose definition was refused).
    """

    def __init__(
        self,
        node: ast.AST | None,
        why: str = "",
        *,
        problem: Problem | None = None,
        silent: bool = False,
    ) -> None:
        super().__init__(why or (problem.text() if problem else ""))
        self.node = node
        self.why = why
        self.problem = problem
        self.silent = silent


def line_of(node: ast.AST | None) -> int:
    return node.lineno if isinstance(node, (ast.stmt, ast.expr)) else 0


def fold(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SNIPPET else text[: MAX_SNIPPET - 3] + "..."


class SourceText:
    """The source, split into lines once, for quoting statements."""

    def __init__(self, source: str) -> None:
        # ast.get_source_segment splits the whole source again on every call: quadratic
        self.lines = [line.encode() for line in _LINE_END.split(source)]

    def snippet(self, node: ast.AST) -> str:
        """The start of a node's text on one line, at most ``MAX_SNIPPET`` characters.

        Only the bytes shown are read (a whole class is named by its first words), so naming
        every problem of a long file stays linear.
        """
        if not isinstance(node, (ast.stmt, ast.expr)):
            return ""
        first, start = node.lineno, node.col_offset
        last, stop = node.end_lineno, node.end_col_offset
        if last is None or stop is None:
            return ""
        words: list[str] = []
        cut = last > first + MAX_SNIPPET  # past so many (blank) lines, the rest is left out
        for number in range(first, min(last, first + MAX_SNIPPET) + 1):
            line = self.lines[number - 1]
            begin = start if number == first else 0
            end = stop if number == last else len(line)
            cut = cut or end > begin + 4 * MAX_SNIPPET
            # columns count UTF-8 bytes; a character cut at the end is dropped
            words += line[begin : min(end, begin + 4 * MAX_SNIPPET)].decode(errors="ignore").split()
            if sum(map(len, words)) + len(words) - 1 > MAX_SNIPPET:  # joined by spaces
                break
        text = fold(" ".join(words))
        return f"{text} ..." if cut and not text.endswith("...") else text


class Problems:
    """The problems found so far, each once, ordered by line when raised."""

    def __init__(self, text: SourceText) -> None:
        self.text = text
        self.found: dict[tuple[int, str], None] = {}

    def __bool__(self) -> bool:
        return bool(self.found)

    def add(self, problem: Problem) -> None:
        self.found[(problem.line, problem.text())] = None

    def refused(self, statement: ast.AST, refusal: Refusal) -> None:
        """Record why ``statement`` was skipped."""
        if refusal.silent:
            return
        if refusal.problem is not None:
            self.add(refusal.problem)
            return
        node = refusal.node if refusal.node is not None else statement
        line = line_of(node) or line_of(statement)
        self.add(Unreadable(line, self.text.snippet(statement), refusal.why))

    def each(self, statements: Iterable[Node], read: Callable[[Node], None]) -> None:
        """Read statements one by one; one it cannot read is a problem, and reading goes on."""
        for statement in statements:
            try:
                read(statement)
            except Refusal as refusal:
                self.refused(statement, refusal)

    def raise_if_any(self) -> None:
        if not self.found:
            return
        ordered = [message for _, message in sorted(self.found)]
        shown = ordered[:MAX_PROBLEMS]
        if len(ordered) > MAX_PROBLEMS:
            shown.append(f"... and {len(ordered) - MAX_PROBLEMS} more problems")
        raise SpecError("\n".join(shown))
