"""Pure edits of a spec dict, as the app makes them: insert, delete, move, duplicate, set, fix.

Every function takes the spec as a JSON-ready dict and returns a NEW dict (the input is never
changed), so an undo history is just a list of the dicts the user has seen.
"""

from __future__ import annotations

import copy
from typing import Any

from .layers import REGISTRY
from .spec import INPUT, default_names


def _copy(design: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(design)


def new_layer(layer_type: str) -> dict[str, Any]:
    """A fresh layer of ``layer_type`` with its registry entry's starter arguments."""
    return {"type": layer_type, **REGISTRY[layer_type].new_args()}


def loose_ends(design: dict[str, Any]) -> list[str]:
    """The names of the layers nothing reads yet, most recent first (where a merge joins)."""
    layers = design.get("layers", [])
    names = _names(layers)
    read = set()
    for i, layer in enumerate(layers):
        given = layer.get("inputs")
        read.update(given if isinstance(given, list) else [names[i - 1] if i else INPUT])
    return [name for name in reversed(names) if name not in read]


def new_merge(design: dict[str, Any], layer_type: str, index: int | None = None) -> dict[str, Any]:
    """A new ``Add`` / ``Concat`` for place ``index`` (default: the end), reading the two most
    recent loose ends before it (a branch and the main path), else the layer before it and the
    one it reads from further back, else the network's input."""
    layers = design.get("layers", [])
    index = len(layers) if index is None else index
    before = {"layers": layers[:index]}
    names = _names(before["layers"])
    picks = loose_ends(before)[:2]
    for fallback in [*(reversed(names[: max(0, len(names) - 1)])), INPUT]:
        if len(picks) >= 2:
            break
        if fallback not in picks:
            picks.append(fallback)
    if len(picks) < 2:
        picks.append(INPUT)
    return {**new_layer(layer_type), "inputs": list(reversed(picks[:2]))}


def _names(layers: list[dict[str, Any]]) -> list[str]:
    """Each layer's name as ``load_spec`` gives it (explicit, or the default for its place)."""
    types = [layer.get("type") for layer in layers]
    if not all(isinstance(t, str) and t in REGISTRY for t in types):
        return [str(layer.get("name", "")) for layer in layers]
    explicit = [n if isinstance(n := layer.get("name"), str) else None for layer in layers]
    return default_names(types, explicit)


def _restructured(design: dict[str, Any], order: list[int | dict[str, Any]]) -> dict[str, Any]:
    """A new design whose layers are ``order``: an int keeps that old layer, a dict is a new
    one. Default names follow their places (``conv2`` may become ``conv3``), so every ``inputs``
    that named a kept layer is rewritten to its new name, and one that named a removed layer
    reads what that layer read (a plain stack has no ``inputs`` and is untouched)."""
    out = _copy(design)
    old = out.get("layers", [])  # already a copy: each kept layer is placed, not copied again
    old_names = _names(old)
    layers = [old[item] if isinstance(item, int) else copy.deepcopy(item) for item in order]
    if not any("inputs" in layer for layer in layers):
        out["layers"] = layers
        return out
    new_names = _names(layers)
    renamed = {INPUT: INPUT}
    for item, name in zip(order, new_names):
        if isinstance(item, int):
            renamed[old_names[item]] = name
    bypass = {}
    for i, layer in enumerate(old):  # a removed layer's readers read its (first) input
        if old_names[i] not in renamed:
            given = layer.get("inputs")
            bypass[old_names[i]] = (
                given[0]
                if isinstance(given, list) and given
                else (old_names[i - 1] if i else INPUT)
            )

    def follow(name: Any) -> Any:
        seen = 0
        while name in bypass and seen <= len(old):
            name, seen = bypass[name], seen + 1
        return renamed.get(name, name)

    for item, layer in zip(order, layers):
        if isinstance(item, int) and isinstance(layer.get("inputs"), list):
            layer["inputs"] = [follow(name) for name in layer["inputs"]]
    out["layers"] = layers
    return out


def insert_layer(design: dict[str, Any], index: int, layer: dict[str, Any]) -> dict[str, Any]:
    """Insert ``layer`` so that it becomes ``layers[index]`` (clamped to the stack)."""
    count = len(design.get("layers", []))
    index = max(0, min(index, count))
    order: list[int | dict[str, Any]] = list(range(count))
    order.insert(index, layer)
    return _restructured(design, order)


def insert_group(design: dict[str, Any], index: int, group: list[dict[str, Any]]) -> dict[str, Any]:
    """Insert a wired group of layers (a template) at ``index`` as one edit.

    The group's ``inputs`` name layers of the group by their ``"@k"`` place in it (``"@0"`` is
    its first layer), ``"@in"`` for what the group reads (the layer before ``index``, or the
    network's input), or real names; a group layer without ``inputs`` reads the one before it.
    """
    count = len(design.get("layers", []))
    index = max(0, min(index, count))
    order: list[int | dict[str, Any]] = list(range(count))
    order[index:index] = [copy.deepcopy(layer) for layer in group]
    names = _names([design["layers"][o] if isinstance(o, int) else o for o in order])
    before = names[index - 1] if index else INPUT
    for layer in order[index : index + len(group)]:
        assert isinstance(layer, dict)
        given = layer.get("inputs")
        if isinstance(given, list):
            layer["inputs"] = [
                before if n == "@in" else names[index + int(n[1:])] if n.startswith("@") else n
                for n in given
            ]
    return _restructured(design, order)


def delete_layer(design: dict[str, Any], index: int) -> dict[str, Any]:
    """Remove a layer; whatever read it reads what it read."""
    order: list[int | dict[str, Any]] = [
        i for i in range(len(design.get("layers", []))) if i != index
    ]
    return _restructured(design, order)


def move_layer(design: dict[str, Any], index: int, offset: int) -> dict[str, Any]:
    """Move a layer up (``offset=-1``) or down (``+1``); a move past either end does nothing."""
    count = len(design.get("layers", []))
    target = index + offset
    order: list[int | dict[str, Any]] = list(range(count))
    if 0 <= target < count:
        order[index], order[target] = order[target], order[index]
    return _restructured(design, order)


def reorder_layers(design: dict[str, Any], order: list[int]) -> dict[str, Any]:
    """The layers in a new order (a drag): ``order`` lists every old index once."""
    return _restructured(design, list(order))


def duplicate_layer(design: dict[str, Any], index: int) -> dict[str, Any]:
    """Copy a layer right after itself; an explicit name is dropped so the copy gets a default."""
    layer = copy.deepcopy(design["layers"][index])
    layer.pop("name", None)
    return insert_layer(design, index + 1, layer)


def rename_layer(design: dict[str, Any], index: int, name: str | None) -> dict[str, Any]:
    """Give a layer an explicit name (None: its default); ``inputs`` that named it follow."""
    old_names = _names(design.get("layers", []))
    out = _copy(design)
    layer = out["layers"][index]
    if name:
        layer["name"] = name
    else:
        layer.pop("name", None)
    new_names = _names(out["layers"])
    renamed = dict(zip(old_names, new_names))
    for other in out["layers"]:
        if isinstance(other.get("inputs"), list):
            other["inputs"] = [renamed.get(n, n) for n in other["inputs"]]
    return out


def set_inputs(design: dict[str, Any], index: int, inputs: list[str]) -> dict[str, Any]:
    """Rewire a layer: it reads ``inputs``. A single input that is simply the layer before it
    is written as no ``inputs`` at all (a plain stack stays plain)."""
    out = _copy(design)
    layer = out["layers"][index]
    previous = _names(out["layers"])[index - 1] if index else INPUT
    if not REGISTRY[layer["type"]].merge and list(inputs) == [previous]:
        layer.pop("inputs", None)
    else:
        layer["inputs"] = list(inputs)
    return out


def branch_from(
    design: dict[str, Any], index: int, layer: str | dict[str, Any] = "Conv2d"
) -> dict[str, Any]:
    """Start a parallel path: a new layer (a type's starter, or the layer given) at the end,
    reading layer ``index``."""
    names = _names(design.get("layers", []))
    fresh = new_layer(layer) if isinstance(layer, str) else copy.deepcopy(layer)
    fresh["inputs"] = [names[index]]
    return insert_layer(design, len(names), fresh)


def on_input(
    design: dict[str, Any], index: int, input_name: str, group: list[dict[str, Any]]
) -> dict[str, Any]:
    """Put ``group`` (a chain) on the path from ``input_name`` into layer ``index`` (a merge):
    inserted just before it, the first reading ``input_name``, and the merge reading the last
    in its place (a projection shortcut, the pool that aligns a Concat)."""
    chain = [copy.deepcopy(layer) for layer in group]
    chain[0]["inputs"] = [input_name]
    out = insert_group(design, index, chain)
    names = _names(out["layers"])
    merge = out["layers"][index + len(chain)]
    merge["inputs"] = [
        names[index + len(chain) - 1] if n == input_name else n for n in merge["inputs"]
    ]
    return out


def set_arg(design: dict[str, Any], index: int, key: str, value: Any) -> dict[str, Any]:
    """Set one field of a layer; ``None`` for an optional argument removes it (torch's default)."""
    out = _copy(design)
    layer = out["layers"][index]
    entry = REGISTRY[layer["type"]]
    arg = entry.arg(key)
    optional = arg is None or not arg.required
    if optional and (value is None or (arg is not None and value == arg.default)):
        layer.pop(key, None)
    else:
        layer[key] = copy.deepcopy(value)
    return out


def set_layer_init(
    design: dict[str, Any], index: int, tensor: str, init: dict[str, Any] | None
) -> dict[str, Any]:
    """Set (or with None, remove) a layer's per-tensor init override."""
    out = _copy(design)
    layer = out["layers"][index]
    overrides = layer.setdefault("init", {})
    if init is None:
        overrides.pop(tensor, None)
    else:
        overrides[tensor] = copy.deepcopy(init)
    if not overrides:
        layer.pop("init")
    return out


def set_type_init(
    design: dict[str, Any], layer_type: str, tensor: str, init: dict[str, Any] | None
) -> dict[str, Any]:
    """Set (or with None, reset to ``default``) the per-type init of one tensor."""
    out = _copy(design)
    plan = out.setdefault("init", {})
    entry = plan.setdefault(layer_type, {})
    if init is None or init.get("scheme") == "default":
        entry.pop(tensor, None)
    else:
        entry[tensor] = copy.deepcopy(init)
    if not entry:
        plan.pop(layer_type)
    return out


def apply_fix(design: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    """Apply an analysis ``fix_action`` (``{"op": "insert" | "set" | "delete" | "on_input",
    "index": i, ...}``)."""
    if action["op"] == "insert":
        return insert_layer(design, action["index"], action["layer"])
    if action["op"] == "delete":
        return delete_layer(design, action["index"])
    if action["op"] == "on_input":
        return on_input(design, action["index"], action["input"], action["layers"])
    if action["op"] == "set":
        return set_arg(design, action["index"], action["field"], action["value"])
    raise ValueError(f"unknown fix {action['op']!r}")


def keep_size_hint(design: dict[str, Any], row: Any) -> tuple[str, dict[str, Any]] | None:
    """For a stride-1 Conv2d that shrinks its input: the padding that keeps H×W, as a fix.

    Args:
        design: the spec dict.
        row: the layer's ``LayerAnalysis``.

    Returns:
        ``(text, action)`` such as ``("add padding=2 to keep 28×28", {...})``, or None.
    """
    layer = design["layers"][row.index]
    if layer["type"] != "Conv2d" or row.output_shape is None or row.input_shape is None:
        return None
    if row.output_shape[1:] == row.input_shape[1:]:
        return None
    entry = REGISTRY["Conv2d"]
    args = entry.resolved(layer)
    stride = args["stride"] if isinstance(args["stride"], list) else [args["stride"]] * 2
    if any(s != 1 for s in stride):
        return None
    kernel = (
        args["kernel_size"] if isinstance(args["kernel_size"], list) else [args["kernel_size"]] * 2
    )
    dilation = args["dilation"] if isinstance(args["dilation"], list) else [args["dilation"]] * 2
    height, width = row.input_shape[1:]
    if all(d * (k - 1) % 2 == 0 for k, d in zip(kernel, dilation)):
        pads = [d * (k - 1) // 2 for k, d in zip(kernel, dilation)]
        value: Any = pads[0] if pads[0] == pads[1] else pads
        text = f"add padding={value} to keep {height}×{width}"
    else:
        value = "same"
        text = f"use padding='same' to keep {height}×{width}"
    return text, {"op": "set", "index": row.index, "field": "padding", "value": value}
