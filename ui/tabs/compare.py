"""Compare: this design beside a preset or a pinned earlier version."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

import builder
from builder import presets
from builder.limits import MAX_HEAVY_PARAMS

from .. import actions
from ..cache import cached_histograms, cached_summary
from ..format import compact, count, esc, megabytes
from . import Context


def _column(title: str, item: builder.Spec, show_hist: bool) -> None:
    data = cached_summary(item.to_json())
    st.markdown(f"**{esc(title)}** · {item.class_name} · input {tuple(item.input_shape)}")
    with st.grid("auto", min_column_width=110, gap="small", key=f"compare_metrics_{title}"):
        st.metric("Parameters", compact(data["params"]), help=f"{data['params']:,} parameters")
        st.metric("Mult-adds", count(data["mult_adds"]), help=f"{data['mult_adds']:,} mult-adds")
        st.metric("Memory", megabytes(data["memory"]), help="parameters as float32")
    if data["error"]:
        st.error(esc(data["error"]))
    rows = pd.DataFrame(data["rows"]).rename(columns={"#": "no."})  # "#" reads as a heading
    st.table(rows, hide_index=True, border="horizontal")
    if show_hist and data["ok"] and data["params"] <= MAX_HEAVY_PARAMS:
        key = json.dumps({k: v for k, v in item.to_dict().items() if k != "name"}, sort_keys=True)
        st.plotly_chart(cached_histograms(key), width="stretch", key=f"compare_hist_{title}")


def render(ctx: Context) -> None:
    pinned = st.session_state.get("pinned")
    options = (["the pinned design"] if pinned else []) + list(presets.PRESET_NAMES)
    cols = st.columns([2, 1], vertical_alignment="bottom")
    other_name = cols[0].selectbox("Compare this design with", options, key="compare_with")
    cols[1].button(
        "Pin this design",
        key="pin",
        on_click=actions.on_pin,
        icon=":material/push_pin:",
        help="keep a copy of the current design to compare later versions with",
    )
    other = pinned if other_name == "the pinned design" else presets.preset(other_name)
    other_spec = builder.load_spec(other)  # a SpecError is this tab's message (tabs.guarded)
    show_hist = st.toggle("with weight histograms", key="compare_hist")
    # side by side where both tables fit, one under the other where they do not (the page's
    # style gives each side its table's width)
    with st.container(horizontal=True, gap="medium", key="compare_pair"):
        for side, (title, item) in enumerate(
            zip(("this design", other_name), (ctx.spec, other_spec))
        ):
            with st.container(key=f"compare_side_{side}"):
                _column(title, item, show_hist)
