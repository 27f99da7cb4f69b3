"""In-app notifications: delivered into the `inbox` table, read by the dashboard.

Delivery is an insert keyed by the outbox row's dedupe key, so a re-delivery (a sender that died
between the insert and `mark_sent`) finds the row there and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from leadclock.notify._db import insert_ignoring, table
from leadclock.notify.channels import ChannelContext, Settings, register
from leadclock.notify.errors import NotifyError
from leadclock.notify.outbox import OutboxRow
from leadclock.store import Store
from leadclock.store.outbox_models import Inbox

_inbox = table(Inbox)


@dataclass(frozen=True, slots=True)
class InboxMessage:
    id: int
    recipient: str
    dedupe_key: str
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None


@register("inapp")
class InAppChannel:
    type = "inapp"

    def __init__(self, name: str, settings: Settings, context: ChannelContext) -> None:
        if context.store is None:
            raise NotifyError(f"channel {name!r}: the in-app channel needs the store")
        self.name = name
        self.store = context.store
        self.clock = context.clock or (lambda: datetime.now(UTC))

    def send(self, row: OutboxRow) -> None:
        values = {
            "recipient": row.recipient, "dedupe_key": row.dedupe_key, "subject": row.subject,
            "body": row.body_text, "created_at": self.clock(), "read_at": None,
        }
        statement = insert_ignoring(self.store, _inbox, _inbox.c.dedupe_key)
        with self.store._write() as connection:
            connection.execute(statement, [values])


def inbox(store: Store, recipient: str, *, unread_only: bool = False, limit: int = 100) -> list[InboxMessage]:
    """A recipient's notifications, newest first."""
    statement = select(_inbox).where(_inbox.c.recipient == recipient)
    if unread_only:
        statement = statement.where(_inbox.c.read_at.is_(None))
    statement = statement.order_by(_inbox.c.created_at.desc(), _inbox.c.id.desc()).limit(limit)
    with store._read() as connection:
        return [
            InboxMessage(r.id, r.recipient, r.dedupe_key, r.subject, r.body, r.created_at, r.read_at)
            for r in connection.execute(statement)
        ]


def unread_count(store: Store, recipient: str) -> int:
    with store._read() as connection:
        return int(connection.execute(
            select(func.count()).select_from(_inbox)
            .where(_inbox.c.recipient == recipient, _inbox.c.read_at.is_(None))
        ).scalar_one())


def mark_read(store: Store, message_id: int, now: datetime) -> bool:
    """False when there is no such unread message."""
    with store._write() as connection:
        result = connection.execute(
            update(_inbox).where(_inbox.c.id == message_id, _inbox.c.read_at.is_(None)).values(read_at=now)
        )
        return bool(result.rowcount)


__all__ = ["InAppChannel", "InboxMessage", "inbox", "mark_read", "unread_count"]
