"""The page's header (title, Copy link, undo / redo) and the address bar kept in step with
the design on screen."""

from __future__ import annotations

import streamlit as st

from . import actions, i18n, sidebar, store_view
from .format import esc
from .widgets import icon_button


def header(design: dict, present: bool) -> None:
    """The title; while editing, Copy link and the undo / redo icons beside it."""
    lang = i18n.language()
    name, shape = esc(design.get("name", "Net")), tuple(design["input_shape"])
    title = i18n.translate("#### NetBuilder · {name} · input {shape}", lang, name=name, shape=shape)
    with st.container(horizontal=True, vertical_alignment="center", key="header"):
        st.markdown(title, width="stretch")
        if not present:
            sidebar.copy_link_button(design)
            undo, redo = st.session_state.undo_stack, st.session_state.redo_stack
            icon_button("undo", "undo", "Undo (Ctrl+Z)", actions.on_undo, disabled=not undo)
            icon_button("redo", "redo", "Redo (Ctrl+Shift+Z)", actions.on_redo, disabled=not redo)
    for level, message in st.session_state.flash:
        if level == "success":  # news, not a problem: a toast takes no room on the page
            st.toast(esc(message), icon=":material/check_circle:")
        else:
            getattr(st, level)(esc(message))
    st.session_state.flash = []


def sync_link(design: dict) -> None:
    """Keep the design in the address bar, so the URL is always a share link; a design too large
    for one leaves no stale design there (the sidebar says so and offers the JSON). A stored
    design (a short link, or one too large for ``?d=``) is ``?s=<id>`` instead."""
    packed = sidebar.share_link(design)
    short = store_view.link_for(design, fits=packed is not None)
    if short is not None:
        st.query_params.pop("d", None)
        if st.query_params.get("s") != short:
            st.query_params["s"] = short
        return
    st.query_params.pop("s", None)
    if packed is None:
        st.query_params.pop("d", None)
    elif st.query_params.get("d") != packed:
        st.query_params["d"] = packed
