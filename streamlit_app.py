"""NetBuilder: point-and-click design of PyTorch convolutional networks.

The frame only: page configuration and style, the session's state, the header, the layout, and
routing to the views in ``ui/``. No shape or parameter math happens here or in ``ui/``: every
fact comes from ``builder``.
"""

from __future__ import annotations

import streamlit as st

import builder
from ui import actions, diagram_view, i18n, partial, sidebar, stack, store_view, summary, tabs
from ui.header import header, sync_link
from ui.state import init_state, presenting
from ui.style import KEYBOARD_JS, PAGE_CSS, PRESENT_CSS, SELECTED_CSS


def edit_page(ctx: tabs.Context) -> None:
    """Diagram, then the stack beside the table (one under the other where narrow), then tabs."""
    diagram_view.live_diagram(ctx.spec, ctx.analysis)
    summary.problem(ctx.analysis)
    selected = st.session_state.get("selected")
    if selected in st.session_state.uids:
        st.html(SELECTED_CSS.format(uid=selected))
    with st.container(horizontal=True, gap="medium", key="workbench"):
        with st.container(key="stack_pane"):
            stack.stack(ctx.design, ctx.analysis)
        with st.container(key="table_pane"):
            summary.analysis_table(ctx.spec, ctx.analysis, height=summary.TABLE_HEIGHT)
    tabs.show_tabs(ctx, tabs.edit_tabs())
    with st.container(key="scroll"):  # a script only: the box is not shown
        diagram_view.scroll_to_picked()


def present_page(ctx: tabs.Context) -> None:
    """The facts, large, for a projector: diagram, a layer-by-layer walk, table, views."""
    diagram_view.live_diagram(ctx.spec, ctx.analysis, present=True)
    summary.shape_walk(ctx.analysis)
    summary.problem(ctx.analysis, fixable=False)
    summary.analysis_table(ctx.spec, ctx.analysis)
    tabs.show_tabs(ctx, tabs.present_tabs())


def sidebar_facts() -> tuple:
    """What the parts outside the page fragment show of the session (the sidebar's fields,
    locks and link notice; the teacher's assignment link): an edit that changes them reruns
    the whole app, any other only the page."""
    ss = st.session_state
    design = ss.design
    teacher = bool(ss.get("teacher_panel")) and ss.get("assignment") is not None
    fits = sidebar.share_link(design) is not None
    return (
        i18n.language(),  # a new language draws everything again
        design.get("name"),
        list(design["input_shape"]),
        design.get("seed"),
        ss.get("assignment"),
        fits,
        store_view.link_for(design, fits=fits),  # the sidebar's "Stored as ..." short link
        design if teacher else None,  # the assignment link carries the design
    )


def page(present: bool) -> None:
    """Everything below the sidebar, drawn from the session's design: a fragment, so an edit
    made here reruns only this (``partial.page``)."""
    design = st.session_state.design
    partial.current()["design"] = design
    spec = builder.load_spec(design)  # state.commit lets only valid designs in
    analysis = builder.analyze(spec)
    sync_link(design)  # before any view: nothing a view does can leave the link stale
    header(design, present)
    summary.metrics(analysis, present)
    summary.assignment_panel(design, analysis)
    store_view.submit_panel(design)
    ctx = tabs.Context.of(spec, analysis, design)
    if present:
        present_page(ctx)
    else:
        edit_page(ctx)


page_fragment = partial.page(page, sidebar_facts)


def main() -> None:
    present = presenting()
    st.set_page_config(
        page_title="NetBuilder",
        layout="wide",
        initial_sidebar_state="collapsed" if present else "auto",
    )
    st.html(PAGE_CSS)  # style only: sent to the event container, takes no room
    if present:
        st.html(PRESENT_CSS)
    init_state()
    if store_view.open_from_query():  # ?t=: the teacher's class table, not the editor
        store_view.teacher_page()
        return
    actions.process_upload()
    design = st.session_state.design
    partial.current()["design"] = design
    sidebar.sidebar(design)
    with st.sidebar:
        store_view.share_panel(design)
    sidebar.teacher_panel(design)
    store_view.class_panel(design)
    page_fragment(present)
    if not present:
        with st.container(key="keyboard"):  # a script and its buttons: the box is not shown
            st.html(KEYBOARD_JS, unsafe_allow_javascript=True)
            st.button("↑", key="kb_up", on_click=actions.on_key_step, args=(-1,))
            st.button("↓", key="kb_down", on_click=actions.on_key_step, args=(1,))
            st.button("⌦", key="kb_delete", on_click=actions.on_key_delete)


main()
