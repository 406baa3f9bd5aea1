"""Code: the exported module, and every download as ``builder.export`` names it."""

from __future__ import annotations

import streamlit as st

from builder.export import downloads
from builder.limits import MAX_HEAVY_PARAMS

from .. import i18n
from ..cache import cached_code
from . import Context, need_ok


def download_row(files: list, lang: str = i18n.ENGLISH) -> None:
    """One row of download buttons for ``builder.export.Download`` items (bytes made on click),
    their labels in ``lang``."""
    for col, item in zip(st.columns(len(files)), files):
        col.download_button(
            i18n.translate(item.label, lang),
            data=item.make,
            file_name=item.file_name,
            mime=item.mime,
            key=f"download_{item.key}",
            on_click="ignore",
            width="stretch",
        )


def render(ctx: Context) -> None:
    if not need_ok(ctx.analysis):
        return
    lang = i18n.language()
    functional = st.toggle(
        i18n.translate("activations as F.relu(...) in forward (like the article)", lang),
        key="functional",
    )
    code = cached_code(ctx.spec_json, functional)
    files = downloads(
        ctx.spec,
        weights=ctx.analysis.total_params <= MAX_HEAVY_PARAMS,
        code=code,
    )
    download_row(files, lang)
    st.code(code, language="python", line_numbers=True)
