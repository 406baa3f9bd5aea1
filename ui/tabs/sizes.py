"""Sizes & memory: receptive field and feature-map size per layer; one training step's memory."""

from __future__ import annotations

import streamlit as st

from builder.figures import legend_for_lines, memory_in_units
from builder.memory import DTYPE_BYTES, MAX_BATCH, SAVED_PARTS, format_bytes
from builder.training import OPTIMIZERS

from ..cache import cached_memory, cached_receptive
from . import Context, need_ok

HELD = ("parameters", "buffers", "optimizer state", "gradients", "input")
SAVED = tuple(part.replace("_", " ") for part in SAVED_PARTS)
OVERHEAD = ("allocator", "cuda context")
LABELS = {"allocator": "allocator cache", "cuda context": "CUDA context", "input": "input batch"}
HELP = {
    "saved activations": "what autograd keeps for the backward pass: layer inputs and outputs, "
    "each storage once (views and in-place layers add nothing)",
    "pooling indices": "where each max-pool maximum came from: int64, 8 bytes per output value",
    "dropout masks": "which values Dropout zeroed (a bool per value on a GPU)",
    "norm statistics": "BatchNorm / GroupNorm / LayerNorm means and inverse deviations",
    "gradients": "the parameter gradients alive at the peak",
    "temporaries": "gradients of activations in flight, the optimizer step's intermediates and "
    "the cuBLAS workspaces (a fixed 64 MiB)",
    "allocator": "the CUDA caching allocator's rounding and the freed blocks it keeps cached "
    "(reserved minus allocated)",
    "cuda context": "the CUDA context's kernels: outside torch's allocator, on every GPU",
}


def _metrics(title: str, names: tuple[str, ...], parts: dict[str, int], key: str) -> None:
    shown = [(name, parts[name]) for name in names if parts.get(name)]
    if not shown:
        return
    st.markdown(f"*{title}*")
    with st.grid("auto", min_column_width=120, gap="small", key=key):
        for name, value in shown:
            help_text = f"{value:,} bytes" + (f": {HELP[name]}" if name in HELP else "")
            st.metric(LABELS.get(name, name), format_bytes(value), help=help_text)


def render(ctx: Context) -> None:
    if not need_ok(ctx.analysis):
        return
    st.caption(
        "Receptive field: how many input pixels can reach one unit of each layer. "
        "Feature-map size: the H of each layer's output."
    )
    receptive = legend_for_lines(cached_receptive(ctx.model_json))
    st.plotly_chart(receptive, width="stretch", key="rf_chart")
    st.markdown("**Memory calculator** · one training step on a GPU")
    cols = st.columns(3)
    batch = cols[0].number_input(
        "Batch size", min_value=1, max_value=MAX_BATCH, value=64, key="mem_batch"
    )
    dtype = cols[1].selectbox("dtype", list(DTYPE_BYTES), key="mem_dtype")
    optimizer = cols[2].selectbox("Optimizer", list(OPTIMIZERS), key="mem_opt")
    data = cached_memory(ctx.model_json, int(batch), dtype, optimizer)
    parts = data["parts"]
    peak = sum(value for name, value in parts.items() if name not in OVERHEAD)
    reserved = data["total"] - parts.get("cuda context", 0)
    with st.grid("auto", min_column_width=120, gap="small", key="memory_totals"):
        st.metric("peak allocated", format_bytes(peak), help="torch.cuda.max_memory_allocated")
        st.metric("reserved", format_bytes(reserved), help="torch.cuda.max_memory_reserved")
        st.metric("total", format_bytes(data["total"]), help=f"{data['total']:,} bytes")
    _metrics("Held at the peak", HELD, parts, "memory_held")
    _metrics("Saved for the backward pass (at the peak)", SAVED, parts, "memory_saved")
    _metrics("Temporaries and overheads", ("temporaries", *OVERHEAD), parts, "memory_over")
    verdicts = [f"{gb:g} GB: {'fits' if ok else 'does not fit'}" for gb, ok in data["fits"].items()]
    st.markdown("Against reserved memory and the CUDA context · " + " · ".join(verdicts))
    figure = memory_in_units(data["figure"], list(parts.values()))
    st.plotly_chart(figure, width="stretch", key="memory_chart")
