"""The layer stack: the palette and one card per layer (closed cards draw no widgets)."""

from __future__ import annotations

import zlib
from typing import Any

import streamlit as st

from builder import edits
from builder.layers import CATEGORIES, PARAM_TYPES, REGISTRY, TENSOR_NDIM

from . import actions, i18n
from .format import esc, formula_text, shape_text
from .state import W, locked, seed_widget
from .widgets import PAIRS, arg_widgets, axis_names, icon_button, init_widgets

STACK_HEIGHT = {False: 300, True: 420}
"""Pixels of the stack's own scrolling box (a short page, a tall one)."""
DRAG_STYLE = (
    ".sortable-item,.sortable-item:hover{text-align:left;padding:0.2rem 0.7rem;margin:0.2rem 0;"
    "font-size:0.95rem;cursor:grab;background-color:#1f4e9c;border-radius:0.4rem}"
    ".sortable-item::before{content:'⠿  ';opacity:0.75}"
)
"""The sortable list in the app's primary colour, left-aligned, a grip before each layer."""
PAGE = 40
"""Cards drawn at once: a ResNet-152 (515 layers) shows them a page at a time, so an edit
reruns in milliseconds, not seconds; the page follows the selected layer."""


def _page_bounds(count: int) -> tuple[int, int]:
    """The first and one-past-last index of the cards drawn (all of them up to ``PAGE``)."""
    if count <= PAGE:
        return 0, count
    lang = i18n.language()
    pages = [
        i18n.translate("layers {start}–{end}", lang, start=p + 1, end=min(p + PAGE, count))
        for p in range(0, count, PAGE)
    ]
    uids = st.session_state.uids
    selected = st.session_state.get("selected")
    follow = uids.index(selected) // PAGE if selected in uids else 0
    if st.session_state.get("stack_page_for") != selected:  # a new selection: show its page
        st.session_state.stack_page_for = selected
        st.session_state.stack_page = pages[follow]
    if st.session_state.get("stack_page") not in pages:
        st.session_state.stack_page = pages[follow]
    choice = st.selectbox(
        i18n.translate("{count} layers, {page} at a time", lang, count=count, page=PAGE),
        pages,
        key="stack_page",
        help=i18n.translate("a click on a block of the diagram opens its page", lang),
    )
    start = pages.index(choice) * PAGE
    return start, min(start + PAGE, count)


def stack(design: dict[str, Any], analysis: Any, tall: bool = False) -> None:
    """The palette and the drag switch, then the layers' cards (a page of them in a deep
    network) in a scrolling box of its own, or while dragging, the layers as a sortable list."""
    lang = i18n.language()
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        palette()
        dragging = st.session_state.get("drag_mode", False)
        st.button(
            "",
            icon=":material/check:" if dragging else ":material/drag_indicator:",
            key="drag_toggle",
            on_click=actions.on_drag_mode,
            type="primary" if dragging else "secondary",
            help=i18n.translate("done reordering", lang)
            if dragging
            else i18n.translate("reorder the layers by dragging", lang),
        )
    if dragging:
        drag_list(design, analysis, tall)
    else:
        cards(design, analysis, tall)


def drag_list(design: dict[str, Any], analysis: Any, tall: bool = False) -> None:
    """The layers as one list to drag into a new order (``streamlit-sortables``); a drop is one
    undoable edit. Keyed by the order shown (and a refused drop's count), so neither an undo nor
    a refusal replays an older drag."""
    from streamlit_sortables import sort_items

    labels = [
        f"{index + 1}. {row.name} · {layer['type']}"
        for index, (layer, row) in enumerate(zip(design["layers"], analysis.layers))
    ]
    if not labels:
        st.info(i18n.t("The stack is empty: pick a layer type above and press Add layer."))
        return
    tries = st.session_state.get("drag_round", 0)  # a refused drop draws the list afresh
    key = f"drag:{zlib.crc32(chr(10).join(labels).encode()):08x}:{tries}"
    with st.container(height=STACK_HEIGHT[tall], key="stack_drag", border=True):
        try:
            order = sort_items(labels, direction="vertical", key=key, custom_style=DRAG_STYLE)
        except (TypeError, KeyError, IndexError):  # a value the list never sends: ignore it
            return
    if not isinstance(order, list) or len(order) != len(labels):  # checked before any sort
        return
    if not all(isinstance(item, str) for item in order):
        return
    if order != labels and sorted(order) == sorted(labels):
        if not actions.on_drag([labels.index(label) for label in order]):
            st.session_state.drag_round = tries + 1  # the list shows the order on screen again
        st.rerun()


def cards(design: dict[str, Any], analysis: Any, tall: bool = False) -> None:
    """The layers' cards, a page of them in a deep network, in a scrolling box."""
    start, stop = _page_bounds(len(design["layers"]))
    box = st.container(height=STACK_HEIGHT[tall], key="stack", border=True)
    with box:
        if not design["layers"]:
            st.info(i18n.t("The stack is empty: pick a layer type above and press Add layer."))
        # the input pickers only where the network branches: a plain stack's cards stay short
        names = [row.name for row in analysis.layers] if analysis.is_graph else []
        uids = st.session_state.uids
        for index in range(start, stop):
            layer_card(uids[index], index, design["layers"][index], analysis.layers[index], names)


def palette() -> None:
    """Add a layer: one click on its type, at the end or right after the selected layer. Each
    category is one row of pills (one element, not a button per type: the palette is drawn on
    every rerun, open or not), its types' summaries in the row's tooltip."""
    lang = i18n.language()
    with st.popover(
        i18n.translate("Add a layer", lang),
        icon=":material/add:",
        type="primary",
        width="stretch",
        key="palette",
    ):
        st.radio(
            i18n.translate("Where", lang),
            ["at the end", "after the selected layer"],
            key="palette_where",
            horizontal=True,
            format_func=lambda where: i18n.translate(where, lang),
        )
        assignment = st.session_state.get("assignment")
        allowed = assignment.allowed_types if assignment is not None else None
        round_ = st.session_state.get("palette_round", 0)
        for category in CATEGORIES:
            names = [n for n, e in REGISTRY.items() if e.category == category]
            names = [n for n in names if allowed is None or n in allowed]
            if not names:
                continue
            summaries = "  \n".join(
                f"**{n}**: {i18n.translate(REGISTRY[n].summary, lang)}" for n in names
            )
            _pill_row(
                i18n.translate(category, lang),
                names,
                f"palette:{category}:{round_}",
                actions.on_add,
                summaries,
            )
        _templates(allowed, lang)


def _pill_row(
    label: str, options: list[str], key: str, action: Any, summaries: str, show: Any = str
) -> None:
    """One row of the palette: a click on a pill does ``action(option)`` (see ``_picked``)."""
    st.pills(
        label,
        options,
        key=key,
        format_func=show,
        on_change=_picked,
        args=(key, action),
        help=summaries,
    )


def _picked(key: str, action: Any) -> None:
    """A palette pill was clicked: do its action, then draw every row afresh (new keys: nothing
    selected). Not by setting the row back to None: a rerun the browser sends before it has
    drawn that (closing the palette with Escape at once) would carry the click again and add
    a second layer; a row that keeps its value cannot change twice."""
    st.session_state.palette_round = st.session_state.get("palette_round", 0) + 1
    choice = st.session_state.get(key)
    if choice is not None:
        action(choice)


def _templates(allowed: Any, lang: str) -> None:
    """Wired groups (a residual block, an Inception module ...), each one undoable edit."""
    from builder.templates import TEMPLATES, template

    def fits(name: str) -> bool:  # an assignment's allowed types hold all of the block's
        sample = template(name, skip="input") if "(up)" in name else template(name)
        return {layer["type"] for layer in sample} <= set(allowed)

    names = [name for name in TEMPLATES if allowed is None or fits(name)]
    if not names:
        return
    summaries = "  \n".join(
        f"**{i18n.translate(n, lang)}**: {i18n.translate(TEMPLATES[n], lang)}" for n in names
    )
    _pill_row(
        i18n.translate("blocks", lang),
        names,
        f"tpl:{st.session_state.get('palette_round', 0)}",
        actions.on_template,
        summaries,
        show=lambda name: i18n.translate(name, lang),
    )


def _card_toolbar(uid: int, index: int, name: str, layer: dict[str, Any], lang: str) -> None:
    last = len(st.session_state.uids) - 1
    selected = st.session_state.get("selected") == uid
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        seed_widget(f"{W}{uid}:name", layer.get("name", ""))
        st.text_input(
            i18n.translate("name", lang),
            key=f"{W}{uid}:name",
            on_change=actions.on_name,
            args=(uid,),
            placeholder=name,
            max_chars=64,
            width=150,
        )
        for key, icon, tip, callback, args, off in (
            (f"up:{uid}", "arrow_upward", "move up", actions.on_move, (uid, -1), index == 0),
            (
                f"down:{uid}",
                "arrow_downward",
                "move down",
                actions.on_move,
                (uid, 1),
                index == last,
            ),
            (f"dup:{uid}", "content_copy", "duplicate", actions.on_duplicate, (uid,), False),
            (
                f"branch:{uid}",
                "call_split",
                "branch from here: a new layer at the end reads this one",
                actions.on_branch,
                (uid,),
                False,
            ),
            (f"del:{uid}", "delete", "delete", actions.on_delete, (uid,), False),
        ):
            icon_button(key, icon, tip, callback, args, off)
        st.button(
            i18n.translate("select", lang),
            icon=":material/my_location:",
            key=f"sel:{uid}",
            help=i18n.translate("select: new layers can go right after it", lang),
            on_click=actions.on_select,
            args=(uid,),
            type="primary" if selected else "secondary",
        )


def _wired(index: int, row: Any, names: list[str]) -> str:
    """`` ← bn2 + input`` where a layer reads other than the one before it, else ``""``."""
    if row is None or not row.inputs or not names:
        return ""
    previous = names[index - 1] if index else "input"
    if row.inputs == (previous,):
        return ""
    joiner = " ‖ " if row.type == "Concat" else " + " if row.type == "Add" else ", "
    return " ← " + joiner.join(row.inputs)


def inputs_picker(uid: int, index: int, layer: dict[str, Any], row: Any, names: list[str]) -> None:
    """Where the layer's input comes from: one earlier layer (or the network's input), or for
    a merge the layers it joins. Keyed by the current wiring, so the picker always shows it."""
    if row is None:
        return
    lang = i18n.language()
    earlier = ["input", *names[:index]]
    current = list(row.inputs)
    key = f"{W}{uid}:inputs:{'|'.join(current)}"
    if REGISTRY[layer["type"]].merge:
        seed_widget(key, [n for n in dict.fromkeys(current) if n in earlier])
        st.multiselect(
            i18n.translate("inputs (joined, in order)", lang),
            earlier,
            key=key,
            on_change=actions.on_inputs,
            args=(uid, key),
            help=i18n.translate("the earlier layers this merge joins; 2 or more", lang),
        )
        return
    seed_widget(key, current[0])
    st.selectbox(
        i18n.translate("input from", lang),
        earlier,
        key=key,
        on_change=actions.on_inputs,
        args=(uid, key),
        help=i18n.translate(
            "the layer whose output this one reads (the one above it by default)", lang
        ),
        width=260,
    )


def _hint_label(hint: tuple[str, dict[str, Any]], row: Any, lang: str) -> str:
    """The keep-the-size hint's words in ``lang`` (``builder.edits.keep_size_hint`` writes them in
    English: its action's padding and the input's H×W say the same)."""
    value = hint[1].get("value")
    if row.input_shape is None or len(row.input_shape) < 3:
        return hint[0]
    size = "×".join(str(n) for n in row.input_shape[1:])
    if value == "same":
        return i18n.translate("use padding='same' to keep {size}", lang, size=size)
    return i18n.translate("add padding={value} to keep {size}", lang, value=value, size=size)


def layer_card(
    uid: int, index: int, layer: dict[str, Any], row: Any, names: list[str] | None = None
) -> None:
    entry = REGISTRY[layer["type"]]
    names = names or []
    lang = i18n.language()
    name = row.name if row is not None else layer.get("name", "?")
    shape = "—" if row is None else shape_text(row.output_shape)
    params = (
        ""
        if row is None or not row.params
        else i18n.translate(" · {params} params", lang, params=f"{row.params:,}")
    )
    marker = "✖ " if row is not None and row.error else ""
    wired = esc(_wired(index, row, names))
    label = f"{marker}{index + 1}. **{name}**{wired} · {layer['type']} → {shape}{params}"
    # Open / closed is server state (``card:<uid>``), toggled by the card's header: a closed
    # card is its header alone (one element, drawn as a card by the page's style), an open one
    # a bordered box with the header and the layer's widgets.
    is_open = st.session_state.get(f"card:{uid}", bool(marker))  # a failing layer starts open
    card = st.container(border=True, key=f"layer_card_{uid}") if is_open else st
    card.button(
        label,
        key=f"head:{uid}",
        on_click=actions.on_toggle_card,
        args=(uid,),
        type="tertiary",
        icon=":material/expand_more:" if is_open else ":material/chevron_right:",
        width="stretch",
        help=i18n.translate("open or close this layer's settings", lang),
    )
    if not is_open:
        return
    with card:
        _card_toolbar(uid, index, name, layer, lang)
        if row is not None and row.error:
            st.error(esc(i18n.translate_text(row.error, lang)))
        if names:  # a graph (a merge always makes one)
            inputs_picker(uid, index, layer, row, names)
        hint = edits.keep_size_hint(st.session_state.design, row) if row is not None else None
        if hint is not None:
            st.button(
                _hint_label(hint, row, lang),
                key=f"hint:{uid}",
                icon=":material/auto_fix_high:",
                type="tertiary",
                on_click=actions.on_fix,
                args=(hint[1],),
                help=i18n.translate("one undoable edit", lang),
            )
        if entry.in_key and row is not None and row.inferred is not None:
            inferred = row.inferred if isinstance(row.inferred, int) else list(row.inferred)
            st.caption(
                i18n.translate(
                    "{key} = {value} (inferred from the input)",
                    lang,
                    key=entry.in_key,
                    value=inferred,
                )
            )
        visible = [a for a in entry.args if not a.inferred and a.primary]
        rest = [a for a in entry.args if not a.inferred and not a.primary]
        _square_toggle(uid, layer, [a for a in entry.args if not a.inferred])
        for arg in visible:
            arg_widgets(uid, layer, arg, st, actions.on_arg)
        if rest:
            seed_widget(f"{W}{uid}:more", False)
            if st.toggle(i18n.translate("more arguments", lang), key=f"{W}{uid}:more"):
                for arg in rest:
                    arg_widgets(uid, layer, arg, st, actions.on_arg)
        if row is not None and (row.shape_formula or row.param_formula):
            lines = [
                i18n.translate(
                    "output size: {formula}", lang, formula=formula_text(row.shape_formula, lang)
                )
            ]
            if row.param_formula:
                formula = formula_text(row.param_formula, lang)
                lines.append(i18n.translate("parameters: {formula}", lang, formula=formula))
            st.caption("  \n".join(lines))
        if layer["type"] in PARAM_TYPES:
            layer_init_section(uid, layer, row)


def _square_toggle(uid: int, layer: dict[str, Any], args: list[Any]) -> None:
    """One switch linking every size argument's axes (kernel, stride, padding ...): on by
    default, off where the layer already has a rectangular one."""
    sized = [a for a in args if a.kind in PAIRS and len(axis_names(a.axes)) > 1]
    if not sized:
        return
    square = all(not isinstance(layer.get(a.name), list) for a in sized)
    seed_widget(actions.square_key(uid), square)
    lang = i18n.language()
    st.toggle(
        i18n.translate("square: one value for every axis", lang),
        key=actions.square_key(uid),
        on_change=actions.on_square,
        args=(uid,),
        help=i18n.translate("off: set each axis (h and w) on its own, e.g. a 5×3 kernel", lang),
    )


def layer_init_section(uid: int, layer: dict[str, Any], row: Any) -> None:
    present = {n for n, _ in row.tensors} if row is not None and row.tensors else {"weight", "bias"}
    design = st.session_state.design
    lang = i18n.language()
    for tensor in ("weight", "bias"):
        if tensor not in present:
            continue
        prefix = f"{W}{uid}:init:{tensor}"
        overrides = layer.get("init", {})
        seed_widget(f"{prefix}:on", tensor in overrides)
        st.checkbox(
            i18n.translate(
                "own init for {tensor} (override the {layer} default)",
                lang,
                tensor=i18n.translate(tensor, lang),
                layer=layer["type"],
            ),
            key=f"{prefix}:on",
            disabled=locked("init"),
            on_change=actions.on_override,
            args=(uid, tensor),
        )
        if st.session_state[f"{prefix}:on"]:
            current = overrides.get(tensor) or design.get("init", {}).get(layer["type"], {}).get(
                tensor, {"scheme": "default"}
            )
            init_widgets(
                prefix,
                current,
                TENSOR_NDIM[layer["type"]][tensor],
                actions.on_layer_init,
                (uid, tensor),
            )
