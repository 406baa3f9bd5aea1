"""Signal: the std of each layer's output for a seeded random batch (vanishing / exploding)."""

from __future__ import annotations

import streamlit as st

import builder
from builder import presets
from builder.signal import signal_batch_size

from .. import i18n
from ..cache import cached_signal
from ..format import esc
from . import Context, heavy_ok

LARGEST_BATCH = 512

NO_PLAN = "—"


def render(ctx: Context) -> None:
    if not heavy_ok(ctx.analysis):
        return
    lang = i18n.language()
    try:  # the builder's memory and compute caps for one pass of this design
        largest = signal_batch_size(ctx.spec, LARGEST_BATCH)
    except builder.SpecError as exc:
        st.info(
            i18n.translate(
                "The signal pass is not run for this design: {error}",
                lang,
                error=esc(i18n.render_error(exc, lang)),
            )
        )
        return
    cols = st.columns([1, 1, 2])
    if st.session_state.get("signal_batch", largest + 1) > largest:  # a new design may need less
        st.session_state.signal_batch = min(64, largest)
    batch = cols[0].number_input(
        i18n.translate("Batch size", lang),
        min_value=2,
        max_value=largest,
        step=1,
        key="signal_batch",
    )
    mode = cols[1].radio(
        i18n.translate("Mode", lang),
        ["eval", "train"],
        horizontal=True,
        key="signal_mode",
        help=i18n.translate("train: Dropout on, BatchNorm uses the batch's statistics", lang),
    )
    other = cols[2].selectbox(
        i18n.translate("Compare with another initializer plan", lang),
        [NO_PLAN, *[p for p in presets.INIT_PLANS if p != "this design's plan"]],
        key="signal_other",
        format_func=lambda plan: i18n.translate(plan, lang),
    )
    st.caption(
        i18n.translate(
            "A seeded random batch pushed through the freshly initialized network: the std of "
            "each layer's output. Watch it vanish or explode with a poor initializer.",
            lang,
        )
    )
    figure = cached_signal(ctx.model_json, int(batch), mode, other, lang)
    st.plotly_chart(figure, width="stretch", key="signal_chart")
