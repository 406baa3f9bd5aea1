"""PyTorch source -> spec: read a module class written like the article's ``Net``, never run it.

``spec_from_code`` is the reverse of ``generate_code``. The text is ``ast.parse``'d and read in
passes, each handing typed, frozen data to the next (``steps``), each collecting its problems
with their lines (``messages``):

1. ``classes``: imports, module constants, the network class and its methods, usage lines;
2. ``tree``: ``__init__`` evaluated into a module tree: named ``torch.nn`` layers
   (``self.conv1 = nn.Conv2d(3, 6, 5)``), arguments positional in torch's order or by keyword,
   as literals or constant arithmetic (``16 * 5 * 5``), freezing, and init code;
3. ``dataflow``: ``forward`` as operations on one running value: layers applied, calls nested
   or one per statement, functional forms of any registered layer type (``F.relu(x)``,
   ``F.max_pool2d(x, 2)``, ``torch.tanh(x)``) and flattening (``x.view(-1, 16 * 5 * 5)``);
4. ``recipe``: the init methods (``for m in self.modules():`` with ``isinstance`` and ``m is
   self.conv2`` tests, ``self.apply(fn)``, ``nn.init.*_`` and ``m.weight.data.fill_(1)``
   forms), walk methods, init functions and the usage lines (``net.apply(init)``);
5. ``emit``: the spec, the init plan (``plan``: what the last statement to touch a tensor sets
   is its scheme, as when run) and the checks that need the whole design.

Nothing in the text is executed, compiled to run, or imported. What torch's callables are
called and take comes from the layer registry (``vocabulary``). Anything else is a
``SpecError`` naming the line and what was not understood, one line per problem.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from ..errors import SpecError
from ..limits import MAX_CODE_CHARS
from ..spec import Spec, load_spec
from .classes import read_module
from .dataflow import read_forward
from .emit import Design, emit_spec
from .initcalls import InitChecks
from .interp import MAX_WORK, Budget
from .messages import MAX_PROBLEMS, MAX_SNIPPET, CodeImportWarning, Problems, SourceText
from .plan import MAX_INIT_WORK, InitPlan, resolve
from .recipe import read_recipe
from .tree import evaluate_init
from .usage import read_usage

__all__ = [
    "MAX_INIT_WORK",
    "MAX_PROBLEMS",
    "MAX_SNIPPET",
    "MAX_WORK",
    "CodeImportWarning",
    "spec_from_code",
]


def spec_from_code(
    source: str,
    input_shape: Sequence[int],
    *,
    name: str | None = None,
    entry: str | None = None,
) -> Spec:
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
        input_shape: one sample's shape, ``[C, H, W]``, ``[C, L]`` or ``[F]``.
        name: the spec's name; default: the class name.
        entry: the network to read, by name (a class, a factory function or a module-level
            variable), where the code makes several.

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
        return _read(tree, SourceText(source), shape, name, entry)
    except RecursionError:
        raise SpecError("the code is nested too deeply to read") from None
    except MemoryError:
        raise SpecError("the code is too large to read") from None


def _read(
    tree: ast.Module, text: SourceText, shape: list[int], name: str | None, entry: str | None
) -> Spec:
    """The passes, in order."""
    problems = Problems(text)
    checks = InitChecks(problems)
    budget = Budget()
    module = read_module(tree, problems, entry)
    model = evaluate_init(module, shape, checks, problems, budget)
    flow = read_forward(module, model, shape, problems, budget)
    recipe = read_recipe(module, model, checks, problems)
    usage = read_usage(module, model, checks, problems)
    steps = resolve([*model.steps, *usage.steps], recipe, problems)
    design = Design(
        class_name=module.class_name,
        input_shape=shape,
        seed=usage.seed,
        layers=model.layers,
        freezes=[*model.freezes, *recipe.freezes, *usage.freezes],
        flow=flow,
        plan=InitPlan(steps, checks),
    )
    return emit_spec(design, name, problems)


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
