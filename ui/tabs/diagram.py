"""Diagram: the architecture as a block diagram (SVG, PNG to download)."""

from __future__ import annotations

import streamlit as st

from builder.export import file_stem

from ..cache import cached_diagram
from . import Context, need_ok


def render(ctx: Context) -> None:
    if not need_ok(ctx.analysis):
        return
    if not ctx.spec.layers:
        st.info("Add layers to see the diagram.")
        return
    data = cached_diagram(ctx.spec_json)
    st.image(data["svg"], width="stretch")
    stem = file_stem(ctx.spec)
    for col, (label, fmt, mime) in zip(
        st.columns(2),
        (
            ("Download diagram (.svg)", "svg", "image/svg+xml"),
            ("Download diagram (.png)", "png", "image/png"),
        ),
    ):
        col.download_button(
            label,
            data=data[fmt],
            file_name=f"{stem}.{fmt}",
            mime=mime,
            key=f"download_{fmt}",
            on_click="ignore",
            width="stretch",
        )
