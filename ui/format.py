"""How the app writes facts: escaping user text, sizes, counts and shapes. No arithmetic on them
beyond unit scaling: every number comes from ``builder``."""

from __future__ import annotations

import re
from typing import Any

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def esc(text: Any) -> str:
    """User-influenced text made inert for Streamlit's Markdown (links, images, directives)."""
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", "  \n")


def megabytes(value: float) -> str:
    return f"{value:,.2f} MB" if value < 1000 else f"{value / 1000:,.2f} GB"


def count(value: int) -> str:
    """A large count in k / M / G (the exact value belongs in a tooltip)."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:,.2f} {unit}"
    return f"{value:,}"


def shape_text(shape: tuple[int, ...] | None) -> str:
    """A shape as torch prints sizes, kept on one line (non-breaking spaces)."""
    if shape is None:
        return "—"
    return "(" + ",\u00a0".join(str(s) for s in shape) + ")"
