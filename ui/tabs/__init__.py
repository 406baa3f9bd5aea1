"""The lower panel: one module per tab, each with ``render(ctx)``; tabs never import each other.

Only the open tab does any work, and a tab that cannot show a design says so inside itself: the
rest of the page (and the share link) keeps working.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

import builder
from builder.limits import MAX_HEAVY_PARAMS

from ..format import esc


@dataclass(frozen=True)
class Context:
    """What every tab gets: the design, its validated spec and analysis, and cache keys.

    Attributes:
        spec: the validated spec.
        analysis: its analysis.
        design: the design dict as the session holds it.
        spec_json: the canonical spec JSON (cache key of views that show the name).
        model_json: the same without the display name: renaming recomputes nothing heavy.
    """

    spec: builder.Spec
    analysis: builder.Analysis
    design: dict[str, Any]
    spec_json: str
    model_json: str

    @classmethod
    def of(cls, spec: builder.Spec, analysis: builder.Analysis, design: dict[str, Any]):
        unnamed = {k: v for k, v in spec.to_dict().items() if k != "name"}
        return cls(spec, analysis, design, spec.to_json(), json.dumps(unnamed, sort_keys=True))


def need_ok(analysis: builder.Analysis) -> bool:
    if not analysis.ok:
        st.warning(f"Fix the design first: {esc(analysis.error)}")
        return False
    return True


def heavy_ok(analysis: builder.Analysis) -> bool:
    """Whether a tab may build the model (and say why not where it may not)."""
    if not need_ok(analysis):
        return False
    if analysis.total_params > MAX_HEAVY_PARAMS:
        st.info(
            f"This design has {analysis.total_params:,} parameters; building it for this tab is "
            f"limited to {MAX_HEAVY_PARAMS:,} to keep the server responsive. The analysis above "
            "still covers every layer."
        )
        return False
    return True


def guarded(render: Callable[[Context], None], ctx: Context) -> None:
    """Run one tab; a design it cannot handle gets the tab's own message, never a traceback."""
    try:
        render(ctx)
    except builder.SpecError as exc:
        st.error(f"This view cannot show this design: {esc(exc)}")
    except (MemoryError, RuntimeError) as exc:  # an allocator failure inside torch, say
        st.error(
            "This view ran out of server resources for this design "
            f"({esc(type(exc).__name__)}). Everything else keeps working."
        )


def show_tabs(ctx: Context, tabs: dict[str, Callable[[Context], None]]) -> None:
    """The tab bar and the open tab's content: switching tabs, or a control that changes only
    its tab, reruns the tabs alone."""
    containers = st.tabs(list(tabs), key="view", on_change="rerun")
    for container, render in zip(containers, tabs.values()):
        with container:
            if container.open:
                guarded(render, ctx)


def edit_tabs() -> dict[str, Callable[[Context], None]]:
    from . import code, compare, diagram, histograms, importer, init, model, signal, sizes, train

    return {
        "Initialization": init.render,
        "Histograms": histograms.render,
        "Signal": signal.render,
        "Code": code.render,
        "Model": model.render,
        "Train": train.render,
        "Sizes & memory": sizes.render,
        "Diagram": diagram.render,
        "Compare": compare.render,
        "Import code": importer.render,
    }


PRESENT = ("Diagram", "Histograms", "Signal", "Train", "Sizes & memory", "Code", "Model")


def present_tabs() -> dict[str, Callable[[Context], None]]:
    tabs = edit_tabs()
    return {name: tabs[name] for name in PRESENT}
