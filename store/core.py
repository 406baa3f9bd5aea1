"""The store: designs by short content-addressed id, and assignments with their submissions.

One code path (SQLAlchemy Core) for SQLite and PostgreSQL; the schema is Alembic's
(``store/migrations``), brought to the newest revision when a store is opened.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

import builder
from builder.assignment import Assignment, check, load_assignment

from .schema import ID_CHARS, NAME_CHARS, assignments, designs, submissions

ENV_URL = "NETBUILDER_DATABASE_URL"
ENV_DAYS = "NETBUILDER_ASSIGNMENT_DAYS"
MAX_DESIGN_BYTES = 1_000_000  # canonical JSON of one stored design (a link holds 200 KB)
MAX_SUBMISSIONS = 2_000  # per assignment
SUBMIT_RATE = (5, 60.0)  # submissions per session: at most 5 in any 60 seconds
EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 366
TOKEN_BYTES = 24  # the teacher token: 192 bits
ID_RE = re.compile(rf"[A-Za-z0-9_-]{{{ID_CHARS}}}")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
PURGE_SECONDS = 3600.0  # a store deletes expired classes on its first use, then hourly
LOCK_KEY = 0x4E42_5354  # PostgreSQL advisory lock held while migrating ("NBST")


class StoreError(Exception):
    """Any failure of the store, with a message for a person."""


class NotFound(StoreError):
    """An unknown, malformed or expired id or token."""


class Refused(StoreError):
    """A request over a bound: too large, too many, too fast, or a bad display name."""


class Unavailable(StoreError):
    """The database cannot be reached, or is full."""


@dataclass(frozen=True)
class Submission:
    """One row of the class table.

    Attributes:
        id: the submission's number (increasing in submission order).
        name: the student's display name.
        submitted_at: when (UTC, naive).
        design_id: the stored design's id (``?s=``).
        params: its parameter count, None when it does not analyse.
        output_shape: its output shape, None when it does not analyse.
        checks: each constraint as (label, passed, detail).
        duplicate_of: the name on the earliest submission of the same design, or None.
    """

    id: int
    name: str
    submitted_at: datetime
    design_id: str
    params: int | None
    output_shape: tuple[int, ...] | None
    checks: tuple[tuple[str, bool, str], ...]
    duplicate_of: str | None = None

    @property
    def passed(self) -> bool:
        return all(passed for _, passed, _ in self.checks)


@dataclass(frozen=True)
class ClassInfo:
    """What a teacher token opens: the assignment, its student id and when it expires."""

    student_id: str
    assignment: Assignment
    created_at: datetime
    expires_at: datetime


def canonical(design: Any) -> str:
    """The normalized spec as canonical JSON (``load_spec``'s verdict on anything else)."""
    try:
        return builder.load_spec(design).to_json()
    except builder.SpecError as exc:
        raise Refused(f"not a valid design: {exc}") from None


def design_id(text: str) -> str:
    """The content address of canonical JSON: 12 base64url characters of its SHA-256."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode("ascii")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def default_url() -> str:
    """``$NETBUILDER_DATABASE_URL``, else a SQLite file in the user's data directory."""
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        return url
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'netbuilder' / 'netbuilder.db'}"


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3, not psycopg2
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        _sqlite_setup(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(f"unsupported database URL scheme {parsed.drivername!r}")
    return sa.create_engine(
        parsed,
        pool_size=8,
        max_overflow=8,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )


def _sqlite_setup(engine: Engine) -> None:
    """WAL, a busy wait, foreign keys, and writes that take the write lock at BEGIN (no
    deadlock between two readers that both want to write)."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin event below emits BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("nb_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def migrate(engine: Engine) -> None:
    """Bring the schema to Alembic's head (one migrator at a time on PostgreSQL)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                conn.commit()


def _friendly(exc: sa.exc.DBAPIError) -> Unavailable:
    text = str(exc.orig if exc.orig is not None else exc).lower()
    if "full" in text or "no space" in text or "quota" in text:
        return Unavailable("the design store is full; the design stays on screen")
    return Unavailable("the design store cannot be reached right now; the design stays on screen")


def open_store(url: str | None = None, **options: Any) -> Store:
    """Open (and migrate) the store at ``url`` (default: ``default_url()``).

    Keyword options are ``Store``'s: ``expiry_days``, ``submit_rate``, ``clock``.

    Raises:
        Unavailable: the database cannot be reached or migrated.
    """
    engine = _engine(url or default_url())
    try:
        migrate(engine)
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise _friendly(exc) from exc
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"bad database URL: {exc}") from None
    return Store(engine, **options)


class Store:
    """Designs, assignments and submissions in one database; safe to share between threads."""

    def __init__(
        self,
        engine: Engine,
        expiry_days: float | None = None,
        submit_rate: tuple[int, float] = SUBMIT_RATE,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if expiry_days is None:
            expiry_days = float(os.environ.get(ENV_DAYS) or EXPIRY_DAYS)
        if not 0 < expiry_days <= MAX_EXPIRY_DAYS:
            raise StoreError(f"expiry_days must be in (0, {MAX_EXPIRY_DAYS}], got {expiry_days}")
        self.engine = engine
        self.expiry = timedelta(days=expiry_days)
        self.submit_rate = submit_rate
        self.clock = clock
        self._recent: dict[str, deque[float]] = {}
        self._purged = -PURGE_SECONDS  # monotonic time of the last purge of expired classes
        self._lock = threading.Lock()
        self.dialect = engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Connection]:
        """One transaction; database failures become ``Unavailable`` with a person's message."""
        engine = self.engine.execution_options(nb_write=True) if write else self.engine
        try:
            with engine.begin() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise _friendly(exc) from exc

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    # --- designs ----------------------------------------------------------------------------

    def _put_design(self, conn: Connection, text: str, shared: bool) -> str:
        key = design_id(text)
        row = {"id": key, "body": text, "bytes": len(text), "shared": shared}
        done = conn.execute(
            self._insert(designs).values(**row, created_at=self.clock()).on_conflict_do_nothing()
        )
        if done.rowcount == 0:
            body, was_shared = conn.execute(
                sa.select(designs.c.body, designs.c.shared).where(designs.c.id == key)
            ).one()
            if body != text:  # 72 bits: not expected in the life of the universe, still refused
                raise StoreError("two designs share one id; this design cannot be stored")
            if shared and not was_shared:
                conn.execute(designs.update().where(designs.c.id == key).values(shared=True))
        return key

    def save_design(self, design: Mapping[str, Any]) -> str:
        """Store the normalized design; return its id (the same design, the same id).

        Raises:
            Refused: not a valid design, or over ``MAX_DESIGN_BYTES``.
            Unavailable: the database is down or full.
        """
        text = self._bounded(design)
        with self._tx(write=True) as conn:
            return self._put_design(conn, text, shared=True)

    def _bounded(self, design: Any) -> str:
        text = canonical(design)
        if len(text.encode("utf-8")) > MAX_DESIGN_BYTES:
            raise Refused(
                f"this design is {len(text):,} bytes as JSON; the store holds designs of at most "
                f"{MAX_DESIGN_BYTES:,}"
            )
        return text

    def load_design(self, key: Any) -> dict[str, Any]:
        """The design stored under ``key``.

        Raises:
            NotFound: a malformed or unknown id.
        """
        if not isinstance(key, str) or not ID_RE.fullmatch(key):
            shown = repr(key)[:40]
            raise NotFound(f"{shown} is not a design id ({ID_CHARS} letters, digits, - or _)")
        with self._tx() as conn:
            body = conn.execute(sa.select(designs.c.body).where(designs.c.id == key)).scalar()
        if body is None:
            raise NotFound(f"no design is stored under {key!r} (it may have expired)")
        return json.loads(body)

    # --- assignments ------------------------------------------------------------------------

    def create_assignment(
        self, assignment: Assignment | Mapping[str, Any], days: float | None = None
    ) -> tuple[str, str]:
        """Open a class: returns (student id for the class link, the teacher's secret token).

        Only the token's SHA-256 is stored; the token is shown once, to the teacher.
        """
        if not isinstance(assignment, Assignment):
            try:
                assignment = load_assignment(assignment)
            except builder.SpecError as exc:
                raise Refused(str(exc)) from None
        expiry = self.expiry if days is None else timedelta(days=days)
        if not timedelta(0) < expiry <= timedelta(days=MAX_EXPIRY_DAYS):
            raise Refused(f"an assignment lasts up to {MAX_EXPIRY_DAYS} days")
        self._maybe_purge()
        student, token = secrets.token_urlsafe(9), secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock()
        with self._tx(write=True) as conn:
            conn.execute(
                assignments.insert().values(
                    id=student,
                    token_hash=_token_hash(token),
                    body=json.dumps(assignment.to_dict(), sort_keys=True),
                    created_at=now,
                    expires_at=now + expiry,
                )
            )
        return student, token

    def _live_assignment(self, conn: Connection, where: Any) -> Any:
        return conn.execute(
            sa.select(assignments).where(where, assignments.c.expires_at > self.clock())
        ).first()

    def assignment(self, student_id: Any) -> Assignment:
        """The assignment a class link opens.

        Raises:
            NotFound: unknown, malformed or expired.
        """
        if not isinstance(student_id, str) or not ID_RE.fullmatch(student_id):
            raise NotFound("this class link is not valid")
        with self._tx() as conn:
            row = self._live_assignment(conn, assignments.c.id == student_id)
        if row is None:
            raise NotFound("this class link is unknown or its assignment has expired")
        return load_assignment(json.loads(row.body))

    def _by_token(self, conn: Connection, token: Any) -> Any:
        """The live assignment of a teacher token; None for any wrong token (no hint why)."""
        text = token if isinstance(token, str) and len(token) <= 200 else ""
        digest = _token_hash(text)
        row = self._live_assignment(conn, assignments.c.token_hash == digest)
        stored = row.token_hash if row is not None else "0" * 64
        same = hmac.compare_digest(stored.encode("ascii"), digest.encode("ascii"))
        return row if row is not None and same and text else None

    def class_info(self, token: Any) -> ClassInfo:
        """What a teacher token opens. Raises NotFound for any wrong or expired token."""
        with self._tx() as conn:
            row = self._by_token(conn, token)
        if row is None:
            raise NotFound("this teacher link is not valid (or its assignment has expired)")
        info = load_assignment(json.loads(row.body))
        return ClassInfo(row.id, info, row.created_at, row.expires_at)

    # --- submissions ------------------------------------------------------------------------

    def _throttle(self, session: str | None) -> None:
        if session is None:
            return
        count, window = self.submit_rate
        now = time.monotonic()
        with self._lock:
            if len(self._recent) > 10_000:  # forget idle sessions
                for key in [k for k, q in self._recent.items() if not q or q[-1] < now - window]:
                    del self._recent[key]
            times = self._recent.setdefault(session, deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= count:
                wait = int(times[0] + window - now) + 1
                raise Refused(f"too many submissions: try again in {wait} s")
            times.append(now)

    def submit(
        self, student_id: Any, name: Any, design: Mapping[str, Any], session: str | None = None
    ) -> int:
        """Hand a design in under a display name; it is checked against the assignment.

        Args:
            session: the submitter's session key, for the rate limit (None: not limited).

        Raises:
            NotFound: the class link is unknown or expired.
            Refused: bad name, design too large or invalid, too many submissions.
        """
        if not isinstance(name, str) or not name.strip() or not name.strip().isprintable():
            raise Refused("give a display name (printable text)")
        name = " ".join(name.split())
        if len(name) > NAME_CHARS:
            raise Refused(f"a display name has at most {NAME_CHARS} characters")
        text = self._bounded(design)
        self._maybe_purge()
        assignment = self.assignment(student_id)
        facts = _facts(assignment, json.loads(text))
        self._throttle(session)
        with self._tx(write=True) as conn:
            if self._live_assignment(conn, assignments.c.id == student_id) is None:
                raise NotFound("this class link is unknown or its assignment has expired")
            many = conn.execute(
                sa.select(sa.func.count()).where(submissions.c.assignment_id == student_id)
            ).scalar_one()
            if many >= MAX_SUBMISSIONS:
                raise Refused(f"this assignment has its {MAX_SUBMISSIONS:,} submissions already")
            key = self._put_design(conn, text, shared=False)
            return conn.execute(
                submissions.insert()
                .values(
                    assignment_id=student_id,
                    name=name,
                    design_id=key,
                    submitted_at=self.clock(),
                    **facts,
                )
                .returning(submissions.c.id)
            ).scalar_one()

    def submissions(self, token: Any) -> list[Submission]:
        """The class table, oldest first. Raises NotFound for any wrong or expired token."""
        with self._tx() as conn:
            row = self._by_token(conn, token)
            if row is None:
                raise NotFound("this teacher link is not valid (or its assignment has expired)")
            rows = conn.execute(
                sa.select(submissions)
                .where(submissions.c.assignment_id == row.id)
                .order_by(submissions.c.id)
            ).all()
        first: dict[str, str] = {}
        out = []
        for r in rows:
            shape = json.loads(r.output_shape) if r.output_shape else None
            out.append(
                Submission(
                    r.id,
                    r.name,
                    r.submitted_at,
                    r.design_id,
                    r.params,
                    tuple(shape) if shape is not None else None,
                    tuple((c[0], bool(c[1]), c[2]) for c in json.loads(r.checks)),
                    first.get(r.design_id),
                )
            )
            first.setdefault(r.design_id, r.name)
        return out

    def _maybe_purge(self) -> None:
        """Purge expired classes if the last purge was over ``PURGE_SECONDS`` ago."""
        with self._lock:
            if time.monotonic() - self._purged < PURGE_SECONDS:
                return
            self._purged = time.monotonic()
        self.purge_expired()

    def purge_expired(self) -> int:
        """Delete expired assignments, their submissions, and designs only they held."""
        now = self.clock()
        with self._tx(write=True) as conn:
            gone = conn.execute(
                sa.select(assignments.c.id).where(assignments.c.expires_at <= now)
            ).scalars()
            gone = list(gone)
            if not gone:
                return 0
            conn.execute(submissions.delete().where(submissions.c.assignment_id.in_(gone)))
            conn.execute(assignments.delete().where(assignments.c.id.in_(gone)))
            used = sa.select(submissions.c.design_id).where(submissions.c.design_id == designs.c.id)
            conn.execute(designs.delete().where(~designs.c.shared, ~sa.exists(used)))
        return len(gone)


def _facts(assignment: Assignment, design: dict[str, Any]) -> dict[str, Any]:
    """Parameters, output shape and each constraint's verdict, by ``builder.assignment.check``."""
    analysis = builder.analyze(builder.load_spec(design))
    checks = check(assignment, [layer["type"] for layer in design["layers"]], analysis)
    shape = list(analysis.output_shape) if analysis.ok and analysis.output_shape else None
    return {
        "params": analysis.total_params if analysis.ok else None,
        "output_shape": json.dumps(shape) if shape is not None else None,
        "checks": json.dumps([[c.label, c.passed, c.detail] for c in checks]),
    }
