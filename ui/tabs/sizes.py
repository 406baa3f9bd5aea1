"""Sizes & memory: receptive field and feature-map size per layer; one training step's memory."""

from __future__ import annotations

import streamlit as st

from builder.figures import legend_for_lines, memory_in_units
from builder.memory import DTYPE_BYTES, MAX_BATCH, SAVED_PARTS, format_bytes
from builder.messages import N_
from builder.training import OPTIMIZERS

from .. import i18n
from ..cache import cached_memory, cached_receptive
from . import Context, need_ok

HELD = ("parameters", "buffers", "optimizer state", "gradients", "input")
SAVED = tuple(part.replace("_", " ") for part in SAVED_PARTS)
OVERHEAD = ("allocator", "cuda context")
LABELS = {"allocator": "allocator cache", "cuda context": "CUDA context", "input": "input batch"}
FITS = {True: N_("fits"), False: N_("does not fit")}
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


def _metrics(
    title: str, names: tuple[str, ...], parts: dict[str, int], key: str, lang: str
) -> None:
    shown = [(name, parts[name]) for name in names if parts.get(name)]
    if not shown:
        return
    st.markdown(f"*{i18n.translate(title, lang)}*")
    with st.grid("auto", min_column_width=120, gap="small", key=key):
        for name, value in shown:
            help_text = i18n.translate("{count} bytes", lang, count=f"{value:,}")
            if name in HELP:
                help_text += f": {i18n.translate(HELP[name], lang)}"
            label = i18n.translate(LABELS.get(name, name), lang)
            st.metric(label, format_bytes(value), help=help_text)


def render(ctx: Context) -> None:
    if not need_ok(ctx.analysis):
        return
    lang = i18n.language()
    st.caption(
        i18n.translate(
            "Receptive field: how many input pixels can reach one unit of each layer. "
            "Feature-map size: the H of each layer's output.",
            lang,
        )
    )
    receptive = legend_for_lines(cached_receptive(ctx.model_json, lang))
    st.plotly_chart(receptive, width="stretch", key="rf_chart")
    st.markdown(i18n.translate("**Memory calculator** · one training step on a GPU", lang))
    cols = st.columns(3)
    batch = cols[0].number_input(
        i18n.translate("Batch size", lang),
        min_value=1,
        max_value=MAX_BATCH,
        value=64,
        key="mem_batch",
    )
    dtype = cols[1].selectbox("dtype", list(DTYPE_BYTES), key="mem_dtype")
    optimizer = cols[2].selectbox(
        i18n.translate("Optimizer", lang), list(OPTIMIZERS), key="mem_opt"
    )
    data = cached_memory(ctx.model_json, int(batch), dtype, optimizer, lang)
    parts = data["parts"]
    peak, reserved = data["peak"], data["reserved"]
    with st.grid("auto", min_column_width=120, gap="small", key="memory_totals"):
        st.metric(
            i18n.translate("peak allocated", lang),
            format_bytes(peak),
            help="torch.cuda.max_memory_allocated",
        )
        st.metric(
            i18n.translate("reserved", lang),
            format_bytes(reserved),
            help="torch.cuda.max_memory_reserved",
        )
        st.metric(
            i18n.translate("total", lang),
            format_bytes(data["total"]),
            help=i18n.translate("{count} bytes", lang, count=f"{data['total']:,}"),
        )
    _metrics(N_("Held at the peak"), HELD, parts, "memory_held", lang)
    _metrics(N_("Saved for the backward pass (at the peak)"), SAVED, parts, "memory_saved", lang)
    _metrics(
        N_("Temporaries and overheads"), ("temporaries", *OVERHEAD), parts, "memory_over", lang
    )
    verdicts = [
        i18n.translate(
            "{gb} GB: {verdict}",
            lang,
            gb=f"{gb:g}",
            verdict=i18n.translate(FITS[ok], lang),
        )
        for gb, ok in data["fits"].items()
    ]
    against = i18n.translate("Against reserved memory and the CUDA context · ", lang)
    st.markdown(against + " · ".join(verdicts))
    figure = memory_in_units(data["figure"], list(parts.values()))
    st.plotly_chart(figure, width="stretch", key="memory_chart")
