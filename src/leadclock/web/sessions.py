"""Signed-in browsers: server-side sessions, their cookies and CSRF tokens.

The cookie holds 32 random bytes (URL-safe); the table keeps their sha256, so a copy of the
database cannot be replayed as a cookie. A session lives `SESSION_TTL` from sign-in (a working
day and some), and logout deletes its row: the old cookie is then worth nothing, which a stateless
signed cookie could not promise.

Each session has a CSRF secret of its own. Every POST form carries it in a hidden field (htmx
requests send it as the `X-CSRF-Token` header); a POST without the right one is refused with 403
before anything is read or written. The sign-in form, which has no session yet, uses a
double-submit cookie instead (`LOGIN_CSRF_COOKIE`): another site can neither read nor set it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, insert, select

from leadclock.store import Store
from leadclock.store.user_models import User, WebSession
from leadclock.web.accounts import UserInfo, _info

_users: Table = User.__table__  # type: ignore[assignment]
_sessions: Table = WebSession.__table__  # type: ignore[assignment]

SESSION_COOKIE = "leadclock_session"
LOGIN_CSRF_COOKIE = "leadclock_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_TTL = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: UserInfo
    csrf: str
    expires_at: datetime


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def open_session(store: Store, user_id: int, now: datetime) -> tuple[str, SignedIn]:
    """Start a session; returns the cookie value (shown once, never stored) and the session."""
    cookie = new_token()
    csrf = new_token()
    expires = now + SESSION_TTL
    with store._write() as connection:
        # Expired rows of anyone are dropped here, so the table does not grow without bound.
        connection.execute(delete(_sessions).where(_sessions.c.expires_at <= now))
        connection.execute(insert(_sessions), [{
            "id_hash": _digest(cookie), "user_id": user_id, "created_at": now, "expires_at": expires,
            "csrf_secret": csrf,
        }])
        row = connection.execute(select(_users).where(_users.c.id == user_id)).one()
    return cookie, SignedIn(_info(row), csrf, expires)


def find_session(store: Store, cookie: str | None, now: datetime) -> SignedIn | None:
    """The session behind a cookie: None when there is none, it expired, or its user is disabled."""
    if not cookie or len(cookie) > 200:
        return None
    statement = (
        select(_users, _sessions.c.csrf_secret, _sessions.c.expires_at)
        .join(_sessions, _sessions.c.user_id == _users.c.id)
        .where(_sessions.c.id_hash == _digest(cookie))
    )
    with store._read() as connection:
        row = connection.execute(statement).first()
    if row is None or row.expires_at <= now or row.disabled:
        return None
    return SignedIn(_info(row), row.csrf_secret, row.expires_at)


def close_session(store: Store, cookie: str | None) -> None:
    if cookie:
        with store._write() as connection:
            connection.execute(delete(_sessions).where(_sessions.c.id_hash == _digest(cookie)))


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing value on either side never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


__all__ = [
    "CSRF_FIELD", "CSRF_HEADER", "LOGIN_CSRF_COOKIE", "SESSION_COOKIE", "SESSION_TTL", "SignedIn",
    "close_session", "find_session", "new_token", "open_session", "same_token",
]
