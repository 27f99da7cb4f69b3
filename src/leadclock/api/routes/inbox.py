"""The caller's in-app notifications (F18's in-app channel).

The inbox belongs to the person behind the token: its `rep` (a rep, or a manager's own rep id),
or else the token's name, which is how the in-app channel addresses people who are not reps.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import Table, select

from leadclock.api.auth import Principal
from leadclock.api.context import AppContext, get_context, require
from leadclock.api.errors import not_found
from leadclock.api.serialize import instant
from leadclock.notify.channels.inapp import InboxMessage, inbox, mark_read, unread_count
from leadclock.store.outbox_models import Inbox

router = APIRouter(tags=["inbox"])
_inbox: Table = Inbox.__table__  # type: ignore[assignment]


def recipient_of(principal: Principal) -> str:
    return principal.rep or principal.name


def _message(m: InboxMessage) -> dict[str, Any]:
    return {"id": m.id, "subject": m.subject, "body": m.body, "created_at": instant(m.created_at),
            "read_at": instant(m.read_at)}


@router.get("/inbox", summary="The caller's in-app messages, newest first")
def list_inbox(
    principal: Annotated[Principal, Depends(require("inbox"))],
    context: Annotated[AppContext, Depends(get_context)],
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    who = recipient_of(principal)
    messages = inbox(context.store, who, unread_only=unread, limit=limit)
    return {"recipient": who, "unread": unread_count(context.store, who), "items": [_message(m) for m in messages]}


@router.post("/inbox/{message_id}/read", summary="Mark one of the caller's messages read (idempotent)")
def read_message(
    message_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    principal: Annotated[Principal, Depends(require("inbox"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    who = recipient_of(principal)
    with context.store._read() as connection:
        row = connection.execute(
            select(_inbox.c.id).where(_inbox.c.id == message_id, _inbox.c.recipient == who)).first()
    if row is None:
        # Someone else's message is as absent as a missing one.
        raise not_found("message", message_id, field="message_id")
    mark_read(context.store, message_id, context.now())  # False when already read: still fine
    with context.store._read() as connection:
        read_at = connection.execute(select(_inbox.c.read_at).where(_inbox.c.id == message_id)).scalar()
    return {"id": message_id, "read_at": instant(read_at)}
