"""Sizes & memory: receptive field and feature-map size per layer; one training step's memory."""

from __future__ import annotations

import streamlit as st

from builder.figures import legend_for_lines, memory_in_units
from builder.memory import DTYPE_BYTES, MAX_BATCH, format_bytes
from builder.training import OPTIMIZERS

from ..cache import cached_memory, cached_receptive
from . import Context, need_ok


def render(ctx: Context) -> None:
    if not need_ok(ctx.analysis):
        return
    st.caption(
        "Receptive field: how many input pixels can reach one unit of each layer. "
        "Feature-map size: the H of each layer's output."
    )
    receptive = legend_for_lines(cached_receptive(ctx.model_json))
    st.plotly_chart(receptive, width="stretch", key="rf_chart")
    st.markdown("**Memory calculator** · one training step")
    cols = st.columns(3)
    batch = cols[0].number_input(
        "Batch size", min_value=1, max_value=MAX_BATCH, value=64, key="mem_batch"
    )
    dtype = cols[1].selectbox("dtype", list(DTYPE_BYTES), key="mem_dtype")
    optimizer = cols[2].selectbox("Optimizer", list(OPTIMIZERS), key="mem_opt")
    data = cached_memory(ctx.model_json, int(batch), dtype, optimizer)
    with st.grid("auto", min_column_width=120, gap="small", key="memory_parts"):
        for label, value in [*data["parts"].items(), ("total", data["total"])]:
            st.metric(label, format_bytes(value), help=f"{value:,} bytes")
    verdicts = [f"{gb:g} GB: {'fits' if ok else 'does not fit'}" for gb, ok in data["fits"].items()]
    st.markdown(" · ".join(verdicts))
    figure = memory_in_units(data["figure"], list(data["parts"].values()))
    st.plotly_chart(figure, width="stretch", key="memory_chart")
