"""Import code: paste a PyTorch class like the article's Net and get it as a design."""

from __future__ import annotations

import streamlit as st

from builder.limits import MAX_CODE_CHARS

from .. import actions
from ..state import locked
from . import Context

CAPTION = (
    "Paste a PyTorch model: a class like the article's Net, or one built of blocks, "
    "nn.Sequential and helper methods (a ResNet with its BasicBlock and ResNet18() factory), with "
    "skip connections (out += self.shortcut(x)) and torch.cat in forward, and an optional "
    "initialize_weights. It is read, never run. The input shape in the sidebar is used."
)


def render(ctx: Context) -> None:
    st.text(CAPTION)  # plain text: __init__ stays __init__, never Markdown bold
    st.text_area(
        "PyTorch code",
        key="import_code",
        height=320,
        max_chars=MAX_CODE_CHARS,
        disabled=locked("files"),
        placeholder="class Net(nn.Module):\n    def __init__(self):\n        ...",
    )
    st.text_input(
        "Network to import (optional)",
        key="import_entry",
        max_chars=64,
        placeholder="e.g. ResNet18",
        help="where the code defines several networks: the class or factory function to read "
        "(by default the last one that takes no arguments)",
        width=320,
    )
    st.button(
        "Import as a design",
        key="import_go",
        on_click=actions.on_import,
        type="primary",
        disabled=locked("files"),
    )
