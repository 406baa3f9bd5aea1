"""PyTorch source -> spec: read a module class written like the article's ``Net``, never run it.

``spec_from_code`` is the reverse of ``generate_code``. The text is ``ast.parse``'d and the tree is
walked; nothing in it is executed, compiled to run, or imported. It reads:

- ``__init__``: named ``torch.nn`` layers (``self.conv1 = nn.Conv2d(3, 6, 5)``), their arguments
  positional in torch's signature order or by keyword, as literals or constant arithmetic
  (``16 * 5 * 5``); ``self.fc1.requires_grad_(False)``; init calls on a layer's tensors.
- ``forward``: one running value passed through the layers in order, calls nested or one per
  statement, functional activations and pools (``F.relu(x)``, ``torch.tanh(x)``,
  ``F.max_pool2d(x, 2)``), and flattening (``x.view(-1, 16 * 5 * 5)``, ``torch.flatten(x, 1)``).
- the initialization: methods looping ``for m in self.modules():`` with ``isinstance`` and
  ``m is self.conv2`` tests (or applied with ``self.apply``), ``nn.init.*_`` calls and the older
  tensor forms (``m.weight.data.fill_(1)``, ``.zero_()``, ``.normal_(0, 0.01)``), ``if m.bias is
  not None`` guards. What the last statement to touch a tensor sets is its scheme, as when run.

Anything else is a ``SpecError`` naming the line and what was not understood, one line per
problem.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .analysis import analyze
from .errors import SpecError
from .initializers import NONLINEARITIES, SCHEMES
from .layers import REGISTRY, LayerType
from .limits import MAX_CODE_CHARS
from .spec import TENSOR_NDIM, Spec, load_spec, validate_init

MAX_PROBLEMS = 20  # message lines shown; the rest are counted
MAX_DEPTH = 60  # nesting of one expression or block the reader follows
MAX_NUMBER = 2**63  # constant arithmetic beyond this is refused (no huge powers or products)
MAX_SNIPPET = 60
# Init steps the design's recipe runs once calls are followed (a walk counts its syntax nodes):
# ``self._h0()`` calling ``self._h1()`` twice, and so on, would make 2**n copies. A walk of 60
# ``m is self.fcN`` arms (the most the reader follows) is ~2,200.
MAX_INIT_WORK = 10_000
_LINE_END = re.compile(r"\r\n|\r|\n")  # the parser's line ends (not form feeds)
_TENSORS = ("weight", "bias")
# conventional names a pasted snippet often uses without its imports
_CONVENTIONAL = {
    "torch": "torch",
    "nn": "torch.nn",
    "F": "torch.nn.functional",
    "init": "torch.nn.init",
}
_MODULE = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})
_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict")
# Tensor methods that mean "apply this activation"
_TENSOR_METHODS = {
    "relu": ("ReLU", ()),
    "sigmoid": ("Sigmoid", ()),
    "tanh": ("Tanh", ()),
    "softmax": ("Softmax", ("dim",)),
    "log_softmax": ("LogSoftmax", ("dim",)),
}
_SIZE_METHODS = ("view", "reshape")


def _signature_order(cls: type[nn.Module], entry: LayerType) -> tuple[str, ...]:
    """The constructor's parameters in torch's order (``device`` and ``dtype`` included)."""
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - every registry class has one
        return tuple(a.name for a in entry.args)
    return tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


# torch's positional order per layer type: BatchNorm's ``bias`` comes after ``device, dtype``
_POSITIONAL = {name: _signature_order(entry.cls, entry) for name, entry in REGISTRY.items()}


def _functional_table() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Functions applied to the running value: dotted name -> (layer type, parameters after x)."""
    table = {}
    for entry in REGISTRY.values():
        if entry.functional:
            params = tuple(a.name for a in entry.args)
            table[f"torch.nn.functional.{entry.functional}"] = (entry.name, params)
    for method, (layer_type, params) in _TENSOR_METHODS.items():
        table[f"torch.{method}"] = (layer_type, params)
    table.update(
        {
            # the functional pools order ceil_mode and return_indices unlike the modules
            "torch.nn.functional.max_pool2d": (
                "MaxPool2d",
                ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
            ),
            "torch.nn.functional.avg_pool2d": (
                "AvgPool2d",
                (
                    "kernel_size",
                    "stride",
                    "padding",
                    "ceil_mode",
                    "count_include_pad",
                    "divisor_override",
                ),
            ),
            "torch.nn.functional.adaptive_avg_pool2d": ("AdaptiveAvgPool2d", ("output_size",)),
            "torch.nn.functional.adaptive_max_pool2d": (
                "AdaptiveMaxPool2d",
                ("output_size", "return_indices"),
            ),
            "torch.nn.functional.dropout": ("Dropout", ("p", "training", "inplace")),
            "torch.nn.functional.dropout2d": ("Dropout2d", ("p", "training", "inplace")),
            "torch.flatten": ("Flatten", ("start_dim", "end_dim")),
        }
    )
    return table


_FUNCTIONS = _functional_table()


def _init_positional(name: str) -> tuple[str, ...]:
    """An ``nn.init`` function's parameters after the tensor, in torch's order."""
    scheme = SCHEMES[name]
    try:
        params = list(inspect.signature(scheme.function).parameters)[1:]
    except (TypeError, ValueError):  # pragma: no cover
        params = [a.name for a in scheme.args]
    return tuple(params)


_INIT_FUNCTIONS: dict[str, str] = {}  # dotted name -> scheme
for _scheme in SCHEMES.values():
    if _scheme.function is not None:
        _INIT_FUNCTIONS[f"torch.nn.init.{_scheme.name}_"] = _scheme.name
        _INIT_FUNCTIONS[f"torch.nn.init.{_scheme.name}"] = _scheme.name  # deprecated spelling
_INIT_POSITIONAL = {name: _init_positional(name) for name in set(_INIT_FUNCTIONS.values())}
# Tensor methods that initialize in place: method -> (scheme, parameters in order)
_TENSOR_INITS = {
    "zero_": ("zeros", ()),
    "fill_": ("constant", ("val",)),
    "normal_": ("normal", ("mean", "std")),
    "uniform_": ("uniform", ("a", "b")),
}
_TENSOR_INIT_KEYWORDS = {"value": "val", "to": "b", "mean": "mean", "std": "std"}


def spec_from_code(source: str, input_shape: Sequence[int], *, name: str | None = None) -> Spec:
    """Read a PyTorch module class, written like the article's ``Net``, as a spec.

    The source is parsed with ``ast`` and never executed. The class's attribute names become the
    layers' names; the layers follow ``forward``'s order; activations applied functionally
    (``F.relu(x)``) become layers with default names; ``x.view(-1, n)`` and ``torch.flatten(x,
    1)`` become a ``Flatten``; the initialization recipe becomes the spec's per-type ``init`` and
    per-layer overrides. ``in_channels`` / ``in_features`` / ``num_features`` equal to what the
    analysis infers are left out (a different value is kept, so the app shows the mismatch as
    that layer's error). A ``torch.manual_seed(n)`` outside the class becomes the seed.

    Args:
        source: the Python text (at most ``MAX_CODE_CHARS`` characters).
        input_shape: one sample's shape, ``[C, H, W]`` or ``[F]``.
        name: the spec's name; default: the class name.

    Returns:
        The validated ``Spec``.

    Raises:
        SpecError: for anything it cannot read, one line per problem, each naming its line:
            ``line 12: cannot read 'self.conv3 = MyBlock(3, 8)': only torch.nn layers are
            supported``.
    """
    if not isinstance(source, str):
        raise SpecError(f"the code must be text, got {type(source).__name__}")
    if len(source) > MAX_CODE_CHARS:
        raise SpecError(f"the code has {len(source):,} characters; the limit is {MAX_CODE_CHARS:,}")
    try:
        shape = list(input_shape)
    except TypeError:
        raise SpecError(
            f"input_shape must be a list like [3, 32, 32], got {input_shape!r:.60}"
        ) from None
    load_spec({"input_shape": shape, "layers": []})  # a bad shape is reported first, on its own
    tree = _parse(source)
    try:
        return _Reader(source, shape).read(tree, name)
    except RecursionError:
        raise SpecError("the code is nested too deeply to read") from None
    except MemoryError:
        raise SpecError("the code is too large to read") from None


def _parse(source: str) -> ast.Module:
    """``ast.parse`` with every failure as a ``SpecError`` naming the line."""
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        raise SpecError(f"{where}not valid Python: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, nesting, size
        text = str(exc) if isinstance(exc, ValueError) else "it is nested too deeply or too large"
        raise SpecError(f"the code cannot be read: {text}") from None


# --- problems -----------------------------------------------------------------------------------


class _Unreadable(Exception):
    """One statement the reader does not understand: the statement is skipped, reading goes on.

    Attributes:
        node: where (its line is named); None for the statement being read.
        why: what was not understood, after ``line N: cannot read '...':``.
        message: the whole message instead (already reported when ``silent``).
    """

    def __init__(
        self, node: ast.AST | None, why: str = "", message: str | None = None, silent: bool = False
    ) -> None:
        super().__init__(why or message)
        self.node = node
        self.why = why
        self.message = message
        self.silent = silent


def _line(node: ast.AST | None) -> int:
    return node.lineno if isinstance(node, (ast.stmt, ast.expr)) else 0


def _fold(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SNIPPET else text[: MAX_SNIPPET - 3] + "..."


# --- what is read -------------------------------------------------------------------------------


@dataclass
class _LayerDef:
    """A layer attribute made in ``__init__``."""

    name: str
    type: str
    args: dict[str, Any]
    line: int
    trainable: bool = True
    uses: list[int] = field(default_factory=list)  # forward lines that apply it


@dataclass
class _Op:
    """One step of ``forward``: a defined layer (``name``) or a new unnamed one (``layer``)."""

    line: int
    name: str | None = None
    layer: dict[str, Any] | None = None
    features: int | None = None  # a view's feature count, checked against the analysis
    text: str = ""


# A parsed test on the walked module: ("isinstance", types) | ("is", layer) |
# ("has", tensor, is_not_none) | ("attr", tensor) | ("not", c) | ("and", [c]) | ("or", [c]) |
# ("const", bool). A parsed walk body: a list of ("if", test, then, orelse) and
# ("init", tensor, INIT, line).
_Cond = tuple
_Block = list


@dataclass
class _Loop:
    """An init walk over every module: ``for m in self.modules():`` or ``self.apply(fn)``.

    ``size`` is the syntax nodes of its code: what running it once costs ``MAX_INIT_WORK``.
    """

    block: _Block
    line: int
    size: int = 1


@dataclass
class _Direct:
    """An init call on one named layer's tensor (``nn.init.zeros_(self.fc3.bias)``)."""

    layer: str
    tensor: str
    init: dict[str, Any]
    line: int


@dataclass
class _Call:
    """A call of an init method (``self.initialize_weights()``) or of ``apply``, resolved last."""

    kind: str  # "method" | "apply_method" | "function"
    name: str
    line: int


@dataclass
class _Target:
    """A module an init walk visits: a named layer, or a stand-in for any layer of a type."""

    type: str
    name: str | None
    present: frozenset[str]


class _Reader:
    """Walks the tree; collects the layers, ``forward``'s steps, the init steps and problems."""

    def __init__(self, source: str, input_shape: list[int]) -> None:
        # split once: ast.get_source_segment splits the whole source again on every call
        self.lines = [line.encode() for line in _LINE_END.split(source)]
        self.input_shape = input_shape
        self.problems: dict[tuple[int, str], None] = {}
        self.aliases: dict[str, str] = {}
        self.consts: dict[str, Any] = {}  # module-level NAME = constant
        self.class_name = "Net"
        self.layers: dict[str, _LayerDef] = {}
        self.failed: set[str] = set()  # attributes whose definition was refused
        self.self_consts: dict[str, Any] = {}  # self.NAME = constant, in __init__
        self.ops: list[_Op] = []
        self.init_methods: dict[str, list[Any]] = {}  # def initialize_weights(self): steps
        self.apply_methods: dict[str, _Loop] = {}  # def _init_weights(self, m): for self.apply
        self.functions: dict[str, _Loop] = {}  # module-level def init(m): for net.apply
        self.steps: list[Any] = []
        self.called: set[str] = set()  # init methods and apply functions some code calls
        self.resolved: dict[str, tuple[list[Any], int]] = {}  # init method -> resolve's answer
        self.checked: dict[tuple[int, str, str, int], tuple[Any, str | None]] = {}  # INITs
        self.seed: int | None = None
        self.nets: set[str] = set()  # module-level names bound to Net()
        self.names: set[str] = set()  # other module-level names bound by usage lines
        self.layers_read = False
        self.mentioned: set[str] = set()  # self.X that forward refers to

    # --- problems -------------------------------------------------------------------------------

    def problem(self, line: int, message: str) -> None:
        self.problems[(line, message)] = None

    def unreadable(self, statement: ast.AST, exc: _Unreadable) -> None:
        if exc.silent:
            return
        node = exc.node if exc.node is not None else statement
        line = _line(node) or _line(statement)
        if exc.message is not None:
            self.problem(line, exc.message)
            return
        text = self.snippet(statement)
        self.problem(line, f"line {line}: cannot read {text!r}: {exc.why}")

    def snippet(self, node: ast.AST) -> str:
        """The start of a node's text on one line, at most ``MAX_SNIPPET`` characters.

        Only the bytes shown are read (a whole class is named by its first words), so naming
        every problem of a long file stays linear; ``ast.get_source_segment`` split the whole
        source again on each call.
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
        text = _fold(" ".join(words))
        return f"{text} ..." if cut and not text.endswith("...") else text

    def each(self, statements: list[ast.stmt], read: Callable[[ast.stmt], None]) -> None:
        """Read statements one by one; one it cannot read is a problem, and reading goes on."""
        for statement in statements:
            try:
                read(statement)
            except _Unreadable as exc:
                self.unreadable(statement, exc)

    def raise_problems(self) -> None:
        if not self.problems:
            return
        ordered = [message for _, message in sorted(self.problems)]
        shown = ordered[:MAX_PROBLEMS]
        if len(ordered) > MAX_PROBLEMS:
            shown.append(f"... and {len(ordered) - MAX_PROBLEMS} more problems")
        raise SpecError("\n".join(shown))

    # --- names and constants --------------------------------------------------------------------

    def dotted(self, node: ast.AST) -> str | None:
        """``nn.init.zeros_`` -> ``torch.nn.init.zeros_`` through the imports; None if not one."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
            if len(parts) > MAX_DEPTH:
                raise _Unreadable(node, "the name is too long")
        if not isinstance(node, ast.Name):
            return None
        root = self.aliases.get(node.id)
        if root is None and node.id not in self.consts:
            root = _CONVENTIONAL.get(node.id)
        if root is None:
            return None
        return ".".join([root, *reversed(parts)])

    def value(self, node: ast.AST, env: dict[str, Any], depth: int = 0) -> Any:
        """A literal or constant expression's value; anything else is ``_Unreadable``."""
        if depth > MAX_DEPTH:
            raise _Unreadable(node, "the expression is nested too deeply")
        if isinstance(node, ast.Constant):
            if node.value is None or isinstance(node.value, (bool, int, float, str)):
                return _checked_number(node, node.value)
            raise _Unreadable(node, f"{type(node.value).__name__} values are not read")
        if isinstance(node, (ast.Tuple, ast.List)):
            if len(node.elts) > 8:
                raise _Unreadable(node, "only short tuples are read")
            items = [self.value(e, env, depth + 1) for e in node.elts]
            if any(isinstance(item, list) for item in items):
                # constants that nest each other would share 8**n items; no argument nests
                raise _Unreadable(node, "only flat tuples of numbers are read")
            return items
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand, env, depth + 1)
            if not _is_number(operand):
                raise _Unreadable(node, "a sign needs a number")
            return _checked_number(node, -operand if isinstance(node.op, ast.USub) else operand)
        if isinstance(node, ast.BinOp):
            left = self.value(node.left, env, depth + 1)
            right = self.value(node.right, env, depth + 1)
            return _arithmetic(node, left, right)
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            if node.id in self.consts:
                return self.consts[node.id]
            raise _Unreadable(node, f"{node.id!r} is not a constant the reader knows")
        if (
            isinstance(node, ast.Attribute)
            and _is_name(node.value, "self")
            and node.attr in self.self_consts
        ):
            return self.self_consts[node.attr]
        if isinstance(node, ast.Call) and self.dotted(node.func) == "math.sqrt":
            if len(node.args) != 1 or node.keywords:
                raise _Unreadable(node, "math.sqrt takes one number")
            operand = self.value(node.args[0], env, depth + 1)
            if not _is_number(operand) or operand < 0:
                raise _Unreadable(node, "math.sqrt needs a number >= 0")
            return math.sqrt(operand)
        raise _Unreadable(node, "only literal values and constant arithmetic are read")

    # --- the module -----------------------------------------------------------------------------

    def read(self, tree: ast.Module, name: str | None) -> Spec:
        body = list(_module_statements(tree.body))
        for node in body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    root = alias.name.split(".")[0]
                    self.aliases[alias.asname or root] = alias.name if alias.asname else root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                with contextlib.suppress(_Unreadable):
                    self.consts[node.targets[0].id] = self.value(node.value, {})
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
        nets = [c for c in classes if any(self.dotted(b) in _MODULE for b in c.bases)]
        if not nets:
            raise SpecError(
                "no network class found: paste a class that subclasses nn.Module "
                "(class Net(nn.Module): ...)"
            )
        net = nets[-1]  # blocks come first; the network that uses them last
        self.class_name = net.name
        for other in classes:
            if other is not net:
                self.problem(
                    other.lineno,
                    f"line {other.lineno}: cannot read class {other.name!r}: only one network "
                    "class is read (blocks used inside another class are not supported)",
                )
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        self.each(functions, self.read_function)
        self.read_class(net, _applied_names(tree))
        self.each(tree.body, lambda s: self.read_module_statement(s, net, functions))
        self.steps, weight = self.resolve(self.steps, ())
        for method, steps in self.init_methods.items():
            if method not in self.called:  # defined but never called: the recipe is meant
                more, weight = self.resolve(steps, (method,), weight)
                self.steps += more
        for method, loop in self.apply_methods.items():
            if method not in self.called:
                weight = self.weigh(weight + loop.size, loop.line)
                self.steps.append(loop)
        layers = self.layer_list()
        self.raise_problems()
        spec = self.assemble(layers, name)
        self.raise_problems()
        return spec

    def read_module_statement(
        self, node: ast.stmt, net: ast.ClassDef, functions: list[ast.FunctionDef]
    ) -> None:
        """Outside the class: imports, constants, init functions and usage lines only."""
        if node is net or node in functions or isinstance(node, ast.ClassDef):
            return
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass)) or _is_docstring(node):
            return
        if isinstance(node, ast.If) and _is_main_test(node.test):
            self.each(node.body, lambda s: self.read_module_statement(s, net, functions))
            self.each(node.orelse, lambda s: self.read_module_statement(s, net, functions))
            return
        _Usage(self).statement(node)

    def read_function(self, node: ast.FunctionDef) -> None:
        """A module-level ``def init_fn(m):`` for ``net.apply(init_fn)``."""
        params = _params(node)
        if node.decorator_list or len(params) != 1 or node.args.defaults:
            raise _Unreadable(
                node,
                message=f"line {node.lineno}: cannot read function {node.name!r}: outside the "
                "class only an init function taking one module (def init(m): ...) is read",
            )
        block = self.walk(node.body, params[0])
        self.functions[node.name] = _Loop(block, node.lineno, _size(node))

    def resolve(
        self, steps: list[Any], stack: tuple[str, ...], weight: int = 0
    ) -> tuple[list[Any], int]:
        """Replace calls of init methods and ``apply`` by their steps.

        A method's steps are resolved once and reused (a cycle is a problem either way, so
        the stack it was first reached from does not change the design).

        Returns:
            The steps, and ``weight`` plus what running them costs, kept under
            ``MAX_INIT_WORK`` as the list grows: helpers that call the next twice would
            otherwise make 2**n copies.
        """
        out: list[Any] = []
        for step in steps:
            if not isinstance(step, _Call):
                found, cost = [step], _cost(step)
            elif step.kind != "method":
                self.called.add(step.name)
                table = self.functions if step.kind == "function" else self.apply_methods
                found, cost = [table[step.name]], table[step.name].size
            elif step.name in stack:  # marked called already, or the method being resolved
                self.problem(
                    step.line, f"line {step.line}: self.{step.name}() calls itself in a cycle"
                )
                continue
            else:
                self.called.add(step.name)
                if step.name not in self.resolved:
                    self.resolved[step.name] = self.resolve(
                        self.init_methods[step.name], (*stack, step.name)
                    )
                found, cost = self.resolved[step.name]
            weight = self.weigh(weight + cost, step.line)
            out += found
        return out, weight

    @staticmethod
    def weigh(weight: int, line: int) -> int:
        """``weight`` if it is within ``MAX_INIT_WORK``; else a ``SpecError`` naming the line."""
        if weight > MAX_INIT_WORK:
            raise SpecError(
                f"line {line}: the initialization is too large to read: it runs more than "
                f"{MAX_INIT_WORK:,} steps once the calls of init methods and apply are followed "
                "(call each init method once)"
            )
        return weight

    # --- the class ------------------------------------------------------------------------------

    def read_class(self, net: ast.ClassDef, applied: set[str]) -> None:
        if net.decorator_list or net.keywords:
            self.problem(
                net.lineno,
                f"line {net.lineno}: cannot read the decorators or keywords of class {net.name!r}",
            )
        methods: dict[str, ast.FunctionDef] = {}
        for node in net.body:
            if isinstance(node, ast.FunctionDef) and node.name not in methods:
                methods[node.name] = node
            elif not (_is_docstring(node) or isinstance(node, ast.Pass)):
                self.unreadable(
                    node,
                    _Unreadable(
                        node,
                        "the class body is read as __init__, forward and init methods",
                    ),
                )
        others = []
        for method_name, node in methods.items():
            if method_name in ("__init__", "forward"):
                continue
            params = _params(node)
            plain = not (
                node.decorator_list
                or node.args.defaults
                or node.args.vararg
                or node.args.kwarg
                or node.args.kwonlyargs
            )
            if plain and params == ["self"]:
                self.init_methods[method_name] = []
                others.append(node)
            elif plain and len(params) == 2 and params[0] == "self" and method_name in applied:
                self.apply_methods[method_name] = _Loop([], node.lineno)
                others.append(node)
            else:
                self.problem(
                    node.lineno,
                    f"line {node.lineno}: cannot read method {method_name!r}: besides "
                    "__init__ and forward, the class is read with init methods only "
                    "(def initialize_weights(self): for m in self.modules(): ...)",
                )
        if "__init__" not in methods:
            self.problem(net.lineno, f"line {net.lineno}: class {net.name!r} has no __init__")
        else:
            self.read_init(methods["__init__"])
        self.layers_read = True
        for node in others:
            if node.name in self.apply_methods:
                loop = self.apply_methods[node.name]
                loop.block, loop.size = self.walk(node.body, _params(node)[1]), _size(node)
            else:
                steps = self.init_methods[node.name]
                self.each(node.body, lambda s, steps=steps: self.init_statement(s, steps))
        if "forward" not in methods:
            self.problem(net.lineno, f"line {net.lineno}: class {net.name!r} has no forward")
        else:
            self.read_forward(methods["forward"])

    # --- __init__ -------------------------------------------------------------------------------

    def read_init(self, node: ast.FunctionDef) -> None:
        """Layers, constants, freezing and init calls, in order."""
        env: dict[str, Any] = {}
        plain = _params(node)[1:]
        defaults = node.args.defaults
        missing = plain[: len(plain) - len(defaults)]
        missing += [a.arg for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d is None]
        if missing:
            self.problem(
                node.lineno,
                f"line {node.lineno}: __init__'s parameters need default values to be read "
                f"({', '.join(missing)})",
            )
        if node.args.vararg or node.args.kwarg:
            self.problem(
                node.lineno, f"line {node.lineno}: __init__'s *args / **kwargs are not read"
            )
        pairs = list(zip(plain[len(plain) - len(defaults) :], defaults))
        pairs += [(a.arg, d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d]
        for param, default in pairs:
            try:
                env[param] = self.value(default, {})
            except _Unreadable as exc:
                self.unreadable(node, exc)
        self.each(node.body, lambda s: self.init_body_statement(s, env))

    def init_body_statement(self, node: ast.stmt, env: dict[str, Any]) -> None:
        if _is_docstring(node) or isinstance(node, ast.Pass):
            return
        if isinstance(node, ast.Expr) and _is_super_init(node.value):
            return
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name):  # a local constant: n = 16 * 5 * 5
            env[target.id] = self.value(value, env)
            return
        if isinstance(target, ast.Attribute) and _is_name(target.value, "self"):
            self.define(node, target.attr, value, env)
            return
        if isinstance(node, ast.For) and self.parameters_loop(node):
            return
        self.init_statement(node, self.steps)

    def define(self, node: ast.stmt, attr: str, value: ast.expr, env: dict[str, Any]) -> None:
        """``self.conv1 = nn.Conv2d(...)`` (or ``self.n = 10``, a constant)."""
        if attr in self.layers:
            first = self.layers[attr].line
            raise _Unreadable(node, f"self.{attr} is assigned twice (first on line {first})")
        if not isinstance(value, ast.Call):
            self.self_consts[attr] = self.value(value, env)
            return
        self.failed.add(attr)  # until it is read
        dotted = self.dotted(value.func)
        cls = dotted.rsplit(".", 1)[-1] if dotted else None
        if not dotted or not dotted.startswith("torch.nn.") or dotted.count(".") != 2:
            raise _Unreadable(value, "only torch.nn layers are supported")
        if cls in _CONTAINERS:
            raise _Unreadable(
                value,
                f"nn.{cls} containers are not supported: define each layer as its own "
                "attribute (self.conv1 = nn.Conv2d(...))",
            )
        if cls not in REGISTRY:
            raise _Unreadable(
                value, f"nn.{cls} is not a layer type NetBuilder knows ({', '.join(REGISTRY)})"
            )
        args = self.call_args(value, REGISTRY[cls], _POSITIONAL[cls], env)
        self.check_layer(value.lineno, {"type": cls, "name": attr, **args})
        self.layers[attr] = _LayerDef(attr, cls, args, value.lineno)
        self.failed.discard(attr)

    def call_args(
        self,
        call: ast.Call,
        entry: LayerType,
        order: Sequence[str],
        env: dict[str, Any],
        skip: int = 0,
    ) -> dict[str, Any]:
        """A constructor's (or function's) arguments by torch name, torch's defaults left out."""
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        ):
            raise _Unreadable(call, "*args and **kwargs are not read")
        positional = call.args[skip:]
        if len(positional) > len(order):
            raise _Unreadable(call, f"{entry.name} takes at most {len(order)} positional arguments")
        given: dict[str, Any] = {}
        for key, node in [*zip(order, positional), *((k.arg, k.value) for k in call.keywords)]:
            if key in given:
                raise _Unreadable(node, f"{key} is given twice")
            if key == "training" and "training" in order:  # functional dropout: checked apart
                given[key] = None
                continue
            if key in ("device", "dtype") and self.value(node, env) is None:
                continue  # torch's own default, written out to reach a later positional
            if entry.arg(key) is None:
                known = ", ".join(a.name for a in entry.args) or "no arguments"
                raise _Unreadable(node, f"{entry.name} is read with {known}; not {key!r}")
            given[key] = self.value(node, env)
        return {
            a.name: given[a.name]
            for a in entry.args
            if a.name in given and (a.name == entry.in_key or not _same(given[a.name], a.default))
        }

    def check_layer(self, line: int, layer: dict[str, Any]) -> None:
        """Validate one layer on its own now, so that its problem names its line."""
        try:
            load_spec({"input_shape": self.input_shape, "layers": [layer]})
        except SpecError as exc:
            text = str(exc)
            message = (
                f"line {line} {text[len('layer 1 ') :]}"
                if text.startswith("layer 1 (")
                else f"line {line}: {text}"
            )
            raise _Unreadable(None, message=message) from None

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
        layer = self.layer_ref(it.func.value, "self")
        var = node.target.id
        body = node.body[0]
        flag = None
        if (
            isinstance(body, ast.Assign)
            and len(body.targets) == 1
            and _is_attr(body.targets[0], var, "requires_grad")
        ):
            flag = self.value(body.value, {})
        elif (
            isinstance(body, ast.Expr)
            and isinstance(body.value, ast.Call)
            and _is_attr(body.value.func, var, "requires_grad_")
            and len(body.value.args) <= 1
            and not body.value.keywords
        ):
            flag = self.value(body.value.args[0], {}) if body.value.args else True
        if not isinstance(flag, bool):
            raise _Unreadable(body, "only p.requires_grad = False (or True) is read here")
        self.layers[layer].trainable = flag
        return True

    def freeze(self, call: ast.Call, owner: str) -> bool:
        """``self.fc1.requires_grad_(False)``; False if the call is not one."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "requires_grad_"):
            return False
        if isinstance(func.value, ast.Attribute) and func.value.attr in (*_TENSORS, "data"):
            raise _Unreadable(
                call,
                f"freezing one tensor is not supported: freeze the layer "
                f"({owner}.fc1.requires_grad_(False))",
            )
        layer = self.layer_ref(func.value, owner)
        if call.keywords or len(call.args) > 1:
            raise _Unreadable(call, "requires_grad_ is read with True or False")
        flag = self.value(call.args[0], {}) if call.args else True
        if not isinstance(flag, bool):
            raise _Unreadable(call, "requires_grad_ is read with True or False")
        self.layers[layer].trainable = flag
        return True

    def layer_ref(self, node: ast.AST, owner: str) -> str:
        """``self.conv1`` -> ``"conv1"``, for a layer already defined."""
        if not (isinstance(node, ast.Attribute) and _is_name(node.value, owner)):
            raise _Unreadable(node, f"expected a layer ({owner}.conv1)")
        if node.attr in self.failed:
            raise _Unreadable(node, silent=True)  # its definition is already reported
        if node.attr not in self.layers:
            where = "in __init__" if self.layers_read else "before this line"
            raise _Unreadable(node, f"{owner}.{node.attr} is not a layer defined {where}")
        return node.attr

    # --- init statements ------------------------------------------------------------------------

    def init_statement(self, node: ast.stmt, steps: list[Any]) -> None:
        """A statement of an init method, or of ``__init__`` besides the layers."""
        if _is_docstring(node) or isinstance(node, ast.Pass):
            return
        if isinstance(node, ast.With) and self.no_grad(node):
            self.each(node.body, lambda s: self.init_statement(s, steps))
            return
        if isinstance(node, ast.For):
            steps.append(self.modules_loop(node))
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            func = call.func
            if isinstance(func, ast.Attribute) and _is_name(func.value, "self"):
                if func.attr == "apply":
                    steps.append(self.apply_call(call, "self"))
                    return
                if func.attr in self.init_methods:
                    if call.args or call.keywords:
                        raise _Unreadable(call, f"self.{func.attr}() takes no arguments")
                    steps.append(_Call("method", func.attr, call.lineno))
                    return
            if self.freeze(call, "self"):
                return
            if self.is_init_call(call):
                steps.append(self.direct_init(call, "self"))
                return
        raise _Unreadable(
            node,
            "__init__ and init methods are read as layers (self.conv1 = nn.Conv2d(...)), "
            "init calls (nn.init.zeros_(self.fc1.bias)), 'for m in self.modules():' loops "
            "and self.initialize_weights()",
        )

    def apply_call(self, call: ast.Call, owner: str) -> _Call:
        """``self.apply(self._init_weights)`` / ``net.apply(init_fn)``."""
        if len(call.args) != 1 or call.keywords:
            raise _Unreadable(call, "apply takes one function")
        fn = call.args[0]
        if isinstance(fn, ast.Attribute) and _is_name(fn.value, owner):
            if fn.attr in self.apply_methods:
                return _Call("apply_method", fn.attr, call.lineno)
        elif isinstance(fn, ast.Name) and fn.id in self.functions:
            return _Call("function", fn.id, call.lineno)
        raise _Unreadable(call, "apply is read with an init function defined in this code")

    def no_grad(self, node: ast.With) -> bool:
        item = node.items[0]
        return (
            len(node.items) == 1
            and isinstance(item.context_expr, ast.Call)
            and self.dotted(item.context_expr.func) == "torch.no_grad"
            and item.optional_vars is None
        )

    def is_init_call(self, call: ast.Call) -> bool:
        """Whether a call looks like an init call (``init_call`` says if it can be read)."""
        func = call.func
        return (self.dotted(func) or "").startswith("torch.nn.init.") or (
            isinstance(func, ast.Attribute) and func.attr in _TENSOR_INITS
        )

    def init_call(self, call: ast.Call) -> tuple[ast.AST, dict[str, Any]]:
        """An init call as (tensor expression, INIT): ``nn.init.x_(t, ...)`` or ``t.fill_(v)``."""
        func = call.func
        dotted = self.dotted(func)
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        ):
            raise _Unreadable(call, "*args and **kwargs are not read")
        if dotted in _INIT_FUNCTIONS:
            scheme = _INIT_FUNCTIONS[dotted]
            keywords = [(k.arg, k.value) for k in call.keywords if k.arg != "tensor"]
            tensor = call.args[0] if call.args else None
            if tensor is None:
                tensor = next((k.value for k in call.keywords if k.arg == "tensor"), None)
            if tensor is None:
                raise _Unreadable(call, f"{dotted} needs a tensor")
            order = _INIT_POSITIONAL[scheme]
            if len(call.args) - 1 > len(order):
                raise _Unreadable(call, f"too many arguments for {dotted}")
            return tensor, self.init_args(scheme, [*zip(order, call.args[1:]), *keywords])
        if isinstance(func, ast.Attribute) and func.attr in _TENSOR_INITS:
            scheme, order = _TENSOR_INITS[func.attr]
            if len(call.args) > len(order):
                raise _Unreadable(call, f"too many arguments for .{func.attr}")
            pairs = list(zip(order, call.args))
            for k in call.keywords:
                key = _TENSOR_INIT_KEYWORDS.get(k.arg)
                if key not in order:
                    raise _Unreadable(call, f".{func.attr} is not read with {k.arg}=")
                pairs.append((key, k.value))
            if func.attr == "fill_" and not pairs:
                raise _Unreadable(call, ".fill_ needs a value")
            return func.value, self.init_args(scheme, pairs)
        raise _Unreadable(
            call,
            f"{dotted or 'this call'} is not an initializer the reader knows (nn.init.*_, "
            ".fill_, .zero_, .normal_, .uniform_)",
        )

    def init_args(self, scheme: str, pairs: list[tuple[str, ast.AST]]) -> dict[str, Any]:
        init: dict[str, Any] = {"scheme": scheme}
        for key, node in pairs:
            arg = SCHEMES[scheme].arg(key)
            if arg is None:
                raise _Unreadable(node, f"{scheme} is not read with {key!r}")
            if key in init:
                raise _Unreadable(node, f"{key} is given twice")
            if arg.kind == "gain" and isinstance(node, ast.Call):
                init[key] = self.gain(node)
            else:
                init[key] = self.value(node, {})
        return init

    def gain(self, call: ast.Call) -> float | str:
        """``nn.init.calculate_gain("relu")`` -> ``"relu"``; with a parameter, the number."""
        if self.dotted(call.func) != "torch.nn.init.calculate_gain":
            raise _Unreadable(call, "gain is read as a number or nn.init.calculate_gain(...)")
        pairs = [*zip(("nonlinearity", "param"), call.args)]
        pairs += [(k.arg, k.value) for k in call.keywords]
        if len(call.args) > 2 or any(k not in ("nonlinearity", "param") for k, _ in pairs):
            raise _Unreadable(call, "calculate_gain takes nonlinearity and param")
        given = {key: self.value(node, {}) for key, node in pairs}
        nonlinearity = given.get("nonlinearity")
        if nonlinearity not in NONLINEARITIES:
            raise _Unreadable(call, f"calculate_gain needs one of {', '.join(NONLINEARITIES)}")
        param = given.get("param")
        if param is None:
            return nonlinearity
        if not _is_number(param):
            raise _Unreadable(call, "calculate_gain's param must be a number")
        # the real function on two checked literals: the number exactly as torch computes it
        return float(nn.init.calculate_gain(nonlinearity, param))

    def direct_init(self, call: ast.Call, owner: str) -> _Direct:
        """``nn.init.x_(self.conv1.weight(.data), ...)`` or ``self.fc3.bias.data.zero_()``."""
        target, init = self.init_call(call)
        node = _strip_data(target)
        if not (isinstance(node, ast.Attribute) and node.attr in _TENSORS):
            raise _Unreadable(call, f"expected a layer's weight or bias ({owner}.conv1.weight)")
        layer = self.layer_ref(node.value, owner)
        layer_type = self.layers[layer].type
        if layer_type not in TENSOR_NDIM:
            raise _Unreadable(call, f"{owner}.{layer} ({layer_type}) has no weights")
        present = _present(layer_type, self.layers[layer].args)
        if node.attr not in present:
            raise _Unreadable(call, f"{owner}.{layer} has no {node.attr} (set to None)")
        if not self.check_init(call.lineno, layer_type, node.attr, init):
            raise _Unreadable(call, silent=True)
        return _Direct(layer, node.attr, init, call.lineno)

    def check_init(
        self, line: int, layer_type: str, tensor: str, init: dict[str, Any], report: bool = True
    ) -> bool:
        """Validate an INIT for one tensor of a layer type; a problem names the line.

        The answer is kept: the init plan asks again for every layer the step reaches.
        """
        key = (line, layer_type, tensor, id(init))  # the value holds init: its id stays its own
        if key not in self.checked:
            message = None
            try:
                validate_init(
                    f"line {line}: {layer_type}.{tensor}", init, TENSOR_NDIM[layer_type][tensor]
                )
            except SpecError as exc:
                message = str(exc)
            self.checked[key] = (init, message)
        message = self.checked[key][1]
        if message is not None and report:
            self.problem(line, message)
        return message is None

    # --- init walks -----------------------------------------------------------------------------

    def modules_loop(self, node: ast.For) -> _Loop:
        """``for m in self.modules():`` (or ``named_modules`` / ``children``) and its body."""
        it = node.iter
        method = it.func.attr if isinstance(it, ast.Call) and _is_self_call(it) else None
        if method not in ("modules", "children", "named_modules", "named_children") or (
            node.orelse or it.args or it.keywords
        ):
            raise _Unreadable(
                node, "the initialization is read with loops 'for m in self.modules():'"
            )
        target = node.target
        if method.startswith("named"):
            if not (
                isinstance(target, ast.Tuple)
                and len(target.elts) == 2
                and isinstance(target.elts[1], ast.Name)
            ):
                raise _Unreadable(node, f"expected 'for name, m in self.{method}():'")
            var = target.elts[1].id
        elif isinstance(target, ast.Name):
            var = target.id
        else:
            raise _Unreadable(node, "expected 'for m in self.modules():'")
        return _Loop(self.walk(node.body, var), node.lineno, _size(node))

    def walk(self, body: list[ast.stmt], var: str, depth: int = 0) -> _Block:
        """Parse the body run for each module ``var`` into tests and INITs."""
        block: _Block = []

        def read(node: ast.stmt) -> None:
            if depth > MAX_DEPTH:
                raise _Unreadable(node, "the code is nested too deeply")
            if _is_docstring(node) or isinstance(node, ast.Pass):
                return
            if isinstance(node, ast.If):
                test = self.condition(node.test, var)
                then = self.walk(node.body, var, depth + 1)
                block.append(("if", test, then, self.walk(node.orelse, var, depth + 1)))
                return
            if isinstance(node, ast.With) and self.no_grad(node):
                block.extend(self.walk(node.body, var, depth + 1))
                return
            if (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Call)
                and self.is_init_call(node.value)
            ):
                target, init = self.init_call(node.value)
                tensor = _strip_data(target)
                if not (
                    isinstance(tensor, ast.Attribute)
                    and tensor.attr in _TENSORS
                    and _is_name(tensor.value, var)
                ):
                    raise _Unreadable(
                        node, f"inside the loop, initialize {var}.weight or {var}.bias"
                    )
                try:
                    validate_init(f"line {node.lineno}", init, None)
                except SpecError as exc:
                    raise _Unreadable(node, message=str(exc)) from None
                block.append(("init", tensor.attr, init, node.lineno))
                return
            raise _Unreadable(
                node,
                f"inside the loop, only tests on {var} (isinstance, {var} is self.conv1, "
                f"{var}.bias is not None) and init calls are read",
            )

        self.each(body, read)
        return block

    def condition(self, node: ast.expr, var: str, depth: int = 0) -> _Cond:
        """A test on the walked module."""
        if depth > MAX_DEPTH:
            raise _Unreadable(node, "the test is nested too deeply")
        if isinstance(node, ast.BoolOp):
            kind = "and" if isinstance(node.op, ast.And) else "or"
            return (kind, [self.condition(v, var, depth + 1) for v in node.values])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ("not", self.condition(node.operand, var, depth + 1))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and len(node.args) == 2
            and not node.keywords
            and _is_name(node.args[0], var)
        ):
            if node.func.id == "isinstance":
                return ("isinstance", self.classes(node.args[1]))
            attr = node.args[1]
            if (
                node.func.id == "hasattr"
                and isinstance(attr, ast.Constant)
                and attr.value in _TENSORS
            ):
                return ("attr", attr.value)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, op, right = node.left, node.ops[0], node.comparators[0]
            negate = isinstance(op, (ast.IsNot, ast.NotEq))
            identity = isinstance(op, (ast.Is, ast.IsNot))
            if identity and _is_name(left, var):
                test = ("is", self.layer_ref(right, "self"))
                return ("not", test) if negate else test
            if (
                identity
                and isinstance(left, ast.Attribute)
                and _is_name(left.value, var)
                and left.attr in _TENSORS
                and isinstance(right, ast.Constant)
                and right.value is None
            ):
                return ("has", left.attr, negate)
            if (
                isinstance(op, (ast.Is, ast.IsNot, ast.Eq, ast.NotEq))
                and isinstance(left, ast.Call)
                and _is_name(left.func, "type")
                and len(left.args) == 1
                and _is_name(left.args[0], var)
            ):
                test = ("isinstance", self.classes(right))
                return ("not", test) if negate else test
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return ("const", node.value)
        raise _Unreadable(
            node,
            f"the tests read are isinstance({var}, nn.Conv2d), {var} is self.conv1 and "
            f"{var}.bias is not None",
        )

    def classes(self, node: ast.expr) -> frozenset[str]:
        out = set()
        for item in node.elts if isinstance(node, ast.Tuple) else [node]:
            dotted = self.dotted(item)
            if not dotted or not dotted.startswith("torch.nn.") or dotted.count(".") != 2:
                raise _Unreadable(item, "isinstance is read with torch.nn classes")
            out.add(dotted.rsplit(".", 1)[1])
        return frozenset(out)

    # --- forward --------------------------------------------------------------------------------

    def read_forward(self, node: ast.FunctionDef) -> None:
        """One running value through the layers, one statement at a time, then returned."""
        params = _params(node)
        if len(params) != 2 or node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
            self.problem(
                node.lineno,
                f"line {node.lineno}: forward is read with one input (def forward(self, x)); "
                "second inputs are not supported",
            )
            if len(params) < 2:
                return
        state = {"value": params[1], "returned": False}
        self.mentioned = {
            n.attr
            for n in ast.walk(node)
            if isinstance(n, ast.Attribute) and _is_name(n.value, "self")
        }

        def read(statement: ast.stmt) -> None:
            if state["returned"]:
                raise _Unreadable(statement, "code after return never runs")
            if _is_docstring(statement) or isinstance(statement, ast.Pass):
                return
            target = value = None
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target, value = statement.targets[0], statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                target, value = statement.target, statement.value
            elif isinstance(statement, ast.Return):
                state["returned"] = True
                value = statement.value
                if value is None:
                    raise _Unreadable(statement, "forward must return its result")
            if value is None or (target is not None and not isinstance(target, ast.Name)):
                raise _Unreadable(
                    statement,
                    "forward is read as steps 'x = layer(x)' and a return: no branches, "
                    "loops or other statements",
                )
            try:
                self.forward_value(value, state["value"])
            finally:
                if isinstance(target, ast.Name):
                    state["value"] = target.id

        self.each(node.body, read)
        if not state["returned"]:
            self.problem(node.lineno, f"line {node.lineno}: forward never returns its result")

    def forward_value(self, node: ast.expr, current: str) -> None:
        ops: list[_Op] = []
        source = self.chain(node, current, ops, 0)
        if source != current:
            raise _Unreadable(
                node,
                f"it reads {source!r}, not the running value {current!r}: skip connections "
                "and second inputs are not supported",
            )
        self.ops += ops

    def chain(self, node: ast.expr, current: str, ops: list[_Op], depth: int) -> str:
        """Walk ``f(g(x))`` down to its variable; append the steps in the order they run."""
        if depth > MAX_DEPTH:
            raise _Unreadable(node, "the expression is nested too deeply")
        if isinstance(node, ast.Name):
            return node.id
        if not isinstance(node, ast.Call):
            raise _Unreadable(
                node,
                "forward is read as layer calls, F.* functions and view/flatten "
                "(no arithmetic: skip connections are not supported)",
            )
        func = node.func
        if isinstance(func, ast.Attribute) and _is_name(func.value, "self"):
            if func.attr in self.failed:
                raise _Unreadable(node, silent=True)
            if func.attr not in self.layers:
                raise _Unreadable(node, f"self.{func.attr} is not a layer defined in __init__")
            if len(node.args) != 1 or node.keywords:
                raise _Unreadable(node, f"self.{func.attr} is applied to one input")
            source = self.chain(node.args[0], current, ops, depth + 1)
            ops.append(_Op(node.lineno, name=func.attr))
            return source
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not _is_name(root, current):
            dotted = self.dotted(func)
            if dotted is not None:
                return self.function(node, dotted, current, ops, depth)
        if isinstance(func, ast.Attribute):
            return self.method(node, func, current, ops, depth)
        raise _Unreadable(
            node, "forward is read as layer calls, F.* functions and view/flatten steps"
        )

    def function(
        self, node: ast.Call, dotted: str, current: str, ops: list[_Op], depth: int
    ) -> str:
        """``F.relu(x)``, ``torch.flatten(x, 1)``, ``F.max_pool2d(x, 2)`` ..."""
        if dotted not in _FUNCTIONS:
            raise _Unreadable(
                node, f"{dotted} is not a function the reader knows (F.relu, F.max_pool2d, ...)"
            )
        layer_type, order = _FUNCTIONS[dotted]
        first = node.args[0] if node.args else None
        if first is None or isinstance(first, ast.Starred):
            raise _Unreadable(node, f"{dotted} is read with the input first")
        source = self.chain(first, current, ops, depth + 1)
        if layer_type == "Flatten":
            self.flatten(node, 1, ops, dotted)
            return source
        args = self.call_args(node, REGISTRY[layer_type], order, {}, skip=1)
        if "training" in order:
            if not self.is_training(node, order):
                raise _Unreadable(
                    node,
                    f"{dotted} without training=self.training stays active in eval mode: "
                    "write training=self.training, or use an nn.Dropout layer",
                )
            args.pop("training", None)
        layer = {"type": layer_type, **args}
        self.check_layer(node.lineno, layer)
        ops.append(_Op(node.lineno, layer=layer))
        return source

    @staticmethod
    def is_training(node: ast.Call, order: Sequence[str]) -> bool:
        given = dict(zip(order, node.args[1:]))
        given.update({k.arg: k.value for k in node.keywords})
        return _is_attr(given.get("training"), "self", "training")

    def method(
        self, node: ast.Call, func: ast.Attribute, current: str, ops: list[_Op], depth: int
    ) -> str:
        """``x.view(-1, 400)``, ``x.flatten(1)``, ``x.relu()`` ..."""
        source = self.chain(func.value, current, ops, depth + 1)
        if func.attr in _SIZE_METHODS:
            self.view(node, func.attr, ops)
        elif func.attr == "flatten":
            self.flatten(node, 0, ops, "x.flatten")
        elif func.attr in _TENSOR_METHODS:
            layer_type, order = _TENSOR_METHODS[func.attr]
            layer = {"type": layer_type, **self.call_args(node, REGISTRY[layer_type], order, {})}
            self.check_layer(node.lineno, layer)
            ops.append(_Op(node.lineno, layer=layer))
        else:
            raise _Unreadable(node, f".{func.attr}() is not a step the reader knows")
        return source

    def flatten(self, node: ast.Call, skip: int, ops: list[_Op], what: str) -> None:
        """``torch.flatten(x, 1)`` / ``x.flatten(1)``: there start_dim defaults to 0."""
        order = ("start_dim", "end_dim")
        if len(node.args) - skip > 2:
            raise _Unreadable(node, f"{what} takes start_dim and end_dim")
        given = {"start_dim": 0, "end_dim": -1}
        pairs = [*zip(order, node.args[skip:]), *((k.arg, k.value) for k in node.keywords)]
        for key, value in pairs:
            if key not in order:
                raise _Unreadable(node, f"{what} is read with start_dim and end_dim")
            given[key] = self.value(value, {})
        if given["start_dim"] == 0:
            fix = f"{what}(x, 1)" if skip else "x.flatten(1)"
            raise _Unreadable(node, f"this also flattens the batch dimension: write {fix}")
        entry = REGISTRY["Flatten"]
        layer = {
            "type": "Flatten",
            **{k: v for k, v in given.items() if not _same(v, entry.arg(k).default)},
        }
        self.check_layer(node.lineno, layer)
        ops.append(_Op(node.lineno, layer=layer))

    def view(self, node: ast.Call, method: str, ops: list[_Op]) -> None:
        """``x.view(-1, 16 * 5 * 5)`` / ``x.view(x.size(0), -1)``: a Flatten to (batch, n)."""
        args = node.args
        if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
            args = args[0].elts
        usage = f"x.{method}(-1, n) or x.{method}(x.size(0), -1)"
        if len(args) != 2 or node.keywords:
            raise _Unreadable(node, f"a {method} is read to (batch, features) only: {usage}")
        free_batch = _is_batch(args[0])
        if not free_batch:
            try:
                minus_one = self.value(args[0], {}) == -1
            except _Unreadable:
                minus_one = False
            if not minus_one:
                raise _Unreadable(node, f"the batch size must stay free: {usage}")
        try:
            features = self.value(args[1], {})
        except _Unreadable:
            features = None
        if not isinstance(features, int) or isinstance(features, bool):
            raise _Unreadable(node, f"the feature count must be a constant integer: {usage}")
        if features == -1 and not free_batch:
            raise _Unreadable(node, f"one of the sizes must be given: {usage}")
        if features == 0 or features < -1:
            raise _Unreadable(node, f"the feature count must be positive: {usage}")
        text = self.snippet(node) or f"x.{method}(...)"
        expected = None if features == -1 else features
        ops.append(_Op(node.lineno, layer={"type": "Flatten"}, features=expected, text=text))

    # --- the design -----------------------------------------------------------------------------

    def layer_list(self) -> list[tuple[dict[str, Any], _Op]]:
        """``forward``'s steps as spec layers.

        A layer with weights is used once. A layer without (an activation, a pool, a dropout)
        may be applied again: each repeat becomes a layer of its own, with a default name.
        """
        layers = []
        for op in self.ops:
            if op.layer is not None:
                layers.append((dict(op.layer), op))
                continue
            layer = self.layers[op.name]
            if layer.uses and layer.type in TENSOR_NDIM:
                self.problem(
                    op.line,
                    f"line {op.line}: self.{op.name} is applied a second time (first on line "
                    f"{layer.uses[0]}): a design uses a layer with weights once; define "
                    "another layer",
                )
            elif layer.uses:
                layers.append(({"type": layer.type, **layer.args}, op))
            else:
                item = {"type": layer.type, "name": layer.name, **layer.args}
                if not layer.trainable:
                    item["trainable"] = False
                layers.append((item, op))
            layer.uses.append(op.line)
        for layer in self.layers.values():
            if not layer.uses and layer.name not in self.mentioned:  # else reported already
                self.problem(
                    layer.line,
                    f"line {layer.line}: self.{layer.name} is defined but forward never uses "
                    "it: apply it in forward, or remove it",
                )
        return layers

    def assemble(self, layers: list[tuple[dict[str, Any], _Op]], name: str | None) -> Spec:
        items = [layer for layer, _ in layers]
        data: dict[str, Any] = {
            "version": 1,
            "name": self.class_name if name is None else name,
            "input_shape": self.input_shape,
            "seed": self.seed or 0,
            "layers": items,
        }
        spec = self.load(data, layers)
        types, overrides = self.init_plan(spec)
        if self.problems:
            return spec
        data["init"] = types
        for index, own in overrides.items():
            items[index]["init"] = own
        analysis = analyze(self.load(data, layers))
        for row, (item, op) in zip(analysis.layers, layers):
            key = REGISTRY[item["type"]].in_key
            inferred = row.input_shape[0] if row.error is None and row.input_shape else None
            if key in item and item[key] == inferred:
                del item[key]  # what the analysis infers: the spec leaves it out
            if op.features is not None and row.input_shape and row.output_shape != (op.features,):
                shape = ", ".join(map(str, row.input_shape))
                self.problem(
                    op.line,
                    f"line {op.line}: {op.text} makes {op.features} features per sample, "
                    f"but its input has shape ({shape}): {math.prod(row.input_shape)} "
                    "values per sample",
                )
        return self.load(data, layers)

    @staticmethod
    def load(data: dict[str, Any], layers: list[tuple[dict[str, Any], _Op]]) -> Spec:
        """``load_spec``, with the line of the layer a message names put in front of it."""
        try:
            return load_spec(data)
        except SpecError as exc:
            message = str(exc)
            match = re.match(r"layer (\d+) ", message)
            if match and 0 < int(match.group(1)) <= len(layers):
                message = f"line {layers[int(match.group(1)) - 1][1].line}: {message}"
            raise SpecError(message) from None

    # --- the init plan --------------------------------------------------------------------------

    def init_plan(self, spec: Spec) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
        """Run the init steps for a stand-in of each type, then for each layer.

        The stand-in's result is the type's ``init``; where a layer ends up different (an
        ``m is self.conv2`` arm, a call on ``self.conv2.weight``), that is its own ``init``.
        """
        types: dict[str, dict[str, Any]] = {}
        used = {layer.type for layer in spec.layers}
        for layer_type, entry in REGISTRY.items():
            if entry.tensor_names:
                # a rule for a type the design lacks never runs in torch: one that cannot be
                # applied to that type is left out rather than refused
                stand_in = _Target(layer_type, None, frozenset(entry.tensor_names))
                rule = self.run(stand_in, report=layer_type in used)
                if rule:
                    types[layer_type] = {t: rule[t] for t in _TENSORS if t in rule}
        overrides: dict[int, dict[str, Any]] = {}
        for index, layer in enumerate(spec.layers):
            if not layer.entry.tensor_names or layer.name not in self.layers:
                continue
            present = _present(layer.type, layer.args)
            final = self.run(_Target(layer.type, layer.name, present))
            typed = types.get(layer.type, {})
            own = {
                t: final.get(t, _DEFAULT)
                for t in _TENSORS
                if t in present and final.get(t, _DEFAULT) != typed.get(t, _DEFAULT)
            }
            if own:
                overrides[index] = own
        return types, overrides

    def run(self, target: _Target, report: bool = True) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for step in self.steps:
            if isinstance(step, _Direct):
                if step.layer == target.name:
                    out[step.tensor] = step.init
            else:
                self.run_block(step.block, target, out, report)
        return out

    def run_block(self, block: _Block, target: _Target, out: dict[str, Any], report: bool) -> None:
        for item in block:
            if item[0] == "if":
                _, test, then, orelse = item
                self.run_block(then if _holds(test, target) else orelse, target, out, report)
                continue
            _, tensor, init, line = item
            if tensor not in target.present:
                continue  # None in torch; a type rule for a missing tensor is ignored
            if target.type not in TENSOR_NDIM:  # pragma: no cover - only layers with weights
                continue
            if self.check_init(line, target.type, tensor, init, report):
                out[tensor] = init


_DEFAULT = {"scheme": "default"}


# --- usage lines outside the class --------------------------------------------------------------


class _Usage:
    """Lines like ``net = Net()``, ``net.initialize_weights()``, ``print(net)``: read, never run.

    An allow-list: only names bound here, the class, the imports and ``print`` / ``len``; only
    calls of those, of ``torch.*`` and of the net's methods; no private attributes.
    """

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.class_name = reader.class_name

    def statement(self, node: ast.stmt) -> None:
        reader = self.reader
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            value = node.value
            targets = {t.id for t in node.targets}
            if isinstance(value, ast.Call) and _is_name(value.func, self.class_name):
                if value.args or value.keywords:
                    raise _Unreadable(
                        value,
                        f"{self.class_name}(...) is read without arguments: give __init__'s "
                        "parameters the values as defaults",
                    )
                reader.nets |= targets
                return
            if targets <= set(reader.consts):
                return
            self.expression(value)
            reader.names |= targets
            return
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Call) and self.net_call(node.value):
                return
            self.expression(node.value)
            return
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and not node.orelse:
            self.expression(node.iter)
            reader.names.add(node.target.id)
            reader.each(node.body, self.statement)
            return
        raise _Unreadable(
            node,
            "outside the class only imports, constants and usage lines such as "
            f"'net = {self.class_name}()' and 'net.initialize_weights()' are read",
        )

    def net_call(self, call: ast.Call) -> bool:
        """``net.initialize_weights()``, ``net.apply(fn)``, ``torch.manual_seed(0)`` ..."""
        reader = self.reader
        func = call.func
        if reader.dotted(func) == "torch.manual_seed" and len(call.args) == 1:
            seed = reader.value(call.args[0], {})
            if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                raise _Unreadable(call, "the seed must be a non-negative integer")
            if reader.seed is None:
                reader.seed = seed
            return True
        if reader.is_init_call(call):
            tensor = func.value if isinstance(func, ast.Attribute) and not call.args else None
            owner = _root_name(call.args[0] if call.args else tensor)
            if owner not in reader.nets:
                return False
            reader.steps.append(reader.direct_init(call, owner))
            return True
        owner = _root_name(func)
        if owner not in reader.nets:
            return False
        if isinstance(func, ast.Attribute) and _is_name(func.value, owner):
            if func.attr == "apply":
                reader.steps.append(reader.apply_call(call, owner))
                return True
            if func.attr in reader.init_methods:
                if call.args or call.keywords:
                    raise _Unreadable(call, f"{owner}.{func.attr}() takes no arguments")
                reader.steps.append(_Call("method", func.attr, call.lineno))
                return True
            return False
        return reader.freeze(call, owner)

    def bound(self, name: str | None) -> bool:
        """Whether a usage line bound the name (no set union per node: that was quadratic)."""
        return name in self.reader.nets or name in self.reader.names

    def expression(self, node: ast.AST, depth: int = 0) -> None:
        """Refuse anything but harmless uses of the net, torch and printing."""
        if depth > MAX_DEPTH:
            raise _Unreadable(node, "the expression is nested too deeply")
        reader = self.reader
        if isinstance(node, ast.Name):
            known = self.bound(node.id) or node.id in reader.aliases or node.id in reader.consts
            if not known and node.id not in (self.class_name, "print", "len"):
                raise _Unreadable(node, f"{node.id!r} is not read outside the class")
            return
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise _Unreadable(node, f"the private attribute {node.attr!r} is not read")
            self.expression(node.value, depth + 1)
            return
        if isinstance(node, ast.Call):
            func = node.func
            dotted = reader.dotted(func)
            ok = (dotted or "").split(".")[0] == "torch" or self.bound(_root_name(func))
            ok = ok or _is_name(func, self.class_name) or _is_name(func, "print")
            ok = ok or _is_name(func, "len")
            if not ok:
                raise _Unreadable(
                    node, "outside the class only calls of torch, print and the net are read"
                )
            for child in [func, *node.args, *(k.value for k in node.keywords)]:
                self.expression(child, depth + 1)
            return
        if isinstance(node, ast.Constant):
            return
        if isinstance(node, ast.Starred):
            self.expression(node.value, depth + 1)
            return
        if isinstance(
            node, (ast.Tuple, ast.List, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp,
                   ast.Subscript, ast.IfExp, ast.Slice)
        ):  # fmt: skip
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expression(child, depth + 1)
            return
        raise _Unreadable(node, f"{type(node).__name__} is not read outside the class")


# --- small helpers ------------------------------------------------------------------------------


def _size(node: ast.AST) -> int:
    return sum(1 for _ in ast.walk(node))


def _cost(step: Any) -> int:
    """What running one init step costs against ``MAX_INIT_WORK``: a walk, its syntax nodes."""
    return step.size if isinstance(step, _Loop) else 1


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements, and those of ``if __name__ == "__main__":``."""
    for node in body:
        yield node
        if isinstance(node, ast.If) and _is_main_test(node.test):
            yield from node.body


def _applied_names(tree: ast.Module) -> set[str]:
    """Names passed as ``X.apply(Y.name)`` anywhere: methods that take the module."""
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "apply"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Attribute)
        ):
            names.add(node.args[0].attr)
    return names


def _is_main_test(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and _is_name(test.left, "__name__")
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _is_name(node: ast.AST | None, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _is_attr(node: ast.AST | None, owner: str, attr: str) -> bool:
    return isinstance(node, ast.Attribute) and _is_name(node.value, owner) and node.attr == attr


def _is_self_call(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and _is_name(call.func.value, "self")


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


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
    if isinstance(inner, ast.Call) and _is_name(inner.func, "super"):
        return not call.args and not inner.keywords
    return (
        isinstance(inner, ast.Attribute)
        and inner.attr == "Module"
        and len(call.args) == 1
        and _is_name(call.args[0], "self")
    )


def _params(node: ast.FunctionDef) -> list[str]:
    return [a.arg for a in (*node.args.posonlyargs, *node.args.args)]


def _strip_data(node: ast.AST) -> ast.AST:
    """``m.weight.data`` -> ``m.weight``."""
    if isinstance(node, ast.Attribute) and node.attr == "data":
        return node.value
    return node


def _is_batch(node: ast.AST) -> bool:
    """``x.size(0)``, ``x.shape[0]``, ``x.size()[0]``, ``len(x)``: the batch size."""
    if isinstance(node, ast.Call):
        if _is_name(node.func, "len"):
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
        size = isinstance(base, ast.Call) and _is_attr_call(base, "size") and not base.args
        return zero and (shape or size)
    return False


def _is_attr_call(call: ast.Call, attr: str) -> bool:
    return isinstance(call.func, ast.Attribute) and call.func.attr == attr


def _present(layer_type: str, args: dict[str, Any]) -> frozenset[str]:
    """The parameter tensors a layer has (``bias=False`` and ``affine=False`` take them away)."""
    entry = REGISTRY[layer_type]
    return frozenset(n for n, _ in entry.tensors(entry.resolved(args), 1))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked_number(node: ast.AST, value: Any) -> Any:
    if not _is_number(value):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise _Unreadable(node, "the number is not finite")
    if abs(value) > MAX_NUMBER:
        raise _Unreadable(node, "the number is too large")
    return value


def _arithmetic(node: ast.BinOp, left: Any, right: Any) -> Any:
    """``+ - * / // % **`` on two numbers, bounded so no input can make a huge one."""
    if not (_is_number(left) and _is_number(right)):
        raise _Unreadable(node, "arithmetic is read on numbers only")
    op = type(node.op)
    if op is ast.Pow and (abs(right) > 64 or abs(left) > 2**32):
        raise _Unreadable(node, "the power is too large")
    operations: dict[type, Callable[[Any, Any], Any]] = {
        ast.Add: lambda a, b: a + b,
        ast.Sub: lambda a, b: a - b,
        ast.Mult: lambda a, b: a * b,
        ast.Div: lambda a, b: a / b,
        ast.FloorDiv: lambda a, b: a // b,
        ast.Mod: lambda a, b: a % b,
        ast.Pow: lambda a, b: a**b,
    }
    if op not in operations:
        raise _Unreadable(node, "only + - * / // % ** are read")
    try:
        result = operations[op](left, right)
    except (ZeroDivisionError, OverflowError):
        raise _Unreadable(node, "the arithmetic fails (division by zero or overflow)") from None
    if isinstance(result, complex):
        raise _Unreadable(node, "the arithmetic gives a complex number")
    return _checked_number(node, result)


def _same(value: Any, default: Any) -> bool:
    """Whether a given argument is torch's default (``1`` and ``1.0`` alike, ``True`` not ``1``)."""
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    if _is_number(value) and _is_number(default):
        return value == default
    return type(value) is type(default) and value == default


def _holds(test: _Cond, target: _Target) -> bool:
    """Whether a parsed test is true for the module being walked."""
    kind = test[0]
    if kind == "isinstance":
        return target.type in test[1]
    if kind == "is":
        return target.name == test[1]
    if kind == "has":
        return (test[1] in target.present) == test[2]
    if kind == "attr":
        return test[1] in REGISTRY[target.type].tensor_names
    if kind == "not":
        return not _holds(test[1], target)
    if kind == "and":
        return all(_holds(t, target) for t in test[1])
    if kind == "or":
        return any(_holds(t, target) for t in test[1])
    return bool(test[1])
