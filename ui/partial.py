"""Partial reruns and per-design memos: what keeps one edit cheap on the server.

The page below the sidebar is one fragment (``page``): an edit made on it reruns it alone, so
the sidebar, the style sheet and the scripts are not drawn and sent again. Inside it, a view
whose own widgets change only itself (opening the palette, the explain picker, the tab bar) is
a fragment of its own (``view``). When one of its callbacks changed more than the view (the
design, the selection, a message for the header), it asks for a whole-app rerun at once, so
the diagram, the metrics, the table and the share link always show the design.

What depends only on the design (the table's frame, the diagram's figure, the packed link) is
computed once per design and kept in the session beside it: a design is replaced, never
changed in place, on every edit (``state.commit``), so its identity is the memo's key and no
JSON is hashed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

_PAGE = "_page"  # what the page was last drawn from: (design, selected, assignment)
_MEMO = "_memo"  # per-design memos: {"design": design, name: value, ...}
_FACTS = "_facts"  # what the parts outside the page fragment were drawn from


def drawn(design: dict[str, Any]) -> None:
    """Record what a whole-page run draws from (call once the design is settled)."""
    ss = st.session_state
    ss[_PAGE] = (design, ss.get("selected"), ss.get("assignment"))


def stale() -> bool:
    """Whether a callback changed something the rest of the page shows since it was drawn."""
    ss = st.session_state
    design, selected, assignment = ss.get(_PAGE, (None, None, None))
    return (
        ss.get("design") is not design
        or ss.get("selected") != selected
        or ss.get("assignment") is not assignment
        or bool(ss.get("flash"))
    )


def view(render: Callable[..., None]) -> Callable[..., None]:
    """``render`` as a fragment that reruns the whole page when its callbacks changed more than
    its own part."""

    def body(*args: Any, **kwargs: Any) -> None:
        if stale():
            st.rerun()
        render(*args, **kwargs)

    body.__name__ = render.__name__
    body.__qualname__ = render.__qualname__
    body.__doc__ = render.__doc__
    return st.fragment(body)


def page(render: Callable[..., None], facts: Callable[[], Any]) -> Callable[..., None]:
    """``render`` as the page's fragment: an edit made on the page reruns the page alone, not
    what is drawn outside it (the sidebar, the style and the scripts), unless ``facts()`` (what
    those show of the session) changed since the whole page was drawn."""

    def body(*args: Any, **kwargs: Any) -> None:
        if st.session_state.get(_FACTS) != facts():
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
