"""Sizes & memory: receptive field and feature-map size per layer; one training step's memory."""

from __future__ import annotations

import streamlit as st

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
    st.plotly_chart(cached_receptive(ctx.model_json), width="stretch", key="rf_chart")
    st.markdown("**Memory calculator** · one training step")
    cols = st.columns(3)
    batch = cols[0].number_input(
        "Batch size", min_value=1, max_value=MAX_BATCH, value=64, key="mem_batch"
    )
    dtype = cols[1].selectbox("dtype", list(DTYPE_BYTES), key="mem_dtype")
    optimizer = cols[2].selectbox("Optimizer", list(OPTIMIZERS), key="mem_opt")
    data = cached_memory(ctx.model_json, int(batch), dtype, optimizer)
    cells = st.columns(len(data["parts"]) + 1)
    for cell, (label, value) in zip(cells, [*data["parts"].items(), ("total", data["total"])]):
        cell.metric(label, format_bytes(value))
    verdicts = [f"{gb:g} GB: {'fits' if ok else 'does not fit'}" for gb, ok in data["fits"].items()]
    st.markdown(" · ".join(verdicts))
    st.plotly_chart(data["figure"], width="stretch", key="memory_chart")
