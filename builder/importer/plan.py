"""The init recipe followed through its calls, and run for each layer as torch would.

``resolve`` replaces calls of init methods and ``apply`` by what they run, each method resolved
once and reused, the total capped at ``MAX_INIT_WORK``. ``InitPlan`` then runs the steps for a
stand-in of each layer type (the spec's per-type ``init``) and for each named layer (where it
ends up different: its own ``init``). The last step to touch a tensor sets its scheme.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import SpecError
from ..layers import REGISTRY
from ..spec import Spec
from .initcalls import InitChecks
from .initcode import present_tensors
from .messages import InitCycle, Problems
from .recipe import Recipe
from .steps import (
    ApplyFunction,
    ApplyMethod,
    Branch,
    DirectInit,
    Resolved,
    Step,
    Target,
    Walk,
    WalkItem,
)
from .vocabulary import TENSORS

# Init steps the design's recipe runs once calls are followed (a walk counts its syntax nodes):
# ``self._h0()`` calling ``self._h1()`` twice, and so on, would make 2**n copies. A walk of 60
# ``m is self.fcN`` arms (the most the reader follows) is ~2,200.
MAX_INIT_WORK = 10_000
_DEFAULT = {"scheme": "default"}


def resolve(steps: Sequence[Step], recipe: Recipe, problems: Problems) -> tuple[Resolved, ...]:
    """The steps run in order: ``steps`` (``__init__``'s, then the usage lines'), then the init
    methods and walk methods nothing calls (defined but never called: the recipe is meant)."""
    resolver = _Resolver(recipe, problems)
    out, weight = resolver.resolve(steps, ())
    for method, method_steps in recipe.methods.items():
        if method not in resolver.called:
            more, weight = resolver.resolve(method_steps, (method,), weight)
            out += more
    for method, walk in recipe.walk_methods.items():
        if method not in resolver.called:
            weight = _weigh(weight + walk.size, walk.line)
            out.append(walk)
    return tuple(out)


class _Resolver:
    def __init__(self, recipe: Recipe, problems: Problems) -> None:
        self.recipe = recipe
        self.problems = problems
        self.called: set[str] = set()  # init methods and apply functions some code calls
        self.resolved: dict[str, tuple[list[Resolved], int]] = {}  # method -> its answer

    def resolve(
        self, steps: Sequence[Step], stack: tuple[str, ...], weight: int = 0
    ) -> tuple[list[Resolved], int]:
        """Replace calls of init methods and ``apply`` by their steps.

        A method's steps are resolved once and reused (a cycle is a problem either way, so the
        stack it was first reached from does not change the design).

        Returns:
            The steps, and ``weight`` plus what running them costs, kept under
            ``MAX_INIT_WORK`` as the list grows.
        """
        out: list[Resolved] = []
        for step in steps:
            found: list[Resolved]
            if isinstance(step, (Walk, DirectInit)):
                found, cost = [step], step.size if isinstance(step, Walk) else 1
            elif isinstance(step, (ApplyMethod, ApplyFunction)):
                self.called.add(step.name)
                table = (
                    self.recipe.functions
                    if isinstance(step, ApplyFunction)
                    else self.recipe.walk_methods
                )
                found, cost = [table[step.name]], table[step.name].size
            elif step.name in stack:  # a CallMethod already on the way here: a cycle
                self.problems.add(InitCycle(step.line, step.name))
                continue
            else:
                self.called.add(step.name)
                if step.name not in self.resolved:
                    self.resolved[step.name] = self.resolve(
                        self.recipe.methods[step.name], (*stack, step.name)
                    )
                found, cost = self.resolved[step.name]
            weight = _weigh(weight + cost, step.line)
            out += found
        return out, weight


def _weigh(weight: int, line: int) -> int:
    """``weight`` if it is within ``MAX_INIT_WORK``; else a ``SpecError`` naming the line."""
    if weight > MAX_INIT_WORK:
        raise SpecError(
            f"line {line}: the initialization is too large to read: it runs more than "
            f"{MAX_INIT_WORK:,} steps once the calls of init methods and apply are followed "
            "(call each init method once)"
        )
    return weight


class InitPlan:
    """The resolved steps, run for the modules a walk visits."""

    def __init__(self, steps: Sequence[Resolved], checks: InitChecks) -> None:
        self.steps = steps
        self.checks = checks

    def rules(
        self, spec: Spec, named: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
        """The spec's per-type ``init``, and per-layer overrides by index.

        Args:
            spec: the design (its layers in forward's order).
            named: the layers ``__init__`` defines: only those can differ from their type.
        """
        types: dict[str, dict[str, Any]] = {}
        used = {layer.type for layer in spec.layers}
        for layer_type, entry in REGISTRY.items():
            if entry.tensor_names:
                # a rule for a type the design lacks never runs in torch: one that cannot be
                # applied to that type is left out rather than refused
                stand_in = Target(layer_type, None, frozenset(entry.tensor_names))
                rule = self.run(stand_in, report=layer_type in used)
                if rule:
                    types[layer_type] = {t: rule[t] for t in TENSORS if t in rule}
        overrides: dict[int, dict[str, Any]] = {}
        for index, layer in enumerate(spec.layers):
            if not layer.entry.tensor_names or layer.name not in named:
                continue
            present = present_tensors(layer.type, layer.args)
            final = self.run(Target(layer.type, layer.name, present))
            typed = types.get(layer.type, {})
            own = {
                t: final.get(t, _DEFAULT)
                for t in TENSORS
                if t in present and final.get(t, _DEFAULT) != typed.get(t, _DEFAULT)
            }
            if own:
                overrides[index] = own
        return types, overrides

    def run(self, target: Target, report: bool = True) -> dict[str, Any]:
        """What each tensor of ``target`` ends up with (absent: its default)."""
        out: dict[str, Any] = {}
        for step in self.steps:
            if isinstance(step, DirectInit):
                if step.layer == target.name:
                    out[step.tensor] = step.init
            else:
                self._walk(step.body, target, out, report)
        return out

    def _walk(
        self, body: Sequence[WalkItem], target: Target, out: dict[str, Any], report: bool
    ) -> None:
        for item in body:
            if isinstance(item, Branch):
                branch = item.then if item.test.holds(target) else item.orelse
                self._walk(branch, target, out, report)
            elif item.tensor in target.present and self.checks.fits(
                item, item.line, target.type, item.tensor, item.init, report
            ):  # a tensor set to None is left alone in torch, so is a type rule for it
                out[item.tensor] = item.init
