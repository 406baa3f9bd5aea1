"""The session's design, its layer uids and the undo / redo history: the only writer of them.

A design on screen always passes ``builder.load_spec``: an edit that would break that is refused
with a message naming the layer and field, so the share link can always hold what is shown.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import builder
from builder import presets
from builder.assignment import decode_assignment
from builder.share import decode_design

from .i18n import t, translate_error

W = "w:"  # prefix of every widget key mirrored from the design
HISTORY_LIMIT = 100


def flash(level: str, message: str) -> None:
    """A message shown once, at the top of the next run (``level``: success, error, ...)."""
    st.session_state.flash.append((level, message))


def fresh_uids(count: int) -> list[int]:
    start = st.session_state.get("next_uid", 0)
    st.session_state.next_uid = start + count
    return list(range(start, start + count))


def _page_widget(key: str) -> bool:
    """Whether a mirrored widget is drawn on the page (a layer's card, the Initialization tab),
    not in the sidebar (the design's name, input and seed)."""
    rest = key[len(W) :]
    return rest[:1].isdigit() or rest.startswith("init:")


def clear_widgets(prefix: str = W, keep: str = "", everywhere: bool = False) -> None:
    """Forget widget values under ``prefix`` so they are drawn again from the design.

    A run of the page alone (an edit made on the page, ``ui.partial``) keeps the sidebar's
    (unless ``everywhere``): it does not draw them again; an edit that changes what they show
    reruns the whole app, which clears them first."""
    ctx = get_script_run_ctx()
    page_only = not everywhere and bool(ctx is not None and ctx.fragment_ids_this_run)
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        if keep and key.endswith(keep):
            continue
        if page_only and not _page_widget(key):
            continue
        del st.session_state[key]


def seed_widget(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _set_design(design: dict[str, Any], uids: list[int] | None = None) -> None:
    st.session_state.design = design
    st.session_state.uids = uids if uids is not None else fresh_uids(len(design["layers"]))


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
            flash("success", t("Opened the design from the shared link."))
        except builder.SpecError as exc:
            flash(
                "error",
                t(
                    "The shared link could not be opened: {error}. Showing the default design.",
                    error=translate_error(exc),
                ),
            )
    _set_design(design)
    st.session_state.assignment = None
    packed = st.query_params.get("a")
    if packed:
        try:
            st.session_state.assignment = decode_assignment(packed)
        except builder.SpecError as exc:
            flash("error", t("{error}: the design opens without it.", error=translate_error(exc)))


def locked(control: str) -> bool:
    """Whether the teacher's assignment locks a control (input_shape, seed, init, files)."""
    assignment = st.session_state.get("assignment")
    return assignment is not None and control in assignment.locked


def presenting() -> bool:
    return st.query_params.get("present") in ("1", "true", "yes")


def commit(design: dict[str, Any], uids: list[int], sync_widgets: bool = True) -> bool:
    """Make ``design`` current, remembering the previous one for undo.

    A design ``load_spec`` refuses is not committed: the message names the layer and field, and
    the widgets are drawn again from the design on screen, which stays as it was.

    Returns:
        Whether the design was committed.
    """
    try:
        builder.load_spec(design)
    except builder.SpecError as exc:
        message = t("Not applied: {error}. The design is unchanged.", error=translate_error(exc))
        flash("error", message)
        clear_widgets()
        return False
    undo = st.session_state.undo_stack
    undo.append((st.session_state.design, st.session_state.uids))
    del undo[:-HISTORY_LIMIT]
    st.session_state.redo_stack = []
    st.session_state.design = design
    st.session_state.uids = uids
    if sync_widgets:
        clear_widgets()
    return True


def undo() -> None:
    if st.session_state.undo_stack:
        st.session_state.redo_stack.append((st.session_state.design, st.session_state.uids))
        st.session_state.design, st.session_state.uids = st.session_state.undo_stack.pop()
        clear_widgets()


def redo() -> None:
    if st.session_state.redo_stack:
        st.session_state.undo_stack.append((st.session_state.design, st.session_state.uids))
        st.session_state.design, st.session_state.uids = st.session_state.redo_stack.pop()
        clear_widgets()


def index_of(uid: int) -> int:
    return st.session_state.uids.index(uid)
