"""Scheduled reports (F18): schedule, figures, recipients, rendering and dedupe keys."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadclock.engine.state import Clock
from leadclock.notify import outbox
from leadclock.notify.directory import Directory, Person
from leadclock.notify.outbox import OutboxMessage
from leadclock.policy import Policy, load_preset
from leadclock.policy.models import Calendar, NotificationChannel, Org, Report
from leadclock.reports.scheduled import (
    CAP,
    ReportData,
    ReportRun,
    build_messages,
    due_runs,
    next_due_at,
)
from leadclock.store import Store
from leadclock.store.records import Breach, LeadSummary

JST = timezone(timedelta(hours=9))
STANDARD_REPORTS = {
    "end_of_day_digest": Report(kind="end_of_day_digest", at="18:00", to=["rep"]),
    "manager_daily_digest": Report(kind="manager_daily_digest", at="18:30", to=["manager"]),
    "weekly_summary": Report(kind="weekly_summary", day="mon", at="09:00", to=["rep", "manager"]),
    "exception_alerts": Report(kind="exception_alerts", to=["manager"]),
}


def j(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    """An instant given in Tokyo time (2026)."""
    return datetime(2026, month, day, hour, minute, tzinfo=JST)


def make_policy(reports: dict[str, Report] | None = None) -> Policy:
    base = load_preset("b2b-saas")
    return base.model_copy(
        update={
            "channels": {
                "inapp": NotificationChannel(type="inapp"),
                "email": NotificationChannel(type="email"),
            },
            "reports": STANDARD_REPORTS if reports is None else reports,
        }
    )


POLICY = make_policy()


def only(*keys: str) -> Policy:
    return make_policy({key: STANDARD_REPORTS[key] for key in keys})


def make_directory(policy: Policy = POLICY) -> Directory:
    return Directory(
        [
            Person("sato", "佐藤", "A", "rep", "tanaka", "ja", {"email": "sato@example.jp"}),
            Person("suzuki", "Suzuki", "A", "rep", "tanaka", "en", {"email": "suzuki@example.com"}),
            Person("kato", "加藤", "B", "rep", "mori", None, {"email": "kato@example.jp"}),
            Person("tanaka", "田中", "A", "manager", None, "ja", {"email": "tanaka@example.jp"}),
            Person("mori", "Mori", "B", "manager", None, "en", {"email": "mori@example.com"}),
            Person("ops", "Ops", None, "sales_ops", None, "en", {"channels": ["inapp"]}),
        ],
        policy,
    )


def lead(
    lead_id: str, source: str = "demo_request", first_contact_at: datetime | None = None
) -> LeadSummary:
    return LeadSummary(
        id=lead_id, source=source, tier="hot", status="working", owner=None, created_at=None,
        within_sla=True, arrived_after_hours=False, first_contact_at=first_contact_at,
        reached_at=None, attempts=0, last_event_at=None, handoff_to=None, owners=[],
        attributes={}, updated_at=j(1), policy_version="v",
    )


def clock(
    lead_id: str,
    owner: str | None,
    started: datetime,
    due: datetime | None,
    *,
    stage: str = "first_contact",
    stopped: datetime | None = None,
    outcome: str = "open",
    seconds: float | None = None,
) -> Clock:
    breached_at = due if outcome == "breached" else None
    return Clock(
        lead=lead_id, stage=stage, seq=0, owner=owner, started_at=started, due_at=due,
        max_at=None, warn_at=None, calendar="business", target="5m", policy_version="v",
        stopped_at=stopped, outcome=outcome,  # type: ignore[arg-type]
        breached_at=breached_at, business_seconds=seconds,
    )


def run_of(policy: Policy, key: str, due: datetime) -> ReportRun:
    found = [r for r in due_runs(policy, due - timedelta(seconds=1), due) if r.report == key]
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------- schedule


def test_daily_digests_skip_the_weekend_and_a_jp_holiday() -> None:
    # Fri 20 Nov 2026, then Sat, Sun, Mon 23 (勤労感謝の日), Tue 24.
    runs = due_runs(only("end_of_day_digest", "manager_daily_digest"), j(20), j(25))
    assert [(r.report, r.due_at) for r in runs] == [
        ("end_of_day_digest", j(20, 18)),
        ("manager_daily_digest", j(20, 18, 30)),
        ("end_of_day_digest", j(24, 18)),
        ("manager_daily_digest", j(24, 18, 30)),
    ]
    tuesday = runs[2]
    assert tuesday.period == "2026-11-24"
    assert tuesday.kind == "end_of_day_digest"
    # The digest after the long weekend covers everything since Friday's digest.
    assert tuesday.start == j(20, 18) and tuesday.end == tuesday.due_at == j(24, 18)
    assert all(r.due_at.tzinfo is UTC for r in runs)


def test_silver_week_and_golden_week_have_no_digests() -> None:
    runs = due_runs(only("end_of_day_digest"), j(18, 17, month=9), j(24, 19, month=9))
    # Fri 18 Sep, then Sat 19 to Wed 23 closed (敬老の日, 国民の休日, 秋分の日), Thu 24.
    assert [r.period for r in runs] == ["2026-09-18", "2026-09-24"]
    assert runs[1].start == j(18, 18, month=9)
    golden = due_runs(only("end_of_day_digest"), j(1, 19, month=5), j(7, 19, month=5))
    assert [r.period for r in golden] == ["2026-05-07"]  # 2-6 May closed


def test_weekly_summary_runs_on_a_holiday_monday_and_covers_the_last_iso_week() -> None:
    (run,) = due_runs(only("weekly_summary"), j(22), j(24))
    assert run.due_at == j(23, 9)  # Monday 23 Nov is a holiday: still sent that morning
    assert run.period == "2026-W47"
    assert (run.start, run.end) == (j(16), j(23))
    (next_week,) = due_runs(only("weekly_summary"), j(24), j(30, 12))
    assert (next_week.period, next_week.due_at) == ("2026-W48", j(30, 9))


def test_exception_alerts_hourly_during_business_hours_on_business_days() -> None:
    runs = due_runs(only("exception_alerts"), j(25), j(26))
    assert [r.due_at for r in runs] == [j(25, h) for h in range(10, 19)]
    assert {r.period for r in runs} == {"2026-11-25"}
    assert all(r.start == j(25) and r.end == r.due_at for r in runs)
    assert due_runs(only("exception_alerts"), j(21), j(24)) == []  # Sat, Sun, holiday Mon
    at_noon = make_policy({"x": Report(kind="exception_alerts", at="12:00", to=["manager"])})
    assert [r.due_at for r in due_runs(at_noon, j(25), j(27))] == [j(25, 12), j(26, 12)]


def test_a_tokyo_wall_time_is_the_same_utc_time_all_year() -> None:
    # Asia/Tokyo has no daylight saving time: 18:00 JST is 09:00 UTC in winter and in summer.
    policy = only("end_of_day_digest")
    for month, day in ((1, 15), (7, 15), (3, 9), (11, 2)):
        (run,) = [r for r in due_runs(policy, j(day, month=month), j(day, 23, month=month))]
        assert run.due_at == datetime(2026, month, day, 9, tzinfo=UTC)


def test_a_daylight_saving_zone_uses_the_wall_clock() -> None:
    base = only("end_of_day_digest")
    business = Calendar(weekly={d: [("09:00", "18:00")] for d in ("mon", "tue", "wed", "thu", "fri", "sun")})
    policy = base.model_copy(
        update={
            "org": Org(timezone="America/New_York", locale="en"),
            "calendars": {"business": business},
            "reports": {"early": Report(kind="end_of_day_digest", at="02:30", to=["rep"])},
        }
    )
    runs = due_runs(policy, datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC))
    # Sunday 8 March 2026: 02:30 does not exist (02:00 EST jumps to 03:00 EDT); the run is at
    # the jump. Friday is EST (UTC-5), Monday EDT (UTC-4).
    assert [r.due_at for r in runs] == [
        datetime(2026, 3, 6, 7, 30, tzinfo=UTC),
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
        datetime(2026, 3, 9, 6, 30, tzinfo=UTC),
    ]


def test_boundaries_due_exactly_at_now_is_in_and_at_since_is_out() -> None:
    policy = only("end_of_day_digest")
    assert [r.due_at for r in due_runs(policy, j(25, 12), j(25, 18))] == [j(25, 18)]
    assert due_runs(policy, j(25, 18), j(25, 23)) == []
    assert due_runs(policy, j(25, 18), j(25, 18)) == []
    assert due_runs(policy, j(26), j(25)) == []  # since after now


def test_seven_day_cap_after_a_long_outage() -> None:
    now = j(30, 20)
    runs = due_runs(POLICY, now - timedelta(days=30), now)
    assert runs == due_runs(POLICY, now - CAP, now)
    assert min(r.due_at for r in runs) > now - CAP
    eod = [r.period for r in runs if r.report == "end_of_day_digest"]
    assert eod == ["2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-30"]
    assert [r.period for r in runs if r.kind == "weekly_summary"] == ["2026-W48"]
    assert runs == sorted(runs, key=lambda r: (r.due_at, r.report))


def test_unsupported_and_disabled_reports_are_not_scheduled() -> None:
    preset = load_preset("b2b-saas")  # rep_daily_digest, a weekly scorecard, a monthly review
    keys = {r.report for r in due_runs(preset, j(22), j(30, 20))}
    assert keys == {"rep_daily_digest"}
    disabled = make_policy({"eod": Report(kind="end_of_day_digest", at="18:00", enabled=False)})
    assert due_runs(disabled, j(22), j(30)) == []
    assert next_due_at(disabled, j(22)) is None


def test_next_due_at() -> None:
    assert next_due_at(POLICY, j(20, 18, 30)) == j(23, 9)  # weekly, on the holiday
    assert next_due_at(POLICY, j(23, 9)) == j(24, 10)  # then Tuesday's first alert check
    assert next_due_at(only("end_of_day_digest"), j(20, 17, 59)) == j(20, 18)
    assert next_due_at(only("end_of_day_digest"), j(20, 18)) == j(24, 18)
    with pytest.raises(ValueError):
        next_due_at(POLICY, datetime(2026, 11, 20))
    with pytest.raises(ValueError):
        due_runs(POLICY, datetime(2026, 11, 20), j(21))


def chain(policy: Policy, since: datetime, now: datetime) -> list[datetime]:
    found: list[datetime] = []
    at = max(since, now - CAP)
    while (step := next_due_at(policy, at)) is not None and step <= now:
        found.append(step)
        at = step
    return found


@settings(max_examples=60, deadline=None)
@given(
    since=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12)),
    reports=st.sampled_from(
        [("end_of_day_digest", "manager_daily_digest", "weekly_summary", "exception_alerts"),
         ("end_of_day_digest",), ("weekly_summary",), ("manager_daily_digest", "weekly_summary")]
    ),
    zone=st.sampled_from(["Asia/Tokyo", "America/New_York"]),
)
def test_due_runs_is_the_chain_of_next_due_at(
    since: datetime, length: timedelta, reports: tuple[str, ...], zone: str
) -> None:
    policy = only(*reports)
    policy = policy.model_copy(update={"org": policy.org.model_copy(update={"timezone": zone})})
    start = since.replace(tzinfo=UTC)
    now = start + length
    runs = due_runs(policy, start, now)
    assert sorted({r.due_at for r in runs}) == chain(policy, start, now)
    assert all(start < r.due_at <= now and r.due_at > now - CAP for r in runs)
    assert [r.due_at for r in runs] == sorted(r.due_at for r in runs)


# --------------------------------------------------------------------------- figures

# Wednesday 25 Nov 2026; the end-of-day digest covers Tue 24 18:00 -> Wed 25 18:00.
LEADS = [
    lead("L1", "demo_request", j(25, 10, 3)),
    lead("L2", "demo_request", j(25, 11, 20)),
    lead("L3", "free_trial"),
    lead("L4", "webinar"),
    lead("L7", "demo_request", j(24, 19)),
    lead("L8", "demo_request"),
    lead("S1", "demo_request", j(25, 9, 35)),
    lead("S2", "webinar", j(25, 13, 2)),
    lead("K1", "demo_request", j(25, 12)),
    lead("A1", "demo_request"),
]
CLOCKS = [
    # sato: L1 met, L2 breached (contact 15 min late), L3 still open past its deadline, L7 met
    # in yesterday's evening (after yesterday's digest), L4 due tomorrow, L8 breached Tuesday.
    clock("L1", "sato", j(25, 10), j(25, 10, 5), stopped=j(25, 10, 3), outcome="met", seconds=180),
    clock("L2", "sato", j(25, 11), j(25, 11, 5), stopped=j(25, 11, 20), outcome="breached", seconds=1200),
    clock("L3", "sato", j(25, 17), j(25, 17, 5)),
    clock("L7", "sato", j(24, 18, 30), j(25, 9, 5), stopped=j(24, 19), outcome="met", seconds=0),
    clock("L4", "sato", j(24, 14), j(26, 14), stage="qualification"),
    clock("L8", "sato", j(24, 10), j(24, 10, 5), outcome="breached"),
    # suzuki: two quick contacts.
    clock("S1", "suzuki", j(25, 9, 30), j(25, 9, 40), stopped=j(25, 9, 35), outcome="met", seconds=300),
    clock("S2", "suzuki", j(25, 13), j(25, 13, 10), stopped=j(25, 13, 2), outcome="met", seconds=120),
    # kato (other team): late.
    clock("K1", "kato", j(25, 10), j(25, 10, 5), stopped=j(25, 12), outcome="breached", seconds=6900),
    # an assignment clock has no owner: only org-wide figures count it.
    clock("A1", None, j(25, 9), j(25, 9, 0), stage="assignment", stopped=j(25, 9), outcome="met", seconds=0),
]
BREACHES = [
    Breach("L8", "first_contact", 0, j(24, 10, 5), owner="sato"),
    Breach("L2", "first_contact", 0, j(25, 11, 5), owner="sato"),
    Breach("K1", "first_contact", 0, j(25, 10, 5), owner="kato", reviewed_by="mori", reviewed_at=j(25, 12, 30)),
]
DATA = ReportData(LEADS, CLOCKS, BREACHES)


def by_recipient(messages: list[OutboxMessage]) -> dict[tuple[str, str], OutboxMessage]:
    return {(m.recipient, m.channel): m for m in messages}


def test_end_of_day_digest_figures_for_a_rep() -> None:
    run = run_of(POLICY, "end_of_day_digest", j(25, 18))
    assert (run.start, run.end) == (j(24, 18), j(25, 18))
    messages = by_recipient(build_messages(run, DATA, POLICY, make_directory()))
    # Reps with activity get their own digest (kato and suzuki too), on both channels.
    assert set(messages) == {
        ("sato", "inapp"), ("sato@example.jp", "email"),
        ("suzuki", "inapp"), ("suzuki@example.com", "email"),
        ("kato", "inapp"), ("kato@example.jp", "email"),
    }
    sato = messages[("sato@example.jp", "email")]
    assert sato.channel_type == "email" and sato.locale == "ja"
    p = sato.payload
    assert (p["type"], p["kind"], p["period"], p["view"]) == ("report", "end_of_day_digest", "2026-11-25", "rep")
    assert p["assigned"] == 4  # L1, L2, L3, L7
    assert p["first_contacts"] == 3  # L1, L2, L7
    assert p["median_first_contact_seconds"] == 180
    assert (p["met"], p["breached"], p["compliance"]) == (2, 2, 50.0)
    assert p["target"] == 85
    breached = [r for r in p["rows"] if r["section"] == "breached"]
    assert [(r["lead"], r["late_seconds"]) for r in breached] == [("L2", 900.0), ("L3", 3300.0)]
    assert [r["lead"] for r in p["rows"] if r["section"] == "at_risk"] == ["L4"]
    assert p["at_risk_until"] == j(26, 18).astimezone(UTC).isoformat()
    json.dumps(p)  # JSON-able
    assert sato.subject == "【SLA日次ダイジェスト】2026年11月25日 遵守率 50%・違反 2件・期限接近 1件"
    assert "割り当てられたリード: 4件" in sato.body_text
    assert "初回コンタクトまでの中央値（営業時間）: 3分" in sato.body_text
    assert "・L2（デモリクエスト）初回コンタクト: 期限 11:05、15分超過" in sato.body_text
    assert "・L3（無料トライアル登録）初回コンタクト: 期限 17:05、55分超過" in sato.body_text
    assert "L4" in sato.body_text and "2026年11月26日 14:00 (JST)" in sato.body_text
    suzuki = messages[("suzuki@example.com", "email")].payload
    assert (suzuki["met"], suzuki["breached"], suzuki["compliance"]) == (2, 0, 100.0)
    assert suzuki["median_first_contact_seconds"] == 210


def test_a_rep_never_sees_another_reps_leads() -> None:
    run = run_of(POLICY, "end_of_day_digest", j(25, 18))
    for message in build_messages(run, DATA, POLICY, make_directory()):
        mine = {"sato": {"L1", "L2", "L3", "L4", "L7", "L8"}, "suzuki": {"S1", "S2"}, "kato": {"K1"}}
        owner = message.payload["person"]
        others = {lead_id for rep, ids in mine.items() if rep != owner for lead_id in ids}
        assert message.payload["scope"] == [owner]
        for lead_id in others:
            assert lead_id not in message.body_text and lead_id not in message.body_html
        assert all(row["owner"] == owner for row in message.payload["rows"])


def test_manager_daily_digest_is_per_team_worst_first() -> None:
    run = run_of(POLICY, "manager_daily_digest", j(25, 18, 30))
    messages = by_recipient(build_messages(run, DATA, POLICY, make_directory()))
    assert set(messages) == {
        ("tanaka", "inapp"), ("tanaka@example.jp", "email"), ("mori", "inapp"), ("mori@example.com", "email"),
    }
    tanaka = messages[("tanaka@example.jp", "email")].payload
    assert tanaka["view"] == "team" and tanaka["scope"] == ["sato", "suzuki"]
    rows = [(r["rep"], r["leads"], r["met"], r["breached"], r["compliance"], r["unreviewed"], r["at_risk"])
            for r in tanaka["rows"]]
    assert rows == [("sato", 4, 2, 2, 50.0, 2, 1), ("suzuki", 2, 2, 0, 100.0, 0, 0)]
    team = tanaka["team"]
    assert (team["met"], team["breached"], team["compliance"], team["target"]) == (4, 2, 66.7, 90)
    # The previous business day (Tue 18:30 back to Fri 18:30 over the holiday): L8 breached.
    assert team["previous_compliance"] == 0.0 and team["change"] == 66.7
    assert [b["lead"] for b in tanaka["breaches"]] == ["L2", "L3"]
    assert not any("K1" in str(v) for v in tanaka.values())
    text = messages[("tanaka@example.jp", "email")].body_text
    assert text.index("佐藤") < text.index("Suzuki")
    assert "チーム遵守率: 66.7%（達成 4件・違反 2件）" in text
    mori = messages[("mori@example.com", "email")]
    assert mori.locale == "en" and mori.payload["scope"] == ["kato"]
    assert [r["rep"] for r in mori.payload["rows"]] == ["kato"]
    assert mori.payload["rows"][0]["unreviewed"] == 0  # reviewed by Mori at 12:30
    assert mori.subject == "[SLA manager digest] 2026-11-25: team compliance 0% (target 90%), 1 breached"
    assert "L1" not in mori.body_text and "S1" not in mori.body_text


def test_other_roles_get_the_org_wide_version() -> None:
    policy = make_policy({"ops": Report(kind="manager_daily_digest", at="18:30", to=["sales_ops"])})
    run = run_of(policy, "ops", j(25, 18, 30))
    (message,) = build_messages(run, DATA, policy, make_directory(policy))
    assert (message.recipient, message.channel, message.locale) == ("ops", "inapp", "en")
    p = message.payload
    assert p["view"] == "org" and p["scope"] is None
    assert {r["rep"] for r in p["rows"]} == {"sato", "suzuki", "kato"}
    # The unowned assignment clock counts org-wide: 5 met, 3 breached.
    assert (p["team"]["met"], p["team"]["breached"], p["team"]["compliance"]) == (5, 3, 62.5)


def test_ja_and_en_rendering_follow_the_recipient_then_the_org() -> None:
    run = run_of(POLICY, "end_of_day_digest", j(25, 18))
    messages = by_recipient(build_messages(run, DATA, POLICY, make_directory()))
    ja, en = messages[("sato", "inapp")], messages[("suzuki", "inapp")]
    assert ja.locale == "ja" and "佐藤さん" in ja.body_text and '<html lang="ja">' in ja.body_html
    assert en.locale == "en" and en.subject.startswith("[SLA daily digest] 2026-11-25: compliance 100%")
    assert "Median time to first contact (business time): 3.5 min" in en.body_text
    assert '<html lang="en">' in en.body_html
    assert messages[("kato", "inapp")].locale == "ja"  # no locale of his own: the org's


def test_lead_ids_are_escaped_in_html() -> None:
    evil = "<script>alert(1)</script>"
    data = ReportData(
        [lead(evil)],
        [clock(evil, "sato", j(25, 10), j(25, 10, 5), stopped=j(25, 11), outcome="breached", seconds=3600)],
        [],
    )
    run = run_of(POLICY, "end_of_day_digest", j(25, 18))
    for message in build_messages(run, data, POLICY, make_directory()):
        assert "<script>" not in message.body_html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.body_html
        assert evil in message.body_text  # plain text is not HTML


def test_exception_alerts_are_silent_when_all_is_well() -> None:
    run = run_of(POLICY, "exception_alerts", j(25, 12))
    good = ReportData(
        LEADS,
        [c for c in CLOCKS if c.outcome == "met"],
        [],
    )
    assert build_messages(run, good, POLICY, make_directory()) == []
    assert build_messages(run, ReportData(), POLICY, make_directory()) == []


def test_exception_alerts_when_a_rep_or_the_team_is_below() -> None:
    run = run_of(POLICY, "exception_alerts", j(25, 12))
    messages = by_recipient(build_messages(run, DATA, POLICY, make_directory()))
    tanaka = messages[("tanaka@example.jp", "email")].payload
    # By noon: sato met L1, breached L2 (50%); suzuki met S1; team 2 of 3.
    assert [(p["rep"], p["compliance"]) for p in tanaka["rows"]] == [("sato", 50.0)]
    assert tanaka["team"]["compliance"] == 66.7 and tanaka["team"]["threshold"] == 90
    mori = messages[("mori@example.com", "email")]
    assert [p["rep"] for p in mori.payload["rows"]] == ["kato"]
    assert mori.subject == "[SLA exception] 2026-11-25: team compliance 0% (threshold 90%); 1 rep below 80%"
    assert "【SLA例外アラート】" in messages[("tanaka", "inapp")].subject
    # Every check of the day shares the dedupe key: one alert a day per recipient and channel.
    later = run_of(POLICY, "exception_alerts", j(25, 15))
    assert {m.dedupe_key for m in build_messages(later, DATA, POLICY, make_directory())} == {
        m.dedupe_key for m in messages.values()
    }


def test_dedupe_keys_are_stable_across_builds() -> None:
    run = run_of(POLICY, "end_of_day_digest", j(25, 18))
    first = build_messages(run, DATA, POLICY, make_directory())
    second = build_messages(run, DATA, POLICY, make_directory())
    assert first == second
    keys = [m.dedupe_key for m in first]
    assert len(keys) == len(set(keys))
    assert "report|end_of_day_digest|2026-11-25|sato@example.jp|email" in keys
    assert "report|end_of_day_digest|2026-11-25|sato|inapp" in keys


def test_running_a_run_twice_enqueues_nothing_new(store: Store) -> None:
    run = run_of(POLICY, "manager_daily_digest", j(25, 18, 30))
    first = build_messages(run, DATA, POLICY, make_directory())
    assert outbox.enqueue(store, first, now=j(25, 18, 31)) == len(first) == 4
    again = build_messages(run, DATA, POLICY, make_directory())
    assert outbox.enqueue(store, again, now=j(25, 18, 45)) == 0
    rows = outbox.list_rows(store)
    assert {r.dedupe_key for r in rows} == {m.dedupe_key for m in first}
    assert all(r.payload["type"] == "report" for r in rows)


def test_a_person_in_two_roles_gets_one_message_with_both_scopes() -> None:
    policy = make_policy({"eod": Report(kind="end_of_day_digest", at="18:00", to=["rep", "manager"])})
    directory = Directory(
        [
            Person("sato", "佐藤", "A", "rep", "tanaka", "ja", {}),
            Person("tanaka", "田中", "A", "manager", None, "ja", {}),
            Person("suzuki", "Suzuki", "A", "rep", "tanaka", "en", {}),
        ],
        make_policy(),
    )
    clocks = [*CLOCKS, clock("T1", "tanaka", j(25, 10), j(25, 10, 5), stopped=j(25, 10, 1), outcome="met")]
    run = run_of(policy, "eod", j(25, 18))
    messages = {m.recipient: m for m in build_messages(run, ReportData(LEADS, clocks, []), policy, directory)}
    assert messages["tanaka"].payload["scope"] == ["sato", "suzuki", "tanaka"]
    assert messages["tanaka"].payload["view"] == "team"
    assert messages["sato"].payload["scope"] == ["sato"]


def test_weekly_summary_by_rep_stage_and_source_with_change() -> None:
    run = run_of(POLICY, "weekly_summary", j(30, 9))
    assert (run.period, run.start, run.end) == ("2026-W48", j(23), j(30))
    # Week 48 (23-29 Nov): sato 3 met / 1 breached; week 47: 1 met / 1 breached.
    clocks = [
        clock("W1", "sato", j(24, 10), j(24, 10, 5), stopped=j(24, 10, 1), outcome="met"),
        clock("W2", "sato", j(25, 10), j(25, 10, 5), stopped=j(25, 10, 1), outcome="met"),
        clock("W3", "sato", j(26, 10), j(26, 11), stage="qualification", stopped=j(26, 10, 30), outcome="met"),
        clock("W4", "sato", j(27, 10), j(27, 10, 5), outcome="breached"),
        clock("V1", "sato", j(17, 10), j(17, 10, 5), stopped=j(17, 10, 1), outcome="met"),
        clock("V2", "sato", j(18, 10), j(18, 10, 5), outcome="breached"),
        clock("X1", "suzuki", j(26, 10), j(26, 10, 5), stopped=j(26, 10, 2), outcome="met"),
        clock("Z1", "kato", j(26, 10), j(26, 10, 5), outcome="breached"),
        # open and not yet due at the end of the week: not counted
        clock("W5", "sato", j(27, 17), j(30, 12), stage="qualification"),
    ]
    leads = [lead("W1"), lead("W2", "webinar"), lead("W3"), lead("W4", "webinar"), lead("V1"),
             lead("V2"), lead("X1"), lead("Z1"), lead("W5")]
    messages = by_recipient(build_messages(run, ReportData(leads, clocks, []), POLICY, make_directory()))
    sato = messages[("sato@example.jp", "email")].payload
    assert sato["view"] == "rep"
    assert "■ 担当者別" not in messages[("sato@example.jp", "email")].body_text
    assert (sato["total"]["met"], sato["total"]["breached"], sato["total"]["compliance"]) == (3, 1, 75.0)
    assert sato["total"]["previous_compliance"] == 50.0 and sato["total"]["change"] == 25.0
    assert sato["total"]["target"] == 85
    assert [(r["key"], r["compliance"]) for r in sato["by_stage"]] == [("first_contact", 66.7), ("qualification", 100.0)]
    assert [(r["key"], r["compliance"], r["target"]) for r in sato["by_source"]] == [
        ("demo_request", 100.0, 90), ("webinar", 50.0, 90),
    ]
    tanaka = messages[("tanaka@example.jp", "email")]
    rows = [(r["key"], r["compliance"], r["change"]) for r in tanaka.payload["by_rep"]]
    assert rows == [("sato", 75.0, 25.0), ("suzuki", 100.0, None)]
    assert (tanaka.payload["total"]["compliance"], tanaka.payload["total"]["target"]) == (80.0, 90)
    assert "Z1" not in tanaka.body_text
    assert tanaka.subject == "【SLA週次サマリー】2026-W48 遵守率 80%（目標 90%、前週比 +30pt）"
    assert "・佐藤: 75%（目標 85%・未達）達成 3・違反 1、前週比 +25pt" in tanaka.body_text
    mori = messages[("mori@example.com", "email")]
    assert mori.subject == "[SLA weekly summary] 2026-W48: compliance 0% (target 90%)"
    assert ("kato@example.jp", "email") in messages


def test_runs_of_a_removed_report_build_nothing() -> None:
    run = run_of(POLICY, "end_of_day_digest", j(25, 18))
    assert build_messages(run, DATA, only("manager_daily_digest"), make_directory()) == []


def test_period_dates_are_local() -> None:
    # 00:30 JST on the 26th is still the 25th in UTC: the period is the local date.
    policy = make_policy({"late": Report(kind="end_of_day_digest", at="00:30", to=["rep"])})
    (run,) = due_runs(policy, j(26), j(26, 1))
    assert run.period == "2026-11-26" and run.due_at.date() == date(2026, 11, 25)


def test_without_a_business_calendar_every_day_is_a_business_day() -> None:
    policy = only("end_of_day_digest", "exception_alerts").model_copy(update={"calendars": {}})
    runs = due_runs(policy, j(21), j(23))  # Saturday and Sunday
    assert [r.period for r in runs if r.report == "end_of_day_digest"] == ["2026-11-21", "2026-11-22"]
    alerts = [r.due_at for r in runs if r.report == "exception_alerts" and r.period == "2026-11-21"]
    assert alerts == [j(21, h) for h in range(1, 24)] + [j(22)]  # hourly, the last at 24:00
    assert next_due_at(policy, j(21, 23, 30)) == j(22)


def test_a_run_at_midnight_end_of_day_belongs_to_its_day() -> None:
    policy = make_policy({"late": Report(kind="end_of_day_digest", at="24:00", to=["rep"])})
    runs = due_runs(policy, j(20), j(25, 1))
    assert [(r.period, r.due_at) for r in runs] == [("2026-11-20", j(21)), ("2026-11-24", j(25))]
    assert runs[1].start == j(21)
    assert next_due_at(policy, j(24, 23)) == j(25)
    assert chain(policy, j(20), j(25, 1)) == [j(21), j(25)]
