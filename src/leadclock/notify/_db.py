"""Small database helpers shared by the outbox and the in-app channel."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite

from leadclock.store import Store


def table(model: type) -> Table:
    # Declarative models expose `__table__` as a FromClause to type checkers; it is a Table.
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def insert_ignoring(store: Store, target: Table, key: Column[str]) -> postgresql.Insert | sqlite.Insert:
    """INSERT ... ON CONFLICT (key) DO NOTHING, spelled for the store's database (both have it)."""
    if store.dialect == "postgresql":
        return postgresql.insert(target).on_conflict_do_nothing(index_elements=[key])
    return sqlite.insert(target).on_conflict_do_nothing(index_elements=[key])
