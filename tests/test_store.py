"""The store against a real SQLite file (WAL) and a real PostgreSQL 15 cluster (tests/postgres.py).

Oracles: ``builder.load_spec`` for the normalized design, torch (``sum(p.numel())`` and a forward
pass) for the parameters and output shape recorded on a submission, Alembic's autogenerate
comparison for the migrated schema, and SQL counts read directly from the tables.
"""

from __future__ import annotations

import ast
import json
import random
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import torch
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import builder
import store
from builder.presets import preset
from builder.share import LinkTooLong, encode_design
from store import core
from store.schema import metadata
from tests.postgres import cluster, postgres_url  # noqa: F401  (the fixture)

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


@pytest.fixture(scope="module")
def pg_database(postgres_url):  # noqa: F811
    """One migrated database for this module's PostgreSQL runs, emptied before each test."""
    base = postgres_url.rsplit("/", 1)[0]
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS test_store")
        conn.exec_driver_sql("CREATE DATABASE test_store")
    engine.dispose()
    store.open_store(f"{base}/test_store").close()
    return f"{base}/test_store"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nb.db'}"
    url = request.getfixturevalue("pg_database")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE submissions, assignments, designs RESTART IDENTITY")
    engine.dispose()
    return url


@pytest.fixture
def db(url):
    s = store.open_store(url)
    yield s
    s.close()


def lenet(seed: int = 0, **changes) -> dict:
    design = preset()
    design["seed"] = seed
    design.update(changes)
    return design


def torch_facts(design: dict) -> tuple[int, tuple[int, ...]]:
    """Parameters and output shape from the built torch model itself."""
    spec = builder.load_spec(design)
    model = builder.build_model(spec)
    with torch.no_grad():
        out = model(torch.zeros(1, *spec.input_shape))
    return sum(p.numel() for p in model.parameters()), tuple(out.shape[1:])


def count(s: store.Store, table: str) -> int:
    with s.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


# --- schema -------------------------------------------------------------------------------------


def test_migrations_reach_head_and_match_the_tables_the_code_uses(db):
    script = ScriptDirectory(str(core.MIGRATIONS))
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_revision() == script.get_current_head()
        assert compare_metadata(context, metadata) == []
    store.open_store(db.engine.url.render_as_string(hide_password=False)).close()  # idempotent


def _top_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_layering_store_is_its_own_package():
    root = Path(__file__).resolve().parents[1]
    for path in (root / "store").rglob("*.py"):
        assert not _top_imports(path) & {"streamlit", "ui", "torch"}, path
    for path in (root / "builder").rglob("*.py"):
        assert "store" not in _top_imports(path), path


# --- designs ------------------------------------------------------------------------------------


def test_same_design_same_short_id_and_it_loads_back_normalized(db):
    design = lenet()
    key = db.save_design(design)
    assert len(key) <= 12 and URL_SAFE.fullmatch(key)
    # the same design spelt differently (keys reordered, its normalized form) gets the same id
    assert db.save_design(dict(reversed(list(design.items())))) == key
    assert db.save_design(builder.load_spec(design).to_dict()) == key
    assert db.load_design(key) == builder.load_spec(design).to_dict()
    others = {db.save_design(lenet(seed)) for seed in range(1, 21)}
    assert len(others) == 20 and key not in others
    assert count(db, "designs") == 21


def test_a_design_too_large_for_a_link_gets_a_short_one(db):
    rng = random.Random(7)
    layers = [  # per-layer initializers with random figures: they do not compress
        {
            "type": "Linear",
            "out_features": rng.randint(1, 4000),
            "name": f"l{rng.getrandbits(32):08x}",
            "init": {
                "weight": {"scheme": "normal", "mean": rng.random(), "std": rng.random() + 0.01},
                "bias": {"scheme": "uniform", "a": -rng.random(), "b": rng.random()},
            },
        }
        for _ in range(400)
    ]
    design = {"name": "Wide", "input_shape": [64], "layers": layers}
    with pytest.raises(LinkTooLong):
        encode_design(builder.load_spec(design).to_dict())
    key = db.save_design(design)
    assert len(key) <= 12
    assert db.load_design(key) == builder.load_spec(design).to_dict()


def test_malformed_ids_are_not_found_with_a_message(db):
    for bad in ("", "short", "x" * 13, "abc/def/ghi!", "' OR 1=1 --", None, 12, "ÄÖÜäöüßéèêëï"):
        with pytest.raises(store.NotFound, match="not a design id"):
            db.load_design(bad)


def test_unknown_id_is_not_found(db):
    with pytest.raises(store.NotFound, match="no design is stored"):
        db.load_design("A" * 12)


def test_invalid_and_oversized_designs_are_refused(db, monkeypatch):
    with pytest.raises(store.Refused, match="not a valid design"):
        db.save_design({"input_shape": [3], "layers": [{"type": "Nope"}]})
    small = lenet()
    monkeypatch.setattr(core, "MAX_DESIGN_BYTES", len(builder.load_spec(small).to_json()))
    db.save_design(small)  # exactly at the bound
    with pytest.raises(store.Refused, match="at most"):
        db.save_design(lenet(name="LeNetWithALongerName"))
    assert count(db, "designs") == 1


# --- assignments and submissions --------------------------------------------------------------


def test_tokens_are_long_random_secrets_and_only_their_hash_is_stored(db):
    pairs = [db.create_assignment({"title": "CNN"}) for _ in range(20)]
    students, tokens = zip(*pairs)
    assert len(set(students)) == len(set(tokens)) == 20
    for token in tokens:
        assert URL_SAFE.fullmatch(token) and len(token) * 6 >= 128
    with db.engine.connect() as conn:
        stored = " ".join(
            conn.execute(sa.text("SELECT token_hash, body FROM assignments")).scalars()
        )
    assert not any(token in stored for token in tokens)


def test_submissions_record_each_check_against_torch_and_flag_duplicates(db):
    rules = {"title": "Small CIFAR net", "max_params": 62_006, "output_shape": [10]}
    student, token = db.create_assignment(rules)
    assert db.assignment(student).to_dict() == rules
    fits = lenet()
    big = lenet()
    big["layers"][7] = {"type": "Linear", "out_features": 121}  # over budget, right shape
    wrong_shape = lenet(layers=lenet()["layers"][:-2])
    for name, design in (("Ann", fits), ("Bob", big), ("Cy", wrong_shape), ("Dee", fits)):
        db.submit(student, f"  {name}  ", design, session=name)
    rows = db.submissions(token)
    assert [r.name for r in rows] == ["Ann", "Bob", "Cy", "Dee"]
    for row, design in zip(rows, (fits, big, wrong_shape, fits)):
        params, shape = torch_facts(design)
        assert row.params == params and row.output_shape == shape
        verdicts = {label: passed for label, passed, _ in row.checks}
        assert verdicts["the design is valid"]
        assert verdicts["at most 62,006 parameters"] == (params <= 62_006)
        assert verdicts["output shape (10,)"] == (shape == (10,))
        assert row.passed == (params <= 62_006 and shape == (10,))
        assert db.load_design(row.design_id) == builder.load_spec(design).to_dict()
    assert [r.duplicate_of for r in rows] == [None, None, None, "Ann"]
    assert rows[0].design_id == rows[3].design_id != rows[1].design_id


def test_a_wrong_token_sees_nothing_and_learns_nothing(db):
    student, token = db.create_assignment({"title": "secret"})
    db.submit(student, "Ann", lenet())
    messages = set()
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), "", "x" * 500, None, student):
        with pytest.raises(store.NotFound) as caught:
            db.submissions(wrong)
        messages.add(str(caught.value))
        with pytest.raises(store.NotFound):
            db.class_info(wrong)
    assert len(messages) == 1 and "secret" not in messages.pop()


def test_unknown_class_link_and_bad_names_are_refused(db):
    student, _ = db.create_assignment({})
    with pytest.raises(store.NotFound):
        db.submit("B" * 12, "Ann", lenet())
    for name in ("", "   ", "x" * 61, "tab\tname\x00", None):
        with pytest.raises(store.Refused):
            db.submit(student, name, lenet())
    assert count(db, "submissions") == 0
    db.submit(student, "x" * 60, lenet())
    assert count(db, "submissions") == 1


def test_rate_limit_per_session(url):
    s = store.open_store(url, submit_rate=(3, 60.0))
    student, token = s.create_assignment({})
    for i in range(3):
        s.submit(student, f"A{i}", lenet(i), session="alice")
    with pytest.raises(store.Refused, match="too many submissions"):
        s.submit(student, "A3", lenet(3), session="alice")
    s.submit(student, "B", lenet(), session="bob")  # another session is not held back
    assert len(s.submissions(token)) == 4
    s.close()


def test_assignments_expire_and_their_data_is_deleted(url, monkeypatch):
    monkeypatch.setenv("NETBUILDER_ASSIGNMENT_DAYS", "2")
    now = [datetime(2026, 1, 1)]
    s = store.open_store(url, clock=lambda: now[0])
    student, token = s.create_assignment({"title": "T"})
    info = s.class_info(token)
    assert info.expires_at - info.created_at == timedelta(days=2)
    kept = s.save_design(lenet(99))  # a shared design outlives every assignment
    s.submit(student, "Ann", lenet(1))
    s.submit(student, "Bob", lenet(99))
    now[0] += timedelta(days=2, seconds=1)
    with pytest.raises(store.NotFound):
        s.submissions(token)
    fresh = store.open_store(url, clock=lambda: now[0])  # a replica started after the expiry
    with pytest.raises(store.NotFound):
        fresh.submit(student, "Late", lenet(2))  # its first use deletes the expired class
    fresh.close()
    assert s.purge_expired() == 0
    assert (count(s, "assignments"), count(s, "submissions")) == (0, 0)
    assert s.load_design(kept) == builder.load_spec(lenet(99)).to_dict()
    assert count(s, "designs") == 1  # Ann's design, held only by her submission, is gone
    s.close()


# --- concurrency and faults ---------------------------------------------------------------------


def test_eight_threads_fifty_operations_each_lose_nothing(db):
    student, token = db.create_assignment({"output_shape": [10]})
    saved: dict[str, dict] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(thread: int) -> None:
        try:
            for i in range(50):
                design = lenet(seed=thread * 1000 + i)
                if i % 2:
                    db.submit(student, f"t{thread}-{i}", design)
                else:
                    key = db.save_design(design)
                    with lock:
                        saved[key] = design
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(saved) == 8 * 25
    for key, design in saved.items():
        assert db.load_design(key) == builder.load_spec(design).to_dict()
    names = sorted(r.name for r in db.submissions(token))
    assert names == sorted(f"t{t}-{i}" for t in range(8) for i in range(1, 50, 2))
    assert count(db, "designs") == 8 * 50


def test_a_design_saved_by_one_replica_opens_on_another(pg_database):
    """Two processes, as two replicas: one saves and submits, this one loads and grades."""
    here = store.open_store(pg_database)
    student, token = here.create_assignment({"output_shape": [10]})
    other = (
        "import json, sys, store\n"
        "s = store.open_store(sys.argv[1])\n"
        "d = json.loads(sys.argv[3])\n"
        "key = s.save_design(d)\n"
        "s.submit(sys.argv[2], 'Ann', d)\n"
        "print(key)\n"
    )
    design = lenet(seed=4242)
    done = subprocess.run(
        [sys.executable, "-c", other, pg_database, student, json.dumps(design)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
        check=True,
    )
    key = done.stdout.strip().splitlines()[-1]
    assert here.load_design(key) == builder.load_spec(design).to_dict()
    (row,) = here.submissions(token)
    assert (row.name, row.design_id) == ("Ann", key)
    here.close()


def test_a_database_that_goes_down_gives_a_clear_message():
    pytest.importorskip("psycopg")
    from tests import postgres

    if not postgres.available():
        pytest.skip("PostgreSQL binaries not found")
    with cluster() as url:
        s = store.open_store(url)
        key = s.save_design(lenet())
    with pytest.raises(store.Unavailable, match="cannot be reached"):
        s.load_design(key)
    with pytest.raises(store.Unavailable, match="cannot be reached"):
        s.save_design(lenet(1))
    s.close()
    with pytest.raises(store.Unavailable, match="cannot be reached"):
        store.open_store(url)


def test_a_full_database_says_full(tmp_path):
    s = store.open_store(f"sqlite:///{tmp_path / 'full.db'}")
    with s.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
    s.engine.dispose()

    @sa.event.listens_for(s.engine, "connect")
    def _cap(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count={pages + 4}")

    with pytest.raises(store.Unavailable, match="full"):
        for seed in range(1000):
            s.save_design(lenet(seed, name=f"N{seed}" * 20))
    s.close()
