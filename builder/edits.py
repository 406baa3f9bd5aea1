"""Pure edits of a spec dict, as the app makes them: insert, delete, move, duplicate, set, fix.

Every function takes the spec as a JSON-ready dict and returns a NEW dict (the input is never
changed), so an undo history is just a list of the dicts the user has seen.
"""

from __future__ import annotations

import copy
from typing import Any

from .layers import REGISTRY


def _copy(design: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(design)


def new_layer(layer_type: str) -> dict[str, Any]:
    """A fresh layer of ``layer_type`` with its registry entry's starter arguments."""
    return {"type": layer_type, **REGISTRY[layer_type].new_args()}


def insert_layer(design: dict[str, Any], index: int, layer: dict[str, Any]) -> dict[str, Any]:
    """Insert ``layer`` so that it becomes ``layers[index]`` (clamped to the stack)."""
    out = _copy(design)
    layers = out.setdefault("layers", [])
    layers.insert(max(0, min(index, len(layers))), copy.deepcopy(layer))
    return out


def delete_layer(design: dict[str, Any], index: int) -> dict[str, Any]:
    out = _copy(design)
    del out["layers"][index]
    return out


def move_layer(design: dict[str, Any], index: int, offset: int) -> dict[str, Any]:
    """Move a layer up (``offset=-1``) or down (``+1``); a move past either end does nothing."""
    out = _copy(design)
    layers = out["layers"]
    target = index + offset
    if 0 <= target < len(layers):
        layers[index], layers[target] = layers[target], layers[index]
    return out


def duplicate_layer(design: dict[str, Any], index: int) -> dict[str, Any]:
    """Copy a layer right after itself; an explicit name is dropped so the copy gets a default."""
    layer = copy.deepcopy(design["layers"][index])
    layer.pop("name", None)
    return insert_layer(design, index + 1, layer)


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
    """Apply an analysis ``fix_action`` (``{"op": "insert" | "set", "index": i, ...}``)."""
    if action["op"] == "insert":
        return insert_layer(design, action["index"], action["layer"])
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
