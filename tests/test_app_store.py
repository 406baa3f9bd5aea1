"""The app with the store (AppTest): ``?s=`` opens a stored design; a teacher makes class links, students
submit, the teacher's ``?t=`` table shows them; no store, and a store that is down.

Real databases only: a SQLite file per test, and the PostgreSQL cluster of tests/postgres.py.
Parameters and shapes in the class table are checked against torch.
"""

from __future__ import annotations

import csv
import io
import socket
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

import builder
import store
from builder.presets import preset
from builder.share import encode_design
from tests.postgres import postgres_url  # noqa: F401  (the fixture)

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture(autouse=True)
def _clear_cache():
    st.cache_data.clear()
    yield


@pytest.fixture
def sqlite_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv(store.ENV_URL, url)
    return url


def app(query: dict | None = None, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def messages(at: AppTest) -> str:
    return " ".join(m.value for m in [*at.error, *at.success, *at.warning, *at.toast])


def wide(out: int) -> dict:
    """A small MLP on 64 features whose last layer has ``out`` outputs."""
    return {
        "name": f"Mlp{out}",
        "input_shape": [64],
        "layers": [
            {"type": "Linear", "out_features": 32},
            {"type": "ReLU"},
            {"type": "Linear", "out_features": out},
        ],
    }


def torch_facts(design: dict) -> tuple[int, tuple[int, ...]]:
    spec = builder.load_spec(design)
    model = builder.build_model(spec)
    with torch.no_grad():
        out = model(torch.zeros(1, *spec.input_shape))
    return sum(p.numel() for p in model.parameters()), tuple(out.shape[1:])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_short_link_opens_the_stored_design(backend, request, tmp_path, monkeypatch):
    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgresql"
        else f"sqlite:///{tmp_path / 's.db'}"
    )
    monkeypatch.setenv(store.ENV_URL, url)
    design = wide(7)
    key = store.open_store(url).save_design(design)
    at = app({"s": key})
    assert at.session_state["design"] == builder.load_spec(design).to_dict()
    assert at.query_params["s"] == key and "d" not in at.query_params
    assert "Opened the stored design" in messages(at)


def test_an_unknown_short_link_says_so_and_keeps_the_packed_link(sqlite_url):
    at = app({"s": "AAAAAAAAAAAA"})
    assert "could not be opened" in messages(at) and "no design is stored" in messages(at)
    shown = at.session_state["design"]
    assert shown == preset()
    assert at.query_params["d"] == encode_design(shown) and "s" not in at.query_params


def test_short_link_button_stores_the_design_and_the_address_follows(sqlite_url):
    at = app({"d": encode_design(wide(5))})
    assert "s" not in at.query_params
    at.button(key="short_link").click().run()
    key = at.query_params["s"]
    assert "d" not in at.query_params
    stored = store.open_store(sqlite_url).load_design(key)
    assert stored == builder.load_spec(wide(5)).to_dict()


def make_class(budget: int) -> dict:
    """The teacher's page: set a budget and a flat output of 10, make the class links."""
    at = app({"d": encode_design(wide(10))}, teacher_panel=True)
    at.number_input(key="as_budget").set_value(budget)
    at.radio(key="as_out_kind").set_value("flat [n]").run()
    at.number_input(key="as_out_n").set_value(10)
    at.button(key="as_make").click().run()
    at.button(key="class_make").click().run()
    assert not at.exception
    return at.session_state["class_links"]


def student_submits(link: str, name: str, design: dict | None = None) -> AppTest:
    query = dict(part.split("=", 1) for part in link.lstrip("?").split("&"))
    if design is not None:  # the student changed the design before submitting
        query.pop("s")
        query["d"] = encode_design(design)
    at = app(query)
    assert at.session_state["assignment"] is not None
    at.text_input(key="submit_name").input(name)
    at.button(key="submit").click().run()
    assert not at.exception
    return at


def test_students_submit_and_the_teacher_sees_the_class_table(sqlite_url):
    links = make_class(budget=2_500)
    budget_fits, shape_wrong = wide(10), wide(12)
    ann = student_submits(links["student"], "Ann")
    assert "Submitted as Ann" in messages(ann)
    assert ann.session_state["design"] == builder.load_spec(budget_fits).to_dict()
    student_submits(links["student"], "Bob")  # the same design: a duplicate of Ann's
    student_submits(links["student"], "Cy", shape_wrong)

    at = app({"t": links["teacher"][3:]})
    assert not at.error
    frame = at.dataframe[0].value
    assert list(frame["name"]) == ["Ann", "Bob", "Cy"]
    for (_, row), design in zip(frame.iterrows(), (budget_fits, budget_fits, shape_wrong)):
        params, shape = torch_facts(design)
        assert row["parameters"] == params and row["output shape"] == str(list(shape))
        assert row["passed"] == (params <= 2_500 and shape == (10,))
    assert list(frame["duplicate of"]) == ["", "Ann", ""]
    assert frame["design"][0] == frame["design"][1] != frame["design"][2]
    opened = app({"s": frame["design"][2].removeprefix("?s=")})  # a row's link opens its design
    assert opened.session_state["design"] == builder.load_spec(shape_wrong).to_dict()

    at.selectbox(key="class_sort").set_value("parameters").run()
    frame = at.dataframe[0].value
    assert list(frame["parameters"]) == sorted(frame["parameters"])
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download the table (.csv)" in labels
    rows = list(csv.DictReader(io.StringIO(store_csv(frame))))
    assert [r["name"] for r in rows] == list(frame["name"])
    assert [int(r["parameters"]) for r in rows] == list(frame["parameters"])

    at.selectbox(key="class_b").set_value("#3 Cy").run()  # compare Ann with Cy: two tables
    assert not at.exception and len(at.table) == 2


def store_csv(frame) -> str:
    from ui.store_view import table_csv

    return table_csv(frame).decode("utf-8")


def test_a_wrong_teacher_token_sees_nothing(sqlite_url):
    links = make_class(budget=10_000)
    student_submits(links["student"], "Ann")
    at = app({"t": links["teacher"][3:] + "x"})
    assert "not valid" in messages(at)
    assert not at.dataframe and "Ann" not in str(at.main)


def test_the_app_works_with_no_store(monkeypatch):
    monkeypatch.setenv(store.ENV_URL, "off")
    at = app({"s": "AAAAAAAAAAAA", "d": encode_design(wide(3))})
    assert "no store is configured" in messages(at)
    assert at.session_state["design"] == builder.load_spec(wide(3)).to_dict()
    assert at.query_params["d"] == encode_design(at.session_state["design"])
    assert "s" not in at.query_params
    assert not [b for b in at.button if b.key == "short_link"]


def test_a_store_that_is_down_keeps_the_design_on_screen_and_in_the_link(monkeypatch):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(store.ENV_URL, f"postgresql://nb@127.0.0.1:{port}/nb")
    packed = encode_design(wide(4))
    at = app({"d": packed})
    at.button(key="short_link").click().run()
    assert "No short link" in messages(at) and "cannot be reached" in messages(at)
    assert at.session_state["design"] == builder.load_spec(wide(4)).to_dict()
    assert at.query_params["d"] == encode_design(at.session_state["design"])
    assert "s" not in at.query_params
    at = app({"c": "AAAAAAAAAAAA", "d": packed})  # a class link while the store is down
    assert "needs the design store" in messages(at)
    assert at.query_params["d"] == encode_design(builder.load_spec(wide(4)).to_dict())
