"""Persistence: SQLAlchemy 2 models, Alembic migrations and the `Store` every edge uses.

SQLite file by default (`--db PATH`), PostgreSQL by URL (`LEADCLOCK_DATABASE_URL`); the same code
and the same tests run on both (DESIGN principle 9).
"""

from leadclock.store.records import (
    AuditEntry,
    Breach,
    LeadRecord,
    LeadSummary,
    PolicyVersion,
    Rep,
)
from leadclock.store.repository import (
    ENV_URL,
    Store,
    StoreError,
    database_url,
    normalise_url,
    open_store,
)

__all__ = [
    "ENV_URL", "AuditEntry", "Breach", "LeadRecord", "LeadSummary", "PolicyVersion", "Rep",
    "Store", "StoreError", "database_url", "normalise_url", "open_store",
]
