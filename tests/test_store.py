"""The store, on SQLite and on PostgreSQL alike (fixtures in conftest.py)."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from leadclock.engine.events import Event, parse_event
from leadclock.engine.state import Clock, Effect, LeadState
from leadclock.notify import outbox
from leadclock.policy import load_preset, preset_text
from leadclock.policy.durations import Duration
from leadclock.store import AuditEntry, Store, StoreError, database_url
from leadclock.store.models import Base
from leadclock.store.repository import COPY_FROM
from leadclock.store.worker_store import set_wakeups, wakeups

T0 = datetime(2026, 7, 8, 0, 0, tzinfo=UTC)
JST = timezone(timedelta(hours=9))


def created(event_id: str, lead: str, at: str = "2026-07-08T09:00:00+09:00", **fields: Any) -> Event:
    return parse_event({"id": event_id, "type": "lead.created", "at": at, "lead": lead,
                        "source": "web", **fields})


def activity(event_id: str, lead: str, at: str, rep: str = "sato") -> Event:
    return parse_event({"id": event_id, "type": "activity", "at": at, "lead": lead, "rep": rep,
                        "channel": "call", "outcome": "no_answer"})


def clock(lead: str, stage: str = "first_contact", seq: int = 0, *, due: timedelta | None = timedelta(minutes=5),
          outcome: str = "open", **fields: Any) -> Clock:
    return Clock(
        lead=lead, stage=stage, seq=seq, owner=fields.pop("owner", "sato"), started_at=T0,
        due_at=None if due is None else T0 + due, max_at=T0 + timedelta(hours=1),
        warn_at=T0 + timedelta(minutes=3), calendar="jp", target="5m", policy_version="v1",
        outcome=outcome,  # type: ignore[arg-type]
        **fields,
    )


def lead(lead_id: str, *clocks: Clock, **fields: Any) -> LeadState:
    values: dict[str, Any] = {
        "source": "web", "tier": "A", "created_at": T0, "owner": "sato", "owners": ["sato"],
        "status": "assigned", "attributes": {"company": "ACME 株式会社"}, **fields,
    }
    return LeadState(lead=lead_id, clocks=list(clocks), **values)


# --------------------------------------------------------------------------- URLs


def test_database_url_resolves_paths_urls_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_url("x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    assert database_url("sqlite:////tmp/y.db") == "sqlite:////tmp/y.db"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("LEADCLOCK_DATABASE_URL", raising=False)
    assert database_url(None) == "sqlite:///leadclock.db"
    monkeypatch.setenv("LEADCLOCK_DATABASE_URL", "postgres://u@h/prod")
    assert database_url(None) == "postgresql+psycopg://u@h/prod"


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(StoreError, match="unsupported database"):
        Store("mysql://u@h/db")


# --------------------------------------------------------------------------- schema


def _head(store: Store) -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(store.alembic_config()).get_current_head()


def test_migrations_match_the_models(store: Store) -> None:
    assert store.revision() == _head(store)
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_every_engine_field_has_a_column() -> None:
    # A field the engine adds to Clock or Effect must be stored, or a reload would lose it.
    clock_columns = {column.name for column in Base.metadata.tables["clocks"].columns}
    assert {f.name for f in fields(Clock)} <= clock_columns
    effect_columns = {column.name for column in Base.metadata.tables["effects"].columns}
    assert {f.name for f in fields(Effect)} <= effect_columns


def test_foreign_keys_are_enforced_after_upgrade(store: Store) -> None:
    # SQLite turns them off for the migration; every connection must have them back on.
    row = {name: getattr(clock("ghost"), name) for name in ("lead", "stage", "seq", "owner", "started_at",
                                                           "calendar", "target", "policy_version")}
    for _ in range(3):  # several pooled connections
        with pytest.raises(IntegrityError), store.engine.begin() as connection:
            connection.execute(Base.metadata.tables["clocks"].insert(), [{
                **row, "outcome": "open", "reason": "", "exceeded_max": False, "attempts": 0,
                "required": 0, "warned": False,
            }])


def test_in_memory_store() -> None:
    with Store(database_url(":memory:")) as memory:
        memory.upgrade()
        memory.append_events([created("e1", "L1")])
        assert memory.event_count() == 1


def test_upgrade_twice_changes_nothing(store: Store) -> None:
    store.append_events([created("e1", "L1")])
    store.upgrade()
    assert store.revision() == _head(store) == "0010"
    assert store.event_count() == 1


# --------------------------------------------------------------------------- events


def test_append_is_idempotent_within_a_batch(store: Store) -> None:
    first = created("e1", "L1")
    again = created("e1", "L1", company="changed")
    stored, duplicates = store.append_events([first, created("e2", "L2"), again])
    assert [e.id for e in stored] == ["e1", "e2"]
    assert duplicates == ["e1"]
    assert store.event_count() == 2
    assert "company" not in store.events("L1")[0].data  # the first copy won


def test_append_is_idempotent_across_batches(store: Store) -> None:
    store.append_events([created("e1", "L1"), created("e2", "L2")])
    stored, duplicates = store.append_events([created("e2", "L2", company="late copy"), created("e3", "L3")])
    assert [e.id for e in stored] == ["e3"]
    assert duplicates == ["e2"]
    stored, duplicates = store.append_events([created("e1", "L1"), created("e1", "L1")])
    assert stored == []
    assert duplicates == ["e1", "e1"]
    assert store.event_count() == 3
    assert "company" not in store.events("L2")[0].data


def test_events_are_ordered_by_instant_then_arrival(store: Store) -> None:
    store.append_events([activity("b", "L1", "2026-07-08T10:00:00+09:00")])
    store.append_events([
        activity("a", "L1", "2026-07-08T10:00:00+09:00"),  # same instant, arrived later
        created("c", "L1", at="2026-07-08T00:30:00Z"),  # earlier instant, arrived last
        created("d", "L2", at="2026-07-08T00:45:00Z"),
    ])
    assert [e.id for e in store.events()] == ["c", "d", "b", "a"]
    assert [e.id for e in store.events("L1")] == ["c", "b", "a"]
    assert [e.id for e in store.events(leads=["L2", "L1"])] == ["c", "d", "b", "a"]
    assert store.events("nobody") == []


def test_events_round_trip_with_rep_only_events(store: Store) -> None:
    availability = parse_event({"id": "r1", "type": "rep.availability", "at": "2026-07-08T09:00:00+09:00",
                                "rep": "sato", "status": "away"})
    store.append_events([availability, created("e1", "L1")])
    back = store.events("")
    assert back == [availability]
    assert back[0].lead == ""
    assert back[0].data == {"rep": "sato", "status": "away"}


def test_instants_come_back_as_the_same_utc_instant(store: Store) -> None:
    store.append_events([created("e1", "L1", at="2026-07-08T09:00:00+09:00")])
    (back,) = store.events()
    assert back.at == T0
    assert back.at.utcoffset() == timedelta(0)
    assert back.at.tzinfo is not None

    started = datetime(2026, 7, 8, 18, 59, 59, 123456, tzinfo=JST)
    store.save_leads([lead("L1", Clock(
        lead="L1", stage="first_contact", seq=0, owner=None, started_at=started, due_at=None,
        max_at=None, warn_at=None, calendar="jp", target="5m", policy_version="v1",
    ))], "v1")
    (saved,) = store.clocks()
    assert saved.started_at == started
    assert saved.started_at.utcoffset() == timedelta(0)
    assert saved.started_at.microsecond == 123456


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moment=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)),
    offset_minutes=st.integers(min_value=-14 * 60 + 1, max_value=14 * 60 - 1),
)
def test_any_offset_round_trips_to_the_same_instant(store: Store, moment: datetime, offset_minutes: int) -> None:
    at = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    event = parse_event({"id": f"h-{at.isoformat()}", "type": "engagement", "at": at.isoformat(),
                         "lead": "H", "action": "visit"})
    store.append_events([event])
    back = next(e for e in store.events("H") if e.id == event.id)
    assert back.at == at
    assert back.at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(store: Store) -> None:
    naive = Event("n1", "engagement", datetime(2026, 7, 8, 9, 0), "L1", {"action": "visit"})
    with pytest.raises(StoreError, match="naive"):
        store.append_events([naive])
    with pytest.raises(StoreError, match="naive"):
        store.clocks(due_before=datetime(2026, 7, 8))
    assert store.event_count() == 0


# --------------------------------------------------------------------------- nothing half-written


def test_an_unserialisable_event_stores_none_of_its_batch(store: Store) -> None:
    store.append_events([created("e0", "L0")])
    bad = Event("e2", "lead.updated", T0, "L1", {"blob": object()})
    with pytest.raises(StoreError, match=r"'e2'.*not JSON-serialisable"):
        store.append_events([created("e1", "L1"), bad, created("e3", "L3")])
    not_a_number = Event("e4", "lead.updated", T0, "L1", {"score": float("nan")})
    with pytest.raises(StoreError, match="'e4'"):
        store.append_events([created("e5", "L5"), not_a_number])
    assert [e.id for e in store.events()] == ["e0"]


def test_a_failure_after_the_insert_rolls_the_batch_back(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_note_reps", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        store.append_events([created("e1", "L1"), activity("e2", "L1", "2026-07-08T10:00:00+09:00")])
    assert store.event_count() == 0
    monkeypatch.undo()
    stored, _ = store.append_events([created("e1", "L1")])
    assert [e.id for e in stored] == ["e1"]  # the failed attempt did not mark e1 as seen


def test_a_failing_save_leads_leaves_the_previous_state(store: Store) -> None:
    store.save_leads([lead("L1", clock("L1"))], "v1")
    duplicate_clock = lead("L2", clock("L2"), clock("L2"))  # same (lead, stage, seq) twice
    changed = lead("L1", clock("L1", "qualification"), status="working")
    with pytest.raises(IntegrityError):
        store.save_leads([changed, duplicate_clock], "v2")
    assert [summary.id for summary in store.leads()] == ["L1"]
    record = store.lead("L1")
    assert record is not None
    assert record.status == "assigned"
    assert record.policy_version == "v1"
    assert [c.stage for c in record.clocks] == ["first_contact"]


def test_a_naive_clock_fails_the_whole_save(store: Store) -> None:
    naive = clock("L2")
    naive.due_at = datetime(2026, 7, 8, 9, 5)
    with pytest.raises(StoreError, match="naive"):
        store.save_leads([lead("L1", clock("L1")), lead("L2", naive)], "v1")
    assert store.leads() == []
    assert store.clocks() == []


def test_an_unserialisable_attribute_fails_the_whole_save(store: Store) -> None:
    with pytest.raises(StoreError, match="not JSON-serialisable"):
        store.save_leads([lead("L1", clock("L1")), lead("L2", attributes={"x": object()})], "v1")
    assert store.leads() == []
    assert store.clocks() == []


# --------------------------------------------------------------------------- derived state


def test_save_leads_replaces_clocks_and_updates_the_row(store: Store) -> None:
    store.save_leads([
        lead("L1", clock("L1"), clock("L1", "assignment"), clock("L1", "cadence")),
        lead("L2", clock("L2")),
    ], "v1")
    assert len(store.clocks(lead="L1")) == 3
    restarted = clock("L1", "first_contact", 1, stopped_at=T0 + timedelta(minutes=2), outcome="met",
                      reason="activity e9", business_seconds=120.0)
    store.save_leads([lead("L1", clock("L1", outcome="cancelled"), restarted, status="working",
                           first_contact_at=T0 + timedelta(minutes=2), attempts=1)], "v2")
    record = store.lead("L1")
    assert record is not None
    assert sorted((c.stage, c.seq, c.outcome) for c in record.clocks) == [
        ("first_contact", 0, "cancelled"), ("first_contact", 1, "met"),
    ]
    assert next(c for c in record.clocks if c.seq == 1) == restarted
    assert record.status == "working"
    assert record.attempts == 1
    assert record.first_contact_at == T0 + timedelta(minutes=2)
    assert record.policy_version == "v2"
    assert record.attributes == {"company": "ACME 株式会社"}
    assert record.within_sla is True
    assert len(store.clocks(lead="L2")) == 1  # other leads untouched
    assert store.lead("nobody") is None


def test_within_sla_follows_breached_clocks(store: Store) -> None:
    breached = clock("L1", outcome="breached", breached_at=T0 + timedelta(minutes=5, microseconds=1))
    store.save_leads([lead("L1", breached), lead("L2", clock("L2"))], "v1")
    assert {s.id: s.within_sla for s in store.leads()} == {"L1": False, "L2": True}


def test_clock_queries_use_due_at(store: Store) -> None:
    store.save_leads([
        lead("L1", clock("L1", due=timedelta(minutes=5))),
        lead("L2", clock("L2", due=timedelta(minutes=30))),
        lead("L3", clock("L3", due=timedelta(minutes=1), outcome="met", stopped_at=T0)),
        lead("L4", clock("L4", due=None)),
    ], "v1")
    now = T0 + timedelta(minutes=10)
    assert [c.lead for c in store.clocks(open_only=True, due_before=now)] == ["L1"]
    assert [c.lead for c in store.clocks(due_before=now)] == ["L3", "L1"]
    # due_at itself is not yet a breach: strictly before.
    assert store.clocks(open_only=True, due_before=T0 + timedelta(minutes=5)) == []
    assert [c.lead for c in store.clocks(open_only=True)][:2] == ["L1", "L2"]
    assert {c.lead for c in store.clocks(open_only=True)} == {"L1", "L2", "L4"}
    assert [c.lead for c in store.clocks(due_before=now.astimezone(JST))] == ["L3", "L1"]


def test_breaches_follow_clocks_and_keep_reviews(store: Store) -> None:
    late = T0 + timedelta(minutes=5, microseconds=1)
    store.save_leads([
        lead("L1", clock("L1", outcome="breached", breached_at=late)),
        lead("L2", clock("L2", outcome="breached", breached_at=late)),
    ], "v1")
    assert [(b.lead, b.at) for b in store.breaches()] == [("L1", late), ("L2", late)]
    assert store.review_breach("L1", "first_contact", 0, reviewed_by="mgr", category="capacity", note="busy day")
    assert not store.review_breach("L9", "first_contact", 0, reviewed_by="mgr")
    # A late event undid both breaches: the unreviewed one goes, the reviewed one stays.
    store.save_leads([lead("L1", clock("L1")), lead("L2", clock("L2"))], "v1")
    (kept,) = store.breaches()
    assert (kept.lead, kept.category, kept.note, kept.reviewed_by) == ("L1", "capacity", "busy day", "mgr")
    assert kept.reviewed_at is not None
    # Recomputing again with a moved breach updates it and keeps the review.
    later = late + timedelta(minutes=1)
    store.save_leads([lead("L1", clock("L1", outcome="breached", breached_at=later, owner="suzuki"))], "v1")
    (moved,) = store.breaches("L1")
    assert (moved.at, moved.owner, moved.category) == (later, "suzuki", "capacity")


def test_bulk_save_leads(store: Store) -> None:
    stages = ("assignment", "first_contact", "cadence", "qualification", "handoff")
    states = [lead(f"L{i:05d}", *(clock(f"L{i:05d}", stage) for stage in stages)) for i in range(1_200)]
    store.save_leads(states, "v1")
    store.save_leads(states[::2], "v2")  # recompute half of them
    assert len(store.leads()) == 1_200
    assert len(store.clocks()) == 6_000
    assert sum(1 for s in store.leads() if s.policy_version == "v2") == 600


def test_effects_are_deduplicated_by_key(store: Store) -> None:
    breach = Effect("clock_breached", T0, "L1", stage="first_contact", owner="sato",
                    detail={"due_at": T0 - timedelta(microseconds=1), "note": "x"})
    warning = Effect("escalation", T0, "L1", rule="slow", step=1, recipients=("mgr", "sato"))
    assert store.save_effects([breach, warning, breach]) == 2
    assert store.save_effects([breach, warning]) == 0
    same_instant_other_offset = Effect("clock_breached", T0.astimezone(JST), "L1", stage="first_contact")
    assert store.save_effects([same_instant_other_offset]) == 0
    assert store.save_effects([Effect("escalation", T0, "L1", rule="slow", step=2)]) == 1
    back = store.effects("L1")
    assert len(back) == 3
    assert back[1].recipients == ("mgr", "sato") or back[0].recipients == ("mgr", "sato")
    stored_breach = store.effects(kind="clock_breached")[0]
    # Instants inside detail are stored as ISO text (JSON has no datetime).
    assert stored_breach.detail == {"due_at": "2026-07-07T23:59:59.999999+00:00", "note": "x"}
    assert stored_breach.dedupe_key == breach.dedupe_key


def test_audit_round_trip(store: Store) -> None:
    entries = [
        AuditEntry(at=T0, actor="ingest", action="clock.recomputed", lead="L1", reason="late event e7",
                   detail={"before": "met", "after": "breached"}),
        AuditEntry(at=T0.astimezone(JST), actor="admin", action="policy.saved"),
    ]
    store.add_audit(entries)
    back = store.audit()
    assert [(a.action, a.lead, a.at) for a in back] == [("clock.recomputed", "L1", T0), ("policy.saved", None, T0)]
    assert back[0].detail == {"before": "met", "after": "breached"}
    assert all(a.id is not None for a in back)
    assert [a.action for a in store.audit("L1")] == ["clock.recomputed"]


def test_lead_record_gathers_everything(store: Store) -> None:
    store.append_events([created("e1", "L1"), activity("e2", "L1", "2026-07-08T09:03:00+09:00"),
                         created("e3", "L2")])
    store.save_leads([lead("L1", clock("L1"))], "v1")
    store.save_effects([Effect("clock_started", T0, "L1", stage="first_contact")])
    store.add_audit([AuditEntry(at=T0, actor="engine", action="clock.started", lead="L1")])
    record = store.lead("L1")
    assert record is not None
    assert [e.id for e in record.events] == ["e1", "e2"]
    assert [c.key for c in record.clocks] == ["L1/first_contact/0"]
    assert [e.kind for e in record.effects] == ["clock_started"]
    assert [a.action for a in record.audit] == ["clock.started"]
    assert record.summary.id == "L1"


# --------------------------------------------------------------------------- reps and policies


def test_reps_seen_in_events_are_unknown_until_put_on_the_roster(store: Store) -> None:
    store.upsert_rep("sato", name="佐藤", team="SDR", role="sdr", manager="tanaka")
    store.append_events([
        activity("e1", "L1", "2026-07-08T10:00:00+09:00", rep="sato"),
        activity("e2", "L1", "2026-07-08T10:05:00+09:00", rep="ghost"),
        parse_event({"id": "e3", "type": "handoff.requested", "at": "2026-07-08T11:00:00+09:00",
                     "lead": "L1", "from": "sato", "to": "ae1"}),
    ])
    assert {(r.id, r.known) for r in store.reps()} == {("sato", True), ("ghost", False), ("ae1", False)}
    assert [r.id for r in store.reps(known=False)] == ["ae1", "ghost"]
    store.upsert_rep("sato", known=False)  # never demotes a rep on the roster
    store.upsert_rep("newbie", known=False)
    assert {(r.id, r.known) for r in store.reps() if r.id in ("sato", "newbie")} == {("sato", True), ("newbie", False)}
    store.upsert_rep("ghost", team="SDR")
    store.upsert_rep("sato", team="AE")  # other fields kept
    reps = {r.id: r for r in store.reps()}
    assert (reps["ghost"].known, reps["ghost"].team, reps["ghost"].name) == (True, "SDR", None)
    assert (reps["sato"].name, reps["sato"].team, reps["sato"].manager) == ("佐藤", "AE", "tanaka")


def test_policy_versions_are_idempotent(store: Store) -> None:
    policy = load_preset("b2b-saas")
    source = preset_text("b2b-saas")
    version = store.save_policy(policy, source)
    assert version == policy.version
    assert store.save_policy(policy, source) == version
    (stored,) = store.policy_versions()
    assert (stored.version, stored.name, stored.source_text) == (version, policy.name, source)
    assert stored.created_at.tzinfo is not None
    loaded = store.load_policy(version)
    assert loaded is not None
    assert loaded.version == version
    other = load_preset("smb")
    store.save_policy(other, preset_text("smb"))
    assert {p.version for p in store.policy_versions()} == {version, other.version}
    assert store.load_policy("nope") is None


# --------------------------------------------------------------------------- JSON, encoded once

# Everything `dumps` turns into JSON, and the one text it is stored as (the store encodes each
# value once, when it checks it, and binds that text by statement or by COPY).
DETAIL: dict[str, Any] = {
    "at": T0.astimezone(JST), "tags": {"b", "a"}, "pair": (1, 2.5), "target": Duration.parse("5m"),
    "name": "佐藤\u2028", "none": None, "nested": {"x": [True, {"y": 0.1}], "big": 10**20},
}
DETAIL_TEXT = (
    '{"at":"2026-07-08T00:00:00+00:00","tags":["a","b"],"pair":[1,2.5],"target":"5m",'
    '"name":"佐藤\u2028","none":null,"nested":{"x":[true,{"y":0.1}],"big":100000000000000000000}}'
)
# Below and above the PostgreSQL COPY threshold: both ways of writing rows.
SIZES = [3, COPY_FROM + 5]


def _texts(store: Store, table: str, column: str) -> list[str]:
    # The stored text itself: PostgreSQL's json type keeps it verbatim, SQLite keeps TEXT.
    with store.engine.connect() as connection:
        return list(connection.execute(text(f"SELECT CAST({column} AS TEXT) FROM {table}")).scalars())


@pytest.mark.parametrize("size", SIZES)
def test_json_is_stored_in_its_one_spelling(store: Store, size: int) -> None:
    ids = [f"L{i:03d}" for i in range(size)]
    store.append_events([Event(f"e{i}", "engagement", T0, lead_id, DETAIL) for i, lead_id in enumerate(ids)])
    store.save_leads([lead(lead_id, attributes=DETAIL) for lead_id in ids], "v1")
    store.save_leads([lead(lead_id, attributes=DETAIL, status="working") for lead_id in ids], "v1")  # upsert
    new = store.insert_effects([Effect("alert", T0.astimezone(JST), lead_id, detail=DETAIL) for lead_id in ids])
    store.add_audit([AuditEntry(at=T0, actor="a", action="x", lead=lead_id, detail=DETAIL) for lead_id in ids])
    outbox.enqueue(store, [outbox.OutboxMessage(f"k{lead_id}", "c", "email", "r@x", "ja", "s", "t", "h", DETAIL)
                           for lead_id in ids], now=T0)
    for table, column in (("events", "data"), ("leads", "attributes"), ("effects", "detail"),
                          ("audit", "detail"), ("outbox", "payload")):
        assert _texts(store, table, column) == [DETAIL_TEXT] * size, table
    assert _texts(store, "effects", "recipients") == ["[]"] * size
    assert {s.status for s in store.leads()} == {"working"}
    # Returned as a later read returns them: UTC instant, detail as the stored JSON reads back.
    assert new == store.effects()
    assert all(e.at.tzinfo is UTC and e.detail == json.loads(DETAIL_TEXT) for e in new)
    assert new[0].dedupe_key == replace(new[0], at=T0.astimezone(JST)).key_at(T0)


@pytest.mark.parametrize("size", SIZES)
def test_wakeups_upsert_in_bulk(store: Store, size: int) -> None:
    keys = [f"L{i:03d}" for i in range(size)]
    set_wakeups(store, dict.fromkeys(keys, T0), T0)
    set_wakeups(store, {**dict.fromkeys(keys, T0 + timedelta(minutes=5)), keys[0]: None}, T0)
    assert wakeups(store) == dict.fromkeys(keys[1:], T0 + timedelta(minutes=5))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("bad", "reason"), [
    (float("nan"), "Out of range float"), (object(), "a object is not JSON-serialisable"),
    (datetime(2026, 7, 8, 9, 0), "naive datetime"),
])
def test_unwritable_json_names_its_row_and_writes_nothing(store: Store, size: int, bad: object, reason: str) -> None:
    effects = [Effect("alert", T0, f"L{i}", detail={"i": i}) for i in range(size)]
    with pytest.raises(StoreError, match=rf"effect 'alert:Lbad::::2026-07-08T00:00:00\+00:00': detail .*{reason}"):
        store.insert_effects([*effects, Effect("alert", T0, "Lbad", detail={"x": [bad]})])
    entries = [AuditEntry(at=T0, actor="a", action=f"ok{i}") for i in range(size)]
    with pytest.raises(StoreError, match=f"audit bad: detail is not JSON-serialisable .*{reason}"):
        store.add_audit([*entries, AuditEntry(at=T0, actor="a", action="bad", detail={"x": bad})])
    with pytest.raises(StoreError, match=f"lead 'Lbad': attributes is not JSON-serialisable .*{reason}"):
        store.save_leads([*(lead(f"L{i}") for i in range(size)), lead("Lbad", attributes={"x": bad})], "v1")
    assert (store.effects(), store.audit(), store.leads()) == ([], [], [])
    assert _texts(store, "effects", "detail") == []


def test_effects_are_copied_field_for_field() -> None:
    # insert_effects builds the returned effects (and `_effect` the read ones) field by field:
    # a new Effect field needs adding there, not only a column.
    assert [f.name for f in fields(Effect)] == [
        "kind", "at", "lead", "stage", "rule", "step", "recipients", "owner", "detail"]


def test_staging_twice_in_a_transaction_and_after_a_rollback(store: Store) -> None:
    # PostgreSQL stages large writes in session temporary tables (Store._staged): created by
    # the first transaction that needs one, emptied by its commit, emptied explicitly when one
    # transaction stages into it twice, and created again after a rollback undid its creation.
    size = COPY_FROM + 5

    def batch(tag: str) -> list[Event]:
        return [Event(f"{tag}{i}", "engagement", T0, f"L{tag}{i}", {"i": i}) for i in range(size)]

    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.transaction():
        assert len(store.append_events(batch("a"))[0]) == size  # creates the table, then rolls back
        raise Boom
    assert store.event_count() == 0
    with store.transaction():
        assert len(store.append_events(batch("b"))[0]) == size
        stored, duplicates = store.append_events([*batch("b")[:3], *batch("c")])  # same table again
        assert (len(stored), len(duplicates)) == (size, 3)
    assert len(store.append_events(batch("d"))[0]) == size  # the next transaction finds it empty
    assert store.event_count() == 3 * size
    assert sorted({e.id[0] for e in store.events()}) == ["b", "c", "d"]


def test_copy_takes_values_binary_copy_would_refuse(store: Store) -> None:
    # Rows reach COPY as the engine made them; a value whose Python type does not match its
    # column's binary form (a number in a text column) is written as text COPY would spell it.
    size = COPY_FROM + 5
    entries = [AuditEntry(at=T0, actor="a", action="x", lead=f"L{i}", reason="r") for i in range(size)]
    entries.append(AuditEntry(at=T0, actor="a", action="x", lead="L-odd", reason=42))  # type: ignore[arg-type]
    store.add_audit(entries)
    stored = store.audit()
    assert len(stored) == size + 1 and {e.reason for e in stored} == {"r", "42"}


def test_writes_inside_a_transaction_are_seen_by_its_reads_and_fail_it_whole(store: Store) -> None:
    # On PostgreSQL the writes that end a settle are deferred and sent in one pipeline before
    # the next read or the commit (Store._send): a read in the same transaction must see them,
    # a COPY read too, and a failing one must undo everything the transaction did.
    import polars as pl
    from sqlalchemy import select

    from leadclock.reports.data import INSTANT, frame
    from leadclock.store.models import ClockRow

    clocks = ClockRow.__table__
    copy_read = select(clocks.c.lead, clocks.c.due_at)  # COPY ... TO STDOUT on PostgreSQL
    with store.transaction():
        store.append_events([created("e1", "L1")])
        store.save_leads([lead("L1", clock("L1"))], "v1", fresh={"L1"})  # no read of its breaches
        assert frame(store, copy_read, {"lead": pl.Utf8, "due_at": INSTANT})["lead"].to_list() == ["L1"]
        store.add_audit([AuditEntry(at=T0, actor="a", action="x", lead="L1")])
        assert [e.action for e in store.audit("L1")] == ["x"]
        store.add_audit([AuditEntry(at=T0, actor="a", action="z", lead="L1")])
        set_wakeups(store, {"L1": T0}, T0)  # the last writes: sent by the commit
    store.engine.dispose()  # nothing may wait on the pooled connection for its next use
    assert wakeups(store) == {"L1": T0}
    assert [e.action for e in store.audit("L1")] == ["x", "z"]

    duplicate_clock = lead("L2", clock("L2"), clock("L2"))  # same (lead, stage, seq) twice
    with pytest.raises(IntegrityError), store.transaction():
        store.append_events([created("e2", "L2")])
        store.add_audit([AuditEntry(at=T0, actor="a", action="y", lead="L2")])
        store.save_leads([duplicate_clock], "v1")
        set_wakeups(store, {"L2": T0, "L1": None}, T0)
    assert [e.id for e in store.events()] == ["e1"]
    assert [e.action for e in store.audit()] == ["x", "z"]
    assert wakeups(store) == {"L1": T0}
    assert [s.id for s in store.leads()] == ["L1"]
