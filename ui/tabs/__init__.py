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
from builder.messages import N_

from .. import i18n
from ..format import esc

THIS_DESIGN = N_("this design")
"""How a tab comparing two designs names the one on screen."""


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
        error = esc(i18n.translate_text(analysis.error, i18n.language()))
        st.warning(i18n.t("Fix the design first: {error}", error=error))
        return False
    return True


def heavy_ok(analysis: builder.Analysis) -> bool:
    """Whether a tab may build the model (and say why not where it may not)."""
    if not need_ok(analysis):
        return False
    if analysis.total_params > MAX_HEAVY_PARAMS:
        st.info(
            i18n.t(
                "This design has {total_params} parameters; building it for this tab is "
                "limited to {limit} to keep the server responsive. The analysis above "
                "still covers every layer.",
                total_params=f"{analysis.total_params:,}",
                limit=f"{MAX_HEAVY_PARAMS:,}",
            )
        )
        return False
    return True


def guarded(render: Callable[[Context], None], ctx: Context) -> None:
    """Run one tab; a design it cannot handle gets the tab's own message, never a traceback."""
    try:
        render(ctx)
    except builder.SpecError as exc:
        error = esc(i18n.translate_error(exc))
        st.error(i18n.t("This view cannot show this design: {error}", error=error))
    except (MemoryError, RuntimeError) as exc:  # an allocator failure inside torch, say
        st.error(
            i18n.t(
                "This view ran out of server resources for this design ({error}). "
                "Everything else keeps working.",
                error=esc(type(exc).__name__),
            )
        )


def _keep_open_tab(labels: dict[str, str]) -> None:
    """The open tab stays open across a language switch: ``view`` (the open tab's label) in
    English or in any language becomes its label in this one."""
    view = st.session_state.get("view")
    langs = (*i18n.LANGUAGES, i18n.PSEUDO)
    if view is None or view in labels.values():
        return
    for name, label in labels.items():
        if view == name or view in {i18n.translate(name, lang) for lang in langs}:
            st.session_state["view"] = label
            return


def show_tabs(ctx: Context, tabs: dict[str, Callable[[Context], None]]) -> None:
    """The tab bar and the open tab's content: switching tabs, or a control that changes only
    its tab, reruns the tabs alone."""
    lang = i18n.language()
    labels = {name: i18n.translate(name, lang) for name in tabs}
    _keep_open_tab(labels)
    containers = st.tabs(list(labels.values()), key="view", on_change="rerun")
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
