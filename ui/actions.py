"""Callbacks: each is one undoable edit (a ``builder.edits`` call, then ``state.commit``)."""

from __future__ import annotations

import copy
import math
from typing import Any

import streamlit as st

import builder
from builder import edits, presets
from builder.assignment import load_assignment
from builder.layers import REGISTRY
from builder.limits import MAX_UPLOAD_BYTES

from . import diagram_view, state
from .i18n import t, translate_error
from .state import W, commit, flash, fresh_uids, index_of
from .widgets import axis_names, read_arg, read_init

PAIR_KINDS = ("size", "opt_size", "padding", "output_size")
"""Argument kinds drawn as one box per axis (``widgets.PAIRS``)."""

IMAGE, SEQUENCE, FLAT = "image [C, H, W]", "sequence [C, L]", "flat [F]"
INPUT_KINDS = {3: IMAGE, 2: SEQUENCE, 1: FLAT}
"""The sidebar's input kinds, by the per-sample rank they give."""


def on_undo() -> None:
    state.undo()


def on_redo() -> None:
    state.redo()


def on_add(layer_type: str) -> None:
    uids = list(st.session_state.uids)
    selected = st.session_state.get("selected")
    where = st.session_state.get("palette_where", "at the end")
    index = len(uids)
    if where == "after the selected layer" and selected in uids:
        index = uids.index(selected) + 1
    uid = fresh_uids(1)[0]
    uids.insert(index, uid)
    design = st.session_state.design
    if REGISTRY[layer_type].merge:
        layer = edits.new_merge(design, layer_type, index)
    else:
        layer = edits.new_layer(layer_type)
    if commit(edits.insert_layer(design, index, layer), uids, False):
        _focus(uid)


def on_template(name: str) -> None:
    """Insert a palette template (a wired group: a residual block, an Inception module ...) as
    one undoable edit, at the end or after the selected layer. The U-Net up level joins the
    latest earlier output of twice the H×W it receives (the matching encoder level)."""
    from builder.templates import template

    uids = list(st.session_state.uids)
    selected = st.session_state.get("selected")
    index = len(uids)
    if st.session_state.get("palette_where") == "after the selected layer" and selected in uids:
        index = uids.index(selected) + 1
    design = st.session_state.design
    try:
        analysis = builder.analyze(design)
    except builder.SpecError:
        return
    shape = analysis.layers[index - 1].output_shape if index else analysis.input_shape
    params: dict[str, Any] = {}
    if shape and len(shape) == 3:
        params["in_channels"] = shape[0]
    if "(up)" in name:
        skip = _matching_skip(analysis, index, shape)
        if skip is None:
            flash(
                "warning",
                t(
                    "The U-Net up level joins an earlier output of twice this H×W: "
                    "add a U-Net down level (or a pool) first."
                ),
            )
            return
        params.update(skip=skip.name, channels=skip.output_shape[0])
    group = template(name, **params)
    new = fresh_uids(len(group))
    uids[index:index] = new
    if commit(edits.insert_group(design, index, group), uids, False):
        _focus(new[-1])


def _matching_skip(analysis: Any, index: int, shape: Any) -> Any:
    """The latest layer before ``index`` whose output has twice ``shape``'s H×W."""
    if not shape or len(shape) != 3:
        return None
    wanted = (2 * shape[1], 2 * shape[2])
    for row in reversed(analysis.layers[:index]):
        if row.output_shape and len(row.output_shape) == 3 and row.output_shape[1:] == wanted:
            return row
    return None


def on_branch(uid: int) -> None:
    """Start a parallel path from this layer: a new layer at the end reading it, keeping its
    shape (a 3×3 convolution with padding 1 and the same channels on an image), so that an
    Add can join it back at once."""
    index = index_of(uid)
    shape = _output_shape(index)
    layer: dict[str, Any] = {"type": "Identity"}
    if shape and len(shape) == 3:
        layer = {"type": "Conv2d", "out_channels": shape[0], "kernel_size": 3, "padding": 1}
    elif shape and len(shape) == 2:
        layer = {"type": "Conv1d", "out_channels": shape[0], "kernel_size": 3, "padding": 1}
    elif shape:
        layer = {"type": "Linear", "out_features": shape[0]}
    uids = [*st.session_state.uids, fresh_uids(1)[0]]
    if commit(edits.branch_from(st.session_state.design, index, layer), uids, False):
        _focus(uids[-1])


def _output_shape(index: int) -> tuple[int, ...] | None:
    try:
        return builder.analyze(st.session_state.design).layers[index].output_shape
    except builder.SpecError:
        return None


def on_inputs(uid: int, key: str) -> None:
    """A layer's inputs picker (widget ``key``) changed: rewire it (one undoable edit)."""
    chosen = st.session_state.get(key)
    if chosen is None:  # a picker of a wiring already replaced (a rerun sent before its redraw)
        return
    inputs = list(chosen) if isinstance(chosen, (list, tuple)) else [chosen]
    design = edits.set_inputs(st.session_state.design, index_of(uid), inputs)
    commit(design, list(st.session_state.uids), False)


def _focus(uid: int) -> None:
    """Select a layer and open its card alone: the stack stays one screen."""
    for other in st.session_state.uids:
        st.session_state[f"card:{other}"] = other == uid
    st.session_state.selected = uid


def on_drag_mode() -> None:
    """The stack's drag switch: the layers as one sortable list, or as cards again."""
    st.session_state.drag_mode = not st.session_state.get("drag_mode", False)


def on_drag(order: list[int]) -> bool:
    """A drop in the sortable list: the layers in ``order`` (old indices), one undoable edit.
    An order that reads a layer before it is made is refused with the layer's message.

    Returns:
        Whether the new order was committed."""
    uids = list(st.session_state.uids)
    return commit(edits.reorder_layers(st.session_state.design, order), [uids[i] for i in order])


def on_move(uid: int, offset: int) -> None:
    index = index_of(uid)
    target = index + offset
    uids = list(st.session_state.uids)
    if 0 <= target < len(uids):
        uids[index], uids[target] = uids[target], uids[index]
        commit(edits.move_layer(st.session_state.design, index, offset), uids, False)


def on_duplicate(uid: int) -> None:
    index = index_of(uid)
    uids = list(st.session_state.uids)
    new_uid = fresh_uids(1)[0]
    uids.insert(index + 1, new_uid)
    if commit(edits.duplicate_layer(st.session_state.design, index), uids, False):
        _focus(new_uid)


def on_delete(uid: int) -> None:
    index = index_of(uid)
    uids = list(st.session_state.uids)
    del uids[index]
    commit(edits.delete_layer(st.session_state.design, index), uids, False)


def on_toggle_card(uid: int) -> None:
    key = f"card:{uid}"
    st.session_state[key] = not st.session_state.get(key, False)


def on_select(uid: int) -> None:
    st.session_state.selected = uid


def on_key_step(step: int) -> None:
    """Arrow up / down with no field focused: select the layer ``step`` away (the first with
    none selected), open its card alone and bring it into the stack's view."""
    if not st.session_state.uids:
        return
    on_walk(step)
    _focus(st.session_state.selected)
    diagram_view.request_scroll(st.session_state.selected)


def on_key_delete() -> None:
    """Delete (or Backspace) with no field focused: delete the selected layer (one undoable
    edit) and select the one that takes its place, so the key can be pressed again."""
    uids = st.session_state.uids
    selected = st.session_state.get("selected")
    if selected not in uids:
        return
    index = uids.index(selected)
    on_delete(selected)
    rest = st.session_state.uids
    if rest is not uids and rest:  # committed: select the next layer (the last one's previous)
        _focus(rest[min(index, len(rest) - 1)])


def on_walk(step: int) -> None:
    """The shape walk's Prev / Next: select the layer ``step`` away (the first with none)."""
    uids = st.session_state.uids
    selected = st.session_state.get("selected")
    if not uids:
        return
    if selected not in uids:
        st.session_state.selected = uids[0]
        return
    index = min(max(uids.index(selected) + step, 0), len(uids) - 1)
    st.session_state.selected = uids[index]


def on_arg(uid: int, key: str, kind: str) -> None:
    """A layer argument widget changed: read it back and store it in the design.

    With the layer's sizes linked (``square_key``), the box that changed sets every axis."""
    index = index_of(uid)
    layer = st.session_state.design["layers"][index]
    arg = REGISTRY[layer["type"]].arg(key)
    axes = arg.axes if arg is not None else (2,)
    value = read_arg(uid, key, kind, axes)
    if isinstance(value, list) and st.session_state.get(square_key(uid), False):
        value = _changed_axis(layer.get(key), value)
        for axis in axis_names(axes):  # the other boxes show the one value at once
            st.session_state[f"{W}{uid}:{key}:{axis}"] = value
    design = edits.set_arg(st.session_state.design, index, key, value)
    commit(design, list(st.session_state.uids), False)


def square_key(uid: int) -> str:
    """The widget key of a layer's "square" toggle (sizes linked across axes)."""
    return f"{W}{uid}:square"


def _changed_axis(old: Any, new: list[Any]) -> Any:
    """The value of the box that differs from the stored one (the first if none does)."""
    before = old if isinstance(old, list) else [old] * len(new)
    return next((n for n, o in zip(new, before) if n != o), new[0])


def on_square(uid: int) -> None:
    """The square toggle was switched on: every size argument of the layer takes its first
    axis's value (one undoable edit); switched off, nothing changes until a box is edited."""
    if not st.session_state.get(square_key(uid), False):
        return
    index = index_of(uid)
    design = st.session_state.design
    layer = design["layers"][index]
    for arg in REGISTRY[layer["type"]].args:
        value = layer.get(arg.name)
        if arg.kind.value in PAIR_KINDS and isinstance(value, list) and value[0] is not None:
            design = edits.set_arg(design, index, arg.name, value[0])
    if design is not st.session_state.design:
        commit(design, list(st.session_state.uids))


def on_name(uid: int) -> None:
    """Rename a layer; the inputs that named it follow."""
    text = st.session_state[f"{W}{uid}:name"].strip()
    design = edits.rename_layer(st.session_state.design, index_of(uid), text or None)
    commit(design, list(st.session_state.uids))


def on_fix(action: dict[str, Any]) -> None:
    uids = list(st.session_state.uids)
    if action["op"] == "insert":
        uids.insert(action["index"], fresh_uids(1)[0])
    elif action["op"] == "on_input":
        uids[action["index"] : action["index"]] = fresh_uids(len(action["layers"]))
    elif action["op"] == "delete":
        del uids[action["index"]]
    commit(edits.apply_fix(st.session_state.design, action), uids)


def on_preset() -> None:
    design = presets.preset(st.session_state.preset_choice)
    commit(design, fresh_uids(len(design["layers"])))


def _input_shape(old: list[int]) -> list[int]:
    if st.session_state[f"{W}input_kind"] == IMAGE:
        start = old if len(old) == 3 else [3, 32, 32]
        return [int(st.session_state.get(f"{W}in_{k}", v)) for k, v in zip("CHW", start)]
    if st.session_state[f"{W}input_kind"] == SEQUENCE:
        # an image becomes its rows one after another: L = H·W
        start = old if len(old) == 2 else [old[0], math.prod(old[1:])] if len(old) == 3 else [1, 64]
        return [int(st.session_state.get(f"{W}in_{k}", v)) for k, v in zip("CL", start)]
    # switching an image to flat keeps every value: F = C·H·W
    start = old[0] if len(old) == 1 else math.prod(old)
    return [int(st.session_state.get(f"{W}in_F", start))]


def on_meta(field: str) -> None:
    design = copy.deepcopy(st.session_state.design)
    if field == "input_shape":
        design["input_shape"] = _input_shape(design["input_shape"])
    elif field == "seed":
        text = str(st.session_state[f"{W}seed"]).strip()
        design["seed"] = int(text) if text.isdigit() and len(text) < 40 else text
    elif field == "name":
        design["name"] = st.session_state[f"{W}name"].strip() or "Net"
    commit(design, list(st.session_state.uids), False)


def on_type_init(layer_type: str, tensor: str) -> None:
    init = read_init(f"{W}init:{layer_type}:{tensor}")
    design = edits.set_type_init(st.session_state.design, layer_type, tensor, init)
    commit(design, list(st.session_state.uids), False)


def on_layer_init(uid: int, tensor: str) -> None:
    prefix = f"{W}{uid}:init:{tensor}"
    init = read_init(prefix) if st.session_state.get(f"{prefix}:on") else None
    _store_layer_init(uid, tensor, init)


def _store_layer_init(uid: int, tensor: str, init: dict[str, Any] | None) -> None:
    design = edits.set_layer_init(st.session_state.design, index_of(uid), tensor, init)
    commit(design, list(st.session_state.uids), False)


def on_override(uid: int, tensor: str) -> None:
    """The override box was ticked (start from the type's scheme) or cleared (back to it)."""
    state.clear_widgets(f"{W}{uid}:init:{tensor}:", keep=":on")
    init = None
    if st.session_state.get(f"{W}{uid}:init:{tensor}:on"):
        layer = st.session_state.design["layers"][index_of(uid)]
        plan = st.session_state.design.get("init", {}).get(layer["type"], {})
        init = copy.deepcopy(plan.get(tensor, {"scheme": "default"}))
    _store_layer_init(uid, tensor, init)


def process_upload() -> None:
    """Load a newly uploaded design before anything is drawn (the widget lives in the sidebar)."""
    uploaded = st.session_state.get("upload")
    if uploaded is not None and st.session_state.get("upload_seen") != uploaded.file_id:
        st.session_state.upload_seen = uploaded.file_id
        load_upload(uploaded.getvalue())


def load_upload(raw: bytes) -> None:
    if len(raw) > MAX_UPLOAD_BYTES:
        flash(
            "error",
            t(
                "That file is {size} bytes; a design file is at most {limit}. "
                "Your design is unchanged.",
                size=f"{len(raw):,}",
                limit=f"{MAX_UPLOAD_BYTES:,}",
            ),
        )
        return
    try:
        # bytes are always JSON text to load_spec, never a path (SPEC.md)
        design = builder.load_spec(raw).to_dict()
    except builder.SpecError as exc:
        error = translate_error(exc)
        flash(
            "error", t("Could not load that file: {error}. Your design is unchanged.", error=error)
        )
        return
    if commit(design, fresh_uids(len(design["layers"]))):
        flash("success", t("Loaded {name}.", name=design.get("name") or t("the design")))


def on_import() -> None:
    """Read the pasted code as a design (never run); layers it leaves out are said."""
    import warnings

    from builder.importer import CodeImportWarning, spec_from_code

    source = st.session_state.get("import_code", "")
    entry = str(st.session_state.get("import_entry", "") or "").strip() or None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CodeImportWarning)
            spec = spec_from_code(source, st.session_state.design["input_shape"], entry=entry)
        design = spec.to_dict()
    except builder.SpecError as exc:
        flash("error", t("Could not import that code:\n\n{error}", error=translate_error(exc)))
        return
    notes = [str(w.message) for w in caught if issubclass(w.category, CodeImportWarning)]
    if commit(design, fresh_uids(len(design["layers"]))):
        flash("success", t("Imported {name}.", name=design.get("name") or t("the class")))
        for note in notes:
            flash("warning", note)


def on_make_assignment() -> None:
    ss = st.session_state
    data: dict[str, Any] = {}
    if ss.get("as_title", "").strip():
        data["title"] = ss.as_title.strip()
    if ss.get("as_budget"):
        data["max_params"] = int(ss.as_budget)
    kind = ss.get("as_out_kind", "none")
    if kind == "flat [n]":
        data["output_shape"] = [int(ss.get("as_out_n", 10))]
    elif kind == "[C, H, W]":
        data["output_shape"] = [int(ss.get(f"as_out_{a}", 8)) for a in "CHW"]
    if ss.get("as_types"):
        data["allowed_types"] = list(ss.as_types)
    if ss.get("as_locked"):
        data["locked"] = list(ss.as_locked)
    try:
        ss.assignment = load_assignment(data) if data else None
    except builder.SpecError as exc:
        flash("error", translate_error(exc))
        return
    if ss.assignment is None:
        flash("warning", t("Set at least one constraint first."))


def on_clear_assignment() -> None:
    st.session_state.assignment = None


def on_pin() -> None:
    st.session_state.pinned = copy.deepcopy(st.session_state.design)
