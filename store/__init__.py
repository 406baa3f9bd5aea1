"""NetBuilder's store: short links for designs and a class gradebook, in SQLite or PostgreSQL.

``open_store(url)`` opens (and migrates) a database; see ``store.core`` for the API.
"""

from .core import (
    ENV_URL,
    MAX_DESIGN_BYTES,
    MAX_SUBMISSIONS,
    SUBMIT_RATE,
    ClassInfo,
    NotFound,
    Refused,
    Store,
    StoreError,
    Submission,
    Unavailable,
    default_url,
    design_id,
    open_store,
)

__all__ = [
    "ENV_URL",
    "MAX_DESIGN_BYTES",
    "MAX_SUBMISSIONS",
    "SUBMIT_RATE",
    "ClassInfo",
    "NotFound",
    "Refused",
    "Store",
    "StoreError",
    "Submission",
    "Unavailable",
    "default_url",
    "design_id",
    "open_store",
]
