"""The store: SQLAlchemy 2 schema, Alembic migrations and the repository the pipeline uses.

SQLite by default (WAL, foreign keys on, 30 s busy timeout), Postgres by URL. ``Store.open(url)``
checks the connection and migrates to the newest schema; ``migrate(url)`` does the migration alone.
"""

from lexprep.store.db import make_engine, migrate, safe_url
from lexprep.store.repository import (
    EXPORT_FILES,
    DocumentInfo,
    Store,
    chunk_id_for,
    matter_id_for,
    mention_id_for,
    relationship_id_for,
)

__all__ = [
    "EXPORT_FILES",
    "DocumentInfo",
    "Store",
    "chunk_id_for",
    "make_engine",
    "matter_id_for",
    "mention_id_for",
    "migrate",
    "relationship_id_for",
    "safe_url",
]
