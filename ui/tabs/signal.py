"""Signal: the std of each layer's output for a seeded random batch (vanishing / exploding)."""

from __future__ import annotations

import streamlit as st

import builder
from builder import presets
from builder.signal import signal_batch_size

from ..cache import cached_signal
from ..format import esc
from . import Context, heavy_ok

LARGEST_BATCH = 512

NO_PLAN = "—"


def render(ctx: Context) -> None:
    if not heavy_ok(ctx.analysis):
        return
    try:  # the builder's memory and compute caps for one pass of this design
        largest = signal_batch_size(ctx.spec, LARGEST_BATCH)
    except builder.SpecError as exc:
        st.info(f"The signal pass is not run for this design: {esc(exc)}")
        return
    cols = st.columns([1, 1, 2])
    if st.session_state.get("signal_batch", largest + 1) > largest:  # a new design may need less
        st.session_state.signal_batch = min(64, largest)
    batch = cols[0].number_input(
        "Batch size", min_value=2, max_value=largest, step=1, key="signal_batch"
    )
    mode = cols[1].radio(
        "Mode",
        ["eval", "train"],
        horizontal=True,
        key="signal_mode",
        help="train: Dropout on, BatchNorm uses the batch's statistics",
    )
    other = cols[2].selectbox(
        "Compare with another initializer plan",
        [NO_PLAN, *[p for p in presets.INIT_PLANS if p != "this design's plan"]],
        key="signal_other",
    )
    st.caption(
        "A seeded random batch pushed through the freshly initialized network: the std of "
        "each layer's output. Watch it vanish or explode with a poor initializer."
    )
    figure = cached_signal(ctx.model_json, int(batch), mode, other)
    st.plotly_chart(figure, width="stretch", key="signal_chart")
