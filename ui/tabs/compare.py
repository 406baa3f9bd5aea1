"""Compare: this design beside a preset or a pinned earlier version."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

import builder
from builder import presets
from builder.limits import MAX_HEAVY_PARAMS
from builder.messages import N_

from .. import actions, i18n
from ..cache import cached_histograms, cached_summary
from ..format import compact, count, esc, megabytes
from . import THIS_DESIGN, Context

PINNED = N_("the pinned design")
COLUMNS = {
    "no.": N_("no."),
    "name": N_("name"),
    "inputs": N_("inputs"),
    "type": N_("type"),
    "output shape": N_("output shape"),
    "params": N_("params"),
}
"""The layer table's columns, as the summary names them, and their ids to show them by."""


def _column(
    title: str,
    item: builder.Spec,
    show_hist: bool,
    lang: str = i18n.ENGLISH,
    shown: str = "",
    key: str = "",
) -> None:
    """One side: the design's totals, its layer table and (optionally) its histograms.

    Args:
        title: the side's name (the widget keys use it as it is).
        item: the design.
        show_hist: whether to draw the weight histograms.
        lang: the language of the labels.
        shown: the name to show (``title`` where empty).
        key: what makes the side's element keys unique (``title`` where empty).
    """
    data = cached_summary(item.to_json())
    heading = i18n.translate(
        "**{title}** · {class_name} · input {shape}",
        lang,
        title=esc(shown or title),
        class_name=item.class_name,
        shape=tuple(item.input_shape),
    )
    st.markdown(heading)
    with st.grid("auto", min_column_width=110, gap="small", key=f"compare_metrics_{key or title}"):
        st.metric(
            i18n.translate("Parameters", lang),
            compact(data["params"]),
            help=i18n.translate("{count} parameters", lang, count=f"{data['params']:,}"),
        )
        st.metric(
            i18n.translate("Mult-adds", lang),
            count(data["mult_adds"]),
            help=i18n.translate("{count} mult-adds", lang, count=f"{data['mult_adds']:,}"),
        )
        st.metric(
            i18n.translate("Memory", lang),
            megabytes(data["memory"]),
            help=i18n.translate("parameters as float32", lang),
        )
    if data["error"]:
        st.error(esc(data["error"]))
    rows = pd.DataFrame(data["rows"]).rename(columns={"#": "no."})  # "#" reads as a heading
    if lang != i18n.ENGLISH:
        rows = rows.rename(columns={k: i18n.translate(v, lang) for k, v in COLUMNS.items()})
    st.table(rows, hide_index=True, border="horizontal")
    if show_hist and data["ok"] and data["params"] <= MAX_HEAVY_PARAMS:
        key = json.dumps({k: v for k, v in item.to_dict().items() if k != "name"}, sort_keys=True)
        st.plotly_chart(
            cached_histograms(key, lang), width="stretch", key=f"compare_hist_{key or title}"
        )


def render(ctx: Context) -> None:
    lang = i18n.language()
    pinned = st.session_state.get("pinned")
    options = ([PINNED] if pinned else []) + list(presets.PRESET_NAMES)
    cols = st.columns([2, 1], vertical_alignment="bottom")
    other_name = cols[0].selectbox(
        i18n.translate("Compare this design with", lang),
        options,
        key="compare_with",
        format_func=lambda name: i18n.translate(name, lang),
    )
    cols[1].button(
        i18n.translate("Pin this design", lang),
        key="pin",
        on_click=actions.on_pin,
        icon=":material/push_pin:",
        help=i18n.translate(
            "keep a copy of the current design to compare later versions with", lang
        ),
    )
    other = pinned if other_name == PINNED else presets.preset(other_name)
    other_spec = builder.load_spec(other)  # a SpecError is this tab's message (tabs.guarded)
    show_hist = st.toggle(i18n.translate("with weight histograms", lang), key="compare_hist")
    # side by side where both tables fit, one under the other where they do not (the page's
    # style gives each side its table's width)
    with st.container(horizontal=True, gap="medium", key="compare_pair"):
        for side, (title, item) in enumerate(
            zip((THIS_DESIGN, other_name), (ctx.spec, other_spec))
        ):
            with st.container(key=f"compare_side_{side}"):
                _column(title, item, show_hist, lang, i18n.translate(title, lang))
