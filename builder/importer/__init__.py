"""PyTorch source -> spec: read the network a pasted module means, never run it.

``spec_from_code`` is the reverse of ``generate_code``. The text is ``ast.parse``'d and read in
passes, each handing typed, frozen data to the next (``steps``), each collecting its problems
with their lines (``messages``):

1. ``classes``: imports, module constants, the ``nn.Module`` classes (blocks included), helper
   functions, the network meant (``entry``: the zero-argument class, factory function or
   module-level ``model = nn.Sequential(...)`` nothing else uses; ``entry=`` names it), its
   methods, usage lines;
2. ``tree``: ``__init__`` evaluated into a module tree (``interp``, ``calls``: constants,
   arithmetic, lists, ``for`` over lists and ``range``, ``if`` on constants, helper methods,
   ``nn.Sequential`` and instances of the source's block classes, all within one ``Budget``);
   each layer named by its flattened attribute path (``modules``: ``layer1_0_conv1``), in
   registration order; freezing and init code;
3. ``dataflow``: ``forward`` (and each block's) as a graph of operations: layers applied,
   ``nn.Sequential`` in turn, functional forms of any registered layer type (``functional``:
   ``F.relu(x)``, ``F.max_pool2d(x, 2)``, ``x.view(x.size(0), -1)``), merges (``a + b``,
   ``out += self.shortcut(x)``, ``torch.cat([a, b], 1)``);
4. ``recipe``: the init methods (``for m in self.modules():`` with ``isinstance`` and ``m is
   self.conv2`` tests, ``self.apply(fn)``, ``nn.init.*_`` and ``m.weight.data.fill_(1)``
   forms), walk methods, init functions and the usage lines (``net.apply(init)``);
5. ``emit``: the operations that reach the output, in construction order where the data allows
   (``order``), with their ``inputs``; the init plan (``plan``: what the last statement to
   touch a tensor sets is its scheme, as when run) and the checks that need the whole design.

Nothing in the text is executed, compiled to run, or imported. What torch's callables are
called and take comes from the layer registry (``vocabulary``). Anything else is a
``SpecError`` naming the line and what was not understood, one line per problem. What the
import leaves out (a layer forward never uses) is a ``CodeImportWarning``.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from ..errors import SpecError
from ..limits import MAX_CODE_CHARS
from ..spec import Spec, load_spec
from .classes import read_module
from .data import MAX_WORK, Budget
from .dataflow import read_forward
from .emit import Design, emit_spec
from .initcalls import InitChecks
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
    """Read the PyTorch network a source means as a spec (a graph where forward has skips).

    The source is parsed with ``ast`` and never executed. The attribute paths become the
    layers' names (``self.layer1[0].conv1`` -> ``layer1_0_conv1``); the layers follow
    construction order where forward's data allows, with ``inputs`` where a layer does not read
    the previous one (``out += self.shortcut(x)`` is an ``Add``); activations applied functionally
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
