"""The sidebar: the design's name, input and seed; presets; files; sharing; import; assignment."""

from __future__ import annotations

import html
import json
from typing import Any

import streamlit as st

from builder import presets
from builder.assignment import LOCKABLE, encode_assignment
from builder.export import file_stem, spec_json_bytes
from builder.layers import REGISTRY
from builder.limits import MAX_INPUT_ELEMENTS
from builder.share import LinkTooLong, encode_design
from builder.spec import MAX_SEED, MAX_SPEC_NAME

from . import actions, i18n
from .partial import current, memo
from .state import W, locked, seed_widget

BROWSER_MAX_INT = 2**53 - 1  # the largest integer a browser's number box holds exactly
DESIGN_UPLOAD_MB = 5  # the server takes larger uploads (training data); a design file is small


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


def _input_shape(sb: Any, shape: list[int], lang: str) -> None:
    seed_widget(f"{W}input_kind", actions.INPUT_KINDS[len(shape)])
    sb.radio(
        i18n.translate("Input (one sample)", lang),
        list(actions.INPUT_KINDS.values()),
        disabled=locked("input_shape"),
        key=f"{W}input_kind",
        horizontal=True,
        on_change=actions.on_meta,
        args=("input_shape",),
        format_func=lambda kind: i18n.translate(kind, lang),
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
        _size_box(
            sb,
            i18n.translate("F (features)", lang),
            f"{W}in_F",
            shape[0] if len(shape) == 1 else 784,
        )


def _packed(design: dict[str, Any]) -> str | LinkTooLong:
    try:
        return encode_design(design)
    except LinkTooLong as exc:
        return exc


def share_link(design: dict[str, Any]) -> str | None:
    """The packed design for ``?d=``, or None (with a message) when it is too large for a link.
    Packed once per design (zlib at level 9: the page asks several times a run)."""
    packed = memo("share_link", design, lambda: _packed(design))
    if isinstance(packed, LinkTooLong):
        st.session_state.link_too_long = i18n.translate_error(packed)
        return None
    return packed


def sidebar(design: dict[str, Any]) -> None:
    sb = st.sidebar
    with sb:
        i18n.lang_picker()
    lang = i18n.language()
    sb.header(i18n.translate("Design", lang))
    seed_widget(f"{W}name", design.get("name", "Net"))
    sb.text_input(
        i18n.translate("Name (becomes the class name)", lang),
        key=f"{W}name",
        on_change=actions.on_meta,
        args=("name",),
        max_chars=MAX_SPEC_NAME,
    )
    _input_shape(sb, design["input_shape"], lang)
    seed = int(design.get("seed", 0))
    seed_kwargs = {"disabled": locked("seed"), "on_change": actions.on_meta, "args": ("seed",)}
    if seed <= BROWSER_MAX_INT:
        seed_widget(f"{W}seed", seed)
        sb.number_input(
            i18n.translate("Seed", lang),
            min_value=0,
            max_value=BROWSER_MAX_INT,
            step=1,
            key=f"{W}seed",
            **seed_kwargs,
        )
    else:  # the spec takes seeds up to 2**63 - 1; a browser's number box holds only 2**53 - 1
        seed_widget(f"{W}seed", str(seed))
        sb.text_input(
            i18n.translate("Seed", lang),
            key=f"{W}seed",
            max_chars=len(str(MAX_SEED)),
            **seed_kwargs,
        )

    sb.subheader(i18n.translate("Presets", lang))
    files_off = locked("files")
    sb.selectbox(
        i18n.translate("Preset", lang),
        presets.PRESET_NAMES,
        key="preset_choice",
        disabled=files_off,
        format_func=lambda name: i18n.translate(name, lang),
    )
    sb.button(
        i18n.translate("Load preset", lang),
        key="load_preset",
        on_click=actions.on_preset,
        width="stretch",
        disabled=files_off,
    )

    sb.subheader(i18n.translate("Files", lang))
    sb.file_uploader(
        i18n.translate("Load a design (.json)", lang),
        type=["json"],
        key="upload",
        disabled=files_off,
        max_upload_size=DESIGN_UPLOAD_MB,
    )
    shown = current()  # the design the page shows when the download is clicked
    sb.download_button(
        i18n.translate("Download design (.json)", lang),
        data=lambda: spec_json_bytes(shown["design"]),
        file_name=f"{file_stem(design)}.json",
        mime="application/json",
        key="download_spec",
        on_click="ignore",
        width="stretch",
    )
    sb.subheader(i18n.translate("Share", lang))
    if share_link(design) is None:
        sb.warning(st.session_state.link_too_long)
        return
    sb.caption(
        i18n.translate(
            "The address bar always holds the current design: Copy link puts that address on "
            "the clipboard. To paste PyTorch code, open the Import code tab.",
            lang,
        )
    )
    with sb:
        copy_link_button(design, key="sidebar")


COPY_JS = """<button type="button" class="nb-copy-link" title="TITLE">
<span class="nb-label">LABEL</span></button>
<script>
(() => {
  const button = document.currentScript.parentElement.querySelector('button.nb-copy-link');
  if (!button || button.dataset.bound) return;
  button.dataset.bound = '1';
  const query = QUERY;
  button.addEventListener('click', async () => {
    const here = window.location;
    const url = query ? here.origin + here.pathname + query : here.href;
    let copied = false;
    try {
      await navigator.clipboard.writeText(url);
      copied = true;
    } catch (error) {  // no clipboard API off https: the old way, then a box to copy from
      const area = document.createElement('textarea');
      area.value = url;
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      try { copied = document.execCommand('copy'); } catch (ignored) {}
      area.remove();
    }
    if (!copied) window.prompt(PROMPT, url);
    button.dataset.copied = copied ? url : '';
    const label = button.querySelector('.nb-label');
    label.textContent = copied ? COPIED : LABEL_JS;
    setTimeout(() => { label.textContent = LABEL_JS; }, 1500);
  });
})();
</script>"""


def copy_link_button(
    design: dict[str, Any], key: str = "header", query: str | None = None, label: str | None = None
) -> None:
    """A button that copies the page's full address (the design is always in it), or the page's
    address with ``query`` instead of its own query string.

    Args:
        design: the design (too large for a link, it gets no button unless ``query`` is given).
        key: tells the button's container apart (``st-key-copy_link_<key>``).
        query: e.g. ``"?a=...&d=..."`` for an assignment link; None copies the address as is.
        label: the button's text (default: "Copy link" in the session's language).
    """
    if query is None and share_link(design) is None:
        return
    lang = i18n.language()
    label = label or i18n.translate("Copy link", lang)
    title = i18n.translate("Copy a link to this design: the page's full address", lang)
    body = (
        COPY_JS.replace("TITLE", html.escape(title))
        .replace("LABEL_JS", json.dumps(label))
        .replace("LABEL", html.escape(label))
        .replace("PROMPT", json.dumps(i18n.translate("Copy this link:", lang)))
        .replace("COPIED", json.dumps(i18n.translate("Copied", lang)))
        .replace("QUERY", json.dumps(query))
    )
    with st.container(key=f"copy_link_{key}", width="content"):
        st.html(body, width="content", unsafe_allow_javascript=True)


def teacher_panel(design: dict[str, Any]) -> None:
    """Set assignment constraints; they travel in the link beside the design."""
    lang = i18n.language()
    panel = st.sidebar.expander(
        i18n.translate("Assignment (for teachers)", lang), key="teacher_panel", on_change="rerun"
    )
    if not panel.open:
        return  # a closed panel draws nothing: every rerun of every session stays cheap
    with panel:
        st.caption(
            i18n.translate(
                "Constraints a student sees pass or fail live. They go into the link.", lang
            )
        )
        st.text_input(i18n.translate("Title", lang), key="as_title", max_chars=120)
        st.number_input(
            i18n.translate("Parameter budget (0 = none)", lang),
            min_value=0,
            max_value=10**12,
            step=1000,
            key="as_budget",
        )
        st.radio(
            i18n.translate("Required output", lang),
            ["none", "flat [n]", "[C, H, W]"],
            key="as_out_kind",
            horizontal=True,
            format_func=lambda kind: i18n.translate(kind, lang),
        )
        kind = st.session_state.get("as_out_kind", "none")
        if kind == "flat [n]":
            st.number_input("n", min_value=1, max_value=10**6, value=10, key="as_out_n")
        elif kind == "[C, H, W]":
            for col, axis in zip(st.columns(3), "CHW"):
                col.number_input(axis, min_value=1, max_value=10**5, value=8, key=f"as_out_{axis}")
        st.multiselect(
            i18n.translate("Allowed layer types (empty = all)", lang),
            list(REGISTRY),
            key="as_types",
        )
        st.multiselect(
            i18n.translate("Lock", lang),
            list(LOCKABLE),
            key="as_locked",
            format_func=lambda k: i18n.translate(LOCKABLE[k], lang),
        )
        st.button(
            i18n.translate("Make the assignment link", lang),
            key="as_make",
            on_click=actions.on_make_assignment,
            width="stretch",
        )
        assignment = st.session_state.get("assignment")
        if assignment is not None:
            packed = share_link(design)
            design_part = f"&d={packed}" if packed else ""
            query = f"?a={encode_assignment(assignment)}{design_part}"
            label = i18n.translate("Copy assignment link", lang)
            copy_link_button(design, key="assignment", query=query, label=label)
            st.button(
                i18n.translate("Remove the assignment", lang),
                key="as_clear",
                on_click=actions.on_clear_assignment,
            )
