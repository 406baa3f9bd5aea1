"""Import code: paste a PyTorch class like the article's Net and get it as a design."""

from __future__ import annotations

import streamlit as st

from builder.limits import MAX_CODE_CHARS
from builder.messages import N_

from .. import actions, i18n
from ..state import locked
from . import Context

CAPTION = N_(
    "Paste a PyTorch model: a class like the article's Net, or one built of blocks, "
    "nn.Sequential and helper methods (a ResNet with its BasicBlock and ResNet18() factory), with "
    "skip connections (out += self.shortcut(x)) and torch.cat in forward, and an optional "
    "initialize_weights. It is read, never run. The input shape in the sidebar is used."
)


def render(ctx: Context) -> None:
    lang = i18n.language()
    st.text(i18n.translate(CAPTION, lang))  # plain text: __init__ stays __init__, never bold
    st.text_area(
        i18n.translate("PyTorch code", lang),
        key="import_code",
        height=320,
        max_chars=MAX_CODE_CHARS,
        disabled=locked("files"),
        placeholder="class Net(nn.Module):\n    def __init__(self):\n        ...",
    )
    st.text_input(
        i18n.translate("Network to import (optional)", lang),
        key="import_entry",
        max_chars=64,
        placeholder=i18n.translate("e.g. ResNet18", lang),
        help=i18n.translate(
            "where the code defines several networks: the class or factory function to read "
            "(by default the last one that takes no arguments)",
            lang,
        ),
        width=320,
    )
    st.button(
        i18n.translate("Import as a design", lang),
        key="import_go",
        on_click=actions.on_import,
        type="primary",
        disabled=locked("files"),
    )
