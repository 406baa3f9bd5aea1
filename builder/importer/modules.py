"""The module tree as static values: torch.nn layers, ``nn.Sequential``s and block instances.

``__init__`` code (the network's, and that of block classes defined in the same source) is
evaluated into these values (``interp``); ``place`` then gives every layer its flattened spec name
(``self.layer1[0].conv1`` -> ``layer1_0_conv1``), in registration order: the order of torch's
``state_dict``.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..spec import MAX_NAME, RESERVED_NAMES
from .messages import Refusal

_VALID = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class BlockClass:
    """``class BasicBlock(nn.Module):``: its methods and its class constants (``expansion = 1``)."""

    name: str
    node: ast.ClassDef
    methods: Mapping[str, ast.FunctionDef]
    constants: Mapping[str, Any]


@dataclass(frozen=True)
class ClassRef:
    """A class defined in the source, as a value (``block`` in ``ResNet(BasicBlock, [2, 2])``)."""

    cls: BlockClass


@dataclass(eq=False)
class Leaf:
    """A torch.nn layer: its type, given arguments and line; ``name`` once placed."""

    type: str
    args: dict[str, Any]
    line: int
    name: str | None = None
    explicit: bool = True


@dataclass(eq=False)
class Seq:
    """``nn.Sequential(...)``: its children by key (``"0"``, or the OrderedDict's names).

    ``listed``: an ``nn.ModuleList``, whose children forward applies in a loop, never at once.
    """

    children: list[tuple[str, Module]]
    line: int
    depth: int = 1  # containers nested in it, itself included
    listed: bool = False


@dataclass(eq=False)
class Block:
    """An instance of a class defined in the source: its submodules and its constants."""

    cls: BlockClass
    line: int
    modules: dict[str, Module] = field(default_factory=dict)
    members: dict[str, Any] = field(default_factory=dict)
    depth: int = 1


@dataclass(frozen=True)
class Ordered:
    """``OrderedDict([("conv", nn.Conv2d(...)), ...])``, for ``nn.Sequential``."""

    items: tuple[tuple[str, Any], ...]


Module = Leaf | Seq | Block


MAX_CONTAINERS = 32  # Sequentials and blocks nested inside each other


def depth(module: Module) -> int:
    return 0 if isinstance(module, Leaf) else module.depth


def is_module(value: Any) -> bool:
    return isinstance(value, (Leaf, Seq, Block))


def leaves(module: Module) -> Iterator[Leaf]:
    """The layers of a module, in registration order."""
    if isinstance(module, Leaf):
        yield module
    elif isinstance(module, Seq):
        for _, child in module.children:
            yield from leaves(child)
    else:
        for child in module.modules.values():
            yield from leaves(child)


def place(module: Module, path: str, node: ast.AST, used: set[str]) -> list[Leaf]:
    """Name every layer of ``module`` (assigned to ``self.<path>``) by its flattened path.

    Names become valid spec names: leading underscores dropped, a name that is not an
    identifier or is reserved gets a suffix; ``used`` (the names taken so far) is updated.
    """
    out = []
    for leaf, parts in _paths(module, [path]):
        if leaf.name is not None:
            raise Refusal(node, "the same layer object is placed twice: create one per use")
        leaf.name = spec_name("_".join(parts), used)
        used.add(leaf.name)
        out.append(leaf)
    return out


def _paths(module: Module, parts: list[str]) -> Iterator[tuple[Leaf, list[str]]]:
    if isinstance(module, Leaf):
        yield module, parts
    elif isinstance(module, Seq):
        for key, child in module.children:
            yield from _paths(child, [*parts, key])
    else:
        for key, child in module.modules.items():
            yield from _paths(child, [*parts, key])


def spec_name(text: str, used: set[str]) -> str:
    """A valid spec layer name for an attribute path (``_conv`` -> ``conv``), not in ``used``."""
    name = text.lstrip("_") or "layer"
    if not _VALID.match(name):
        name = f"layer_{name}"
    if keyword.iskeyword(name) or name in RESERVED_NAMES:
        name = f"{name}_layer"
    base, number = name[:MAX_NAME], 2
    name = base
    while name in used:
        suffix = f"_{number}"
        name = base[: MAX_NAME - len(suffix)] + suffix
        number += 1
    return name
