"""The columnar replay equals the reference engine, byte for byte (DESIGN principle 1).

Each case runs the reference (`load_event_file`/`read_events` + `run` + `summarize` +
`write_outputs`) and `fast_replay` + `write_fast_outputs` on the same lines and compares the three
files, the errors and the duplicate count: random histories (the strategy of test_engine.py,
extended with every event type, duplicates, bad lines and an as-of in the middle) and demo
generator histories.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadclock.engine.columnar import fast_replay, write_fast_outputs
from leadclock.engine.replay import LineError, read_events, run
from leadclock.engine.rules import compile_rules
from leadclock.policy import load_preset
from leadclock.reports.compliance import summarize, write_outputs

PRESETS = ["b2b-saas", "lead-types", "smb", "enterprise"]
RULES = {name: compile_rules(load_preset(name)) for name in PRESETS}
REPS = ["a", "b", "c", "ae-1"]
FIELDS = ["budget", "authority", "need", "timeline", "next_step"]


def reference(lines: list[str], rules, as_of: datetime | None):  # type: ignore[no-untyped-def]
    numbered, errors = [], []
    for number, item in read_events(lines):
        (errors if isinstance(item, LineError) else numbered).append(
            item if isinstance(item, LineError) else (number, item))
    result = run(numbered, rules, as_of)
    return result, sorted(errors + result.errors, key=lambda e: e.line)


def assert_same(lines: list[str], rules, as_of: datetime | None, tmp: Path,  # type: ignore[no-untyped-def]
                as_file: bool = False) -> None:
    result, errors = reference(lines, rules, as_of)
    summary = summarize(result.leads.values())
    write_outputs(tmp / "ref", result.leads, summary)
    source: list[str] | Path = lines
    if as_file:
        source = tmp / "events.jsonl"
        source.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines),
                          encoding="utf-8")
    fast = fast_replay(source, rules, as_of)
    write_fast_outputs(tmp / "fast", fast)
    for name in ("clocks.csv", "leads.csv", "summary.json"):
        ref_bytes = (tmp / "ref" / name).read_bytes()
        fast_bytes = (tmp / "fast" / name).read_bytes()
        assert fast_bytes == ref_bytes, f"{name} differs"
    assert fast.summary == summary
    assert fast.errors == errors
    assert fast.duplicates == result.duplicates
    assert fast.as_of == result.as_of
    cli = {**summary, "policy_version": result.policy_version,
           "as_of": result.as_of.isoformat() if result.as_of else None,
           "events": {"duplicates": result.duplicates, "rejected": len(errors)}}
    assert fast.cli_summary() == cli


# --------------------------------------------------------------------------- random histories

BAD_LINES = [
    "{not json",
    "",
    "   ",
    "[1, 2]",
    '{"id": "x1", "type": "lead.teleported", "at": "2026-07-08T10:00:00+09:00", "lead": "L0"}',
    '{"id": "x2", "type": "lead.assigned", "at": "2026-07-08T10:00:00+09:00", "lead": "L0"}',
    '{"id":"x3","type":"activity","at":"yesterday","lead":"L0","rep":"a","channel":"call","outcome":"connected"}',
    '{"id":"x4","type":"lead.assigned","at":"2026-07-08T10:00:00+09:00","lead":"L0","rep":5}',
    '{"id":"x5","type":"lead.assigned","at":"2026-07-08T10:00:00+09:00","lead":"L0","rep":"a","rep":7}',
    '{"id":"x6","type":"activity","at":"2026-07-08T10:00:00+09:00","lead":"L0","rep":"a","channel":"fax","outcome":"sent"}',
    '{"id":"x7","type":"lead.status","at":"2026-07-08T10:00:00+09:00","lead":"L0","status":"garbage"}',
    '{"id":"x8","type":"deal.closed","at":"2026-07-08T10:00:00+09:00","lead":"L0","won":"yes","amount":5}',
    '{"id":"x9","type":"opportunity.created","at":"2026-07-08T10:00:00+09:00","lead":"L0","amount":-1}',
    '{"id":"x10","type":"lead.created","at":"2026-02-30T10:00:00+09:00","lead":"L9","source":"webinar"}',
    '{"id":"x11","type":"lead.created","at":"2026-07-08T10:00:00","lead":"L9","source":"webinar"}',
    '{"id":"","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L9","source":"webinar"}',
    '{"id":"x12","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L9","source":"webinar","employees":1.0}',
    '{"id":"x13","type":"lead.status","at":"2026-07-08T10:00:00+09:00","lead":"L0","status":"nurture","revisit":"2026-13-01"}',
    '{"id":"x14","type":"activity","at":"2026-07-08T10:00:00+09:00","lead":"L0","rep":"a\\tb","channel":"call","outcome":"busy"}',
    '{"id":"x15","type":"handoff.requested","at":"2026-07-08T10:00:00+09:00","lead":"L0","from":"a","fields":"all"}',
]


@st.composite
def histories(draw):  # type: ignore[no-untyped-def]
    """test_engine.histories, extended: every event type, odd values, duplicates, bad lines."""
    events: list[dict] = []
    n = 0
    base = datetime(2026, 7, 6, 0, 0, tzinfo=UTC)
    for lead in range(draw(st.integers(1, 4))):
        lid = f"L{lead}"
        when = [base + timedelta(minutes=draw(st.integers(0, 3000)))]

        def add(kind, lid=lid, when=when, **fields):  # type: ignore[no-untyped-def]
            nonlocal n
            n += 1
            zone = draw(st.sampled_from(["+09:00", "+00:00", "-05:30"]))
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            offset = timedelta(hours=hours, minutes=minutes) * (1 if zone[0] == "+" else -1)
            local = (when[0] + offset).replace(tzinfo=None).isoformat()
            events.append({"id": f"{lid}-{n}", "type": kind, "at": local + zone, "lead": lid, **fields})

        if draw(st.integers(0, 9)) == 0:  # an event before the lead exists
            add("lead.assigned", rep=draw(st.sampled_from(REPS)))
            when[0] += timedelta(minutes=draw(st.integers(0, 30)))
        if draw(st.integers(0, 12)):
            created: dict = {"source": draw(st.sampled_from(
                ["demo_request", "webinar", "content_download", "chat", "mystery", "inbound_demo"]))}
            if draw(st.booleans()):
                created["tier"] = draw(st.sampled_from(["hot", "warm", "cold", "lukewarm"]))
            if draw(st.integers(0, 3)) == 0:
                created["score"] = draw(st.sampled_from([10, 50, 79.5, 80, 95]))
            add("lead.created", **created)
        for _ in range(draw(st.integers(0, 12))):
            when[0] += timedelta(minutes=draw(st.integers(0, 900)))
            kind = draw(st.sampled_from(
                ["assign", "call", "call", "call", "status", "handoff", "accept", "reject", "opp",
                 "deal", "engage", "update", "created", "meeting"]))
            if kind == "assign":
                add("lead.assigned", rep=draw(st.sampled_from(REPS)))
            elif kind == "call":
                add("activity", rep=draw(st.sampled_from(REPS)),
                    channel=draw(st.sampled_from(["call", "email", "sms"])),
                    outcome=draw(st.sampled_from(["no_answer", "connected", "replied", "sent",
                                                  "voicemail"])))
            elif kind == "meeting":
                add("activity", rep=draw(st.sampled_from(REPS)), channel="meeting",
                    outcome=draw(st.sampled_from(["held", "booked", "no_show"])))
            elif kind == "status":
                status = draw(st.sampled_from(["qualified", "disqualified", "nurture", "recycled",
                                               "garbage", "unreachable", "in_progress"]))
                fields = {"reason": draw(st.sampled_from(["fit", "no, budget", 'say "no"']))}
                if status in ("qualified", "nurture", "in_progress") and draw(st.booleans()):
                    fields = {}
                if status == "nurture" and draw(st.booleans()):
                    fields["revisit"] = "2026-10-01"
                add("lead.status", status=status, **fields)
            elif kind == "handoff":
                chosen = draw(st.lists(st.sampled_from(FIELDS), unique=True))
                fields = {f: draw(st.sampled_from(["x", ""])) for f in chosen}
                extra = {"to": draw(st.sampled_from(REPS))} if draw(st.integers(0, 3)) else {}
                add("handoff.requested", **{"from": "a", **extra, "fields": fields})
            elif kind == "accept":
                add("handoff.accepted", rep=draw(st.sampled_from(REPS)))
            elif kind == "reject":
                add("handoff.rejected", rep="ae-1", reason="wrong_icp")
            elif kind == "opp":
                extra = {"rep": "ae-1"} if draw(st.booleans()) else {}
                add("opportunity.created", amount=1000, **extra)
            elif kind == "deal":
                add("deal.closed", won=draw(st.booleans()), amount=900)
            elif kind == "engage":
                add("engagement", action="download")
            elif kind == "update":
                update = draw(st.sampled_from([{"title": "VP"}, {"tier": "hot"}, {"tier": "cold"},
                                               {"tier": "nope"}, {"tier": 5}]))
                add("lead.updated", **update)
            else:
                add("lead.created", source="webinar")  # a second creation: an alert only
    if draw(st.booleans()):
        events.append({"id": "avail-1", "type": "rep.availability",
                       "at": (base + timedelta(minutes=draw(st.integers(0, 9000)))).isoformat(),
                       "rep": "a", "status": "away"})
    lines = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in events]
    rnd = random.Random(draw(st.integers(0, 2**16)))
    rnd.shuffle(lines)
    # Re-delivered events (same id), sometimes with other content: the first one counts.
    for line in draw(st.lists(st.sampled_from(lines), max_size=3)) if lines else []:
        lines.insert(rnd.randrange(len(lines) + 1), line)
    if lines and draw(st.booleans()):
        spaced = json.loads(lines[0])
        lines[0] = json.dumps(spaced, ensure_ascii=False)  # non-canonical: the exact path
    for bad in draw(st.lists(st.sampled_from(BAD_LINES), max_size=3)):
        lines.insert(rnd.randrange(len(lines) + 1), bad)
    as_of = None
    if draw(st.booleans()):
        as_of = base + timedelta(minutes=draw(st.integers(0, 12000)))
    return lines, as_of, draw(st.sampled_from(PRESETS))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories())
def test_random_histories_match_the_reference(tmp_path_factory, case):  # type: ignore[no-untyped-def]
    lines, as_of, preset = case
    assert_same(lines, RULES[preset], as_of, tmp_path_factory.mktemp("h"))


def _instant(line: str) -> datetime:
    try:
        return datetime.fromisoformat(json.loads(line)["at"]).astimezone(UTC)
    except Exception:  # bad lines go last
        return datetime.max.replace(tzinfo=UTC)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories(), st.integers(0, 3))
def test_time_ordered_histories_match_the_reference(tmp_path_factory, case, spread):  # type: ignore[no-untyped-def]
    """A history written in time order takes the order step's packed sort: same-instant events
    of one lead (rounded to `spread` hours, so there are many) must still come in type rank,
    then id order."""
    lines, as_of, preset = case
    if spread:
        def coarse(line: str) -> str:
            try:
                event = json.loads(line)
                moment = datetime.fromisoformat(event["at"]).astimezone(UTC)
            except Exception:
                return line
            event["at"] = moment.replace(minute=0, second=0, hour=moment.hour // spread * spread
                                         ).isoformat()
            return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        lines = [coarse(line) for line in lines]
    lines = sorted(lines, key=_instant)
    assert_same(lines, RULES[preset], as_of, tmp_path_factory.mktemp("t"))


def test_file_input_with_crlf_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        '{"id":"1","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L-1","source":"demo_request"}\r',
        "{oops",
        '{"id":"2","type":"lead.assigned","at":"2026-07-08T10:00:20+09:00","lead":"L-1","rep":"yamada"}',
        '{"id":"3","type":"activity","at":"2026-07-08T10:18:20+09:00","lead":"L-1","rep":"yamada","channel":"call","outcome":"connected","note":"caf\\u00e9 \\"x\\""}',
        '{"id":"4","type":"lead.assigned","at":"2026-07-08T10:00:00+09:00","lead":"L-404","rep":"a"}',
        '{"id":"2","type":"lead.assigned","at":"2026-07-08T10:00:20+09:00","lead":"L-1","rep":"other"}',
    ]
    assert_same(lines, RULES["b2b-saas"], None, tmp_path, as_file=True)


def test_reasons_with_commas_quotes_and_carriage_returns(tmp_path: Path) -> None:
    lines = [
        '{"id":"1","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L,1","source":"webinar"}',
        '{"id":"2","type":"lead.assigned","at":"2026-07-08T10:00:20+09:00","lead":"L,1","rep":"sa\\rto"}',
        '{"id":"3","type":"lead.status","at":"2026-07-08T11:00:00+09:00","lead":"L,1","status":"disqualified","reason":"no \\"budget\\", sorry"}',
    ]
    assert_same(lines, RULES["b2b-saas"], None, tmp_path)


# --------------------------------------------------------------------------- demo histories


def demo_lines(seed: int, days: int = 10, per_day: float = 30) -> list[str]:
    from leadclock.sim.demo import generate

    return [json.dumps(e, ensure_ascii=False, separators=(",", ":"))
            for e in generate(seed=seed, days=days, leads_per_day=per_day,
                              start=date(2026, 10, 1))]


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_demo_histories_match_the_reference(tmp_path: Path, seed: int) -> None:
    lines = demo_lines(seed)
    assert_same(lines, RULES["b2b-saas"], None, tmp_path / "all", as_file=True)
    middle = datetime(2026, 10, 6, 3, 30, tzinfo=UTC)
    assert_same(lines, RULES["b2b-saas"], middle, tmp_path / "middle")


def test_demo_history_under_other_presets(tmp_path: Path) -> None:
    lines = demo_lines(3, days=6)
    for preset in ("lead-types", "smb", "enterprise"):
        assert_same(lines, RULES[preset], None, tmp_path / preset)


def test_demo_leads_are_almost_all_handled_by_the_columnar_port() -> None:
    """The classification: leads the port does not model go to the reference engine."""
    result = fast_replay(demo_lines(11, days=20, per_day=40), RULES["b2b-saas"])
    stats = result.stats
    assert stats["leads"] > 500
    assert stats["complex_leads"] / stats["leads"] <= 0.10
    assert stats["slow_lines"] == 0  # generator lines all take the fast parse


def test_complex_leads_go_through_the_reference(tmp_path: Path) -> None:
    """Two complete handoffs in a row leave two acceptance clocks running in the reference."""
    fields = {f: "x" for f in FIELDS}
    rows = [
        {"id": "1", "type": "lead.created", "at": "2026-07-08T10:00:00+09:00", "lead": "L-1", "source": "webinar"},
        {"id": "2", "type": "lead.assigned", "at": "2026-07-08T10:00:10+09:00", "lead": "L-1", "rep": "a"},
        {"id": "3", "type": "lead.status", "at": "2026-07-08T11:00:00+09:00", "lead": "L-1", "status": "qualified"},
        {"id": "4", "type": "handoff.requested", "at": "2026-07-08T12:00:00+09:00", "lead": "L-1", "from": "a", "to": "b", "fields": fields},
        {"id": "5", "type": "handoff.requested", "at": "2026-07-08T13:00:00+09:00", "lead": "L-1", "from": "a", "to": "c", "fields": fields},
        {"id": "6", "type": "handoff.accepted", "at": "2026-07-09T13:00:00+09:00", "lead": "L-1", "rep": "c"},
        {"id": "7", "type": "lead.created", "at": "2026-07-08T10:00:00+09:00", "lead": "L-2", "source": "webinar"},
    ]
    lines = [json.dumps(r) for r in rows]
    result = fast_replay(lines, RULES["b2b-saas"])
    assert result.stats["complex_leads"] == 1
    assert_same(lines, RULES["b2b-saas"], None, tmp_path)


def test_edge_lines_on_the_fast_reader(tmp_path: Path) -> None:
    """What the byte-level reader must leave to the exact path or get exactly right: a byte
    order mark, a \\x01 inside a line, a handoff whose fields repeat a key, same-instant ties
    broken by id, and lead.created attributes the starting tier reads (free-mail and academic
    domains, a student title, employees, account falling back to company)."""
    fields = {f: "x" for f in FIELDS}
    head = '{"id":"c0","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L-0","source":"webinar"}'
    rows = [
        "\ufeff" + head,
        '{"id":"c1","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L-1","source":"webinar","email":"a@gmail.com","employees":1500,"title":"学生","company":"Acme"}',
        '{"id":"c2","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L-2","source":"demo_request","name":"x","company":"株式会社テスト","email":"b@@u-tokyo.ac.jp","industry":"SaaS","employees":50,"title":"VP Sales","country":"JP"}',
        '{"id":"c3","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L-3","source":"content_download","account":"Big","company":"Small","title":"Manager","score":80.5}',
        '{"id":"c4","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L-4","source":"chat","tier":"hot","email":"no-at-sign"}',
        '{"id":"z9","type":"lead.assigned","at":"2026-07-08T10:01:00+09:00","lead":"L-1","rep":"a"}',
        '{"id":"a1","type":"lead.assigned","at":"2026-07-08T10:01:00+09:00","lead":"L-1","rep":"b"}',
        '{"id":"m5","type":"lead.assigned","at":"2026-07-08T10:01:00+09:00","lead":"L-1","rep":"c"}',
        '{"id":"x1","type":"activity","at":"2026-07-08T10:02:00+09:00","lead":"L-2","rep":"a\x01b","channel":"call","outcome":"connected"}',
        '{"id":"q1","type":"lead.status","at":"2026-07-08T11:00:00+09:00","lead":"L-3","status":"qualified"}',
        '{"id":"h1","type":"handoff.requested","at":"2026-07-08T12:00:00+09:00","lead":"L-3","from":"a","to":"b","fields":'
        + json.dumps({**fields, "budget": "x"}, separators=(",", ":"))[:-1] + ',"budget":""}}',
        '{"id":"h2","type":"handoff.requested","at":"2026-07-08T12:00:00+09:00","lead":"L-0","from":"a","fields":'
        + json.dumps(fields, separators=(",", ":")) + "}",
        '{"id":"c5","type":"lead.created","at":"2026-02-30T10:00:00+09:00","lead":"L-5","source":"webinar"}',
        # The 1970-2200 bound is on the UTC instant, whatever the written offset.
        '{"id":"y1","type":"lead.created","at":"1970-01-01T00:30:00+09:00","lead":"L-6","source":"webinar"}',
        '{"id":"y2","type":"lead.created","at":"1969-12-31T23:30:00-02:00","lead":"L-7","source":"webinar"}',
        '{"id":"y3","type":"lead.created","at":"2200-12-31T23:00:00-05:00","lead":"L-8","source":"webinar"}',
        '{"id":"y4","type":"lead.created","at":"2300-01-01T00:00:00+00:00","lead":"L-9","source":"webinar"}',
    ]
    for preset in ("b2b-saas", "enterprise"):
        assert_same(rows, RULES[preset], None, tmp_path / preset / "list")
        assert_same(rows, RULES[preset], None, tmp_path / preset / "file", as_file=True)


def test_quoted_reasons_on_leads_the_reference_replays(tmp_path: Path) -> None:
    """Commas, quotes and newlines in reasons, on a lead the columnar port hands to the reference
    (two complete handoffs in a row) next to one it models itself: clocks.csv stays identical."""
    fields = json.dumps({f: "x" for f in FIELDS}, separators=(",", ":"))
    odd = json.dumps('wrong ICP, "not a fit"\nsee notes')
    rows = []
    for lead in ("L-1", "L-2"):
        rows += [
            f'{{"id":"{lead}c","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"{lead}","source":"webinar"}}',
            f'{{"id":"{lead}a","type":"lead.assigned","at":"2026-07-08T10:00:10+09:00","lead":"{lead}","rep":"sdr, \\"one\\""}}',
            f'{{"id":"{lead}q","type":"lead.status","at":"2026-07-08T11:00:00+09:00","lead":"{lead}","status":"qualified"}}',
            f'{{"id":"{lead}h","type":"handoff.requested","at":"2026-07-08T12:00:00+09:00","lead":"{lead}","from":"a","to":"b","fields":{fields}}}',
            f'{{"id":"{lead}r","type":"handoff.rejected","at":"2026-07-08T13:00:00+09:00","lead":"{lead}","rep":"b","reason":{odd}}}',
        ]
    rows.append(f'{{"id":"L-2h2","type":"handoff.requested","at":"2026-07-08T14:00:00+09:00","lead":"L-2","from":"a","to":"c","fields":{fields}}}')
    rows.append(f'{{"id":"L-2h3","type":"handoff.requested","at":"2026-07-08T15:00:00+09:00","lead":"L-2","from":"a","to":"d","fields":{fields}}}')
    for preset in ("b2b-saas", "smb"):
        assert_same(rows, RULES[preset], None, tmp_path / preset / "list")
        assert_same(rows, RULES[preset], None, tmp_path / preset / "file", as_file=True)


# --------------------------------------------------------------------------- fast reader paths


def test_lead_hash_collisions_fall_back_to_exact_lead_codes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Lead ids are coded by a hash of their bytes; when two ids share it (forced here), the
    second hash disagrees and the history is parsed again with exact codes."""
    import polars as pl

    from leadclock.engine.fast import parse

    calls = []
    real = parse.LeadTable.hashes

    def colliding(values: pl.Series):  # type: ignore[no-untyped-def]
        calls.append(len(values))
        h1, h2 = real(values)
        return h1 & 0x3, h2  # four buckets for every lead id

    monkeypatch.setattr(parse.LeadTable, "hashes", staticmethod(colliding))
    lines = demo_lines(5, days=4)
    assert_same(lines, RULES["b2b-saas"], None, tmp_path / "list")
    assert_same(lines, RULES["b2b-saas"], None, tmp_path / "file", as_file=True)
    assert calls  # the hashed path ran (and collided) before the exact one
    parsed = parse.parse_history(lines)
    assert parsed.vocab.exact_leads


def test_word_scans_on_values_of_every_length(tmp_path: Path) -> None:
    """Values end where the reader's 8-byte word scans find their closing quote (or, for a
    number, the next comma or brace): ids, leads, reps, reasons and lead.created members of
    lengths around word boundaries, multi-byte text, and members in both accepted orders."""
    rows = []
    for size in range(1, 27):
        lead = "L" + "x" * (size - 1)
        rep = "r" + "é" * (size // 2)
        rows += [
            f'{{"id":"{"i" * size}","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"{lead}","source":"{"s" * size}","name":"n","company":"{"c" * size}","email":"{"e" * size}@{"d" * size}.jp","industry":"{"I" * size}","employees":{10 ** (size % 7)},"title":"{"t" * size}","country":"JP","value":{size}.5,"tier":"hot","score":{size}}}',
            f'{{"id":"a{size}","type":"lead.assigned","at":"2026-07-08T10:01:00+09:00","lead":"{lead}","rep":"{rep}","by":"{"b" * size}"}}',
            f'{{"id":"b{size}","type":"activity","at":"2026-07-08T10:02:00+09:00","lead":"{lead}","rep":"{rep}","channel":"call","outcome":"connected","next_step":"{"次" * size}"}}',
            f'{{"id":"c{size}","type":"lead.status","at":"2026-07-08T11:00:00+09:00","lead":"{lead}","status":"nurture","reason":"{"w" * size}","revisit":"2026-10-01","rep":"{rep}"}}',
            f'{{"id":"d{size}","type":"opportunity.created","at":"2026-07-08T12:00:00+09:00","lead":"{lead}","amount":{size * 1000},"rep":"{rep}"}}',
        ]
    rows.append('{"id":"k1","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"K-1","source":"webinar","company":"Acme","email":"a@b.c","industry":"SaaS","employees":7,"title":"VP","country":"JP","account":"Big","value":1,"tier":"warm","score":55.25,"name":"z","team":"t"}')
    rows.append('{"id":"k2","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"K-2","source":"webinar","tier":"cold"}')
    rows.append('{"id":"k3","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"K-3","source":"webinar","score":0}')
    assert fast_replay(rows, RULES["b2b-saas"]).stats["slow_lines"] == 0  # all on the fast path
    for preset in ("b2b-saas", "enterprise"):
        assert_same(rows, RULES[preset], None, tmp_path / preset / "list")
        assert_same(rows, RULES[preset], None, tmp_path / preset / "file", as_file=True)


MALFORMED = [
    b'{"id":"m1","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L-1","source":"web\xff"}',  # bad UTF-8
    b'{"id":"m2","type":"lead.assigned","at":"2026-07-08T10:00:00+09:00","lead":"L-1"}',  # missing rep
    b'{"id":"m3","type":"lead.assigned","at":"2026-07-08T10:00:00+09:00","lead":"L-1","rep":5}',  # wrong type
    b'{"id":"m4","type":"lead.assigned","at":"2026-07-08T10:00:00+09:00","lead":"L-1","lead":"L-2","rep":"a"}',  # duplicate key
    b'{"id":"m5","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L-3","source":"web","employees":123456789012345678901234567890}',  # huge int
    b' {"id":"m6","type":"lead.assigned","at":"2026-07-08T10:00:00+09:00","lead":"L-1","rep":"a"} ',  # odd whitespace
    b'{"id":"m7","type":"lead.assigned","at":"2026-07-08T10:00:00+09:00","lead":"L-\\u0031","rep":"a"}',  # escape in an id
    b'{"id":"m8","type":"activity","at":"2026-07-08T10:00:00+09:00","lead":"L-1","rep":"a","channel":"call","outcome":"connected","note":"tab\there"}',  # raw control character
    b'{"id":"m9","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"L-4","source":"web","title":"x","title":"y"}',  # repeated member
    b'{"id":"m10","type":"lead.created","at":"2026-07-08T10:00:00+09:00","lead":"","source":"web"}',  # empty lead
    b'{"id":"m11","type":"activity","at":"2026-07-08T10:00:00+09:00","lead":"L-1","rep":"a","channel":"calls","outcome":"connected"}',  # enum prefix
    b'{"id":"m12","type":"lead.status","at":"2026-07-08T10:00:00+09:00","lead":"L-1","status":"nurture","revisit":"2026-02-30"}',  # no such date
    b'{"id":"m13","type":"opportunity.created","at":"2026-07-08T10:00:00+09:00","lead":"L-1","amount":1e3,"rep":"a"}',  # exponent
    b'{"id":"m14","type":"deal.closed","at":"2026-07-08T10:00:00+09:00","lead":"L-1","won":true,"amount":5,"rep":"a"}\x01',  # trailing byte
    b'{"id":"m15","type":"lead.updated","at":"2026-07-08T10:00:00+09:00","lead":"L-1","title":"\\"q\\""}',  # escaped quotes
]


@pytest.mark.parametrize("index", range(len(MALFORMED)))
def test_malformed_lines_take_the_exact_path(tmp_path: Path, index: int) -> None:
    """Each line the fast reader must not accept, between canonical ones, read from a file (a bad
    UTF-8 byte only exists there): errors, line numbers and files as the reference's."""
    head = [
        '{"id":"h1","type":"lead.created","at":"2026-07-08T09:00:00+09:00","lead":"L-1","source":"webinar"}',
        '{"id":"h2","type":"lead.created","at":"2026-07-08T09:00:00+09:00","lead":"L-2","source":"webinar"}',
    ]
    tail = ['{"id":"t1","type":"lead.assigned","at":"2026-07-08T10:30:00+09:00","lead":"L-1","rep":"b"}']
    raw = MALFORMED[index]
    path = tmp_path / "events.jsonl"
    path.write_bytes(("\n".join(head) + "\n").encode() + raw + b"\n" + ("\n".join(tail) + "\n").encode())
    rules = RULES["b2b-saas"]
    with open(path, encoding="utf-8", errors="strict") as handle:
        try:
            lines = handle.readlines()
        except UnicodeDecodeError:
            lines = None
    if lines is None:  # the reference reads text and fails on the byte: so does the fast reader
        with pytest.raises(UnicodeDecodeError):
            fast_replay(path, rules)
        return
    _, errors = reference(lines, rules, None)
    fast = fast_replay(path, rules)
    assert fast.errors == errors
    assert_same(lines, rules, None, tmp_path / "cmp", as_file=True)


@pytest.mark.parametrize("chunk_bytes", [64, 333, 4096])
def test_small_chunks_read_the_same_history(tmp_path: Path, chunk_bytes: int) -> None:
    """The reader's reusable buffer: lines longer than a chunk (it grows), lines cut between
    chunks (the rest moves to the front), a last line without a line break, a carriage return:
    the columns, codes and errors are those of one big chunk."""
    import numpy as np

    from leadclock.engine.fast.parse import parse_history

    lines = demo_lines(9, days=3, per_day=12) + BAD_LINES[:4]
    text = "\n".join(lines[:40]) + "\r\n" + "\n".join(lines[40:])  # no final line break
    path = tmp_path / "events.jsonl"
    path.write_text(text, encoding="utf-8")
    keys = ("industry", "employees", "title", "email")
    whole = parse_history(path, ("budget",), keys)
    small = parse_history(path, ("budget",), keys, chunk_bytes=chunk_bytes)
    assert small.lines == whole.lines and small.errors == whole.errors
    names_a = np.array([*whole.vocab.lead_names().to_list(), None], dtype=object)
    names_b = np.array([*small.vocab.lead_names().to_list(), None], dtype=object)
    assert (names_a[whole.cols["lead"]] == names_b[small.cols["lead"]]).all()
    for name in ("line", "idh", "idh2", "type", "at", "c", "d", "exotic"):
        assert np.array_equal(whole.cols[name], small.cols[name]), name
    assert np.array_equal(whole.cols["score"], small.cols["score"], equal_nan=True)
    assert np.array_equal(whole.created["line"], small.created["line"])
