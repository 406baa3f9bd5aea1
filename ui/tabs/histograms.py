"""Histograms: each parameter tensor right after initialization, beside what its scheme promises."""

from __future__ import annotations

import streamlit as st

from builder.layers import PARAM_TYPES

from ..cache import cached_histograms
from . import Context, heavy_ok


def render(ctx: Context) -> None:
    if not heavy_ok(ctx.analysis):
        return
    if not any(layer.type in PARAM_TYPES for layer in ctx.spec.layers):
        st.info("No weights to show yet.")
        return
    st.caption(
        "Each parameter tensor right after initialization, with the distribution "
        "its initializer promises (curve) and measured vs promised std."
    )
    st.plotly_chart(cached_histograms(ctx.model_json), width="stretch", key="hist_chart")
