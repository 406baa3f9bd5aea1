"""Alembic's environment: migrations run on the connection ``store.open_store`` hands over.

Run by ``store.migrate`` (never by a command line that reads an ini file): the caller puts an
open SQLAlchemy connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
