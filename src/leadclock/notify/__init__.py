"""Notifications (F18): effects → messages → outbox → Slack, e-mail, signed webhooks, in-app.

- `plan.plan_messages`: who is told of which effects, on which channel, bundled against floods;
- `templates.render`: the message text in Japanese or English (Jinja2 templates per kind);
- `outbox`: the table messages wait in, with leases, retries, back-off and dead letters;
- `channels`: one plugin per channel type (`build_channels(policy)`);
- `sender.Sender`: the loop that delivers.

DESIGN principles 4 and 5: stored first, in the same transaction as the fact they report when
the caller can; delivered at least once, with the dedupe key handed to every receiver so that
"at least once" reads as "once".
"""

from leadclock.notify.channels import Channel, ChannelContext, build_channels, register
from leadclock.notify.errors import DeliveryError, NotifyError, PermanentError, TransientError
from leadclock.notify.outbox import (
    DEFAULT_RETRY,
    OutboxMessage,
    OutboxRow,
    RetryPolicy,
    claim,
    counts,
    enqueue,
    list_dead,
    list_rows,
    mark_dead,
    mark_failed,
    mark_sent,
    next_due,
    requeue,
)
from leadclock.notify.plan import DEFAULT_ROLES, plan_messages, rep_of, roles_for
from leadclock.notify.sender import Sender, SendReport
from leadclock.notify.templates import Rendered, render, render_digest

__all__ = [
    "DEFAULT_RETRY", "DEFAULT_ROLES", "Channel", "ChannelContext", "DeliveryError", "NotifyError",
    "OutboxMessage", "OutboxRow", "PermanentError", "Rendered", "RetryPolicy", "SendReport",
    "Sender", "TransientError", "build_channels", "claim", "counts", "enqueue", "list_dead",
    "list_rows", "mark_dead", "mark_failed", "mark_sent", "next_due", "plan_messages", "register",
    "render", "render_digest", "rep_of", "requeue", "roles_for",
]
