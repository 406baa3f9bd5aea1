"""NetBuilder: point-and-click design of PyTorch convolutional networks.

The frame only: page configuration and theme, the session's state, the header, the layout, and
routing to the views in ``ui/``. No shape or parameter math happens here or in ``ui/``: every
fact comes from ``builder``.
"""

from __future__ import annotations

import streamlit as st

import builder
from ui import actions, sidebar, stack, summary, tabs
from ui.format import esc
from ui.state import init_state, presenting

PRESENT_CSS = (
    "<style>html{font-size:22px} [data-testid='stSidebar']{display:none}"
    " [data-testid='stMetricValue']{font-size:2.2rem} [data-testid='stTable'] td,"
    " [data-testid='stTable'] th{font-size:1.15rem}</style>"
)
PAGE_CSS = (
    "<style>div.block-container{padding-top:2.2rem;padding-bottom:1rem}"
    " [data-testid='stMetricValue']{font-size:1.45rem}"
    " [data-testid='stTable'] td, [data-testid='stTable'] th{padding:0.18rem 0.5rem}"
    " [class*='st-key-layer_card_']{padding:0.2rem 0.6rem;gap:0.4rem}"
    " [class*='st-key-head-'] button, [class*='st-key-head-'] button > div"
    "{justify-content:flex-start;min-height:2rem;width:100%}"
    " [class*='st-key-head-'] [data-testid='stTooltipHoverTarget']"
    "{justify-content:flex-start !important}</style>"
)


def header(design: dict) -> None:
    head = st.columns([5, 1, 1], vertical_alignment="center")
    head[0].markdown(
        f"#### NetBuilder · {esc(design.get('name', 'Net'))} · input {tuple(design['input_shape'])}"
    )
    if not presenting():
        undo, redo = st.session_state.undo_stack, st.session_state.redo_stack
        head[1].button(
            "↶ Undo", key="undo", on_click=actions.on_undo, disabled=not undo, width="stretch"
        )
        head[2].button(
            "↷ Redo", key="redo", on_click=actions.on_redo, disabled=not redo, width="stretch"
        )
    for level, message in st.session_state.flash:
        getattr(st, level)(esc(message))
    st.session_state.flash = []


def sync_link(design: dict) -> None:
    """Keep the design in the address bar, so the URL is always a share link; a design too large
    for one leaves no stale design there (the sidebar says so and offers the JSON)."""
    packed = sidebar.share_link(design)
    if packed is None:
        st.query_params.pop("d", None)
    elif st.query_params.get("d") != packed:
        st.query_params["d"] = packed


def main() -> None:
    st.set_page_config(
        page_title="NetBuilder",
        layout="wide",
        initial_sidebar_state="collapsed" if presenting() else "auto",
    )
    if presenting():
        st.markdown(PRESENT_CSS, unsafe_allow_html=True)
    st.markdown(PAGE_CSS, unsafe_allow_html=True)
    init_state()
    actions.process_upload()
    design = st.session_state.design
    spec = builder.load_spec(design)  # state.commit lets only valid designs in
    analysis = builder.analyze(spec)
    sync_link(design)  # before any view: nothing a view does can leave the link stale

    header(design)
    summary.metrics(analysis)
    summary.assignment_panel(design, analysis)
    sidebar.sidebar(design)
    sidebar.import_panel()
    sidebar.teacher_panel(design)
    ctx = tabs.Context.of(spec, analysis, design)
    if presenting():  # the facts, large; no editing controls
        summary.analysis_table(spec, analysis)
        tabs.show_tabs(ctx, tabs.present_tabs())
        return
    left, right = st.columns([1, 1.3], gap="medium")
    with right:
        summary.analysis_table(spec, analysis)
    with left:
        stack.palette()
        if not design["layers"]:
            st.info("The stack is empty: pick a layer type above and press Add layer.")
        for index, (uid, layer) in enumerate(zip(st.session_state.uids, design["layers"])):
            stack.layer_card(uid, index, layer, analysis.layers[index])
    tabs.show_tabs(ctx, tabs.edit_tabs())


main()
