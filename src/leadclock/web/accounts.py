"""Dashboard users: create, list, verify a password, change locale, disable.

Passwords are hashed with argon2id (argon2-cffi's defaults, which follow RFC 9106's
recommendation); only the hash is stored. Verifying an unknown login still runs one argon2
verification against a fixed hash, so "no such user" and "wrong password" take the same time and
give the same answer: the sign-in form tells an attacker nothing about which logins exist.

Roles mean what they mean for API tokens (`leadclock.api.auth`): a manager needs a team, a rep
needs a rep id, and the same scoping functions decide what each sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from leadclock.api.auth import Principal
from leadclock.store import Store
from leadclock.store.user_models import LOCALES, USER_ROLES, User, WebSession

_users: Table = User.__table__  # type: ignore[assignment]
_sessions: Table = WebSession.__table__  # type: ignore[assignment]

_hasher = PasswordHasher()
# A hash of a password nobody has, verified when the login is unknown (constant-time failure).
_DUMMY_HASH = _hasher.hash("leadclock: no such user")

LOGIN_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte "password" is a denial of service


class AccountError(ValueError):
    """A bad value for a user, naming the field (CLI `--field`, form field)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    login: str
    display_name: str
    role: str
    team: str | None
    rep: str | None
    locale: str
    disabled: bool
    created_at: datetime

    def principal(self) -> Principal:
        """The same shape an API token gives, so `api.queries.scope_of` scopes pages exactly as it
        scopes the JSON API. `token_id` is the user id (nothing reads it as a token here)."""
        return Principal(self.id, self.login, self.role, self.team, self.rep)


def _info(row: Any) -> UserInfo:
    return UserInfo(row.id, row.login, row.display_name, row.role, row.team, row.rep, row.locale,
                    bool(row.disabled), row.created_at)


def check_user_fields(login: str, password: str, role: str, team: str | None, rep: str | None,
                      locale: str) -> None:
    if not LOGIN_PATTERN.fullmatch(login):
        raise AccountError("login", "1-100 characters: letters, digits, '.', '_', '@', '-', starting with a letter or digit")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if role not in USER_ROLES:
        raise AccountError("role", f"unknown role {role!r}; known: {', '.join(USER_ROLES)}")
    # A scoped role without its scope would see nothing (or, worse, be read as unscoped later).
    if role == "manager" and not team:
        raise AccountError("team", "a manager needs a team (the team whose numbers they see)")
    if role == "rep" and not rep:
        raise AccountError("rep", "a rep needs a rep id (the rep whose leads they see)")
    if locale not in LOCALES:
        raise AccountError("lang", f"must be one of {', '.join(LOCALES)}")


def create_user(
    store: Store, *, login: str, password: str, role: str, now: datetime, team: str | None = None,
    rep: str | None = None, locale: str = "ja", display_name: str | None = None,
) -> UserInfo:
    check_user_fields(login, password, role, team, rep, locale)
    row = {
        "login": login, "display_name": (display_name or login).strip() or login,
        "password_hash": _hasher.hash(password), "role": role, "team": team or None, "rep": rep or None,
        "locale": locale, "disabled": False, "created_at": now,
    }
    try:
        with store._write() as connection:
            user_id = connection.execute(insert(_users).returning(_users.c.id), [row]).scalar_one()
    except IntegrityError:
        raise AccountError("login", f"{login!r} is already taken") from None
    found = user_by_id(store, int(user_id))
    assert found is not None
    return found


def list_users(store: Store) -> list[UserInfo]:
    with store._read() as connection:
        return [_info(row) for row in connection.execute(select(_users).order_by(_users.c.login))]


def user_by_id(store: Store, user_id: int) -> UserInfo | None:
    with store._read() as connection:
        row = connection.execute(select(_users).where(_users.c.id == user_id)).first()
    return None if row is None else _info(row)


def verify_login(store: Store, login: str, password: str) -> UserInfo | None:
    """The user when the login exists, is enabled and the password matches; None otherwise, after
    the same amount of work in every case."""
    row = None
    if LOGIN_PATTERN.fullmatch(login) and len(password) <= MAX_PASSWORD:
        with store._read() as connection:
            row = connection.execute(select(_users).where(_users.c.login == login)).first()
    try:
        _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        # Parameters were raised since this hash was made: upgrade it while the password is known.
        with store._write() as connection:
            connection.execute(update(_users).where(_users.c.id == row.id)
                               .values(password_hash=_hasher.hash(password)))
    return _info(row)


def set_locale(store: Store, user_id: int, locale: str) -> None:
    if locale not in LOCALES:
        raise AccountError("lang", f"must be one of {', '.join(LOCALES)}")
    with store._write() as connection:
        connection.execute(update(_users).where(_users.c.id == user_id).values(locale=locale))


def set_disabled(store: Store, login: str, disabled: bool) -> bool:
    """Disable (or re-enable) a user; disabling also ends their sessions. False: no such login."""
    with store._write() as connection:
        user_id = connection.execute(select(_users.c.id).where(_users.c.login == login)).scalar()
        if user_id is None:
            return False
        connection.execute(update(_users).where(_users.c.id == user_id).values(disabled=disabled))
        if disabled:
            connection.execute(_sessions.delete().where(_sessions.c.user_id == user_id))
    return True


def set_password(store: Store, login: str, password: str) -> bool:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    with store._write() as connection:
        user_id = connection.execute(select(_users.c.id).where(_users.c.login == login)).scalar()
        if user_id is None:
            return False
        connection.execute(update(_users).where(_users.c.id == user_id)
                           .values(password_hash=_hasher.hash(password)))
        # A new password ends every session opened with the old one.
        connection.execute(_sessions.delete().where(_sessions.c.user_id == user_id))
    return True


__all__ = [
    "AccountError", "UserInfo", "check_user_fields", "create_user", "list_users", "set_disabled",
    "set_locale", "set_password", "user_by_id", "verify_login",
]
