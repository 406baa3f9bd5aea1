"""Pass 5, the spec: forward's operations as layers, with the init plan and the checks that need
the whole design (a view's feature count against what its input holds).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..analysis import analyze
from ..errors import SpecError
from ..layers import REGISTRY
from ..spec import INPUT, Spec, default_names, load_spec
from .dataflow import Dataflow
from .messages import AppliedTwice, CodeImportWarning, Problems, ViewMismatch
from .order import live, schedule, sources
from .plan import InitPlan
from .steps import ApplyLayer, Freeze, LayerDef, NewLayer, Operation


@dataclass(frozen=True)
class Design:
    """What the passes read, for the spec: the class, its layers, forward and the init plan."""

    class_name: str
    input_shape: Sequence[int]
    seed: int | None
    layers: Mapping[str, LayerDef]
    freezes: Sequence[Freeze]  # in the order they run: the last one for a layer wins
    flow: Dataflow
    plan: InitPlan


def emit_spec(design: Design, name: str | None, problems: Problems) -> Spec:
    """The validated spec; every problem found so far is raised first."""
    layers = _layer_list(design, problems)
    problems.raise_if_any()
    spec = _assemble(design, layers, name, problems)
    problems.raise_if_any()
    return spec


def _layer_list(design: Design, problems: Problems) -> list[tuple[dict[str, Any], Operation]]:
    """forward's operations that reach its output as spec layers, with their ``inputs``.

    A layer with weights is used once. A layer without (an activation, a pool, a dropout) may
    be applied again: each repeat becomes a layer of its own, with a default name. Layers
    ``__init__`` defines that forward leaves unused are left out, with a ``CodeImportWarning``.
    """
    operations = design.flow.operations
    keep = live(operations, design.flow.output)
    registered = {name: index for index, name in enumerate(design.layers)}
    order = schedule(operations, keep, registered)
    trainable = {freeze.layer: freeze.trainable for freeze in design.freezes}
    uses: dict[str, int] = {}  # layer -> the line it is first applied on
    layers = []
    for index in order:
        op = operations[index]
        if not isinstance(op, ApplyLayer):
            layers.append((dict(op.layer), op))
            continue
        layer = design.layers[op.name]
        if op.name in uses and REGISTRY[layer.type].tensor_names:
            problems.add(AppliedTwice(op.line, op.name, uses[op.name]))
        elif op.name in uses or not layer.explicit:
            layers.append(({"type": layer.type, **layer.args}, op))
        else:
            item = {"type": layer.type, "name": layer.name, **layer.args}
            if not trainable.get(op.name, True):
                item["trainable"] = False
            layers.append((item, op))
        uses.setdefault(op.name, op.line)
    if not problems:  # else raised next (a layer applied twice has no place of its own)
        _wire(layers, order)
        _note_unused(design, uses)
    return layers


def _wire(layers: list[tuple[dict[str, Any], Operation]], order: list[int]) -> None:
    """Write each layer's ``inputs`` where it is not simply the previous layer."""
    names = default_names(
        [item["type"] for item, _ in layers], [item.get("name") for item, _ in layers]
    )
    made = {index + 1: position for position, index in enumerate(order)}  # value -> layer
    for position, (item, op) in enumerate(layers):
        reads = [made.get(v, -1) if v > 0 else -1 for v in sources(op)]
        if len(reads) == 1 and reads[0] == position - 1:
            continue
        item["inputs"] = [names[r] if r >= 0 else INPUT for r in reads]


def _note_unused(design: Design, uses: Mapping[str, int]) -> None:
    for layer in design.layers.values():
        if layer.name not in uses:
            warnings.warn(
                CodeImportWarning(
                    f"line {layer.line}: {layer.name} ({layer.type}) is defined but forward "
                    "never uses it: it is left out"
                ),
                stacklevel=4,
            )


def _assemble(
    design: Design,
    layers: list[tuple[dict[str, Any], Operation]],
    name: str | None,
    problems: Problems,
) -> Spec:
    items = [layer for layer, _ in layers]
    data: dict[str, Any] = {
        "version": 1,
        "name": design.class_name if name is None else name,
        "input_shape": list(design.input_shape),
        "seed": design.seed or 0,
        "layers": items,
    }
    spec = _load(data, layers)
    types, overrides = design.plan.rules(spec, design.layers)
    if problems:
        return spec
    data["init"] = types
    for index, own in overrides.items():
        items[index]["init"] = own
    analysis = analyze(_load(data, layers))
    for row, (item, op) in zip(analysis.layers, layers):
        entry = REGISTRY[item["type"]]
        key = entry.in_key
        if key in item and row.error is None and row.input_shape:
            # what the analysis infers when it is left out: the spec leaves it out
            rest = entry.resolved({k: v for k, v in item.items() if k != key})
            if _plain(item[key]) == _plain(entry.infer(tuple(row.input_shape), rest)):
                del item[key]
        features = op.features if isinstance(op, NewLayer) else None
        if features is not None and row.input_shape and row.output_shape != (features,):
            problems.add(
                ViewMismatch(
                    op.line,
                    op.text,
                    features,
                    ", ".join(map(str, row.input_shape)),
                    math.prod(row.input_shape),
                )
            )
    return _load(data, layers)


def _load(data: dict[str, Any], layers: list[tuple[dict[str, Any], Operation]]) -> Spec:
    """``load_spec``, with the line of the layer a message names put in front of it."""
    try:
        return load_spec(data)
    except SpecError as exc:
        message = str(exc)
        match = re.match(r"layer (\d+) ", message)
        if match and 0 < int(match.group(1)) <= len(layers):
            message = f"line {layers[int(match.group(1)) - 1][1].line}: {message}"
        raise SpecError(message) from None


def _plain(value: Any) -> Any:
    """A value as a spec writes it (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value
