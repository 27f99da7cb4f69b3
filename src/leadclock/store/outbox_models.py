"""The notification tables: the outbox the sender delivers from, and the in-app inbox.

Kept apart from `models.py` because they belong to the notification layer (`leadclock.notify`),
but declared on the same `Base`, so the same MetaData, naming convention and type map apply and
`tests/test_store.py` holds them to migration 0002 like every other table. `models.py` imports
this module at its end, so loading the models always loads these too.

The classes are named after their tables (not `...Row`): `leadclock.notify.outbox.OutboxRow` is
the plain record the notification code hands around.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from leadclock.store.models import Base, SerialId

# Status of an outbox row. A row is claimable while `next_attempt_at` is set and has passed:
# pending (never tried), failed (waiting for its retry), sending (leased; `next_attempt_at`
# equals `lease_until`, so a crashed sender's row comes back by itself). sent and dead clear it.
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "dead")


class Outbox(Base):
    """One message to one recipient on one channel (DESIGN principle 5).

    `dedupe_key` is unique: for a single effect it is (effect key, recipient, channel), for a
    digest the same made from its members, so planning the same facts twice stores one row.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(unique=True)
    channel: Mapped[str]  # the policy's channel name, e.g. "slack-sales"
    channel_type: Mapped[str]  # slack | email | webhook | inapp ("" when the name is unknown)
    recipient: Mapped[str]  # the address on that channel (user id, e-mail address, ...)
    locale: Mapped[str]
    subject: Mapped[str]
    body_text: Mapped[str]
    body_html: Mapped[str]
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # NULL once sent or dead: the index then holds live rows only, and the claim query is a
    # range scan over it however many sent rows accumulate.
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_owner: Mapped[str | None]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    bundle_key: Mapped[str | None]  # set on digests: recipient, channel and window


class Inbox(Base):
    """In-app notifications: what the `inapp` channel delivers to, read by the dashboard."""

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    recipient: Mapped[str] = mapped_column(index=True)
    # The outbox row's key: a re-delivery after a crash between insert and mark_sent is a no-op.
    dedupe_key: Mapped[str] = mapped_column(unique=True)
    subject: Mapped[str]
    body: Mapped[str]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


__all__ = ["OUTBOX_STATUSES", "Inbox", "Outbox"]
