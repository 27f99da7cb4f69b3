"""API tokens: who may call the HTTP API, with which role and scope.

Kept apart from `models.py` because they belong to the API layer (`leadclock.api.auth`), but
declared on the same `Base`, so the same MetaData, naming convention and type map apply and
`tests/test_store.py` holds the table to migration 0003 like every other. `models.py` imports this
module at its end, so loading the models always loads this table too.

Only a hash of each secret is stored: a leaked database (or backup) does not leak working
credentials, and the plaintext is shown once, when the token is made.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadclock.store.models import Base, SerialId

# admin: everything; ops: read all, upload policies, escalate, keep the roster; manager: their
# team's leads; rep: their own leads; integration: post events only (a CRM connector).
TOKEN_ROLES = ("admin", "ops", "manager", "rep", "integration")


class ApiToken(Base):
    """One bearer token. The plaintext is `lc_<id>_<secret>`; `token_hash` is sha256(secret) in
    hex, unique so a lookup is one index probe. Revoked tokens are kept (not deleted) so the audit
    trail's actors still resolve to a name and a role."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    role: Mapped[str]
    team: Mapped[str | None]  # manager tokens: the team whose leads they see
    rep: Mapped[str | None]  # rep tokens: whose leads; any token: whose in-app inbox
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    # The database refuses a role the API would not understand, whoever writes the row.
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'ops', 'manager', 'rep', 'integration')", name="role"),
    )


__all__ = ["TOKEN_ROLES", "ApiToken"]
