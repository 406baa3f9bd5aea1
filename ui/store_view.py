"""Short links (``?s=<id>``), "Submit to teacher" (``?c=<class>``) and the teacher's class table
(``?t=<token>``), backed by ``store``.

The store is optional: ``NETBUILDER_DATABASE_URL=off`` runs the app without one (links stay
``?d=``), and a store that is down costs a message where it is needed, never the design on
screen. Only the design the user stores (Short link, Submit) or one too large for ``?d=`` is
written to the database: editing writes nothing.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import threading
import time
from typing import Any

import pandas as pd
import streamlit as st

import builder
import store
from builder.messages import N_
from builder.share import LinkTooLong, encode_design
from store.schema import NAME_CHARS

from . import i18n
from .format import esc
from .state import clear_widgets, commit, flash, fresh_uids

OFF = ("off", "none", "0", "false", "no")
RETRY_SECONDS = 30.0  # a store that was down is tried again after this long
_opened: dict[str, tuple[store.Store | None, str, float]] = {}  # url -> (store, problem, when)
_lock = threading.Lock()


def configured() -> bool:
    return os.environ.get(store.ENV_URL, "").strip().lower() not in OFF


def get_store() -> store.Store | None:
    """The process's store (one per URL, shared by every session), or None: not configured, or
    down (``problem()`` says why; it is tried again after ``RETRY_SECONDS``)."""
    if not configured():
        return None
    url = store.default_url()
    with _lock:
        held = _opened.get(url)
        if held and (held[0] is not None or time.monotonic() - held[2] < RETRY_SECONDS):
            return held[0]
        try:
            opened, why = store.open_store(url), ""
        except store.StoreError as exc:
            opened, why = None, str(exc)
        _opened[url] = (opened, why, time.monotonic())
        return opened


def problem() -> str:
    """Why the store is unavailable (empty when it is fine or not configured)."""
    if not configured():
        return ""
    held = _opened.get(store.default_url())
    return held[1] if held else ""


def _remember(key: str) -> None:
    st.session_state.setdefault("stored_ids", set()).add(key)


def _show_design(design: dict[str, Any], undoable: bool = False) -> None:
    uids = fresh_uids(len(design["layers"]))
    if undoable:
        commit(design, uids)
        return
    st.session_state.design, st.session_state.uids = design, uids
    clear_widgets()


def _open_short_link(key: str) -> None:
    db = get_store()
    if db is None:
        why = problem() or i18n.t("this server keeps no designs (no store is configured)")
        flash("error", i18n.t("The short link could not be opened: {error}.", error=why))
        return
    try:
        design = builder.load_spec(db.load_design(key)).to_dict()
    except store.StoreError as exc:
        flash("error", i18n.t("The short link could not be opened: {error}.", error=exc))
        return
    _show_design(design)
    _remember(key)
    flash("success", i18n.t("Opened the stored design."))


def _open_class(student_id: str) -> None:
    db = get_store()
    if db is None:
        why = problem() or i18n.t("none here")
        flash("error", i18n.t("The class link needs the design store: {error}.", error=why))
        return
    try:
        st.session_state.assignment = db.assignment(student_id)
        st.session_state.class_id = student_id
    except store.StoreError as exc:
        flash("error", i18n.t("The class link could not be opened: {error}.", error=exc))


def open_from_query() -> bool:
    """Once per session, after ``init_state``: ``?s=`` opens the stored design, ``?c=`` the class
    assignment (with Submit to teacher). Returns whether ``?t=`` asks for the teacher page."""
    if "store_opened" not in st.session_state:
        st.session_state.store_opened = True
        if st.query_params.get("s"):
            _open_short_link(st.query_params["s"])
        if st.query_params.get("c"):
            _open_class(st.query_params["c"])
    return bool(st.query_params.get("t"))


def link_for(design: dict[str, Any], fits: bool | None = None) -> str | None:
    """The ``?s=`` id for the design on screen: when this session stored or opened it, or when
    it is too large for ``?d=`` (then it is stored now). None keeps ``?d=``: no store, a store
    that is down, or a design not stored.

    Args:
        design: the design on screen.
        fits: whether it fits a ``?d=`` link, where the caller knows (saves packing it again).
    """
    if not configured():
        return None
    if fits is None:
        try:
            encode_design(design)
            fits = True
        except LinkTooLong:
            fits = False
    stored = st.session_state.get("stored_ids", ())
    if fits and not stored:  # the usual edit: nothing stored, nothing to hash
        return None
    key = store.design_id(builder.load_spec(design).to_json())
    if key in stored:
        return key
    return None if fits else _save(design)


def _save(design: dict[str, Any]) -> str | None:
    db = get_store()
    if db is None:
        return None
    try:
        key = db.save_design(design)
    except store.StoreError as exc:
        st.session_state.store_error = str(exc)
        return None
    _remember(key)
    return key


def _on_short_link() -> None:
    st.session_state.store_error = ""
    if _save(st.session_state.design) is None:
        why = st.session_state.store_error or problem()
        flash("error", i18n.t("No short link: {error}.", error=why))


def share_panel(design: dict[str, Any]) -> None:
    """The sidebar's short link: a button that stores the design; its ``?s=`` once stored."""
    if not configured():
        return
    lang = i18n.language()
    key = link_for(design)
    if key is None:
        st.button(
            i18n.translate("Short link", lang),
            key="short_link",
            icon=":material/link:",
            on_click=_on_short_link,
            help=i18n.translate(
                "store this design and put a short ?s= link in the address bar", lang
            ),
        )
        why = problem() or st.session_state.get("store_error", "")
        if why:
            st.caption(i18n.translate("Short links are unavailable: {error}", lang, error=esc(why)))
        return
    from .sidebar import copy_link_button  # the sidebar draws this panel: imported late

    st.caption(i18n.translate("Stored as `{key}`: the address holds `?s={key}`.", lang, key=key))
    label = i18n.translate("Copy short link", lang)
    copy_link_button(design, key="short", query=f"?s={key}", label=label)


# --- student: Submit to teacher ---------------------------------------------------------------


def _session_key() -> str:
    return st.session_state.setdefault("store_session", secrets.token_hex(16))


def submit_panel(design: dict[str, Any]) -> None:
    """On a class link (``?c=``): a display name and Submit to teacher."""
    student_id = st.session_state.get("class_id")
    if not student_id:
        return
    lang = i18n.language()
    not_submitted = "Not submitted: {error}. Your design stays here."
    with st.container(border=True, key="submit_panel"):
        cols = st.columns([3, 1], vertical_alignment="bottom")
        name = cols[0].text_input(
            i18n.translate("Your name, as your teacher will see it", lang),
            key="submit_name",
            max_chars=NAME_CHARS,
        )
        label = i18n.translate("Submit to teacher", lang)
        if cols[1].button(label, key="submit", icon=":material/send:"):
            db = get_store()
            if db is None:
                st.error(i18n.translate(not_submitted, lang, error=esc(problem())))
                return
            try:
                number = db.submit(student_id, name, design, session=_session_key())
            except store.StoreError as exc:
                st.error(i18n.translate(not_submitted, lang, error=esc(str(exc))))
                return
            st.session_state.submitted = number
            shown = esc(" ".join(name.split()))
            st.success(
                i18n.translate(
                    "Submitted as {split} (submission {number}).", lang, split=shown, number=number
                )
            )


# --- teacher: making the class links ----------------------------------------------------------


def _on_make_class() -> None:
    ss = st.session_state
    db = get_store()
    if db is None or ss.get("assignment") is None:
        why = problem() or i18n.t("set the assignment first")
        flash("error", i18n.t("No class links: {error}.", error=why))
        return
    try:
        design_key = db.save_design(ss.design)
        student, token = db.create_assignment(ss.assignment)
    except store.StoreError as exc:
        flash("error", i18n.t("No class links: {error}.", error=exc))
        return
    _remember(design_key)
    ss.class_links = {"student": f"?c={student}&s={design_key}", "teacher": f"?t={token}"}


def class_panel(design: dict[str, Any]) -> None:
    """In the teacher's sidebar, once an assignment is set: collect submissions in the store."""
    if not configured() or st.session_state.get("class_id"):
        return  # a student's page (opened from a class link) makes no classes
    if st.session_state.get("assignment") is None:
        return
    from .sidebar import copy_link_button

    lang = i18n.language()
    with st.sidebar.container(border=True, key="class_panel"):
        st.caption(
            i18n.translate("Collect the class's designs: students submit, you see a table.", lang)
        )
        st.button(
            i18n.translate("Make class links", lang),
            key="class_make",
            on_click=_on_make_class,
            width="stretch",
        )
        links = st.session_state.get("class_links")
        if links:
            student = i18n.translate("Copy student link", lang)
            teacher = i18n.translate("Copy teacher link", lang)
            copy_link_button(design, "class_student", links["student"], student)
            copy_link_button(design, "class_teacher", links["teacher"], teacher)
            st.caption(
                i18n.translate(
                    "Keep the teacher link secret: it is shown only now. It opens the table:", lang
                )
            )
            st.code(links["teacher"], language=None)


# --- teacher: the class table -----------------------------------------------------------------


def table_rows(rows: list[store.Submission]) -> pd.DataFrame:
    """The class table as data: one row per submission, a column per constraint."""
    records = []
    for r in rows:
        record: dict[str, Any] = {
            "no.": r.id,
            "name": r.name,
            "submitted (UTC)": r.submitted_at.strftime("%Y-%m-%d %H:%M:%S"),
            "passed": r.passed,
            "parameters": r.params,
            "output shape": str(list(r.output_shape)) if r.output_shape else "",
        }
        for label, passed, _ in r.checks:
            record[label] = passed
        record["duplicate of"] = r.duplicate_of or ""
        record["design"] = f"?s={r.design_id}"
        records.append(record)
    return pd.DataFrame(records)


def table_csv(frame: pd.DataFrame) -> bytes:
    """The class table as CSV (UTF-8), design links included."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(frame.columns))
    for row in frame.itertuples(index=False):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


SORTS = {
    N_("submission order"): ("no.", True),
    N_("name"): ("name", True),
    N_("parameters"): ("parameters", True),
    N_("passed first"): ("passed", False),
}
COLUMNS = (
    N_("no."),
    N_("name"),
    N_("submitted (UTC)"),
    N_("passed"),
    N_("parameters"),
    N_("output shape"),
    N_("duplicate of"),
    N_("design"),
)
"""The class table's fixed columns (shown in the reader's language; the data keeps English)."""


def _compare(db: store.Store, rows: list[store.Submission], lang: str) -> None:
    from .tabs.compare import _column  # the Compare tab's column, reused as it is

    labels = {f"#{r.id} {r.name}": r for r in rows}
    names = list(labels)
    cols = st.columns(2)
    first = cols[0].selectbox(i18n.translate("Compare", lang), names, key="class_a")
    second = cols[1].selectbox(
        i18n.translate("with", lang), names, index=min(1, len(names) - 1), key="class_b"
    )
    if st.button(i18n.translate("Open the first in the editor", lang), key="class_open"):
        design = builder.load_spec(db.load_design(labels[first].design_id)).to_dict()
        _remember(labels[first].design_id)
        st.query_params.pop("t", None)
        _show_design(design, undoable=True)
        st.rerun()
    with st.container(horizontal=True, gap="medium", key="compare_pair"):
        for side, label in enumerate((first, second)):
            with st.container(key=f"compare_side_{side}"):
                spec = builder.load_spec(db.load_design(labels[label].design_id))
                _column(label, spec, False, lang, key=f"{side}:{label}")  # Ann beside Ann


def teacher_page() -> None:
    """The class table for ``?t=<token>``: sortable, pass/fail per constraint, CSV, compare."""
    lang = i18n.language()
    db = get_store()
    if db is None:
        why = esc(problem() or i18n.translate("none here", lang))
        st.error(
            i18n.translate("The class table needs the design store: {error}.", lang, error=why)
        )
        return
    token = st.query_params.get("t")
    try:
        info = db.class_info(token)
        rows = db.submissions(token)
    except store.StoreError as exc:
        st.error(esc(str(exc)))
        return
    title = info.assignment.title or i18n.translate("Assignment", lang)
    st.markdown(i18n.translate("#### NetBuilder · class table · {title}", lang, title=esc(title)))
    st.caption(
        i18n.translate(
            "{count} submission(s). The assignment and its submissions are deleted on {date} UTC.",
            lang,
            count=len(rows),
            date=f"{info.expires_at:%Y-%m-%d %H:%M}",
        )
    )
    if not rows:
        st.info(i18n.translate("No submissions yet: share the student link.", lang))
        return
    frame = table_rows(rows)
    by = st.selectbox(
        i18n.translate("Sort by", lang),
        list(SORTS),
        key="class_sort",
        format_func=lambda name: i18n.translate(name, lang),
    )
    column, ascending = SORTS[by]
    frame = frame.sort_values(column, ascending=ascending, kind="stable", na_position="last")
    design = i18n.translate("design", lang)
    config = {
        design: st.column_config.LinkColumn(design, display_text=i18n.translate("open", lang))
    }
    shown = frame.rename(columns={name: i18n.translate(name, lang) for name in COLUMNS})
    st.dataframe(shown, hide_index=True, column_config=config, key="class_table")
    dupes = sum(1 for r in rows if r.duplicate_of)
    if dupes:
        st.warning(
            i18n.translate(
                "{count} submission(s) are the same design as an earlier one (duplicate of).",
                lang,
                count=dupes,
            )
        )
    st.download_button(
        i18n.translate("Download the table (.csv)", lang),
        data=table_csv(frame),
        file_name="class_table.csv",
        mime="text/csv",
        key="class_csv",
        on_click="ignore",
    )
    _compare(db, rows, lang)
