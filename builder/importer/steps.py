"""The typed data the passes hand on: layers, forward's operations, init steps and their tests.

Every record is frozen: a pass builds them, later passes only read them. An INIT (the
``{"scheme": ...}`` mapping a spec holds) is carried as it will be written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..layers import REGISTRY

# --- the module tree (__init__) -----------------------------------------------------------------


@dataclass(frozen=True)
class LayerDef:
    """``self.conv1 = nn.Conv2d(3, 6, 5)``: a named layer, its type and its given arguments."""

    name: str
    type: str
    args: Mapping[str, Any]
    line: int
    explicit: bool = True  # False: a model's positional layer, left to its default name


@dataclass(frozen=True)
class Freeze:
    """``self.fc1.requires_grad_(False)`` (or a loop over its parameters): the last one wins."""

    layer: str
    trainable: bool
    line: int


# --- the dataflow (forward) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyLayer:
    """A layer defined in ``__init__`` applied to value ``source``: ``self.conv1(x)``."""

    line: int
    source: int
    name: str


@dataclass(frozen=True)
class NewLayer:
    """A layer that forward's code makes on the fly: ``F.relu(x)``, ``x.view(-1, 400)``.

    ``features`` is a view's feature count, which the analysis must confirm; ``text`` quotes it.
    """

    line: int
    source: int
    layer: Mapping[str, Any]
    features: int | None = None
    text: str = ""


@dataclass(frozen=True)
class Merge:
    """Values merged: ``a + b``, ``out += y`` (``Add``); ``torch.cat([a, b], 1)`` (``Concat``)."""

    line: int
    sources: tuple[int, ...]
    layer: Mapping[str, Any]


Operation = ApplyLayer | NewLayer | Merge


# --- tests on the module an init walk visits ----------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A module an init walk visits: a named layer, or a stand-in for any layer of a type."""

    type: str
    name: str | None
    present: frozenset[str]  # its parameter tensors (bias=False takes one away)


class Test:
    """A test in an init walk (``isinstance(m, nn.Conv2d)``, ``m is self.fc1`` ...)."""

    def holds(self, target: Target) -> bool:  # pragma: no cover - every test overrides it
        raise NotImplementedError


@dataclass(frozen=True)
class IsInstance(Test):
    """``isinstance(m, (nn.Conv2d, nn.Linear))`` / ``type(m) == nn.Linear``."""

    types: frozenset[str]

    def holds(self, target: Target) -> bool:
        return target.type in self.types


@dataclass(frozen=True)
class IsLayer(Test):
    """``m is self.fc1``."""

    name: str

    def holds(self, target: Target) -> bool:
        return target.name == self.name


@dataclass(frozen=True)
class HasTensor(Test):
    """``m.bias is not None`` (``present``) / ``m.bias is None``."""

    tensor: str
    present: bool

    def holds(self, target: Target) -> bool:
        return (self.tensor in target.present) == self.present


@dataclass(frozen=True)
class HasAttribute(Test):
    """``hasattr(m, "bias")``: the type has such a tensor, even when set to None."""

    tensor: str

    def holds(self, target: Target) -> bool:
        return self.tensor in REGISTRY[target.type].tensor_names


@dataclass(frozen=True)
class Not(Test):
    test: Test

    def holds(self, target: Target) -> bool:
        return not self.test.holds(target)


@dataclass(frozen=True)
class All(Test):
    tests: tuple[Test, ...]

    def holds(self, target: Target) -> bool:
        return all(t.holds(target) for t in self.tests)


@dataclass(frozen=True)
class AnyOf(Test):
    tests: tuple[Test, ...]

    def holds(self, target: Target) -> bool:
        return any(t.holds(target) for t in self.tests)


@dataclass(frozen=True)
class Always(Test):
    """``if True:`` / ``if False:``."""

    value: bool

    def holds(self, target: Target) -> bool:
        return self.value


# --- init steps ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SetInit:
    """In a walk: an init call on the visited module's tensor (``nn.init.zeros_(m.bias)``)."""

    tensor: str
    init: Mapping[str, Any]
    line: int


@dataclass(frozen=True, eq=False)
class Branch:
    """In a walk: ``if test: then else: orelse``."""

    test: Test
    then: tuple[WalkItem, ...]
    orelse: tuple[WalkItem, ...]


WalkItem = SetInit | Branch


@dataclass(frozen=True, eq=False)
class Walk:
    """An init walk over every module: ``for m in self.modules():`` or ``self.apply(fn)``.

    ``size`` is the syntax nodes of its code: what running it once costs ``MAX_INIT_WORK``.
    """

    body: tuple[WalkItem, ...]
    line: int
    size: int


@dataclass(frozen=True, eq=False)
class DirectInit:
    """An init call on one named layer's tensor (``nn.init.zeros_(self.fc3.bias)``)."""

    layer: str
    tensor: str
    init: Mapping[str, Any]
    line: int


@dataclass(frozen=True)
class CallMethod:
    """``self.initialize_weights()``: replaced by the method's steps once all are read."""

    name: str
    line: int


@dataclass(frozen=True)
class ApplyMethod:
    """``self.apply(self._init_weights)``: a walk with the method's body."""

    name: str
    line: int


@dataclass(frozen=True)
class ApplyFunction:
    """``net.apply(weights_init)``: a walk with a module-level function's body."""

    name: str
    line: int


Step = Walk | DirectInit | CallMethod | ApplyMethod | ApplyFunction
Resolved = Walk | DirectInit  # a step once calls are replaced by what they run
