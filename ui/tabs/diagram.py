"""Diagram: the architecture as a block diagram (SVG, PNG to download)."""

from __future__ import annotations

import streamlit as st

from builder.export import file_stem
from builder.messages import N_

from .. import i18n
from ..cache import cached_diagram
from . import Context, need_ok


def render(ctx: Context) -> None:
    if not need_ok(ctx.analysis):
        return
    lang = i18n.language()
    if not ctx.spec.layers:
        st.info(i18n.translate("Add layers to see the diagram.", lang))
        return
    data = cached_diagram(ctx.spec_json)
    st.image(data["svg"], width="stretch")
    stem = file_stem(ctx.spec)
    for col, (label, fmt, mime) in zip(
        st.columns(2),
        (
            (N_("Download diagram (.svg)"), "svg", "image/svg+xml"),
            (N_("Download diagram (.png)"), "png", "image/png"),
        ),
    ):
        col.download_button(
            i18n.translate(label, lang),
            data=data[fmt],
            file_name=f"{stem}.{fmt}",
            mime=mime,
            key=f"download_{fmt}",
            on_click="ignore",
            width="stretch",
        )
