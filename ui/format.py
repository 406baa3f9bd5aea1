"""How the app writes facts: escaping user text, sizes, counts and shapes. No arithmetic on them
beyond unit scaling: every number comes from ``builder``."""

from __future__ import annotations

import re
from typing import Any

from .i18n import translate, translate_text

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
EXACT_BELOW = 1_000_000
"""Counts below this are written in full (``62,006``); larger ones in k / M / G (``61.1 M``)."""
_UNITS = (("G", 10**9), ("M", 10**6), ("k", 10**3))


def esc(text: Any) -> str:
    """User-influenced text made inert for Streamlit's Markdown (links, images, directives)."""
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", "  \n")


def megabytes(value: float) -> str:
    return f"{value:,.2f} MB" if value < 1000 else f"{value / 1000:,.2f} GB"


def count(value: int) -> str:
    """A count to three significant digits in k / M / G (``658 k``, ``61.1 M``, ``1.00 G``).

    The exact value belongs in a tooltip. Counts past 999 G stay in G (``2,500 G``)."""
    if value < 1000:
        return f"{value:,}"
    for index, (unit, size) in enumerate(_UNITS):
        if value >= size:
            scaled = float(f"{value / size:.3g}")
            if scaled >= 1000 and index > 0:  # 999,960 rounds to 1000 k: write 1.00 M
                unit, size = _UNITS[index - 1]
                scaled = float(f"{value / size:.3g}")
            decimals = 2 if scaled < 10 else 1 if scaled < 100 else 0
            return f"{scaled:,.{decimals}f} {unit}"
    return f"{value:,}"


def compact(value: int) -> str:
    """A count as a metric card shows it: in full below ``EXACT_BELOW``, else ``count``."""
    return f"{value:,}" if value < EXACT_BELOW else count(value)


def shape_text(shape: tuple[int, ...] | None) -> str:
    """A shape as torch prints sizes, kept on one line (non-breaking spaces)."""
    if shape is None:
        return "—"
    return "(" + ",\u00a0".join(str(s) for s in shape) + ")"


def fix_label(action: dict[str, Any], layer_name: str, lang: str = "en") -> str:
    """The one edit a fix button makes, in words (in ``lang``): ``add a Flatten before fc1``,
    ``set padding to 3 in conv2``."""
    name = layer_name
    if action.get("op") == "insert":
        layer = action["layer"]["type"]
        return translate("add a {layer} before {name}", lang, layer=layer, name=name)
    if action.get("op") == "set":
        field, value = action["field"], action["value"]
        return translate(
            "set {field} to {value} in {name}", lang, field=field, value=value, name=name
        )
    if action.get("op") == "delete":
        return translate("delete {name}", lang, name=name)
    if action.get("op") == "on_input":
        chain = " + ".join(layer["type"] for layer in action["layers"])
        return translate(
            "add {chain} on the path from {source} into {name}",
            lang,
            chain=chain,
            source=action["input"],
            name=name,
        )
    return translate("apply the suggested fix", lang)


SAME_SHAPE = "same shape as the input"
"""The one prose phrase in builder's shape formulas (``layers/*.py``; not a message id there)."""


def formula_text(formula: Any, lang: str = "en") -> str:
    """A shape or parameter formula in ``lang``: its math as it is, the phrase ``SAME_SHAPE``
    translated (``same shape as the input; slope 0.01`` keeps what follows)."""
    text = str(translate_text(formula, lang))
    if text.startswith(SAME_SHAPE):
        return translate(SAME_SHAPE, lang) + text[len(SAME_SHAPE) :]
    return text
