"""The summary: the metric cards, the live analysis table with its one-click fix, the assignment."""

from __future__ import annotations

import math
from typing import Any
from unicodedata import east_asian_width

import pandas as pd
import streamlit as st

import builder
from builder.assignment import check

from . import actions, i18n
from .format import compact, count, esc, fix_label, formula_text, megabytes, shape_text
from .partial import memo

METRICS = (
    ("Parameters", "sum of every layer's weights and biases"),
    ("Trainable", "parameters with requires_grad"),
    ("Non-trainable", "frozen parameters"),
    ("Buffers", "BatchNorm running statistics: not parameters"),
    ("Memory", "parameters as float32"),
    ("Activations", "all layer outputs for one sample, float32"),
    ("Mult-adds", "multiply-adds for one sample (torchinfo's count)"),
)
FAILED_ROW = "background-color: #fde2e1; color: #8a1c12; font-weight: 600"
METRIC_WIDTH = {False: 118, True: 200}
"""The narrowest a metric card gets before the grid puts fewer in a row (edit, presenting)."""
LABEL_PX, LABEL_EXTRA_PX, PRESENT_SCALE = 6.8, 26, 22 / 16
"""A card label's width: pixels per Latin character (a CJK one is two), plus its help icon
and gap; presenting, the page's type is 22 px, not 16."""
TABLE_HEIGHT = 262
BIG_TABLE = 120
"""Rows above which the table is a virtualized grid (a static table of a ResNet-152's 515
rows costs seconds per rerun)."""


def _metric_values(analysis: builder.Analysis) -> list[tuple[str, str]]:
    """Each card's value and its exact count for the tooltip."""
    counts = (
        analysis.total_params,
        analysis.trainable_params,
        analysis.non_trainable_params,
        analysis.total_buffers,
    )
    values = [(compact(n), f"{n:,}") for n in counts]
    values.append((megabytes(analysis.param_memory_mb), f"{analysis.param_memory_mb:,.4f} MB"))
    values.append(
        (megabytes(analysis.activation_memory_mb), f"{analysis.activation_memory_mb:,.4f} MB")
    )
    values.append((count(analysis.mult_adds), f"{analysis.mult_adds:,}"))
    return values


def metric_width(labels: list[str], present: bool) -> int:
    """The narrowest a card gets: ``METRIC_WIDTH``, or wider where a label (in a longer
    language) would not fit on one line beside its help icon."""
    units = max(sum(2 if east_asian_width(c) in "WF" else 1 for c in label) for label in labels)
    needed = (units * LABEL_PX + LABEL_EXTRA_PX) * (PRESENT_SCALE if present else 1)
    return max(METRIC_WIDTH[present], math.ceil(needed))


def metrics(analysis: builder.Analysis | None, present: bool = False) -> None:
    """The totals as cards in a grid that puts fewer in a row where the page is narrow; large
    counts are written ``61.1 M``, with the exact value in each card's tooltip."""
    lang = i18n.language()
    values = [("—", "")] * len(METRICS) if analysis is None else _metric_values(analysis)
    labels = [i18n.translate(label, lang) for label, _ in METRICS]
    width = metric_width(labels, present)
    with st.grid("auto", min_column_width=width, gap="small", key="metrics"):
        for label, (_, helptext), (value, exact) in zip(labels, METRICS, values):
            helptext = i18n.translate(helptext, lang)
            if exact:
                helptext = i18n.translate("{help}: {exact}", lang, help=helptext, exact=exact)
            st.metric(label, value, help=helptext)


def _rows(spec: builder.Spec, analysis: builder.Analysis, lang: str) -> pd.DataFrame:
    """The table's columns, the input first (built column by column: no frame is copied), with
    their headings in ``lang``."""
    layers = analysis.layers
    columns: dict[str, list[Any]] = {
        "no.": [0, *(r.index + 1 for r in layers)],
        "name": [i18n.translate("input", lang), *(r.name for r in layers)],
    }
    if analysis.is_graph:  # a plain stack has no inputs column: each layer reads the one above
        columns["inputs"] = [
            "",
            *(" + ".join(r.inputs) if r.type == "Add" else ", ".join(r.inputs) for r in layers),
        ]
    columns["type"] = ["", *(r.type for r in layers)]
    columns["output shape"] = [
        shape_text(spec.input_shape),
        *(shape_text(r.output_shape) for r in layers),
    ]
    columns["params"] = ["", *("" if r.params is None else f"{r.params:,}" for r in layers)]
    columns["mult-adds"] = [
        "",
        *(f"{r.mult_adds:,}" if r.output_shape is not None else "" for r in layers),
    ]
    if not analysis.ok:
        columns["status"] = [
            "",
            *(
                "✖ " + (r.error_field or i18n.translate("error", lang)) if r.error else ""
                for r in layers
            ),
        ]
    if lang != i18n.ENGLISH:
        columns = {i18n.translate(name, lang): values for name, values in columns.items()}
    return pd.DataFrame(columns)


def _explain(analysis: builder.Analysis, lang: str) -> None:
    names = [
        f"{r.index + 1}. {r.name}" for r in analysis.layers if r.shape_formula or r.param_formula
    ]
    if not names:
        return
    label = i18n.translate("Explain a layer's numbers", lang)
    choice = st.selectbox(label, ["—", *names], key="explain")
    if choice == "—":
        return
    row = analysis.layers[int(choice.split(".")[0]) - 1]
    lines = []
    if row.input_shape is not None:
        out = tuple(row.output_shape) if row.output_shape else "—"
        shapes = {"input": tuple(row.input_shape), "output": out}
        lines.append(i18n.translate("input {input} → output {output}", lang, **shapes))
    lines += _formulas(row, lang, tensors=True)
    st.code("\n".join(lines), language=None, wrap_lines=True)


def _formulas(row: Any, lang: str, tensors: bool = False) -> list[str]:
    """A row's output-size and parameter formulas and its mult-adds, one line each."""
    lines = []
    if row.shape_formula:
        lines.append(
            i18n.translate(
                "output size: {formula}", lang, formula=formula_text(row.shape_formula, lang)
            )
        )
    if row.param_formula and tensors:
        shapes = ", ".join(f"{n} {list(s)}" for n, s in row.tensors)
        lines.append(
            i18n.translate(
                "parameters: {formula}   ({shapes})",
                lang,
                formula=formula_text(row.param_formula, lang),
                shapes=shapes,
            )
        )
    elif row.param_formula:
        lines.append(
            i18n.translate(
                "parameters: {formula}", lang, formula=formula_text(row.param_formula, lang)
            )
        )
    if row.mult_adds:
        lines.append(i18n.translate("mult-adds: {count}", lang, count=f"{row.mult_adds:,}"))
    return lines


def problem(analysis: builder.Analysis, fixable: bool = True) -> None:
    """The failing layer's message, and (``fixable``) one button for the one edit its fix
    makes."""
    if not analysis.error:
        return
    lang = i18n.language()
    row = analysis.layers[analysis.error_index]
    st.error(f"**{esc(i18n.translate_text(row.error, lang))}**")
    if fixable and row.fix_action:
        st.button(
            i18n.translate("Fix: {fix}", lang, fix=fix_label(row.fix_action, row.name, lang)),
            key="apply_fix",
            on_click=actions.on_fix,
            args=(row.fix_action,),
            type="primary",
            icon=":material/auto_fix_high:",
            help=i18n.translate("one undoable edit", lang),
            wrap=True,
        )


def _table(spec: builder.Spec, analysis: builder.Analysis, lang: str) -> Any:
    """The table's frame; a failing row painted (a pandas Styler) where it fits a static table."""
    frame = _rows(spec, analysis, lang)
    no = frame.columns[0]
    bad = analysis.error_index
    if bad is None or len(frame) > BIG_TABLE:
        return frame

    def highlight(row: pd.Series) -> list[str]:
        return [FAILED_ROW if row[no] == bad + 1 else ""] * len(row)

    # a static table: every row visible at once, readable on a projector, selectable text
    # (pandas' Styler costs ~1 ms a row, so it is used only to paint the failing row)
    return frame.style.apply(highlight, axis=1).hide(axis="index")


def analysis_table(
    spec: builder.Spec, analysis: builder.Analysis, height: int | None = None
) -> None:
    """Every layer's output shape, parameters and mult-adds; the failing row painted.

    Args:
        spec: the design's spec.
        analysis: its analysis.
        height: pixels of the scrolling box the table sits in (None: as tall as the table).
    """
    lang = i18n.language()
    shown = memo(f"table:{lang}", st.session_state.design, lambda: _table(spec, analysis, lang))
    if len(shown.index if isinstance(shown, pd.DataFrame) else shown.data.index) > BIG_TABLE:
        # a deep network: a scrolling grid draws only the rows in view
        st.dataframe(shown, hide_index=True, height=height or 420, key="table_grid")
        _explain(analysis, lang)
        return
    # a box of its own height only beside the stack (the page's style sizes ``table_box``);
    # presenting, the table takes the room it needs
    box = st.container(height=height, key="table_box") if height else st.container(key="table")
    box.table(shown, border="horizontal", hide_index=True)
    _explain(analysis, lang)


def shape_walk(analysis: builder.Analysis) -> None:
    """One layer at a time: Prev / Next move the selection (the diagram highlights it), with the
    layer's formulas and the numbers from its analysis row."""
    uids = st.session_state.uids
    if not uids:
        return
    selected = st.session_state.get("selected")
    index = uids.index(selected) if selected in uids else None
    lang = i18n.language()
    with st.container(horizontal=True, vertical_alignment="center", key="walk"):
        st.button(
            i18n.translate("Prev", lang),
            key="walk_prev",
            icon=":material/chevron_left:",
            on_click=actions.on_walk,
            args=(-1,),
            disabled=index is not None and index == 0,
        )
        st.button(
            i18n.translate("Next", lang),
            key="walk_next",
            icon=":material/chevron_right:",
            icon_position="right",
            on_click=actions.on_walk,
            args=(1,),
            disabled=index is not None and index == len(uids) - 1,
        )
        if index is None:
            st.markdown(
                i18n.translate(
                    "Press **Next** to walk through the network one layer at a time.", lang
                )
            )
            return
        row = analysis.layers[index]
        st.markdown(
            i18n.translate(
                "**Layer {index} of {count}: {name}** · {type} · {input} → {output}",
                lang,
                index=index + 1,
                count=len(uids),
                name=esc(row.name),
                type=esc(row.type),
                input=shape_text(row.input_shape),
                output=shape_text(row.output_shape),
            )
        )
    lines = []
    if row.error:
        lines.append(i18n.translate_text(row.error, lang))
    if analysis.is_graph:
        sources = [
            f"{name} {shape_text(shape)}" for name, shape in zip(row.inputs, row.input_shapes)
        ] or list(row.inputs)
        lines.append(i18n.translate("reads: {sources}", lang, sources=", ".join(sources)))
    lines += _formulas(row, lang)
    if lines:
        st.code("\n".join(lines), language=None, wrap_lines=True)


def assignment_panel(design: dict[str, Any], analysis: builder.Analysis | None) -> None:
    assignment = st.session_state.get("assignment")
    if assignment is None:
        return
    checks = check(assignment, [layer["type"] for layer in design["layers"]], analysis)
    done = all(c.passed for c in checks)
    lang = i18n.language()
    lines = []
    for c in checks:
        mark = ":green[✔]" if c.passed else ":red[✖]"
        label, detail = (i18n.translate_text(text, lang) for text in (c.label, c.detail))
        lines.append(f"{mark} {esc(label)}" + (f" — {esc(detail)}" if detail else ""))
    title = assignment.title or i18n.translate("Assignment", lang)
    state = (
        i18n.translate("all constraints met", lang) if done else i18n.translate("in progress", lang)
    )
    with st.container(border=True, key="assignment_panel"):
        st.markdown(f"**{esc(title)}** · {state}")
        st.markdown("  \n".join(lines))
