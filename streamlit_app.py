"""NetBuilder: point-and-click design of PyTorch convolutional networks.

The frame only: page configuration and style, the session's state, the header, the layout, and
routing to the views in ``ui/``. No shape or parameter math happens here or in ``ui/``: every
fact comes from ``builder``.
"""

from __future__ import annotations

import streamlit as st

import builder
from ui import actions, diagram_view, i18n, partial, sidebar, stack, store_view, summary, tabs
from ui.format import esc
from ui.state import init_state, presenting

PRESENT_CSS = """<style>
html{font-size:22px}
[data-testid='stSidebar'],[data-testid='stHeader']{display:none}
[data-testid='stMetricValue']{font-size:1.9rem}
[data-testid='stTable'] td,[data-testid='stTable'] th{font-size:1rem}
</style>"""
PAGE_CSS = """<style>
div.block-container{padding:1rem 1.5rem 1rem 1.5rem;max-width:none}
[data-testid='stMetricValue']{font-size:1.45rem}
[data-testid='stMetric'] label p{white-space:nowrap}
[data-testid='stTable'] td,[data-testid='stTable'] th{padding:0.18rem 0.5rem;white-space:nowrap}
[data-testid='stTable'] th *{white-space:nowrap}
[class*='st-key-layer_card_']{padding:0.2rem 0.6rem;gap:0.4rem}
.st-key-stack [class*='st-key-head-']:not([class*='st-key-layer_card_'] *)
{border:1px solid rgba(128,128,128,0.3);border-radius:0.5rem;padding:0.2rem 0.6rem}
.st-key-stack{gap:0.5rem}
[data-testid='stLayoutWrapper']:has(> .st-key-stack)
{flex:0 0 clamp(240px,calc(100vh - 512px),640px);height:clamp(240px,calc(100vh - 512px),640px)}
[data-testid='stLayoutWrapper']:has(> .st-key-table_box)
{flex:0 0 clamp(200px,calc(100vh - 550px),602px);height:clamp(200px,calc(100vh - 550px),602px)}
[class*='st-key-head-'] button,[class*='st-key-head-'] button > div
{justify-content:flex-start;min-height:2rem;width:100%}
[class*='st-key-head-'] [data-testid='stTooltipHoverTarget']{justify-content:flex-start !important}
.st-key-workbench > div:has(> .st-key-stack_pane){flex:1 1 330px;min-width:300px}
.st-key-workbench > div:has(> .st-key-table_pane){flex:1.3 1 max-content;min-width:0}
.st-key-compare_pair > div{flex:1 1 max-content;min-width:0}
.st-key-header h4{padding:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.st-key-header{flex-wrap:nowrap}
.st-key-header > div:first-child{min-width:0;flex:1 1 auto}
[class*='st-key-palette-'] [data-testid='stButtonGroup'],
[class*='st-key-tpl-'] [data-testid='stButtonGroup']
{display:flex;flex-direction:row;align-items:center;gap:0.5rem}
[class*='st-key-palette-'] [data-testid='stWidgetLabel'],
[class*='st-key-tpl-'] [data-testid='stWidgetLabel']{flex:0 0 110px;margin:0}
.st-key-keyboard,.st-key-scroll{display:none}
.st-key-import_code textarea{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;
font-size:0.9rem}
.nb-copy-link{font:inherit;font-size:0.95rem;line-height:1.6;padding:0.25rem 0.75rem;
min-height:2.5rem;border-radius:0.5rem;border:1px solid rgba(128,128,128,0.45);
background:transparent;color:inherit;cursor:pointer;white-space:nowrap}
.nb-copy-link:hover{border-color:currentColor}
</style>"""
SELECTED_CSS = (
    "<style>/*nb-selected*/.st-key-layer_card_{uid},"
    ".st-key-stack .st-key-head-{uid}:not([class*='st-key-layer_card_'] *)"
    "{{border-color:#F58518;border-width:2px}}</style>"
)
KEYBOARD_JS = """<script>
(() => {
  // Ctrl/Cmd+Z undoes and Shift+Ctrl/Cmd+Z (or Ctrl+Y) redoes the last design edit. A field
  // being typed in is blurred first, which commits its value as an edit of its own; the app's
  // Undo / Redo button is pressed once that rerun has finished. Code boxes keep their own undo.
  if (window.__netbuilderKeys) return;
  window.__netbuilderKeys = true;
  const pause = (ms) => new Promise((done) => setTimeout(done, ms));
  const state = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app ? app.getAttribute('data-test-script-state') : 'notRunning';
  };
  async function settled(wait) {  // a blurred field that changed starts a rerun: wait it out
    for (let t = 0; t < wait && state() === 'notRunning'; t += 20) await pause(20);
    for (let t = 0; t < 10000 && state() !== 'notRunning'; t += 25) await pause(25);
  }
  function dirty(field) {  // a number box says "Press Enter to apply" while its value is new
    const box = field.closest('[data-testid="stNumberInput"]');
    const notes = box ? box.querySelectorAll('[data-testid="InputInstructions"]') : [];
    return [...notes].some((note) => /enter/i.test(note.textContent));
  }
  // With no field focused (the page, or a button of the stack) and a layer selected: arrow
  // up / down select the layer above / below and Delete (or Backspace) deletes it, each by
  // pressing one of the app's hidden keyboard buttons.
  const STEP = {
    arrowup: 'kb_up', arrowdown: 'kb_down', delete: 'kb_delete', backspace: 'kb_delete'};
  function free(field) {
    if (!field || field === document.body) return true;
    return field.tagName === 'BUTTON' && !!field.closest('.st-key-workbench')
      && !field.closest('[data-testid="stPopoverBody"]');
  }
  const selected = () => [...document.querySelectorAll('style')].some(
    (s) => s.textContent.includes('/*nb-selected*/'));
  document.addEventListener('keydown', (event) => {
    const name = STEP[(event.key || '').toLowerCase()];
    if (!name || event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) return;
    if (!free(document.activeElement) || (name === 'kb_delete' && !selected())) return;
    const button = document.querySelector('.st-key-' + name + ' button');
    if (!button) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    button.click();
  }, true);
  document.addEventListener('keydown', async (event) => {
    const key = (event.key || '').toLowerCase();
    if (!(event.ctrlKey || event.metaKey) || event.altKey || (key !== 'z' && key !== 'y')) return;
    const field = document.activeElement;
    if (field && field.tagName === 'TEXTAREA') return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const which = event.shiftKey || key === 'y' ? 'redo' : 'undo';
    if (field && field.tagName === 'INPUT') {
      const changed = dirty(field);
      field.blur();
      await settled(changed ? 5000 : 600);  // a text box does not say: give it 0.6 s to start
    }
    const onScreen = () => [...document.querySelectorAll('.st-key-' + which + ' button')].find(
      (b) => b.offsetParent !== null && !b.disabled);
    let button = onScreen();
    for (let t = 0; !button && field && field.tagName === 'INPUT' && t < 5000; t += 25) {
      await pause(25);  // the edit just committed enables Undo as its run's page is drawn
      button = onScreen();
    }
    if (button) button.click();
  }, true);
})();
</script>"""


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
            for key, icon, tip, callback, off in (
                ("undo", "undo", "Undo (Ctrl+Z)", actions.on_undo, not undo),
                ("redo", "redo", "Redo (Ctrl+Shift+Z)", actions.on_redo, not redo),
            ):
                st.button(
                    "",
                    icon=f":material/{icon}:",
                    key=key,
                    help=i18n.translate(tip, lang),
                    on_click=callback,
                    disabled=off,
                )
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
