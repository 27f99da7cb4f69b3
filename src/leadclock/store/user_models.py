"""People who sign in to the dashboard, and their sessions.

Kept apart from `models.py` (like `token_models.py`) because they belong to the web layer
(`leadclock.web.accounts`), but declared on the same `Base`, so `tests/test_store.py` holds them
to migration 0006 like every other table. `models.py` imports this module at its end.

- `users`: a login, a display name, an argon2 password hash (never the password), a role with the
  API's meaning (admin / ops / manager / rep; no `integration`: a CRM connector does not sign in),
  the team a manager sees, the rep id whose numbers a rep sees, the language of their pages.
  Disabled users are kept (their reviews in the audit trail still name them).
- `web_sessions`: one row per signed-in browser. The cookie carries a random id; only its sha256
  is stored, so a leaked database does not let anyone sign in. Logout deletes the row, so the old
  cookie stops working at once (a stateless signed cookie could not be taken back). Each session
  has its own CSRF secret, which every POST form must echo.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from leadclock.store.models import Base, SerialId

USER_ROLES = ("admin", "ops", "manager", "rep")
LOCALES = ("ja", "en")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(unique=True)
    display_name: Mapped[str]
    password_hash: Mapped[str]
    role: Mapped[str]
    team: Mapped[str | None]  # managers: the team they see
    rep: Mapped[str | None]  # reps: the rep id their leads are assigned to
    locale: Mapped[str] = mapped_column(default="ja")
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'ops', 'manager', 'rep')", name="role"),
        CheckConstraint("locale IN ('ja', 'en')", name="locale"),
    )


class WebSession(Base):
    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(primary_key=True)  # sha256 of the cookie's random id
    user_id: Mapped[int] = mapped_column(SerialId, ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    csrf_secret: Mapped[str]

    # "End every session of this user" (disable) and "drop expired ones" are both range scans.
    __table_args__ = (
        Index("ix_web_sessions_user_id", "user_id"),
        Index("ix_web_sessions_expires_at", "expires_at"),
    )


__all__ = ["LOCALES", "USER_ROLES", "User", "WebSession"]
