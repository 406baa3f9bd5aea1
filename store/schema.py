"""The store's tables, as SQLAlchemy Core metadata (the code's view of the schema).

The schema itself is made and changed only by the Alembic migrations in ``store/migrations``;
``tests/test_store.py`` checks that the migrated database matches these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

ID_CHARS = 12  # a design id and a student id: 72 bits as base64url
NAME_CHARS = 60  # a student's display name

metadata = MetaData()

designs = Table(
    "designs",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),  # content address of the normalized spec
    Column("body", Text, nullable=False),  # canonical JSON (sorted keys)
    Column("bytes", Integer, nullable=False),
    Column("shared", Boolean, nullable=False),  # saved for a link (kept), not only submitted
    Column("created_at", DateTime, nullable=False),  # naive UTC
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),  # the student id (in the class link)
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the teacher token
    Column("body", Text, nullable=False),  # the assignment's JSON
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False, index=True),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "assignment_id",
        String(ID_CHARS),
        ForeignKey("assignments.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", String(NAME_CHARS), nullable=False),
    Column("design_id", String(ID_CHARS), ForeignKey("designs.id"), nullable=False, index=True),
    Column("submitted_at", DateTime, nullable=False),
    Column("params", BigInteger, nullable=True),  # None when the design does not analyse
    Column("output_shape", String(64), nullable=True),  # JSON list, None when unknown
    Column("checks", Text, nullable=False),  # JSON [[label, passed, detail], ...]
)
