"""Alembic migrations, run by `Store.upgrade()`; no alembic.ini is needed (see `Store.alembic_config`)."""
