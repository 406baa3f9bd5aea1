"""The live block diagram on the first screen: click a block to select its layer.

The figure comes from ``builder.figures.diagram_figure`` (drawn from ``diagram_layout``); this
module only places it and turns a click into a selection. The chart's key carries the selected
layer, so each selection draws a fresh chart whose own selection state is the highlighted block:
a later click always reaches Python (a chart that changed under a kept key loses every other
click, GRAPH_CANVAS.md).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import streamlit as st

import builder
from builder.diagram import diagram_layout
from builder.figures import diagram_figure

from . import i18n
from .partial import memo

EDIT_HEIGHT = 270
PRESENT_HEIGHT = 330
EDIT_FONT, PRESENT_FONT = 12, 16
NARROWEST = {False: 660, True: 940}
"""The width the diagram gets at 1024 px (sidebar open while editing): its labels fit there."""
KEY = "diagram_pick"


def selected_index() -> int | None:
    """The selected layer as a diagram index (1 for the first layer), or None."""
    uid = st.session_state.get("selected")
    uids = st.session_state.get("uids", [])
    return uids.index(uid) + 1 if uid in uids else None


def _key(index: int | None) -> str:
    return f"{KEY}_{index if index is not None else 'none'}"


def on_pick(key: str) -> None:
    """A block was clicked: select its layer and open its card (the input selects nothing)."""
    event: Any = st.session_state.get(key)
    points = event.selection.points if event is not None else []
    if not points:
        return  # a click on the highlighted block again clears the chart's own selection
    index = points[0].get("customdata", [0])[0]
    uids = st.session_state.uids
    if isinstance(index, int) and 1 <= index <= len(uids):
        uid = uids[index - 1]
        st.session_state.selected = uid
        st.session_state[f"card:{uid}"] = True
        request_scroll(uid)


def request_scroll(uid: int) -> None:
    """Ask the next run to bring layer ``uid``'s card into the stack's view (``scroll_to_picked``);
    the count makes each request a new script, so asking twice scrolls twice."""
    st.session_state.scroll_to = uid
    st.session_state.scroll_count = st.session_state.get("scroll_count", 0) + 1


SCROLL_JS = """<script>
(() => {  // request COUNT: bring the clicked layer's card into the stack's view
  const bring = () => {
    const card = document.querySelector('.st-key-layer_card_UID');
    const box = document.querySelector('.st-key-stack');
    if (!card || !box) return;
    const inner = card.getBoundingClientRect(), outer = box.getBoundingClientRect();
    if (inner.top < outer.top || inner.bottom > outer.bottom)
      box.scrollTop += inner.top - outer.top - 8;
  };
  bring();
  // the page's own run draws the stack again after this script: bring it once more as the
  // run settles (and on each change for a moment), while the card is not in view
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return;
  const watch = new MutationObserver(bring);
  watch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  const box = document.querySelector('.st-key-stack');
  if (box) watch.observe(box, {childList: true, subtree: true});
  setTimeout(() => { bring(); watch.disconnect(); }, 1500);
})();
</script>"""


def scroll_to_picked() -> None:
    """After a click on a block, scroll the stack's box to that layer's card (once)."""
    uid = st.session_state.pop("scroll_to", None)
    if uid is not None:
        count = str(st.session_state.get("scroll_count", 0))
        body = SCROLL_JS.replace("UID", str(int(uid))).replace("COUNT", count)
        st.html(body, unsafe_allow_javascript=True)


def _localized(spec: builder.Spec, analysis: builder.Analysis, lang: str) -> Any:
    """The diagram's layout with the input block named in the language (layer names are
    identifiers and stay)."""
    layout = diagram_layout(spec, analysis)
    if not layout.blocks or layout.blocks[0].index != 0:
        return layout
    word = i18n.translate("input", lang)
    first = layout.blocks[0]
    labels = tuple(word if label == first.name else label for label in first.labels)
    return replace(layout, blocks=(replace(first, name=word, labels=labels), *layout.blocks[1:]))


def live_diagram(spec: builder.Spec, analysis: builder.Analysis, present: bool = False) -> None:
    """The network as blocks, the selected layer highlighted; clicking a block selects it."""
    if not spec.layers:
        return
    index = selected_index()
    design = st.session_state.design
    lang = i18n.language()
    layout = memo(f"diagram_layout:{lang}", design, lambda: _localized(spec, analysis, lang))
    figure = memo(
        f"diagram:{index}:{present}:{lang}",
        design,
        lambda: diagram_figure(
            layout,
            selected=index,
            width_hint=1000 if present else 900,
            max_height=PRESENT_HEIGHT if present else EDIT_HEIGHT,
            font_size=PRESENT_FONT if present else EDIT_FONT,
            narrowest=NARROWEST[present],
        ),
    )
    key = _key(index)
    st.plotly_chart(
        figure,
        key=key,
        on_select=partial(on_pick, key),
        selection_mode="points",
        config={"displayModeBar": False, "responsive": True},
        width="stretch",
    )
