"""Argument and initializer widgets, generated from registry metadata (bounds, choices, help).

Every bound and choice comes from ``builder`` (the registry's ``Arg``, the initializer table and
``builder.spec.init_arg_bounds``), so a widget never offers a value the spec refuses. Callbacks are
passed in: this module only draws and reads back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from builder.initializers import NONLINEARITIES, SCHEMES
from builder.layers import MAX_INT, Arg, ArgKind
from builder.spec import init_arg_bounds

from . import i18n
from .state import W, locked, seed_widget

PAIRS = (ArgKind.SIZE, ArgKind.OPT_SIZE, ArgKind.PADDING, ArgKind.OUTPUT_SIZE)
DIMS = ["None", "-1", "1", "0", "2", "3", "-2", "-3", "-4"]
OPT_BOOLS = ["None", "True", "False"]


def icon_button(
    key: str, icon: str, tip: str, on_click: Callable, args: tuple = (), disabled: bool = False
) -> None:
    """A button showing only a Material icon, its English ``tip`` translated as its tooltip."""
    st.button(
        "",
        icon=f":material/{icon}:",
        key=key,
        help=i18n.translate(tip, i18n.language()),
        on_click=on_click,
        args=args,
        disabled=disabled,
    )


def _help(arg: Arg, lang: str) -> str | None:
    """An argument's help in ``lang``: a ``Message`` with its parameters, an ``N_`` id as it is."""
    if not arg.help:
        return None
    if isinstance(getattr(arg.help, "msgid", None), str):
        return i18n.translate_text(arg.help, lang)
    return i18n.translate(str(arg.help), lang)


def axis_names(axes: tuple[int, ...]) -> tuple[str, ...]:
    """The boxes of a size argument (``Arg.axes``): ``l`` for a sequence, ``h``/``w`` for an
    image, ``left``/``right``/``top``/``bottom`` for ZeroPad2d's padding."""
    count = max(axes)
    return {1: ("l",), 4: ("left", "right", "top", "bottom")}.get(count, ("h", "w"))


def read_arg(uid: int, key: str, kind: str, axes: tuple[int, ...] = (2,)) -> Any:
    """The value the widgets of one argument now say, in the spec's JSON form.

    Args:
        uid: the layer's widget id.
        key: the argument's name.
        kind: its ``ArgKind`` value.
        axes: its ``Arg.axes`` (how many boxes a size argument has).
    """
    base = f"{W}{uid}:{key}"
    ss = st.session_state
    if kind in ("size", "opt_size", "padding", "output_size"):
        if kind == "opt_size" and ss.get(f"{base}:auto", False):
            return None
        if kind == "padding" and ss.get(f"{base}:mode", "number") != "number":
            return ss[f"{base}:mode"]
        values = [ss.get(f"{base}:{axis}") for axis in axis_names(axes)]
        if kind == "output_size":
            values = [None if v == 0 else v for v in values]
        same = all(v == values[0] for v in values) and values[0] is not None
        return values[0] if same else values
    if kind == "opt_bool":
        return {"None": None, "True": True, "False": False}[ss.get(base, "None")]
    if kind in ("opt_float", "opt_scale") and ss.get(f"{base}:none", False):
        return None
    if kind == "opt_int":
        value = ss.get(base, 0)
        return None if value == 0 else int(value)
    if kind == "dim":
        value = ss.get(base, "None")
        return None if value == "None" else int(value)
    value = ss.get(base)
    if kind == "int":
        return int(value)
    if kind in ("float", "opt_float", "opt_scale"):
        return float(value)
    return value


def _int_bounds(arg: Arg) -> tuple[int, int]:
    low = int(arg.minimum) if arg.minimum is not None else 0
    high = int(arg.maximum) if arg.maximum is not None else MAX_INT
    return low, high


def _pair_widgets(base: str, layer: dict[str, Any], arg: Arg, container: Any, cb: dict) -> None:
    """An int-or-list argument: a box per axis (``axis_names``), plus 'auto' / 'same' where the
    kind has it."""
    lang = i18n.language()
    label, helptext = arg.name, _help(arg, lang)
    value = layer.get(arg.name, arg.default)
    low, high = _int_bounds(arg)
    # one wrapping row (one block; columns would be a block each, all sent on every rerun)
    row = container.container(horizontal=True, gap="small", vertical_alignment="bottom")
    names = axis_names(arg.axes)
    if arg.kind is ArgKind.OPT_SIZE:
        seed_widget(f"{base}:auto", value is None)
        auto = (
            i18n.translate("{label} = kernel", lang, label=label)
            if arg.name == "stride"
            else i18n.translate("{label} = None", lang, label=label)
        )
        row.checkbox(auto, key=f"{base}:auto", help=helptext, **cb)
        if value is None:
            value = layer.get("kernel_size", 1)
    elif arg.kind is ArgKind.PADDING:
        seed_widget(f"{base}:mode", value if isinstance(value, str) else "number")
        modes = ["number", *arg.choices]
        row.selectbox(
            label,
            modes,
            key=f"{base}:mode",
            help=helptext,
            format_func=lambda mode: i18n.translate(mode, lang) if mode == "number" else mode,
            **cb,
        )
        if isinstance(value, str):
            return
    elif arg.kind is ArgKind.OUTPUT_SIZE:
        helptext = i18n.translate("0 keeps that dimension's input size (None)", lang)
    values = list(value) if isinstance(value, list) else [value]
    values = values * len(names) if len(values) == 1 else values
    if arg.kind is ArgKind.OUTPUT_SIZE:
        values, low = [v or 0 for v in values], 0
    disabled = arg.kind is ArgKind.OPT_SIZE and layer.get(arg.name) is None
    for axis, current in zip(names, values):
        seed_widget(f"{base}:{axis}", int(current))
        row.number_input(
            label if len(names) == 1 else f"{label} {axis}",
            min_value=low,
            max_value=high,
            step=1,
            key=f"{base}:{axis}",
            disabled=disabled,
            help=helptext,
            **cb,
        )


def arg_widgets(
    uid: int, layer: dict[str, Any], arg: Arg, container: Any, on_change: Callable
) -> None:
    """Render the widget(s) for one argument, bounded by the registry entry."""
    base = f"{W}{uid}:{arg.name}"
    cb = {"on_change": on_change, "args": (uid, arg.name, arg.kind.value)}
    if arg.kind is ArgKind.OPT_SCALE:
        _scale_widgets(base, layer, arg, container, cb)
        return
    if arg.kind in PAIRS:
        _pair_widgets(base, layer, arg, container, cb)
        return
    lang = i18n.language()
    label, helptext = arg.name, _help(arg, lang)
    value = layer.get(arg.name, arg.default)
    if arg.kind is ArgKind.BOOL:
        seed_widget(base, bool(value))
        container.checkbox(label, key=base, help=helptext, **cb)
    elif arg.kind is ArgKind.OPT_BOOL:
        seed_widget(base, str(value))
        container.selectbox(label, OPT_BOOLS, key=base, help=helptext, **cb)
    elif arg.kind is ArgKind.CHOICE:
        seed_widget(base, value)
        container.selectbox(label, list(arg.choices), key=base, help=helptext, **cb)
    elif arg.kind is ArgKind.DIM:
        low, high = _int_bounds(arg)
        options = [d for d in DIMS if d == "None" or low <= int(d) <= high]
        seed_widget(base, "None" if value is None else str(value))
        if st.session_state[base] not in options:
            options.append(st.session_state[base])
        container.selectbox(label, options, key=base, help=helptext, **cb)
    elif arg.kind in (ArgKind.FLOAT, ArgKind.OPT_FLOAT):
        if arg.kind is ArgKind.OPT_FLOAT:
            seed_widget(f"{base}:none", value is None)
            none = i18n.translate("{label} = None", lang, label=label)
            container.checkbox(none, key=f"{base}:none", help=helptext, **cb)
            if value is None:
                return
        seed_widget(base, float(value))
        container.number_input(
            label,
            min_value=float(arg.minimum),
            max_value=float(arg.maximum),
            step=0.01 if arg.maximum <= 1 else 0.1,
            format="%.4g",
            key=base,
            help=helptext,
            **cb,
        )
    else:  # INT, OPT_INT (0 = None)
        optional = arg.kind is ArgKind.OPT_INT
        low, high = _int_bounds(arg)
        seed_widget(base, int(value or 0))
        container.number_input(
            i18n.translate("{label} (0 = None)", lang, label=label) if optional else label,
            min_value=0 if optional else low,
            max_value=high,
            step=1,
            key=base,
            help=helptext,
            **cb,
        )


def _scale_widgets(base: str, layer: dict[str, Any], arg: Arg, container: Any, cb: dict) -> None:
    """None, or one factor for every axis (a per-axis list from a file is shown, and replaced by
    one factor once edited)."""
    lang = i18n.language()
    value = layer.get(arg.name, arg.default)
    seed_widget(f"{base}:none", value is None)
    none = i18n.translate("{label} = None", lang, label=arg.name)
    helptext = _help(arg, lang)
    container.checkbox(none, key=f"{base}:none", help=helptext, **cb)
    if value is None:
        return
    if isinstance(value, list):
        container.caption(
            i18n.translate(
                "{name} = {value} (one per axis); a value here sets every axis",
                lang,
                name=arg.name,
                value=value,
            )
        )
        value = value[0]
    seed_widget(base, float(value))
    container.number_input(
        arg.name,
        min_value=float(arg.minimum),
        max_value=float(arg.maximum),
        step=0.5,
        format="%.4g",
        key=base,
        **cb,
    )


def read_init(prefix: str) -> dict[str, Any]:
    ss = st.session_state
    name = ss[f"{prefix}:scheme"]
    init: dict[str, Any] = {"scheme": name}
    for arg in SCHEMES[name].args:
        key = f"{prefix}:{arg.name}"
        if key not in ss:
            continue
        if arg.kind == "gain":
            choice = ss[key]
            init["gain"] = float(ss.get(f"{key}:value", 1.0)) if choice == "number" else choice
        elif arg.kind == "choice":
            init[arg.name] = ss[key]
        elif arg.kind == "int":
            init[arg.name] = int(ss[key])
        else:
            init[arg.name] = float(ss[key])
        if arg.name in init and init[arg.name] == arg.default and not arg.required:
            del init[arg.name]  # keep the design (and the exported code) to what was chosen
    return init


def _number(col: Any, label: str, key: str, kind: str, cb: dict) -> None:
    low, high = init_arg_bounds(kind)
    col.number_input(
        label, min_value=low, max_value=high, step=0.01, format="%.4g", key=key, width=150, **cb
    )


def init_widgets(
    prefix: str,
    init: dict[str, Any],
    ndim: int,
    on_change: Callable,
    args: tuple,
    label: str | None = None,
) -> None:
    """Scheme picker (only schemes that fit a tensor of ``ndim`` dims) and its arguments, on one
    row that wraps (one block, not a column each: every element is sent on every rerun)."""
    fitting = [n for n, s in SCHEMES.items() if s.min_ndim <= ndim <= s.max_ndim]
    cb = {"on_change": on_change, "args": args, "disabled": locked("init")}
    seed_widget(f"{prefix}:scheme", init["scheme"])
    lang = i18n.language()
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    row.selectbox(
        label or i18n.translate("scheme", lang),
        fitting,
        key=f"{prefix}:scheme",
        format_func=lambda n: i18n.translate(SCHEMES[n].label, lang),
        width=260,
        **cb,
    )
    scheme = SCHEMES[st.session_state[f"{prefix}:scheme"]]
    for arg in scheme.args:
        key = f"{prefix}:{arg.name}"
        value = init.get(arg.name, arg.default)
        if arg.kind == "gain":
            seed_widget(key, value if isinstance(value, str) else "number")
            row.selectbox(
                "gain",
                ["number", *NONLINEARITIES],
                key=key,
                format_func=lambda g: i18n.translate(g, lang) if g == "number" else g,
                width=150,
                **cb,
            )
            if st.session_state[key] == "number":
                seed_widget(f"{key}:value", float(value) if not isinstance(value, str) else 1.0)
                _number(row, i18n.translate("gain value", lang), f"{key}:value", "gain", cb)
        elif arg.kind == "choice":
            seed_widget(key, value)
            row.selectbox(arg.name, list(arg.choices), key=key, width=150, **cb)
        elif arg.kind == "int":
            seed_widget(key, int(value))
            row.number_input(
                arg.name, min_value=1, max_value=MAX_INT, step=1, key=key, width=150, **cb
            )
        else:
            seed_widget(key, float(value))
            _number(row, arg.name, key, arg.kind, cb)
