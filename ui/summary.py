"""The summary: the metric cards, the live analysis table with its one-click fix, the assignment."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import builder
from builder.assignment import check

from . import actions
from .format import count, esc, megabytes, shape_text

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


def metrics(analysis: builder.Analysis | None) -> None:
    values = ["—"] * len(METRICS)
    if analysis is not None:
        values = [
            f"{analysis.total_params:,}",
            f"{analysis.trainable_params:,}",
            f"{analysis.non_trainable_params:,}",
            f"{analysis.total_buffers:,}",
            megabytes(analysis.param_memory_mb),
            megabytes(analysis.activation_memory_mb),
            count(analysis.mult_adds),
        ]
    for col, (label, helptext), value in zip(st.columns(len(METRICS)), METRICS, values):
        col.metric(label, value, help=helptext)


def _rows(spec: builder.Spec, analysis: builder.Analysis) -> pd.DataFrame:
    rows = [
        {
            "#": r.index + 1,
            "name": r.name,
            "type": r.type,
            "output shape": shape_text(r.output_shape),
            "params": "" if r.params is None else f"{r.params:,}",
            "mult-adds": f"{r.mult_adds:,}" if r.output_shape is not None else "",
            "status": "✖ " + (r.error_field or "error") if r.error else "",
        }
        for r in analysis.layers
    ]
    first = {
        "#": 0,
        "name": "input",
        "type": "",
        "output shape": shape_text(spec.input_shape),
        "params": "",
        "mult-adds": "",
        "status": "",
    }
    frame = pd.DataFrame([first, *rows])
    return frame.drop(columns="status") if analysis.ok else frame


def _explain(analysis: builder.Analysis) -> None:
    names = [
        f"{r.index + 1}. {r.name}" for r in analysis.layers if r.shape_formula or r.param_formula
    ]
    if not names:
        return
    choice = st.selectbox("Explain a layer's numbers", ["—", *names], key="explain")
    if choice == "—":
        return
    row = analysis.layers[int(choice.split(".")[0]) - 1]
    lines = []
    if row.input_shape is not None:
        out = tuple(row.output_shape) if row.output_shape else "—"
        lines.append(f"input {tuple(row.input_shape)} → output {out}")
    if row.shape_formula:
        lines.append(f"output size: {row.shape_formula}")
    if row.param_formula:
        shapes = ", ".join(f"{n} {list(s)}" for n, s in row.tensors)
        lines.append(f"parameters: {row.param_formula}   ({shapes})")
    if row.mult_adds:
        lines.append(f"mult-adds: {row.mult_adds:,}")
    st.code("\n".join(lines), language=None, wrap_lines=True)


def analysis_table(spec: builder.Spec, analysis: builder.Analysis) -> None:
    frame = _rows(spec, analysis)
    bad = analysis.error_index

    def highlight(row: pd.Series) -> list[str]:
        return [FAILED_ROW if row["#"] == bad + 1 else ""] * len(row)

    # a static table: every row visible at once, readable on a projector, selectable text
    # (pandas' Styler costs ~1 ms a row, so it is used only to paint the failing row)
    shown = frame.style.apply(highlight, axis=1).hide(axis="index") if bad is not None else frame
    st.table(shown, border="horizontal", hide_index=True)
    if analysis.error:
        row = analysis.layers[bad]
        st.error(f"**{esc(row.error)}**")
        if row.fix_action:
            st.button(
                f"Apply fix: {row.fix}",
                key="apply_fix",
                on_click=actions.on_fix,
                args=(row.fix_action,),
                type="primary",
            )
    _explain(analysis)


def assignment_panel(design: dict[str, Any], analysis: builder.Analysis | None) -> None:
    assignment = st.session_state.get("assignment")
    if assignment is None:
        return
    checks = check(assignment, [layer["type"] for layer in design["layers"]], analysis)
    done = all(c.passed for c in checks)
    lines = []
    for c in checks:
        mark = ":green[✔]" if c.passed else ":red[✖]"
        lines.append(f"{mark} {esc(c.label)}" + (f" — {esc(c.detail)}" if c.detail else ""))
    title = assignment.title or "Assignment"
    with st.container(border=True, key="assignment_panel"):
        st.markdown(f"**{esc(title)}** · {'all constraints met' if done else 'in progress'}")
        st.markdown("  \n".join(lines))
