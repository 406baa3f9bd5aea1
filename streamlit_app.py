"""NetBuilder: point-and-click design of PyTorch convolutional networks.

A thin script: it keeps the design (a spec dict) in ``st.session_state``, turns widget events
into ``builder.edits`` calls, and renders what ``builder`` computes. No shape or parameter math
happens here. Every widget is keyed by the layer's stable uid, never by its position.
"""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any

import pandas as pd
import streamlit as st
import torch

import builder
from builder import edits, presets
from builder.assignment import (
    LOCKABLE,
    check,
    decode_assignment,
    encode_assignment,
    load_assignment,
)
from builder.initializers import NONLINEARITIES, SCHEMES
from builder.layers import MAX_INT, PARAM_TYPES, REGISTRY, ArgKind
from builder.limits import (
    MAX_CODE_CHARS,
    MAX_HEAVY_PARAMS,
    MAX_SIGNAL_ELEMENTS,
    MAX_UPLOAD_BYTES,
)
from builder.share import decode_design, encode_design
from builder.spec import TENSOR_NDIM

HISTORY_LIMIT = 100
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def esc(text: Any) -> str:
    """User-influenced text made inert for Streamlit's Markdown (links, images, directives)."""
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", "  \n")


W = "w:"  # prefix of every widget key mirrored from the design
CATEGORIES = (
    "convolution",
    "pooling",
    "normalization",
    "linear",
    "activation",
    "reshape",
    "dropout",
)
PRIMARY = {
    "Conv2d": ("out_channels", "kernel_size", "stride", "padding"),
    "MaxPool2d": ("kernel_size", "stride", "padding"),
    "AvgPool2d": ("kernel_size", "stride", "padding"),
    "AdaptiveAvgPool2d": ("output_size",),
    "AdaptiveMaxPool2d": ("output_size",),
    "Linear": ("out_features",),
    "Dropout": ("p",),
    "Dropout2d": ("p",),
    "LeakyReLU": ("negative_slope",),
    "ELU": ("alpha",),
    "GELU": ("approximate",),
    "Softmax": ("dim",),
    "LogSoftmax": ("dim",),
    "Flatten": ("start_dim", "end_dim"),
}


# --- state --------------------------------------------------------------------------------------


def _fresh_uids(count: int) -> list[int]:
    start = st.session_state.get("next_uid", 0)
    st.session_state.next_uid = start + count
    return list(range(start, start + count))


def _clear_widgets() -> None:
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(W)]:
        del st.session_state[key]


def _set_design(design: dict[str, Any], uids: list[int] | None = None) -> None:
    st.session_state.design = design
    st.session_state.uids = uids if uids is not None else _fresh_uids(len(design["layers"]))


def init_state() -> None:
    """Create the session's design once: from the share link if it has one, else the LeNet."""
    if "design" in st.session_state:
        return
    st.session_state.undo_stack = []
    st.session_state.redo_stack = []
    st.session_state.flash = []
    design = presets.preset()
    link = st.query_params.get("d")
    if link:
        try:
            design = decode_design(link)
            st.session_state.flash.append(("success", "Opened the design from the shared link."))
        except builder.SpecError as exc:
            st.session_state.flash.append(
                (
                    "error",
                    f"The shared link could not be opened: {exc}. Showing the default design.",
                )
            )
    _set_design(design)
    st.session_state.assignment = None
    packed = st.query_params.get("a")
    if packed:
        try:
            st.session_state.assignment = decode_assignment(packed)
        except builder.SpecError as exc:
            st.session_state.flash.append(("error", f"{exc}: the design opens without it."))


def locked(control: str) -> bool:
    """Whether the teacher's assignment locks a control (input_shape, seed, init, files)."""
    assignment = st.session_state.get("assignment")
    return assignment is not None and control in assignment.locked


def presenting() -> bool:
    return st.query_params.get("present") in ("1", "true", "yes")


def commit(design: dict[str, Any], uids: list[int], sync_widgets: bool = True) -> None:
    """Make ``design`` current, remembering the previous one for undo."""
    undo = st.session_state.undo_stack
    undo.append((st.session_state.design, st.session_state.uids))
    del undo[:-HISTORY_LIMIT]
    st.session_state.redo_stack = []
    st.session_state.design = design
    st.session_state.uids = uids
    if sync_widgets:
        _clear_widgets()


def _index(uid: int) -> int:
    return st.session_state.uids.index(uid)


# --- callbacks (each one undoable edit) ---------------------------------------------------------


def on_undo() -> None:
    if st.session_state.undo_stack:
        st.session_state.redo_stack.append((st.session_state.design, st.session_state.uids))
        st.session_state.design, st.session_state.uids = st.session_state.undo_stack.pop()
        _clear_widgets()


def on_redo() -> None:
    if st.session_state.redo_stack:
        st.session_state.undo_stack.append((st.session_state.design, st.session_state.uids))
        st.session_state.design, st.session_state.uids = st.session_state.redo_stack.pop()
        _clear_widgets()


def on_add(layer_type: str) -> None:
    uids = list(st.session_state.uids)
    selected = st.session_state.get("selected")
    where = st.session_state.get("palette_where", "at the end")
    index = len(uids)
    if where == "after the selected layer" and selected in uids:
        index = uids.index(selected) + 1
    uid = _fresh_uids(1)[0]
    uids.insert(index, uid)
    commit(
        edits.insert_layer(st.session_state.design, index, edits.new_layer(layer_type)), uids, False
    )
    st.session_state.selected = uid
    st.session_state[f"card:{uid}"] = True


def on_move(uid: int, offset: int) -> None:
    index = _index(uid)
    target = index + offset
    uids = list(st.session_state.uids)
    if 0 <= target < len(uids):
        uids[index], uids[target] = uids[target], uids[index]
        commit(edits.move_layer(st.session_state.design, index, offset), uids, False)


def on_duplicate(uid: int) -> None:
    index = _index(uid)
    uids = list(st.session_state.uids)
    new_uid = _fresh_uids(1)[0]
    uids.insert(index + 1, new_uid)
    commit(edits.duplicate_layer(st.session_state.design, index), uids, False)
    st.session_state.selected = new_uid
    st.session_state[f"card:{new_uid}"] = True


def on_delete(uid: int) -> None:
    index = _index(uid)
    uids = list(st.session_state.uids)
    del uids[index]
    commit(edits.delete_layer(st.session_state.design, index), uids, False)


def on_toggle_card(uid: int) -> None:
    key = f"card:{uid}"
    st.session_state[key] = not st.session_state.get(key, False)


def on_select(uid: int) -> None:
    st.session_state.selected = uid


def on_arg(uid: int, key: str, kind: str) -> None:
    """A layer argument widget changed: read it back and store it in the design."""
    value = _read_arg(uid, key, kind)
    index = _index(uid)
    design = edits.set_arg(st.session_state.design, index, key, value)
    commit(design, list(st.session_state.uids), False)


def on_name(uid: int) -> None:
    text = st.session_state[f"{W}{uid}:name"].strip()
    index = _index(uid)
    design = edits.set_arg(st.session_state.design, index, "name", text or None)
    commit(design, list(st.session_state.uids), False)


def on_fix(action: dict[str, Any]) -> None:
    uids = list(st.session_state.uids)
    if action["op"] == "insert":
        uids.insert(action["index"], _fresh_uids(1)[0])
    commit(edits.apply_fix(st.session_state.design, action), uids)


def on_preset() -> None:
    design = presets.preset(st.session_state.preset_choice)
    commit(design, _fresh_uids(len(design["layers"])))


def on_meta(field: str) -> None:
    design = copy.deepcopy(st.session_state.design)
    if field == "input_shape":
        old = design["input_shape"]
        if st.session_state[f"{W}input_kind"] == "image [C, H, W]":
            start = old if len(old) == 3 else [3, 32, 32]
            design["input_shape"] = [
                int(st.session_state.get(f"{W}in_{k}", v)) for k, v in zip("CHW", start)
            ]
        else:
            # switching an image to flat keeps every value: F = C·H·W
            start = old[0] if len(old) == 1 else math.prod(old)
            design["input_shape"] = [int(st.session_state.get(f"{W}in_F", start))]
    elif field == "seed":
        design["seed"] = int(st.session_state[f"{W}seed"])
    elif field == "name":
        design["name"] = st.session_state[f"{W}name"].strip() or "Net"
    commit(design, list(st.session_state.uids), False)


def on_type_init(layer_type: str, tensor: str) -> None:
    init = _read_init(f"{W}init:{layer_type}:{tensor}")
    commit(
        edits.set_type_init(st.session_state.design, layer_type, tensor, init),
        list(st.session_state.uids),
        False,
    )


def on_layer_init(uid: int, tensor: str) -> None:
    prefix = f"{W}{uid}:init:{tensor}"
    init = _read_init(prefix) if st.session_state.get(f"{prefix}:on") else None
    _store_layer_init(uid, tensor, init)


def _store_layer_init(uid: int, tensor: str, init: dict[str, Any] | None) -> None:
    commit(
        edits.set_layer_init(st.session_state.design, _index(uid), tensor, init),
        list(st.session_state.uids),
        False,
    )


def on_override(uid: int, tensor: str) -> None:
    """The override box was ticked (start from the type's scheme) or cleared (back to it)."""
    _clear_widgets_with(f"{W}{uid}:init:{tensor}:", keep=":on")
    init = None
    if st.session_state.get(f"{W}{uid}:init:{tensor}:on"):
        layer = st.session_state.design["layers"][_index(uid)]
        plan = st.session_state.design.get("init", {}).get(layer["type"], {})
        init = copy.deepcopy(plan.get(tensor, {"scheme": "default"}))
    _store_layer_init(uid, tensor, init)


def _clear_widgets_with(prefix: str, keep: str = "") -> None:
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        if not (keep and key.endswith(keep)):
            del st.session_state[key]


# --- widgets for one argument -------------------------------------------------------------------


def _read_arg(uid: int, key: str, kind: str) -> Any:
    """The value the widgets of one argument now say, in the spec's JSON form."""
    base = f"{W}{uid}:{key}"
    state = st.session_state
    if kind in ("size", "opt_size", "padding", "output_size"):
        if kind == "opt_size" and state.get(f"{base}:auto", False):
            return None
        if kind == "padding" and state.get(f"{base}:mode", "number") != "number":
            return state[f"{base}:mode"]
        h, w = state.get(f"{base}:h"), state.get(f"{base}:w")
        if kind == "output_size":
            h, w = (None if h == 0 else h), (None if w == 0 else w)
        return h if h == w and h is not None else [h, w]
    if kind == "opt_float" and state.get(f"{base}:none", False):
        return None
    if kind == "opt_int":
        value = state.get(base, 0)
        return None if value == 0 else int(value)
    if kind == "dim":
        value = state.get(base, "None")
        return None if value == "None" else int(value)
    value = state.get(base)
    if kind == "int":
        return int(value)
    if kind in ("float", "opt_float"):
        return float(value)
    return value


def _seed_widget(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def arg_widgets(uid: int, layer: dict[str, Any], arg: Any, container: Any) -> None:
    """Render the widget(s) for one argument, bounded by the registry entry."""
    base = f"{W}{uid}:{arg.name}"
    kind = arg.kind.value
    value = layer.get(arg.name, arg.default)
    callback = {"on_change": on_arg, "args": (uid, arg.name, kind)}
    label = arg.name
    helptext = arg.help or None
    low = int(arg.minimum) if arg.minimum is not None and arg.kind is not ArgKind.FLOAT else 0
    high = (
        int(arg.maximum) if arg.maximum is not None and arg.kind is not ArgKind.FLOAT else MAX_INT
    )
    if arg.kind in (ArgKind.SIZE, ArgKind.OPT_SIZE, ArgKind.PADDING, ArgKind.OUTPUT_SIZE):
        cols = (
            container.columns([1.25, 1, 1])
            if arg.kind in (ArgKind.OPT_SIZE, ArgKind.PADDING)
            else [None, *container.columns(2)]
        )
        if arg.kind is ArgKind.OPT_SIZE:
            _seed_widget(f"{base}:auto", value is None)
            cols[0].checkbox(f"{label} = kernel", key=f"{base}:auto", help=helptext, **callback)
            if value is None:
                value = layer.get("kernel_size", 1)
        elif arg.kind is ArgKind.PADDING:
            _seed_widget(f"{base}:mode", value if isinstance(value, str) else "number")
            cols[0].selectbox(label, ["number", "same", "valid"], key=f"{base}:mode", **callback)
            if isinstance(value, str):
                return
        elif arg.kind is ArgKind.OUTPUT_SIZE:
            helptext = "0 keeps that dimension's input size (None)"
        h, w = value if isinstance(value, list) else (value, value)
        if arg.kind is ArgKind.OUTPUT_SIZE:
            h, w = h or 0, w or 0
            low = 0
        disabled = arg.kind is ArgKind.OPT_SIZE and layer.get(arg.name) is None
        for col, axis, current in ((cols[1], "h", h), (cols[2], "w", w)):
            _seed_widget(f"{base}:{axis}", int(current))
            col.number_input(
                f"{label} {axis}",
                min_value=low,
                max_value=high,
                step=1,
                key=f"{base}:{axis}",
                disabled=disabled,
                help=helptext,
                **callback,
            )
        return
    if arg.kind is ArgKind.BOOL:
        _seed_widget(base, bool(value))
        container.checkbox(label, key=base, help=helptext, **callback)
    elif arg.kind is ArgKind.CHOICE:
        _seed_widget(base, value)
        container.selectbox(label, list(arg.choices), key=base, help=helptext, **callback)
    elif arg.kind is ArgKind.DIM:
        options = ["None", "-1", "1", "0", "2", "3", "-2", "-3", "-4"]
        _seed_widget(base, "None" if value is None else str(value))
        if st.session_state[base] not in options:
            options.append(st.session_state[base])
        container.selectbox(label, options, key=base, help=helptext, **callback)
    elif arg.kind in (ArgKind.FLOAT, ArgKind.OPT_FLOAT):
        if arg.kind is ArgKind.OPT_FLOAT:
            _seed_widget(f"{base}:none", value is None)
            container.checkbox(f"{label} = None", key=f"{base}:none", help=helptext, **callback)
            if value is None:
                return
        _seed_widget(base, float(value))
        container.number_input(
            label,
            min_value=float(arg.minimum),
            max_value=float(arg.maximum),
            step=0.01 if arg.maximum <= 1 else 0.1,
            format="%.4g",
            key=base,
            help=helptext,
            **callback,
        )
    elif arg.kind is ArgKind.OPT_INT:
        _seed_widget(base, int(value or 0))
        container.number_input(
            f"{label} (0 = None)",
            min_value=0,
            max_value=high,
            step=1,
            key=base,
            help=helptext,
            **callback,
        )
    else:  # INT
        _seed_widget(base, int(value))
        container.number_input(
            label, min_value=low, max_value=high, step=1, key=base, help=helptext, **callback
        )


# --- init pickers -------------------------------------------------------------------------------


def _read_init(prefix: str) -> dict[str, Any]:
    state = st.session_state
    name = state[f"{prefix}:scheme"]
    init: dict[str, Any] = {"scheme": name}
    for arg in SCHEMES[name].args:
        key = f"{prefix}:{arg.name}"
        if key not in state:
            continue
        if arg.kind == "gain":
            choice = state[key]
            init["gain"] = float(state.get(f"{key}:value", 1.0)) if choice == "number" else choice
        elif arg.kind == "choice":
            init[arg.name] = state[key]
        elif arg.kind == "int":
            init[arg.name] = int(state[key])
        else:
            init[arg.name] = float(state[key])
        if arg.name in init and init[arg.name] == arg.default and not arg.required:
            del init[arg.name]  # keep the design (and the exported code) to what was chosen
    return init


def init_widgets(prefix: str, init: dict[str, Any], ndim: int, callback: Any, args: tuple) -> None:
    """Scheme picker (only schemes that fit a tensor of ``ndim`` dims) and its arguments."""
    fitting = [n for n, s in SCHEMES.items() if s.min_ndim <= ndim <= s.max_ndim]
    off = locked("init")
    _seed_widget(f"{prefix}:scheme", init["scheme"])
    st.selectbox(
        "scheme",
        fitting,
        key=f"{prefix}:scheme",
        on_change=callback,
        disabled=off,
        args=args,
        format_func=lambda n: SCHEMES[n].label,
    )
    scheme = SCHEMES[st.session_state[f"{prefix}:scheme"]]
    if not scheme.args:
        return
    cols = st.columns(len(scheme.args))
    for col, arg in zip(cols, scheme.args):
        key = f"{prefix}:{arg.name}"
        value = init.get(arg.name, arg.default)
        if arg.kind == "gain":
            _seed_widget(key, value if isinstance(value, str) else "number")
            col.selectbox(
                "gain",
                ["number", *NONLINEARITIES],
                key=key,
                on_change=callback,
                disabled=off,
                args=args,
            )
            if st.session_state[key] == "number":
                _seed_widget(f"{key}:value", float(value) if not isinstance(value, str) else 1.0)
                col.number_input(
                    "gain value",
                    min_value=0.0001,
                    max_value=100.0,
                    step=0.1,
                    key=f"{key}:value",
                    on_change=callback,
                    disabled=off,
                    args=args,
                )
        elif arg.kind == "choice":
            _seed_widget(key, value)
            col.selectbox(
                arg.name, list(arg.choices), key=key, on_change=callback, disabled=off, args=args
            )
        elif arg.kind == "int":
            _seed_widget(key, int(value))
            col.number_input(
                arg.name,
                min_value=1,
                max_value=MAX_INT,
                step=1,
                key=key,
                on_change=callback,
                disabled=off,
                args=args,
            )
        else:
            low = {"nonneg": 0.0, "positive": 1e-6, "fraction": 0.0}.get(arg.kind, -1e6)
            high = 0.999 if arg.kind == "fraction" else 1e6
            _seed_widget(key, float(value))
            col.number_input(
                arg.name,
                min_value=low,
                max_value=high,
                step=0.01,
                format="%.4g",
                key=key,
                on_change=callback,
                disabled=off,
                args=args,
            )


# --- heavy work, cached on the canonical spec ---------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def cached_histograms(spec_json: str) -> dict[str, Any]:
    from builder.figures import histogram_grid
    from builder.histograms import weight_histograms

    model = builder.build_model(json.loads(spec_json))
    figure = histogram_grid(weight_histograms(model))
    return figure.to_plotly_json()


@st.cache_data(max_entries=64, show_spinner=False)
def cached_signal(spec_json: str, batch_size: int, mode: str, other: str) -> dict[str, Any]:
    from builder.figures import compare_signal_figure, signal_figure
    from builder.signal import activation_stats, compare_plans

    data = json.loads(spec_json)
    if other == "—":
        model = builder.build_model(data)
        stats = activation_stats(model, None, batch_size=batch_size, seed=data["seed"], mode=mode)
        return signal_figure(stats).to_plotly_json()
    plan_b = presets.init_plan(other, data)
    mine, theirs = compare_plans(
        data,
        data["init"],
        plan_b,
        batch_size=batch_size,
        seed=data["seed"],
        mode=mode,
        keep_layer_init=True,
    )
    labels = ("this design", other)
    return compare_signal_figure(mine, theirs, labels).to_plotly_json()


@st.cache_data(max_entries=64, show_spinner=False)
def cached_code(spec_json: str, functional: bool) -> str:
    from builder.codegen import generate_code

    return generate_code(json.loads(spec_json), functional_activations=functional)


@st.cache_data(max_entries=16, show_spinner=False)
def cached_weights(spec_json: str) -> bytes:
    from builder.export import state_dict_bytes

    return state_dict_bytes(json.loads(spec_json))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_model_text(spec_json: str) -> dict[str, str]:
    model = builder.build_model(json.loads(spec_json))
    modules = "\n".join(str(m) for m in model.modules())
    convs = [(n, m) for n, m in model.named_children() if isinstance(m, torch.nn.Conv2d)]
    first_name, first = convs[0] if convs else ("", None)
    shapes = ""
    if first is not None:
        bias = "None" if first.bias is None else str(first.bias.shape)
        shapes = (
            f"{first_name}.weight.shape = {first.weight.shape}\n{first_name}.bias.shape = {bias}"
        )
    return {"print": str(model), "modules": modules, "first_conv": shapes}


# --- page sections ------------------------------------------------------------------------------


def sidebar(spec: builder.Spec | None) -> None:
    design = st.session_state.design
    sb = st.sidebar
    sb.header("Design")
    _seed_widget(f"{W}name", design.get("name", "Net"))
    sb.text_input(
        "Name (becomes the class name)",
        key=f"{W}name",
        on_change=on_meta,
        args=("name",),
        max_chars=80,
    )
    shape = design["input_shape"]
    _seed_widget(f"{W}input_kind", "image [C, H, W]" if len(shape) == 3 else "flat [F]")
    sb.radio(
        "Input (one sample)",
        ["image [C, H, W]", "flat [F]"],
        disabled=locked("input_shape"),
        key=f"{W}input_kind",
        horizontal=True,
        on_change=on_meta,
        args=("input_shape",),
    )
    if st.session_state[f"{W}input_kind"] == "image [C, H, W]":
        cols = sb.columns(3)
        defaults = shape if len(shape) == 3 else [3, 32, 32]
        for col, axis, value in zip(cols, "CHW", defaults):
            _seed_widget(f"{W}in_{axis}", int(value))
            col.number_input(
                axis,
                min_value=1,
                max_value=100_000,
                step=1,
                key=f"{W}in_{axis}",
                disabled=locked("input_shape"),
                on_change=on_meta,
                args=("input_shape",),
            )
    else:
        _seed_widget(f"{W}in_F", int(shape[0]) if len(shape) == 1 else 784)
        sb.number_input(
            "F (features)",
            min_value=1,
            max_value=10_000_000,
            step=1,
            key=f"{W}in_F",
            disabled=locked("input_shape"),
            on_change=on_meta,
            args=("input_shape",),
        )
    _seed_widget(f"{W}seed", int(design.get("seed", 0)))
    sb.number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        step=1,
        key=f"{W}seed",
        disabled=locked("seed"),
        on_change=on_meta,
        args=("seed",),
    )

    sb.subheader("Presets")
    files_off = locked("files")
    sb.selectbox("Preset", presets.PRESET_NAMES, key="preset_choice", disabled=files_off)
    sb.button(
        "Load preset", key="load_preset", on_click=on_preset, width="stretch", disabled=files_off
    )

    sb.subheader("Files")
    sb.file_uploader("Load a design (.json)", type=["json"], key="upload", disabled=files_off)
    sb.download_button(
        "Download design (.json)",
        data=json.dumps(design, indent=2),
        file_name=f"{_stem(design)}.json",
        mime="application/json",
        key="download_spec",
        on_click="ignore",
        width="stretch",
    )
    sb.subheader("Share")
    sb.caption(
        "The address bar always holds the current design: copy it to share. The packed design:"
    )
    sb.code(f"?d={encode_design(design)}", language=None, wrap_lines=True)


def _stem(design: dict[str, Any]) -> str:
    return "".join(c for c in str(design.get("name", "net")).lower() if c.isalnum()) or "net"


def process_upload() -> None:
    """Load a newly uploaded design before anything is drawn (the widget lives in the sidebar)."""
    uploaded = st.session_state.get("upload")
    if uploaded is not None and st.session_state.get("upload_seen") != uploaded.file_id:
        st.session_state.upload_seen = uploaded.file_id
        load_upload(uploaded.getvalue())


def load_upload(raw: bytes) -> None:
    if len(raw) > MAX_UPLOAD_BYTES:
        st.session_state.flash.append(
            (
                "error",
                f"That file is {len(raw):,} bytes; a design file is at most {MAX_UPLOAD_BYTES:,}. "
                "Your design is unchanged.",
            )
        )
        return
    try:
        # bytes are always JSON text to load_spec, never a path (SPEC.md)
        design = builder.load_spec(raw).to_dict()
    except (ValueError, RecursionError) as exc:  # SpecError, JSON and UTF-8 errors
        reason = exc if isinstance(exc, builder.SpecError) else "it is not a JSON design file"
        st.session_state.flash.append(
            ("error", f"Could not load that file: {reason}. Your design is unchanged.")
        )
        return
    commit(design, _fresh_uids(len(design["layers"])))
    st.session_state.flash.append(("success", f"Loaded {design.get('name', 'the design')}."))


def palette() -> None:
    """Add a layer: one click on its type, at the end or right after the selected layer."""
    with st.popover(
        "Add a layer", icon=":material/add:", type="primary", width="stretch", key="palette"
    ):
        st.radio(
            "Where",
            ["at the end", "after the selected layer"],
            key="palette_where",
            horizontal=True,
        )
        assignment = st.session_state.get("assignment")
        allowed = assignment.allowed_types if assignment is not None else None
        for category in CATEGORIES:
            names = [n for n, e in REGISTRY.items() if e.category == category]
            names = [n for n in names if allowed is None or n in allowed]
            if not names:
                continue
            with st.container(horizontal=True, gap="small", vertical_alignment="center"):
                st.caption(category, width=110)
                for layer_type in names:
                    st.button(
                        layer_type,
                        key=f"add:{layer_type}",
                        on_click=on_add,
                        args=(layer_type,),
                        help=REGISTRY[layer_type].summary,
                    )


def layer_card(uid: int, index: int, layer: dict[str, Any], row: Any, spec_ok: bool) -> None:
    entry = REGISTRY[layer["type"]]
    name = row.name if row is not None else layer.get("name", "?")
    shape = "—" if row is None else _shape(row.output_shape)
    params = "" if row is None or not row.params else f" · {row.params:,} params"
    marker = "✖ " if row is not None and row.error else ""
    selected = st.session_state.get("selected") == uid
    label = f"{marker}{index + 1}. **{name}** · {layer['type']} → {shape}{params}"
    # Open / closed is server state (``card:<uid>``), toggled by the card's header: a closed
    # card draws no widgets, so a rerun costs little even for deep stacks.
    is_open = st.session_state.get(f"card:{uid}", bool(marker))  # a failing layer starts open
    card = st.container(border=True, key=f"layer_card_{uid}")
    card.button(
        label,
        key=f"head:{uid}",
        on_click=on_toggle_card,
        args=(uid,),
        type="tertiary",
        icon=":material/expand_more:" if is_open else ":material/chevron_right:",
        width="stretch",
        help="open or close this layer's settings",
    )
    if not is_open:
        return
    with card:
        last = len(st.session_state.uids) - 1
        with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
            _seed_widget(f"{W}{uid}:name", layer.get("name", ""))
            st.text_input(
                "name",
                key=f"{W}{uid}:name",
                on_change=on_name,
                args=(uid,),
                placeholder=name,
                max_chars=64,
                width=150,
            )
            for key, icon, tip, callback, args, off in (
                (f"up:{uid}", "arrow_upward", "move up", on_move, (uid, -1), index == 0),
                (f"down:{uid}", "arrow_downward", "move down", on_move, (uid, 1), index == last),
                (f"dup:{uid}", "content_copy", "duplicate", on_duplicate, (uid,), False),
                (f"del:{uid}", "delete", "delete", on_delete, (uid,), False),
            ):
                st.button(
                    "",
                    icon=f":material/{icon}:",
                    key=key,
                    help=tip,
                    on_click=callback,
                    args=args,
                    disabled=off,
                )
            st.button(
                "select",
                icon=":material/my_location:",
                key=f"sel:{uid}",
                help="select: new layers can go right after it",
                on_click=on_select,
                args=(uid,),
                type="primary" if selected else "secondary",
            )
        if row is not None and row.error:
            st.error(esc(row.error))
        hint = edits.keep_size_hint(st.session_state.design, row) if row is not None else None
        if hint is not None:
            st.button(
                hint[0],
                key=f"hint:{uid}",
                icon=":material/auto_fix_high:",
                type="tertiary",
                on_click=on_fix,
                args=(hint[1],),
                help="one undoable edit",
            )
        if entry.in_key and row is not None and row.input_shape is not None:
            st.caption(f"{entry.in_key} = {row.input_shape[0]} (inferred from the input)")
        primary = PRIMARY.get(layer["type"], ())
        visible = [a for a in entry.args if not a.inferred and a.name in primary]
        rest = [a for a in entry.args if not a.inferred and a.name not in primary]
        for arg in visible:
            arg_widgets(uid, layer, arg, st)
        if rest:
            _seed_widget(f"{W}{uid}:more", False)
            if st.toggle("more arguments", key=f"{W}{uid}:more"):
                for arg in rest:
                    arg_widgets(uid, layer, arg, st)
        if row is not None and (row.shape_formula or row.param_formula):
            st.caption(
                f"output size: {row.shape_formula}"
                + (f"  \nparameters: {row.param_formula}" if row.param_formula else "")
            )
        if layer["type"] in PARAM_TYPES:
            layer_init_section(uid, layer, row)


def layer_init_section(uid: int, layer: dict[str, Any], row: Any) -> None:
    present = {n for n, _ in row.tensors} if row is not None and row.tensors else {"weight", "bias"}
    if not present:
        return
    design = st.session_state.design
    for tensor in ("weight", "bias"):
        if tensor not in present:
            continue
        prefix = f"{W}{uid}:init:{tensor}"
        overrides = layer.get("init", {})
        _seed_widget(f"{prefix}:on", tensor in overrides)
        st.checkbox(
            f"own init for {tensor} (override the {layer['type']} default)",
            key=f"{prefix}:on",
            disabled=locked("init"),
            on_change=on_override,
            args=(uid, tensor),
        )
        if st.session_state[f"{prefix}:on"]:
            current = overrides.get(tensor) or design.get("init", {}).get(layer["type"], {}).get(
                tensor, {"scheme": "default"}
            )
            init_widgets(
                prefix, current, TENSOR_NDIM[layer["type"]][tensor], on_layer_init, (uid, tensor)
            )


def metrics(analysis: builder.Analysis | None) -> None:
    cols = st.columns(7)
    if analysis is None:
        for col, label in zip(
            cols,
            (
                "Parameters",
                "Trainable",
                "Non-trainable",
                "Buffers",
                "Param memory",
                "Activations",
                "Mult-adds",
            ),
        ):
            col.metric(label, "—")
        return
    values = (
        ("Parameters", f"{analysis.total_params:,}", "sum of every layer's weights and biases"),
        ("Trainable", f"{analysis.trainable_params:,}", "parameters with requires_grad"),
        ("Non-trainable", f"{analysis.non_trainable_params:,}", "frozen parameters"),
        ("Buffers", f"{analysis.total_buffers:,}", "BatchNorm running statistics: not parameters"),
        ("Memory", _mb(analysis.param_memory_mb), "parameters as float32"),
        (
            "Activations",
            _mb(analysis.activation_memory_mb),
            "all layer outputs for one sample, float32",
        ),
        (
            "Mult-adds",
            _count(analysis.mult_adds),
            "multiply-adds for one sample (torchinfo's count)",
        ),
    )
    for col, (label, value, helptext) in zip(cols, values):
        col.metric(label, value, help=helptext)


def _mb(value: float) -> str:
    return f"{value:,.2f} MB" if value < 1000 else f"{value / 1000:,.2f} GB"


def _count(value: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:,.2f} {unit}"
    return f"{value:,}"


def _shape(shape: tuple[int, ...] | None) -> str:
    """A shape as torch prints sizes, kept on one line (non-breaking spaces)."""
    if shape is None:
        return "—"
    return "(" + ",\u00a0".join(str(s) for s in shape) + ")"


def analysis_table(spec: builder.Spec, analysis: builder.Analysis) -> None:
    rows = [
        {
            "#": r.index + 1,
            "name": r.name,
            "type": r.type,
            "output shape": _shape(r.output_shape),
            "params": "" if r.params is None else f"{r.params:,}",
            "mult-adds": f"{r.mult_adds:,}" if r.output_shape is not None else "",
            "status": "✖ " + (r.error_field or "error") if r.error else "",
        }
        for r in analysis.layers
    ]
    input_row = {
        "#": 0,
        "name": "input",
        "type": "",
        "output shape": _shape(spec.input_shape),
        "params": "",
        "mult-adds": "",
        "status": "",
    }
    frame = pd.DataFrame([input_row, *rows])
    if analysis.ok:
        frame = frame.drop(columns="status")
    bad = analysis.error_index

    def highlight(row: pd.Series) -> list[str]:
        if bad is not None and row["#"] == bad + 1:
            return ["background-color: #fde2e1; color: #8a1c12; font-weight: 600"] * len(row)
        return [""] * len(row)

    # a static table: every row visible at once, readable on a projector, selectable text
    # (pandas' Styler costs ~1 ms a row, so it is used only to paint the failing row)
    shown = frame.style.apply(highlight, axis=1).hide(axis="index") if bad is not None else frame
    st.table(shown, border="horizontal", hide_index=True)
    if analysis.error:
        row = analysis.layers[bad]
        st.error(f"**{esc(row.error)}**")
        if row.fix_action:
            st.button(
                f"Apply fix: {row.fix}",
                key="apply_fix",
                on_click=on_fix,
                args=(row.fix_action,),
                type="primary",
            )
    names = [
        f"{r.index + 1}. {r.name}" for r in analysis.layers if r.shape_formula or r.param_formula
    ]
    if names:
        choice = st.selectbox("Explain a layer's numbers", ["—", *names], key="explain")
        if choice != "—":
            row = analysis.layers[int(choice.split(".")[0]) - 1]
            lines = []
            if row.input_shape is not None:
                out = tuple(row.output_shape) if row.output_shape else "—"
                lines.append(f"input {tuple(row.input_shape)} → output {out}")
            if row.shape_formula:
                lines.append(f"output size: {row.shape_formula}")
            if row.param_formula:
                shapes = ", ".join(f"{n} {list(s)}" for n, s in row.tensors)
                lines.append(f"parameters: {row.param_formula}   ({shapes})")
            if row.mult_adds:
                lines.append(f"mult-adds: {row.mult_adds:,}")
            st.code("\n".join(lines), language=None, wrap_lines=True)


def init_tab(spec: builder.Spec) -> None:
    design = st.session_state.design
    present = [t for t in PARAM_TYPES if any(layer.type == t for layer in spec.layers)]
    if not present:
        st.info("No layer with weights yet: add a Conv2d, BatchNorm or Linear layer.")
        return
    st.caption(
        "One initializer per layer type, applied to every layer of that type "
        "(a layer's own override wins). PyTorch default = the layer's reset_parameters()."
    )
    for layer_type in present:
        st.markdown(f"**{layer_type}**")
        cols = st.columns(2)
        for col, tensor in zip(cols, ("weight", "bias")):
            with col:
                label = (
                    {"weight": "weight (gamma)", "bias": "bias (beta)"}[tensor]
                    if layer_type.startswith("BatchNorm")
                    else tensor
                )
                st.caption(label)
                current = (
                    design.get("init", {}).get(layer_type, {}).get(tensor, {"scheme": "default"})
                )
                init_widgets(
                    f"{W}init:{layer_type}:{tensor}",
                    current,
                    TENSOR_NDIM[layer_type][tensor],
                    on_type_init,
                    (layer_type, tensor),
                )


def signal_tab(spec_json: str, analysis: builder.Analysis) -> None:
    cols = st.columns([1, 1, 2])
    per_sample = sum(r.activations for r in analysis.layers) + math.prod(analysis.input_shape)
    largest = max(2, min(512, MAX_SIGNAL_ELEMENTS // max(per_sample, 1)))
    _seed_widget("signal_batch", min(64, largest))
    batch = cols[0].number_input(
        "Batch size", min_value=2, max_value=largest, step=1, key="signal_batch"
    )
    mode = cols[1].radio(
        "Mode",
        ["eval", "train"],
        horizontal=True,
        key="signal_mode",
        help="train: Dropout on, BatchNorm uses the batch's statistics",
    )
    other = cols[2].selectbox(
        "Compare with another initializer plan",
        ["—", *[p for p in presets.INIT_PLANS if p != "this design's plan"]],
        key="signal_other",
    )
    st.caption(
        "A seeded random batch pushed through the freshly initialized network: the std of "
        "each layer's output. Watch it vanish or explode with a poor initializer."
    )
    figure = cached_signal(spec_json, int(batch), mode, other)
    st.plotly_chart(figure, width="stretch", key="signal_chart")


def heavy_ok(analysis: builder.Analysis) -> bool:
    if analysis.total_params > MAX_HEAVY_PARAMS:
        st.info(
            f"This design has {analysis.total_params:,} parameters; building it for this tab is "
            f"limited to {MAX_HEAVY_PARAMS:,} to keep the server responsive. The analysis above "
            "still covers every layer."
        )
        return False
    return True


def import_panel() -> None:
    """Sidebar: paste a PyTorch class like the article's Net and get it as a design."""
    panel = st.sidebar.expander("Import PyTorch code", key="import_panel", on_change="rerun")
    if not panel.open and not st.session_state.get("import_code"):
        return  # a closed panel draws nothing: every rerun of every session stays cheap
    with panel:
        st.caption(
            "Paste a class written like the article's Net: named nn layers in __init__, "
            "a forward that applies them in order, an optional initialize_weights. "
            "It is read, never run. The input shape above is used."
        )
        st.text_area(
            "PyTorch code",
            key="import_code",
            height=200,
            max_chars=MAX_CODE_CHARS,
            disabled=locked("files"),
        )
        st.button(
            "Import as a design",
            key="import_go",
            on_click=on_import,
            width="stretch",
            disabled=locked("files"),
        )


def on_import() -> None:
    from builder.importer import spec_from_code

    source = st.session_state.get("import_code", "")
    try:
        design = spec_from_code(source, st.session_state.design["input_shape"]).to_dict()
    except builder.SpecError as exc:
        st.session_state.flash.append(("error", f"Could not import that code:\n\n{exc}"))
        return
    commit(design, _fresh_uids(len(design["layers"])))
    st.session_state.flash.append(("success", f"Imported {design.get('name', 'the class')}."))


def teacher_panel() -> None:
    """Sidebar: set assignment constraints; they travel in the link beside the design."""
    panel = st.sidebar.expander("Assignment (for teachers)", key="teacher_panel", on_change="rerun")
    if not panel.open and st.session_state.get("assignment") is None:
        return  # a closed panel draws nothing: every rerun of every session stays cheap
    with panel:
        st.caption("Constraints a student sees pass or fail live. They go into the link.")
        st.text_input("Title", key="as_title", max_chars=120)
        st.number_input(
            "Parameter budget (0 = none)", min_value=0, max_value=10**12, step=1000, key="as_budget"
        )
        st.radio(
            "Required output", ["none", "flat [n]", "[C, H, W]"], key="as_out_kind", horizontal=True
        )
        kind = st.session_state.get("as_out_kind", "none")
        if kind == "flat [n]":
            st.number_input("n", min_value=1, max_value=10**6, value=10, key="as_out_n")
        elif kind == "[C, H, W]":
            cols = st.columns(3)
            for col, axis in zip(cols, "CHW"):
                col.number_input(axis, min_value=1, max_value=10**5, value=8, key=f"as_out_{axis}")
        st.multiselect("Allowed layer types (empty = all)", list(REGISTRY), key="as_types")
        st.multiselect("Lock", list(LOCKABLE), key="as_locked", format_func=LOCKABLE.get)
        st.button(
            "Make the assignment link", key="as_make", on_click=on_make_assignment, width="stretch"
        )
        assignment = st.session_state.get("assignment")
        if assignment is not None:
            st.code(
                f"?a={encode_assignment(assignment)}&d={encode_design(st.session_state.design)}",
                language=None,
                wrap_lines=True,
            )
            st.button("Remove the assignment", key="as_clear", on_click=on_clear_assignment)


def on_make_assignment() -> None:
    state = st.session_state
    data: dict[str, Any] = {}
    if state.get("as_title", "").strip():
        data["title"] = state.as_title.strip()
    if state.get("as_budget"):
        data["max_params"] = int(state.as_budget)
    kind = state.get("as_out_kind", "none")
    if kind == "flat [n]":
        data["output_shape"] = [int(state.get("as_out_n", 10))]
    elif kind == "[C, H, W]":
        data["output_shape"] = [int(state.get(f"as_out_{a}", 8)) for a in "CHW"]
    if state.get("as_types"):
        data["allowed_types"] = list(state.as_types)
    if state.get("as_locked"):
        data["locked"] = list(state.as_locked)
    try:
        state.assignment = load_assignment(data) if data else None
    except builder.SpecError as exc:
        state.flash.append(("error", str(exc)))
        return
    if state.assignment is None:
        state.flash.append(("warning", "Set at least one constraint first."))


def on_clear_assignment() -> None:
    st.session_state.assignment = None


def assignment_panel(design: dict[str, Any], analysis: builder.Analysis | None) -> None:
    assignment = st.session_state.get("assignment")
    if assignment is None:
        return
    checks = check(assignment, [layer["type"] for layer in design["layers"]], analysis)
    done = all(c.passed for c in checks)
    lines = []
    for c in checks:
        mark = ":green[✔]" if c.passed else ":red[✖]"
        lines.append(f"{mark} {esc(c.label)}" + (f" — {esc(c.detail)}" if c.detail else ""))
    title = assignment.title or "Assignment"
    with st.container(border=True, key="assignment_panel"):
        st.markdown(f"**{esc(title)}** · {'all constraints met' if done else 'in progress'}")
        st.markdown("  \n".join(lines))


def on_pin() -> None:
    st.session_state.pinned = copy.deepcopy(st.session_state.design)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_summary(spec_json: str) -> dict[str, Any]:
    analysis = builder.analyze(json.loads(spec_json))
    rows = [
        {
            "#": r.index + 1,
            "name": r.name,
            "type": r.type,
            "output shape": _shape(r.output_shape),
            "params": "" if r.params is None else f"{r.params:,}",
        }
        for r in analysis.layers
    ]
    return {
        "rows": rows,
        "ok": analysis.ok,
        "error": analysis.error,
        "params": analysis.total_params,
        "mult_adds": analysis.mult_adds,
        "memory": analysis.param_memory_mb,
    }


def compare_tab(spec: builder.Spec, model_json: str) -> None:
    pinned = st.session_state.get("pinned")
    options = (["the pinned design"] if pinned else []) + list(presets.PRESET_NAMES)
    cols = st.columns([2, 1], vertical_alignment="bottom")
    other_name = cols[0].selectbox("Compare this design with", options, key="compare_with")
    cols[1].button(
        "Pin this design",
        key="pin",
        on_click=on_pin,
        icon=":material/push_pin:",
        help="keep a copy of the current design to compare later versions with",
    )
    other = pinned if other_name == "the pinned design" else presets.preset(other_name)
    try:
        other_spec = builder.load_spec(other)
    except builder.SpecError as exc:
        st.error(esc(exc))
        return
    show_hist = st.toggle("with weight histograms", key="compare_hist")
    left, right = st.columns(2)
    for column, title, item in ((left, "this design", spec), (right, other_name, other_spec)):
        with column:
            data = cached_summary(item.to_json())
            st.markdown(f"**{title}** · {item.class_name} · input {tuple(item.input_shape)}")
            cells = st.columns(3)
            cells[0].metric("Parameters", f"{data['params']:,}")
            cells[1].metric("Mult-adds", _count(data["mult_adds"]))
            cells[2].metric("Memory", _mb(data["memory"]))
            if data["error"]:
                st.error(esc(data["error"]))
            st.table(pd.DataFrame(data["rows"]), hide_index=True, border="horizontal")
            if show_hist and data["ok"] and data["params"] <= MAX_HEAVY_PARAMS:
                key = json.dumps(
                    {k: v for k, v in item.to_dict().items() if k != "name"}, sort_keys=True
                )
                st.plotly_chart(
                    cached_histograms(key), width="stretch", key=f"compare_hist_{title}"
                )


PRESENT_CSS = (
    "<style>html{font-size:22px} [data-testid='stSidebar']{display:none}"
    " [data-testid='stMetricValue']{font-size:2.2rem} [data-testid='stTable'] td,"
    " [data-testid='stTable'] th{font-size:1.15rem}</style>"
)


def main() -> None:
    st.set_page_config(
        page_title="NetBuilder",
        layout="wide",
        initial_sidebar_state="collapsed" if presenting() else "auto",
    )
    if presenting():
        st.markdown(PRESENT_CSS, unsafe_allow_html=True)
    st.markdown(
        "<style>div.block-container{padding-top:2.2rem;padding-bottom:1rem}"
        " [data-testid='stMetricValue']{font-size:1.45rem}"
        " [data-testid='stTable'] td, [data-testid='stTable'] th{padding:0.18rem 0.5rem}"
        " [class*='st-key-layer_card_']{padding:0.2rem 0.6rem;gap:0.4rem}"
        " [class*='st-key-head-'] button, [class*='st-key-head-'] button > div"
        "{justify-content:flex-start;min-height:2rem;width:100%}"
        " [class*='st-key-head-'] [data-testid='stTooltipHoverTarget']"
        "{justify-content:flex-start !important}</style>",
        unsafe_allow_html=True,
    )
    init_state()
    process_upload()
    design = st.session_state.design
    spec_error = None
    spec = analysis = None
    try:
        spec = builder.load_spec(design)
        analysis = builder.analyze(spec)
    except builder.SpecError as exc:
        spec_error = str(exc)

    head = st.columns([5, 1, 1], vertical_alignment="center")
    head[0].markdown(
        f"#### NetBuilder · {esc(design.get('name', 'Net'))} · input {tuple(design['input_shape'])}"
    )
    undo, redo = st.session_state.undo_stack, st.session_state.redo_stack
    if not presenting():
        head[1].button("↶ Undo", key="undo", on_click=on_undo, disabled=not undo, width="stretch")
        head[2].button("↷ Redo", key="redo", on_click=on_redo, disabled=not redo, width="stretch")
    for level, message in st.session_state.flash:
        getattr(st, level)(esc(message))
    st.session_state.flash = []
    metrics(analysis)
    assignment_panel(design, analysis)

    sidebar(spec)
    import_panel()
    teacher_panel()
    if presenting():
        # presentation mode: the facts, large; no editing controls
        if spec_error:
            st.error(esc(spec_error))
        else:
            analysis_table(spec, analysis)
        present_tabs(spec, analysis)
        _sync_link(design)
        return
    left, right = st.columns([1, 1.3], gap="medium")
    rows = analysis.layers if analysis is not None else [None] * len(design["layers"])
    with right:
        if spec_error:
            st.error(f"**{esc(spec_error)}**  \nFix that field; nothing else is lost.")
        else:
            analysis_table(spec, analysis)
    with left:
        palette()
        if not design["layers"]:
            st.info("The stack is empty: pick a layer type above and press Add layer.")
        for index, (uid, layer) in enumerate(zip(st.session_state.uids, design["layers"])):
            layer_card(uid, index, layer, rows[index], spec_error is None)

    if spec is None:
        return
    show_tabs(spec, analysis, design, EDIT_TABS)
    _sync_link(design)


def _context(spec: builder.Spec, analysis: builder.Analysis, design: dict[str, Any]) -> dict:
    return {
        "spec": spec,
        "analysis": analysis,
        "design": design,
        "spec_json": spec.to_json(),
        # the heavy tabs do not depend on the display name: renaming recomputes nothing
        "model_json": json.dumps(
            {k: v for k, v in spec.to_dict().items() if k != "name"}, sort_keys=True
        ),
    }


def hist_tab(ctx: dict) -> None:
    analysis, spec = ctx["analysis"], ctx["spec"]
    if not (_need_ok(analysis) and heavy_ok(analysis)):
        return
    if not any(layer.type in PARAM_TYPES for layer in spec.layers):
        st.info("No weights to show yet.")
        return
    st.caption(
        "Each parameter tensor right after initialization, with the distribution "
        "its initializer promises (curve) and measured vs promised std."
    )
    st.plotly_chart(cached_histograms(ctx["model_json"]), width="stretch", key="hist_chart")


def signal_view(ctx: dict) -> None:
    if _need_ok(ctx["analysis"]) and heavy_ok(ctx["analysis"]):
        signal_tab(ctx["model_json"], ctx["analysis"])


def download_row(files: list[tuple[str, Any, str, str, str]]) -> None:
    """One row of download buttons: ``(label, data, file name, MIME type, key)`` each."""
    for col, (label, data, file_name, mime, key) in zip(st.columns(len(files)), files):
        col.download_button(
            label,
            data=data,
            file_name=file_name,
            mime=mime,
            key=key,
            on_click="ignore",
            width="stretch",
        )


def code_tab(ctx: dict) -> None:
    analysis, design, spec_json = ctx["analysis"], ctx["design"], ctx["spec_json"]
    if not _need_ok(analysis):
        return
    functional = st.toggle(
        "activations as F.relu(...) in forward (like the article)", key="functional"
    )
    code = cached_code(spec_json, functional)
    stem = _stem(design)
    files = [
        ("Download code (.py)", code, f"{stem}.py", "text/x-python", "download_py"),
        (
            "Download design (.json)",
            json.dumps(design, indent=2),
            f"{stem}.json",
            "application/json",
            "download_json",
        ),
    ]
    if analysis.total_params <= MAX_HEAVY_PARAMS:
        files.append(
            (
                "Download weights (.pt)",
                lambda: cached_weights(spec_json),
                f"{stem}.pt",
                "application/octet-stream",
                "download_pt",
            )
        )
    download_row(files)
    st.code(code, language="python", line_numbers=True)


def model_tab(ctx: dict) -> None:
    if not (_need_ok(ctx["analysis"]) and heavy_ok(ctx["analysis"])):
        return
    text = cached_model_text(ctx["spec_json"])
    st.markdown("`print(net)`")
    st.code(text["print"], language=None)
    st.markdown(
        "`for m in net.modules(): print(m)`: the first item is the whole network, then each layer"
    )
    st.code(text["modules"], language=None)
    if text["first_conv"]:
        st.markdown("The first convolution's tensors (the bias is the part most people forget):")
        st.code(text["first_conv"], language=None)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_receptive(model_json: str) -> dict[str, Any]:
    from builder.receptive import receptive_field, receptive_field_figure

    return receptive_field_figure(receptive_field(json.loads(model_json))).to_plotly_json()


@st.cache_data(max_entries=64, show_spinner=False)
def cached_memory(model_json: str, batch: int, dtype: str, optimizer: str) -> dict[str, Any]:
    from builder.memory import GPU_SIZES_GB, fits, memory_estimate, memory_figure

    estimate = memory_estimate(json.loads(model_json), batch, dtype, optimizer)
    return {
        "figure": memory_figure(estimate).to_plotly_json(),
        "parts": {k.replace("_", " "): v for k, v in estimate.parts().items()},
        "total": estimate.total,
        "fits": {gb: fits(estimate.total, gb) for gb in GPU_SIZES_GB},
    }


@st.cache_data(max_entries=32, show_spinner=False)
def cached_diagram(spec_json: str) -> dict[str, Any]:
    from builder.diagram import diagram_png, diagram_svg

    data = json.loads(spec_json)
    return {"svg": diagram_svg(data), "png": diagram_png(data, scale=2.0)}


def sizes_tab(ctx: dict) -> None:
    from builder.memory import format_bytes

    if not _need_ok(ctx["analysis"]):
        return
    st.caption(
        "Receptive field: how many input pixels can reach one unit of each layer. "
        "Feature-map size: the H of each layer's output."
    )
    st.plotly_chart(cached_receptive(ctx["model_json"]), width="stretch", key="rf_chart")
    st.markdown("**Memory calculator** · one training step")
    cols = st.columns(3)
    batch = cols[0].number_input(
        "Batch size", min_value=1, max_value=65_536, value=64, key="mem_batch"
    )
    dtype = cols[1].selectbox("dtype", ["float32", "float16", "bfloat16"], key="mem_dtype")
    optimizer = cols[2].selectbox("Optimizer", ["adam", "sgd", "sgd_momentum"], key="mem_opt")
    data = cached_memory(ctx["model_json"], int(batch), dtype, optimizer)
    cells = st.columns(len(data["parts"]) + 1)
    for cell, (label, value) in zip(cells, [*data["parts"].items(), ("total", data["total"])]):
        cell.metric(label, format_bytes(value))
    verdicts = [f"{gb:g} GB: {'fits' if ok else 'does not fit'}" for gb, ok in data["fits"].items()]
    st.markdown(" · ".join(verdicts))
    st.plotly_chart(data["figure"], width="stretch", key="memory_chart")


def diagram_tab(ctx: dict) -> None:
    if not _need_ok(ctx["analysis"]):
        return
    if not ctx["spec"].layers:
        st.info("Add layers to see the diagram.")
        return
    data = cached_diagram(ctx["spec_json"])
    st.image(data["svg"], width="stretch")
    stem = _stem(ctx["design"])
    download_row(
        [
            (
                "Download diagram (.svg)",
                data["svg"],
                f"{stem}.svg",
                "image/svg+xml",
                "download_svg",
            ),
            ("Download diagram (.png)", data["png"], f"{stem}.png", "image/png", "download_png"),
        ]
    )


def train_tab(ctx: dict) -> None:
    from builder.training import (
        DEFAULT_BATCH_SIZE,
        MAX_EPOCHS,
        TrainingBusy,
        compare_training,
        train,
        training_figure,
    )

    analysis = ctx["analysis"]
    if not (_need_ok(analysis) and heavy_ok(analysis)):
        return
    st.caption(
        "A few epochs on scikit-learn's handwritten digits (1,797 images of 8×8, resized to the "
        "design's input), held-out accuracy per epoch. Runs on the server, bounded in time; "
        "press Stop (or any control) to cancel."
    )
    cols = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    epochs = cols[0].number_input(
        "Epochs", min_value=1, max_value=MAX_EPOCHS, value=3, key="train_epochs"
    )
    optimizer = cols[1].selectbox("Optimizer", ["adam", "sgd_momentum", "sgd"], key="train_opt")
    batch = cols[2].number_input(
        "Batch size", min_value=2, max_value=512, value=DEFAULT_BATCH_SIZE, key="train_batch"
    )
    other = cols[3].selectbox(
        "Also train with",
        ["—", *[p for p in presets.INIT_PLANS if p != "this design's plan"]],
        key="train_other",
    )
    go_cols = st.columns([1, 1, 4])
    start = go_cols[0].button(
        "Train", key="train_go", type="primary", icon=":material/play_arrow:", width="stretch"
    )
    go_cols[1].button(
        "Stop",
        key="train_stop",
        icon=":material/stop:",
        width="stretch",
        help="cancel the run (any click does: the run stops at the next batch)",
    )
    chart = st.empty()
    progress = st.empty()
    kept = st.session_state.get("train_result")
    if not start:
        if kept is not None and kept["spec"] == ctx["model_json"]:
            chart.plotly_chart(kept["figure"], width="stretch", key="train_chart")
            st.caption(kept["summary"])
        return
    data = json.loads(ctx["model_json"])
    labels = ["this design"] if other == "—" else ["this design", other]
    partial: dict[int, list] = {0: [], 1: []}
    bar = progress.progress(0.0, text="training…")

    def on_batch(fraction: float) -> bool:
        bar.progress(min(1.0, fraction), text=f"training… {fraction:.0%}")
        return True

    def on_epoch_one(result: Any) -> bool:
        partial[0].append(result)
        return True

    try:
        if other == "—":
            results = [
                train(
                    data,
                    epochs=int(epochs),
                    batch_size=int(batch),
                    optimizer=optimizer,
                    seed=data["seed"],
                    on_epoch=on_epoch_one,
                    on_batch=on_batch,
                )
            ]
        else:
            results = list(
                compare_training(
                    data,
                    data["init"],
                    presets.init_plan(other, data),
                    keep_layer_init=True,
                    epochs=int(epochs),
                    batch_size=int(batch),
                    optimizer=optimizer,
                    seed=data["seed"],
                    on_batch=on_batch,
                )
            )
    except (builder.SpecError, TrainingBusy) as exc:
        progress.empty()
        st.error(esc(exc))
        return
    progress.empty()
    figure = training_figure(results, labels).to_plotly_json()
    summary = " · ".join(
        (
            f"{label}: {r.curve[-1].test_accuracy:.1%} held-out accuracy"
            if math.isfinite(r.curve[-1].test_accuracy)
            else f"{label}: no accuracy yet"
        )
        + f" after {len(r.epochs)} epoch(s), {r.elapsed:.1f} s ({r.stopped_reason})"
        for label, r in zip(labels, results)
    )
    st.session_state.train_result = {
        "spec": ctx["model_json"],
        "figure": figure,
        "summary": summary,
    }
    chart.plotly_chart(figure, width="stretch", key="train_chart")
    st.caption(summary)


EDIT_TABS = {
    "Initialization": lambda ctx: init_tab(ctx["spec"]),
    "Histograms": hist_tab,
    "Signal": signal_view,
    "Code": code_tab,
    "Model": model_tab,
    "Train": train_tab,
    "Sizes & memory": sizes_tab,
    "Diagram": diagram_tab,
    "Compare": lambda ctx: compare_tab(ctx["spec"], ctx["model_json"]),
}
PRESENT_TABS = {
    name: EDIT_TABS[name]
    for name in ("Diagram", "Histograms", "Signal", "Train", "Sizes & memory", "Code", "Model")
}


def show_tabs(
    spec: builder.Spec, analysis: builder.Analysis, design: dict[str, Any], tabs: dict
) -> None:
    """The lower panel: one tab per view; only the open tab does any work."""
    ctx = _context(spec, analysis, design)
    containers = st.tabs(list(tabs), key="view", on_change="rerun")
    for container, render in zip(containers, tabs.values()):
        with container:
            if container.open:
                render(ctx)


def present_tabs(spec: builder.Spec | None, analysis: builder.Analysis | None) -> None:
    if spec is not None:
        show_tabs(spec, analysis, st.session_state.design, PRESENT_TABS)


def _need_ok(analysis: builder.Analysis) -> bool:
    if not analysis.ok:
        st.warning(f"Fix the design first: {esc(analysis.error)}")
        return False
    return True


def _sync_link(design: dict[str, Any]) -> None:
    """Keep the design in the address bar, so the URL is always a share link."""
    packed = encode_design(design)
    if st.query_params.get("d") != packed:
        st.query_params["d"] = packed


main()
