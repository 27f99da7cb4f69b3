"""Shared fixtures. `store` runs each store test on SQLite and on PostgreSQL (DESIGN principle 9).

PostgreSQL: LEADCLOCK_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test.
Each test gets a schema of its own (search_path), dropped afterwards. When the server cannot be
reached, the PostgreSQL half fails under CI (CI set) and is skipped elsewhere: CI must never turn
green by not testing. Select a half with `-m postgres` or `-m "not postgres"`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from leadclock.store import Store, normalise_url

POSTGRES_ENV = "LEADCLOCK_TEST_POSTGRES_URL"
POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"postgres: needs the PostgreSQL server ({POSTGRES_ENV}); fails under CI if unreachable"
    )


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _libpq_url(url: str) -> str:
    # psycopg wants a libpq URL: no "+psycopg" driver suffix.
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL, checked once per session."""
    url = normalise_url(os.environ.get(POSTGRES_ENV) or POSTGRES_DEFAULT)
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        message = (
            f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} is unreachable "
            f"({' '.join(str(error).split())}); set {POSTGRES_ENV} or start the server: "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose connections live in a fresh, empty schema; the schema is dropped afterwards."""
    schema = f"lc_test_{uuid.uuid4().hex[:12]}"
    admin = _libpq_url(postgres_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield (
            make_url(postgres_url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database's URL, once per backend (for tests that drive the CLI or open a Store)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'leadclock.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated, empty Store on each backend."""
    opened = Store(db_url)
    try:
        opened.upgrade()
        yield opened
    finally:
        # Dispose before the schema is dropped, so no pooled connection holds a lock on it.
        opened.close()
