"""Bearer tokens, roles and what each role may see.

Tokens look like `lc_<id>_<secret>`; the store keeps sha256(secret) only, and an API process keeps
a verified token a few seconds (`tokencache.py` says how soon a revocation bites). A request goes
through, in this order: authenticate (401), rate limit (429), authorise the route (403), then
scope the data (a lead outside the caller's scope is "not found", so its existence does not
leak).

Roles (DESIGN: API auth):
- admin: everything, including tokens;
- ops: reads everything; uploads policies, escalates by hand, keeps the roster;
- manager: the leads whose owner is on their team (or that name their team), reviews those
  breaches, escalates and asks for reassignment;
- rep: the leads they own or owned; may ask for a reassignment;
- integration: posts events (a CRM connector) and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, bindparam, insert, select, update

from leadclock.api.errors import ApiError
from leadclock.api.tokencache import TokenCache
from leadclock.store import Store
from leadclock.store.token_models import TOKEN_ROLES, ApiToken

_tokens: Table = ApiToken.__table__  # type: ignore[assignment]

PREFIX = "lc"
# last_used_at is a write; doing it on every request would serialise all readers behind SQLite's
# single writer. A minute's precision is enough to tell a live token from a forgotten one.
LAST_USED_PRECISION = timedelta(minutes=1)

HUMAN = frozenset({"admin", "ops", "manager", "rep"})

# Permission -> roles holding it. Routes name a permission, never a role, so this table is the
# whole policy and the authorization-matrix test reads against it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "events:write": frozenset({"admin", "integration"}),
    "leads:read": HUMAN,
    "leads:escalate": frozenset({"admin", "ops", "manager"}),
    "leads:reassign": frozenset({"admin", "manager", "rep"}),
    "breaches:review": frozenset({"admin", "manager"}),
    "reps:read": HUMAN,
    "reps:write": frozenset({"admin", "ops"}),
    "policies:read": HUMAN,
    "policies:write": frozenset({"admin", "ops"}),
    "audit:read": HUMAN,
    "reports:read": HUMAN,  # scoped in the route: a rep to themselves, a manager to their team
    "inbox": HUMAN,
    "notifications:read": frozenset({"admin", "ops"}),
    "notifications:write": frozenset({"admin", "ops"}),
    "metrics:read": frozenset({"admin", "ops"}),
    "tokens:admin": frozenset({"admin"}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as its token says."""

    token_id: int
    name: str
    role: str
    team: str | None = None
    rep: str | None = None

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        return f"{self.role}:{self.name}"

    @property
    def sees_everything(self) -> bool:
        return self.role in ("admin", "ops")

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    name: str
    role: str
    team: str | None
    rep: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _check_role(role: str, team: str | None, rep: str | None) -> None:
    if role not in TOKEN_ROLES:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(TOKEN_ROLES)}")
    # A scoped role without its scope would see nothing (or, worse, be read as unscoped later).
    if role == "manager" and not team:
        raise ValueError("a manager token needs a team")
    if role == "rep" and not rep:
        raise ValueError("a rep token needs a rep")


def create_token(
    store: Store,
    role: str,
    team: str | None = None,
    rep: str | None = None,
    name: str = "",
    *,
    now: datetime | None = None,
) -> str:
    """Make a token and return its plaintext: the only time it exists outside the caller's hands."""
    _check_role(role, team, rep)
    secret = secrets.token_urlsafe(32)
    row = {
        "token_hash": hash_secret(secret), "name": name or f"{role}-token", "role": role,
        "team": team or None, "rep": rep or None, "created_at": now or datetime.now(UTC),
        "revoked_at": None, "last_used_at": None,
    }
    with store._write() as connection:
        token_id = connection.execute(insert(_tokens).returning(_tokens.c.id), [row]).scalar_one()
    return f"{PREFIX}_{token_id}_{secret}"


def revoke_token(store: Store, token_id: int, *, now: datetime | None = None) -> bool:
    """False when there is no such token or it was already revoked."""
    with store._write() as connection:
        result = connection.execute(
            update(_tokens).where(_tokens.c.id == token_id, _tokens.c.revoked_at.is_(None))
            .values(revoked_at=now or datetime.now(UTC))
        )
        return bool(result.rowcount)


def list_tokens(store: Store) -> list[TokenInfo]:
    with store._read() as connection:
        rows = connection.execute(select(_tokens).order_by(_tokens.c.id)).all()
    return [
        TokenInfo(r.id, r.name, r.role, r.team, r.rep, r.created_at, r.revoked_at, r.last_used_at)
        for r in rows
    ]


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, field="Authorization",
                    headers={"WWW-Authenticate": 'Bearer realm="leadclock"'})


def parse_bearer(header: str | None) -> tuple[int, str]:
    """(token id, sha256 of its secret) from an `Authorization: Bearer lc_<id>_<secret>` header,
    or a 401. No I/O."""
    if not header:
        raise _unauthorized("missing Authorization header (Bearer token)")
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    prefix, _, rest = credentials.strip().partition("_")
    ident, _, secret = rest.partition("_")
    if prefix != PREFIX or not ident.isdigit() or not secret or len(ident) > 18:
        raise _unauthorized("malformed token (expected lc_<id>_<secret>)")
    return int(ident), hash_secret(secret)


def _use_due(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at >= LAST_USED_PRECISION


def cached_principal(cache: TokenCache, credentials: tuple[int, str], now: datetime) -> Principal | None:
    """The caller as `cache` knows it, without I/O; None when the database must be asked (not
    cached, expired, another secret, or its last_used_at is due for a write)."""
    entry = cache.get(*credentials)
    if entry is None or _use_due(entry.last_used_at, now):
        return None
    return entry.principal


# Built once: it has one parameter, and building a statement costs more CPU than the lookup.
_BY_ID = select(_tokens).where(_tokens.c.id == bindparam("token_id"))


def verify(store: Store, credentials: tuple[int, str], now: datetime, cache: TokenCache | None = None) -> Principal:
    """The principal behind `credentials` as the database says, or a 401; kept in `cache`."""
    token_id, digest = credentials
    generation = cache.generation if cache is not None else 0
    with store._read() as connection:
        row = connection.execute(_BY_ID, {"token_id": token_id}).first()
    # Compare the hashes in constant time, and answer the same for "no such id" and "wrong
    # secret", so the response tells an attacker nothing about which ids exist.
    expected = row.token_hash if row is not None else "0" * 64
    if not hmac.compare_digest(expected, digest) or row is None:
        raise _unauthorized("invalid token")
    if row.revoked_at is not None:
        raise _unauthorized("token revoked")
    last_used_at = row.last_used_at
    if _use_due(last_used_at, now):
        with store._write() as connection:
            connection.execute(update(_tokens).where(_tokens.c.id == row.id).values(last_used_at=now))
        last_used_at = now
    principal = Principal(row.id, row.name, row.role, row.team, row.rep)
    if cache is not None:
        cache.put(principal, row.token_hash, last_used_at, generation)
    return principal


def authenticate(store: Store, header: str | None, now: datetime, cache: TokenCache | None = None) -> Principal:
    """The principal behind an `Authorization: Bearer lc_<id>_<secret>` header, or a 401. With a
    `cache`, a token verified within its ttl is not read again (see `tokencache.py`)."""
    credentials = parse_bearer(header)
    if cache is not None:
        principal = cached_principal(cache, credentials, now)
        if principal is not None:
            return principal
    return verify(store, credentials, now, cache)


def authorize(principal: Principal, permission: str) -> None:
    if not principal.may(permission):
        raise ApiError(403, "forbidden", f"a {principal.role} token may not do this ({permission})")


__all__ = [
    "HUMAN", "PERMISSIONS", "Principal", "TokenInfo", "authenticate", "authorize", "cached_principal",
    "create_token", "hash_secret", "list_tokens", "parse_bearer", "revoke_token", "verify",
]
