"""The sidebar: the design's name, input and seed; presets; files; sharing; import; assignment."""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder import presets
from builder.assignment import LOCKABLE, encode_assignment
from builder.export import file_stem, spec_json_bytes
from builder.layers import REGISTRY
from builder.limits import MAX_CODE_CHARS, MAX_INPUT_ELEMENTS
from builder.share import LinkTooLong, encode_design
from builder.spec import MAX_SEED, MAX_SPEC_NAME

from . import actions
from .state import W, locked, seed_widget

BROWSER_MAX_INT = 2**53 - 1  # the largest integer a browser's number box holds exactly


def _size_box(container: Any, label: str, key: str, value: int) -> None:
    """One input-size box (C, H, W or F), bounded by the builder's input limit."""
    seed_widget(key, int(value))
    container.number_input(
        label,
        min_value=1,
        max_value=MAX_INPUT_ELEMENTS,
        step=1,
        key=key,
        disabled=locked("input_shape"),
        on_change=actions.on_meta,
        args=("input_shape",),
    )


def _input_shape(sb: Any, shape: list[int]) -> None:
    seed_widget(f"{W}input_kind", actions.INPUT_KINDS[len(shape)])
    sb.radio(
        "Input (one sample)",
        list(actions.INPUT_KINDS.values()),
        disabled=locked("input_shape"),
        key=f"{W}input_kind",
        horizontal=True,
        on_change=actions.on_meta,
        args=("input_shape",),
    )
    if st.session_state[f"{W}input_kind"] == actions.IMAGE:
        defaults = shape if len(shape) == 3 else [3, 32, 32]
        for col, axis, value in zip(sb.columns(3), "CHW", defaults):
            _size_box(col, axis, f"{W}in_{axis}", value)
    elif st.session_state[f"{W}input_kind"] == actions.SEQUENCE:
        defaults = shape if len(shape) == 2 else [1, 64]
        for col, axis, value in zip(sb.columns(2), "CL", defaults):
            _size_box(col, axis, f"{W}in_{axis}", value)
    else:
        _size_box(sb, "F (features)", f"{W}in_F", shape[0] if len(shape) == 1 else 784)


def share_link(design: dict[str, Any]) -> str | None:
    """The packed design for ``?d=``, or None (with a message) when it is too large for a link."""
    try:
        return encode_design(design)
    except LinkTooLong as exc:
        st.session_state.link_too_long = str(exc)
        return None


def sidebar(design: dict[str, Any]) -> None:
    sb = st.sidebar
    sb.header("Design")
    seed_widget(f"{W}name", design.get("name", "Net"))
    sb.text_input(
        "Name (becomes the class name)",
        key=f"{W}name",
        on_change=actions.on_meta,
        args=("name",),
        max_chars=MAX_SPEC_NAME,
    )
    _input_shape(sb, design["input_shape"])
    seed = int(design.get("seed", 0))
    seed_kwargs = {"disabled": locked("seed"), "on_change": actions.on_meta, "args": ("seed",)}
    if seed <= BROWSER_MAX_INT:
        seed_widget(f"{W}seed", seed)
        sb.number_input(
            "Seed", min_value=0, max_value=BROWSER_MAX_INT, step=1, key=f"{W}seed", **seed_kwargs
        )
    else:  # the spec takes seeds up to 2**63 - 1; a browser's number box holds only 2**53 - 1
        seed_widget(f"{W}seed", str(seed))
        sb.text_input("Seed", key=f"{W}seed", max_chars=len(str(MAX_SEED)), **seed_kwargs)

    sb.subheader("Presets")
    files_off = locked("files")
    sb.selectbox("Preset", presets.PRESET_NAMES, key="preset_choice", disabled=files_off)
    sb.button(
        "Load preset",
        key="load_preset",
        on_click=actions.on_preset,
        width="stretch",
        disabled=files_off,
    )

    sb.subheader("Files")
    sb.file_uploader("Load a design (.json)", type=["json"], key="upload", disabled=files_off)
    sb.download_button(
        "Download design (.json)",
        data=lambda: spec_json_bytes(design),
        file_name=f"{file_stem(design)}.json",
        mime="application/json",
        key="download_spec",
        on_click="ignore",
        width="stretch",
    )
    sb.subheader("Share")
    packed = share_link(design)
    if packed is None:
        sb.warning(st.session_state.link_too_long)
        return
    sb.caption(
        "The address bar always holds the current design: copy it to share. The packed design:"
    )
    sb.code(f"?d={packed}", language=None, wrap_lines=True)


def import_panel() -> None:
    """Paste a PyTorch class like the article's Net and get it as a design."""
    panel = st.sidebar.expander("Import PyTorch code", key="import_panel", on_change="rerun")
    if not panel.open and not st.session_state.get("import_code"):
        return  # a closed panel draws nothing: every rerun of every session stays cheap
    with panel:
        st.caption(
            "Paste a class written like the article's Net: named nn layers in __init__, "
            "a forward that applies them in order, an optional initialize_weights. "
            "It is read, never run. The input shape above is used."
        )
        st.text_area(
            "PyTorch code",
            key="import_code",
            height=200,
            max_chars=MAX_CODE_CHARS,
            disabled=locked("files"),
        )
        st.button(
            "Import as a design",
            key="import_go",
            on_click=actions.on_import,
            width="stretch",
            disabled=locked("files"),
        )


def teacher_panel(design: dict[str, Any]) -> None:
    """Set assignment constraints; they travel in the link beside the design."""
    panel = st.sidebar.expander("Assignment (for teachers)", key="teacher_panel", on_change="rerun")
    if not panel.open and st.session_state.get("assignment") is None:
        return  # a closed panel draws nothing: every rerun of every session stays cheap
    with panel:
        st.caption("Constraints a student sees pass or fail live. They go into the link.")
        st.text_input("Title", key="as_title", max_chars=120)
        st.number_input(
            "Parameter budget (0 = none)", min_value=0, max_value=10**12, step=1000, key="as_budget"
        )
        st.radio(
            "Required output", ["none", "flat [n]", "[C, H, W]"], key="as_out_kind", horizontal=True
        )
        kind = st.session_state.get("as_out_kind", "none")
        if kind == "flat [n]":
            st.number_input("n", min_value=1, max_value=10**6, value=10, key="as_out_n")
        elif kind == "[C, H, W]":
            for col, axis in zip(st.columns(3), "CHW"):
                col.number_input(axis, min_value=1, max_value=10**5, value=8, key=f"as_out_{axis}")
        st.multiselect("Allowed layer types (empty = all)", list(REGISTRY), key="as_types")
        st.multiselect("Lock", list(LOCKABLE), key="as_locked", format_func=LOCKABLE.get)
        st.button(
            "Make the assignment link",
            key="as_make",
            on_click=actions.on_make_assignment,
            width="stretch",
        )
        assignment = st.session_state.get("assignment")
        if assignment is not None:
            packed = share_link(design)
            design_part = f"&d={packed}" if packed else ""
            st.code(f"?a={encode_assignment(assignment)}{design_part}", language=None)
            st.button("Remove the assignment", key="as_clear", on_click=actions.on_clear_assignment)
