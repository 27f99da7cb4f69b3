"""Reads the API needs that the Store does not offer: scoped, filtered, paginated lists.

Written as SQLAlchemy Core over the store's own tables and connections (as `leadclock.notify`
does), because the Store's list methods return every row and the API must filter and page in the
database: a rep listing their ten leads must not load a hundred thousand.

Scope (DESIGN: API auth): admin and ops see everything; a manager sees the leads whose owner is
on their team (reps.team) or that name the team themselves (`team` on lead.created, useful before
assignment); a rep sees the leads they own or owned (every lead.assigned / handoff.accepted that
named them, which is how the engine builds `owners`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, false, func, or_, select, true
from sqlalchemy.dialects import postgresql

from leadclock.api.auth import Principal
from leadclock.engine.state import Clock, Effect
from leadclock.store import AuditEntry, Breach, LeadSummary, PolicyVersion, Store
from leadclock.store.models import (
    AuditRow,
    BreachRow,
    ClockRow,
    EffectRow,
    EventRow,
    LeadRow,
    PolicyVersionRow,
    RepRow,
)
from leadclock.store.outbox_models import Outbox

_leads: Table = LeadRow.__table__  # type: ignore[assignment]
_clocks: Table = ClockRow.__table__  # type: ignore[assignment]
_breaches: Table = BreachRow.__table__  # type: ignore[assignment]
_audit: Table = AuditRow.__table__  # type: ignore[assignment]
_events: Table = EventRow.__table__  # type: ignore[assignment]
_effects: Table = EffectRow.__table__  # type: ignore[assignment]
_reps: Table = RepRow.__table__  # type: ignore[assignment]
_policies: Table = PolicyVersionRow.__table__  # type: ignore[assignment]
_outbox: Table = Outbox.__table__  # type: ignore[assignment]

OWNING_EVENTS = ("lead.assigned", "handoff.accepted")
CLOCK_FIELDS = [c.name for c in _clocks.columns]
# The audit action that makes a stored policy the active one (an upload of content already stored
# keeps its first row, so "newest row" alone could not re-activate an older version).
POLICY_ACTIVATED = "policy.activated"


@dataclass(frozen=True, slots=True)
class Scope:
    everything: bool
    team: str | None = None
    rep: str | None = None

    def lead_condition(self) -> ColumnElement[bool]:
        """A WHERE clause on `leads` selecting what this scope may see."""
        if self.everything:
            return true()
        if self.team is not None:
            members = select(_reps.c.id).where(_reps.c.team == self.team)
            return or_(_leads.c.owner.in_(members), _leads.c.attributes["team"].as_string() == self.team)
        if self.rep is not None:
            owned = select(_events.c.lead).where(
                _events.c.type.in_(OWNING_EVENTS), _events.c.data["rep"].as_string() == self.rep
            )
            return or_(_leads.c.owner == self.rep, _leads.c.id.in_(owned))
        return false()

    def lead_ids(self) -> Select[Any]:
        return select(_leads.c.id).where(self.lead_condition())


def scope_of(principal: Principal) -> Scope:
    if principal.sees_everything:
        return Scope(everything=True)
    if principal.role == "manager":
        return Scope(everything=False, team=principal.team)
    if principal.role == "rep":
        return Scope(everything=False, rep=principal.rep)
    return Scope(everything=False)  # integration tokens read nothing


def sees_lead(store: Store, scope: Scope, lead: LeadSummary) -> bool:
    if scope.everything:
        return True
    if scope.rep is not None:
        return lead.owner == scope.rep or scope.rep in lead.owners
    if scope.team is not None:
        if lead.attributes.get("team") == scope.team:
            return True
        return lead.owner is not None and rep_team(store, lead.owner) == scope.team
    return False


def rep_team(store: Store, rep: str) -> str | None:
    with store._read() as connection:
        team: str | None = connection.execute(select(_reps.c.team).where(_reps.c.id == rep)).scalar()
    return team


# --------------------------------------------------------------------------- rows -> records


def summary(row: Any) -> LeadSummary:
    return LeadSummary(
        id=row.id, source=row.source, tier=row.tier, status=row.status, owner=row.owner,
        created_at=row.created_at, within_sla=row.within_sla, arrived_after_hours=row.arrived_after_hours,
        first_contact_at=row.first_contact_at, reached_at=row.reached_at, attempts=row.attempts,
        last_event_at=row.last_event_at, handoff_to=row.handoff_to, owners=list(row.owners or []),
        attributes=row.attributes or {}, updated_at=row.updated_at, policy_version=row.policy_version,
    )


def _clock(row: Any) -> Clock:
    return Clock(**{name: getattr(row, name) for name in CLOCK_FIELDS if name in Clock.__dataclass_fields__})


def _effect(row: Any) -> Effect:
    return Effect(kind=row.kind, at=row.at, lead=row.lead, stage=row.stage, rule=row.rule, step=row.step,
                  recipients=tuple(row.recipients or ()), owner=row.owner, detail=row.detail or {})


def _breach(row: Any) -> Breach:
    return Breach(lead=row.lead, stage=row.stage, seq=row.seq, at=row.at, owner=row.owner,
                  category=row.category, note=row.note, reviewed_by=row.reviewed_by,
                  reviewed_at=row.reviewed_at)


def _audit_entry(row: Any) -> AuditEntry:
    return AuditEntry(at=row.at, actor=row.actor, action=row.action, lead=row.lead, reason=row.reason,
                      detail=row.detail or {}, id=row.id)


# --------------------------------------------------------------------------- lists


def leads(
    store: Store, scope: Scope, *, status: str | None = None, owner: str | None = None,
    breached: bool | None = None, limit: int = 100, offset: int = 0,
) -> list[LeadSummary]:
    statement = select(_leads).where(scope.lead_condition())
    if status is not None:
        statement = statement.where(_leads.c.status == status)
    if owner is not None:
        statement = statement.where(_leads.c.owner == owner)
    if breached is not None:
        statement = statement.where(_leads.c.within_sla == (not breached))
    statement = statement.order_by(_leads.c.created_at.asc().nulls_last(), _leads.c.id).limit(limit).offset(offset)
    with store._read() as connection:
        return [summary(row) for row in connection.execute(statement)]


def clocks(
    store: Store, scope: Scope, *, open_only: bool = False, due_before: datetime | None = None,
    lead: str | None = None, stage: str | None = None, limit: int = 500, offset: int = 0,
) -> list[Clock]:
    statement = select(_clocks)
    if not scope.everything:
        statement = statement.where(_clocks.c.lead.in_(scope.lead_ids()))
    if open_only:
        statement = statement.where(_clocks.c.outcome == "open")
    if due_before is not None:
        statement = statement.where(_clocks.c.due_at < due_before)
    if lead is not None:
        statement = statement.where(_clocks.c.lead == lead)
    if stage is not None:
        statement = statement.where(_clocks.c.stage == stage)
    statement = statement.order_by(
        _clocks.c.due_at.asc().nulls_last(), _clocks.c.lead, _clocks.c.stage, _clocks.c.seq
    ).limit(limit).offset(offset)
    with store._read() as connection:
        return [_clock(row) for row in connection.execute(statement)]


def breaches(
    store: Store, scope: Scope, *, lead: str | None = None, reviewed: bool | None = None,
    since: datetime | None = None, limit: int = 500, offset: int = 0,
) -> list[Breach]:
    statement = select(_breaches)
    if not scope.everything:
        statement = statement.where(_breaches.c.lead.in_(scope.lead_ids()))
    if lead is not None:
        statement = statement.where(_breaches.c.lead == lead)
    if reviewed is not None:
        column = _breaches.c.reviewed_by
        statement = statement.where(column.is_not(None) if reviewed else column.is_(None))
    if since is not None:
        statement = statement.where(_breaches.c.at >= since)
    statement = statement.order_by(
        _breaches.c.at.desc(), _breaches.c.lead, _breaches.c.stage, _breaches.c.seq
    ).limit(limit).offset(offset)
    with store._read() as connection:
        return [_breach(row) for row in connection.execute(statement)]


def breach_suggestions(store: Store, found: list[Breach]) -> dict[tuple[str, str, int], Any]:
    """F24's automatic root cause for each breach (`reports.root_causes.suggest_for`), under the
    active policy (the base preset on a store without one)."""
    from leadclock.policy import load_preset
    from leadclock.reports.root_causes import suggest_for

    version = active_version(store)
    policy = (store.load_policy(version) if version else None) or load_preset("base")
    return suggest_for(store, policy, found)


def breach(store: Store, lead: str, stage: str, seq: int) -> Breach | None:
    with store._read() as connection:
        row = connection.execute(select(_breaches).where(
            _breaches.c.lead == lead, _breaches.c.stage == stage, _breaches.c.seq == seq)).first()
    return None if row is None else _breach(row)


def audit(
    store: Store, scope: Scope, *, lead: str | None = None, action: str | None = None,
    limit: int = 500, offset: int = 0,
) -> list[AuditEntry]:
    statement = select(_audit)
    if not scope.everything:
        # Entries about no lead (ingest runs, policy changes) are organisation-wide: not theirs.
        statement = statement.where(_audit.c.lead.in_(scope.lead_ids()))
    if lead is not None:
        statement = statement.where(_audit.c.lead == lead)
    if action is not None:
        statement = statement.where(_audit.c.action == action)
    statement = statement.order_by(_audit.c.at.desc(), _audit.c.id.desc()).limit(limit).offset(offset)
    with store._read() as connection:
        return [_audit_entry(row) for row in connection.execute(statement)]


# --------------------------------------------------------------------------- effects


def effect_keys(store: Store, leads: Iterable[str]) -> set[str]:
    ids = sorted(set(leads))
    found: set[str] = set()
    with store._read() as connection:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found.update(connection.execute(
                select(_effects.c.dedupe_key).where(_effects.c.lead.in_(chunk))).scalars())
    return found


def effects_except(store: Store, leads: Iterable[str], known: set[str]) -> list[Effect]:
    """The effects of `leads` whose keys are not in `known`: what an ingest just added."""
    ids = sorted(set(leads))
    found: list[Effect] = []
    with store._read() as connection:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found.extend(
                _effect(row) for row in connection.execute(
                    select(_effects).where(_effects.c.lead.in_(chunk)).order_by(_effects.c.at, _effects.c.id))
                if row.dedupe_key not in known
            )
    found.sort(key=lambda e: (e.at, e.lead, e.kind))
    return found


def count_effects(store: Store, lead: str, kind: str, rule: str) -> int:
    with store._read() as connection:
        return int(connection.execute(select(func.count()).select_from(_effects).where(
            _effects.c.lead == lead, _effects.c.kind == kind, _effects.c.rule == rule)).scalar_one())


# --------------------------------------------------------------------------- policies


def active_policy(store: Store) -> PolicyVersion | None:
    """The policy new clocks start under: the one most recently uploaded or re-activated through
    the API, or else (a store filled by the CLI) the newest stored."""
    version = active_version(store)
    return None if version is None else store.policy_version(version)


def _active_version_statement() -> Select[Any]:
    activation = (
        select(_audit.c.at, _audit.c.detail).where(_audit.c.action == POLICY_ACTIVATED)
        .order_by(_audit.c.at.desc(), _audit.c.id.desc()).limit(1).subquery()
    )
    newest = (
        select(_policies.c.version, _policies.c.created_at)
        .order_by(_policies.c.created_at.desc(), _policies.c.version.desc()).limit(1).subquery()
    )
    return select(newest.c.version, newest.c.created_at, activation.c.at, activation.c.detail).select_from(
        newest.outerjoin(activation, true())
    )


# Built once: constructing it (two subqueries, their column proxies) cost more CPU than running it,
# and it has no parameters. SQLAlchemy statements are immutable, so sharing one across threads is
# safe; its compiled form comes from the engine's cache.
_ACTIVE_VERSION = _active_version_statement()


def active_version(store: Store) -> str | None:
    """`active_policy`'s version only: one statement (two indexed single-row subqueries), no
    policy document. It runs on every live request, so it is one round trip, not two."""
    with store._read() as connection:
        row = connection.execute(_ACTIVE_VERSION).first()
    return None if row is None else version_of(row[0], row[1], row[2], row[3])


def version_of(newest: str, created_at: datetime, activated_at: datetime | None, detail: Any) -> str:
    """The active version from `ACTIVE_VERSION`'s row: the newest upload, unless an activation
    (a rollback to an older version) came after it."""
    version = str(newest)
    if activated_at is not None and activated_at >= created_at:
        version = str((detail or {}).get("version") or version)
    return version


# The same statement as PostgreSQL text, for a reader that sends it with others (service.live).
ACTIVE_VERSION_SQL = str(_ACTIVE_VERSION.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def lead_policy_versions(store: Store, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    found: dict[str, str] = {}
    with store._read() as connection:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            # Row by row: a Result has .keys(), so dict.update would take it for a mapping.
            for lead, version in connection.execute(
                    select(_leads.c.id, _leads.c.policy_version).where(_leads.c.id.in_(chunk))):
                found[lead] = version
    return found


# --------------------------------------------------------------------------- reps


def rep_statuses(store: Store, as_of: datetime, rep: str | None = None) -> dict[str, tuple[str, datetime]]:
    """Each rep's latest availability (rep.availability events) at or before `as_of`."""
    statement = select(_events.c.at, _events.c.data).where(
        _events.c.type == "rep.availability", _events.c.at <= as_of)
    if rep is not None:
        statement = statement.where(_events.c.data["rep"].as_string() == rep)
    latest: dict[str, tuple[str, datetime]] = {}
    with store._read() as connection:
        for row in connection.execute(statement.order_by(_events.c.at, _events.c.seq)):
            data = row.data or {}
            if isinstance(data.get("rep"), str) and isinstance(data.get("status"), str):
                latest[data["rep"]] = (data["status"], row.at)
    return latest


# --------------------------------------------------------------------------- health


@dataclass(frozen=True, slots=True)
class Overdue:
    lead: str
    stage: str
    seq: int
    due_at: datetime


def oldest_overdue_clock(store: Store, now: datetime) -> Overdue | None:
    """The open clock whose deadline passed longest ago: nobody has fired it yet (uses the
    due_at index)."""
    with store._read() as connection:
        row = connection.execute(
            select(_clocks.c.lead, _clocks.c.stage, _clocks.c.seq, _clocks.c.due_at)
            .where(_clocks.c.outcome == "open", _clocks.c.due_at < now)
            .order_by(_clocks.c.due_at).limit(1)
        ).first()
    return None if row is None else Overdue(row.lead, row.stage, row.seq, row.due_at)


def counts(store: Store) -> dict[str, Any]:
    """The numbers /metrics exposes, in one read transaction."""
    with store._read() as connection:
        events = connection.execute(select(func.count()).select_from(_events)).scalar_one()
        open_clocks = connection.execute(
            select(_clocks.c.stage, func.count()).where(_clocks.c.outcome == "open").group_by(_clocks.c.stage)
        ).all()
        breach_counts = connection.execute(
            select(_breaches.c.stage, func.count()).group_by(_breaches.c.stage)).all()
        outbox = connection.execute(
            select(_outbox.c.channel_type, _outbox.c.status, func.count())
            .group_by(_outbox.c.channel_type, _outbox.c.status)).all()
        leads_total = connection.execute(select(func.count()).select_from(_leads)).scalar_one()
    return {
        "events": int(events),
        "leads": int(leads_total),
        "open_clocks": {stage: int(n) for stage, n in open_clocks},
        "breaches": {stage: int(n) for stage, n in breach_counts},
        "outbox": {(channel or "", status): int(n) for channel, status, n in outbox},
    }


__all__ = [
    "POLICY_ACTIVATED",
    "Overdue",
    "Scope",
    "active_policy",
    "audit",
    "breach",
    "breaches",
    "clocks",
    "count_effects",
    "counts",
    "effect_keys",
    "effects_except",
    "lead_policy_versions",
    "leads",
    "oldest_overdue_clock",
    "put_rep",
    "record_manual",
    "rep_rows",
    "rep_statuses",
    "rep_team",
    "review_breach",
    "scope_of",
    "sees_lead",
    "summary",
]


# --------------------------------------------------------------------------- writes


def record_manual(store: Store, effects: list[Effect], entries: list[AuditEntry], now: datetime) -> int:
    """Store people's actions (manual escalation, reassignment request) and their audit entries
    in one transaction: an escalation without its audit line, or the reverse, cannot be left
    behind. Effects keep the store's dedupe rule (the same fact twice is stored once). Returns
    how many effects were new."""
    from leadclock.notify._db import insert_ignoring

    effect_rows = [{
        "dedupe_key": e.dedupe_key, "kind": e.kind, "at": e.at, "lead": e.lead, "stage": e.stage,
        "rule": e.rule, "step": e.step, "recipients": list(e.recipients), "owner": e.owner,
        "detail": e.detail, "created_at": now,
    } for e in effects]
    audit_rows = [{
        "at": a.at, "lead": a.lead, "actor": a.actor, "action": a.action, "reason": a.reason, "detail": a.detail,
    } for a in entries]
    inserted = 0
    with store._write() as connection:
        if effect_rows:
            statement = insert_ignoring(store, _effects, _effects.c.dedupe_key).returning(_effects.c.id)
            inserted = len(connection.execute(statement, effect_rows).all())
        if audit_rows:
            connection.execute(_audit.insert(), audit_rows)
    return inserted


def review_breach(
    store: Store, lead: str, stage: str, seq: int, *, category: str, note: str | None, actor: str, now: datetime,
) -> bool:
    """Record a manager's root cause (F24) and its audit entry in one transaction; False when
    there is no such breach (and then nothing is written)."""
    with store._write() as connection:
        result = connection.execute(
            _breaches.update()
            .where(_breaches.c.lead == lead, _breaches.c.stage == stage, _breaches.c.seq == seq)
            .values(category=category, note=note, reviewed_by=actor, reviewed_at=now)
        )
        if not result.rowcount:
            return False
        connection.execute(_audit.insert(), [{
            "at": now, "lead": lead, "actor": actor, "action": "breach.reviewed",
            "reason": f"{stage}#{seq}: {category}", "detail": {"stage": stage, "seq": seq, "category": category,
                                                              "note": note},
        }])
    return True


def put_rep(
    store: Store, rep: str, fields: dict[str, Any], status: str | None, now: datetime, actor: str,
    *, status_change: str | None = None,
) -> None:
    """Roster upsert, availability change and audit entry in one transaction. `fields` holds only
    the keys the caller sent (None clears one); a status becomes a rep.availability event, the
    same fact a CRM would send, so replays see it too."""
    from leadclock.notify._db import insert_ignoring

    with store._write() as connection:
        exists = connection.execute(select(_reps.c.id).where(_reps.c.id == rep)).first() is not None
        if exists:
            connection.execute(_reps.update().where(_reps.c.id == rep).values(**fields, known=True))
        else:
            connection.execute(_reps.insert(), [{"id": rep, **fields, "known": True}])
        if status is not None:
            connection.execute(insert_ignoring(store, _events, _events.c.id), [{
                "id": f"api:availability:{rep}:{now.isoformat()}:{uuid.uuid4().hex[:8]}", "type": "rep.availability", "at": now,
                "lead": None, "data": {"rep": rep, "status": status}, "received_at": now,
            }])
        connection.execute(_audit.insert(), [{
            "at": now, "lead": None, "actor": actor, "action": "rep.updated",
            "reason": ", ".join(sorted([*fields, *(["status"] if status or status_change else [])])) or "no change",
            "detail": {"rep": rep, **fields, **({"status": status or status_change} if status or status_change else {})},
        }])


def rep_rows(store: Store, *, team: str | None = None, rep: str | None = None) -> list[Any]:
    statement = select(_reps).order_by(_reps.c.id)
    if team is not None:
        statement = statement.where(_reps.c.team == team)
    if rep is not None:
        statement = statement.where(_reps.c.id == rep)
    with store._read() as connection:
        return list(connection.execute(statement))
