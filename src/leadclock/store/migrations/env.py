"""Alembic environment. `Store.upgrade()` passes its own open connection in
`config.attributes["connection"]`, so the migration runs inside the Store's transaction (and on
SQLite with its pragmas); run by hand, it connects to `sqlalchemy.url` or LEADCLOCK_DATABASE_URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from leadclock.store.models import Base
from leadclock.store.repository import database_url

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or database_url(None)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine(_url())
    try:
        with engine.begin() as own:
            _configure(own)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
