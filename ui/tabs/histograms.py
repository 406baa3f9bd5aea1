"""Histograms: each parameter tensor right after initialization, beside what its scheme promises."""

from __future__ import annotations

import streamlit as st

from builder.layers import PARAM_TYPES

from .. import i18n
from ..cache import cached_histograms
from . import Context, heavy_ok


def render(ctx: Context) -> None:
    if not heavy_ok(ctx.analysis):
        return
    lang = i18n.language()
    if not any(layer.type in PARAM_TYPES for layer in ctx.spec.layers):
        st.info(i18n.translate("No weights to show yet.", lang))
        return
    st.caption(
        i18n.translate(
            "Each parameter tensor right after initialization, with the distribution "
            "its initializer promises (curve) and measured vs promised std.",
            lang,
        )
    )
    st.plotly_chart(cached_histograms(ctx.model_json, lang), width="stretch", key="hist_chart")
