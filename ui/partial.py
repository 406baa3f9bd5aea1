"""Partial reruns and per-design memos: what keeps one edit cheap on the server.

The page below the sidebar is one fragment (``page``): an edit made on it (a card's field, the
palette, a fix, undo, the tab bar) reruns it alone, so the sidebar, the style sheet and the
scripts are not drawn and sent again. An edit that changes what the sidebar shows (the name,
input or seed; the link notice; a teacher's assignment link) reruns the whole app. Views inside
the page are not fragments of their own: a widget drawn by a nested fragment can see a widget
of the page fire its callback with no value (Streamlit 1.67), so one level it is.

What depends only on the design (the table's frame, the diagram's figure, the packed link) is
computed once per design and kept in the session beside it: a design is replaced, never
changed in place, on every edit (``state.commit``), so its identity is the memo's key and no
JSON is hashed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from .state import clear_widgets

_MEMO = "_memo"  # per-design memos: {"design": design, name: value, ...}
_FACTS = "_facts"  # what the parts outside the page fragment were drawn from


def page(render: Callable[..., None], facts: Callable[[], Any]) -> Callable[..., None]:
    """``render`` as the page's fragment: an edit made on the page reruns the page alone, not
    what is drawn outside it (the sidebar, the style and the scripts), unless ``facts()`` (what
    those show of the session) changed since the whole page was drawn."""

    def body(*args: Any, **kwargs: Any) -> None:
        if st.session_state.get(_FACTS) != facts():
            clear_widgets(everywhere=True)  # the sidebar's too: drawn again from the design
            st.rerun()
        render(*args, **kwargs)

    body.__name__ = render.__name__
    body.__qualname__ = render.__qualname__
    body.__doc__ = render.__doc__
    fragment = st.fragment(body)

    def whole(*args: Any, **kwargs: Any) -> None:
        st.session_state[_FACTS] = facts()
        fragment(*args, **kwargs)

    return whole


def current() -> dict[str, Any]:
    """The session's design as the page last drew it (``current()["design"]``), for what runs
    later outside a script run (a download's deferred data)."""
    return st.session_state.setdefault("_current", {})


def memo(name: str, design: dict[str, Any], make: Callable[[], Any]) -> Any:
    """``make()`` once per design (and ``name``): the value is kept until the design changes.
    Only the session's current design is memoized; any other is computed each time."""
    ss = st.session_state
    if design is not ss.get("design"):
        return make()
    kept = ss.get(_MEMO)
    if kept is None or kept["design"] is not design:
        kept = {"design": design}
        ss[_MEMO] = kept
    if name not in kept:
        kept[name] = make()
    return kept[name]
