"""Model: ``print(net)``, the ``net.modules()`` listing and the first conv's tensor shapes."""

from __future__ import annotations

import streamlit as st

from .. import i18n
from ..cache import cached_model_text
from . import Context, heavy_ok


def render(ctx: Context) -> None:
    if not heavy_ok(ctx.analysis):
        return
    lang = i18n.language()
    text = cached_model_text(ctx.spec_json)
    st.markdown("`print(net)`")
    st.code(text["print"], language=None)
    st.markdown(
        i18n.translate(
            "`for m in net.modules(): print(m)`: the first item is the whole network, "
            "then each layer",
            lang,
        )
    )
    st.code(text["modules"], language=None)
    if text["first_conv"]:
        st.markdown(
            i18n.translate(
                "The first convolution's tensors (the bias is the part most people forget):",
                lang,
            )
        )
        st.code(text["first_conv"], language=None)
