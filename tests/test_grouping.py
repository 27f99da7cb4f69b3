"""Group commit (service.grouping): concurrent deliveries share one Live.ingest transaction, and
each still gets exactly its own answer. On SQLite and PostgreSQL, through the real live path;
a gate in front of `Live.ingest` holds the first transaction so that the others queue behind it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_worker import T0, ev, live_store

from leadclock.api import ApiSettings, create_app, create_token
from leadclock.engine.events import Event
from leadclock.service.grouping import IngestGroups
from leadclock.service.live import Ingested, Live
from leadclock.store import Store

NOW = T0 + timedelta(seconds=5)


class Gated:
    """Live.ingest behind a gate that holds the first call until released; records each call's
    event ids, and raises for a batch holding a "poison" event (as a bug on one lead would)."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.calls: list[list[str]] = []

    def __call__(self, events: Sequence[Event], now: datetime, actor: str) -> Ingested:
        self.calls.append([e.id for e in events])
        if len(self.calls) == 1:
            self.entered.set()
            assert self.gate.wait(30)
        if any(e.id.startswith("poison") for e in events):
            raise RuntimeError("cannot ingest a poison event")
        return self.live.ingest(events, now, actor)


def run_together(groups: IngestGroups, gated: Gated, first: list[Event],
                 others: list[tuple[list[Event], str]], later: datetime = NOW) -> tuple[Any, list[Any]]:
    """Submit `first` (held at the gate; ingested as of NOW), then `others` while it is held;
    release; the transactions after the first run as of `later`. Returns every delivery's answer
    (or the exception it raised)."""
    answers: dict[int, Any] = {}
    clock = [NOW]

    def submit(slot: int, events: list[Event], actor: str) -> None:
        try:
            answers[slot] = groups.submit(events, lambda: clock[0], actor)
        except Exception as error:
            answers[slot] = error

    threads = [threading.Thread(target=submit, args=(0, first, "api"))]
    threads[0].start()
    assert gated.entered.wait(30)
    for slot, (events, actor) in enumerate(others, start=1):
        threads.append(threading.Thread(target=submit, args=(slot, events, actor)))
        threads[-1].start()
    deadline = time.monotonic() + 30
    while groups.waiting() < len(others):  # everyone queued behind the held transaction
        assert time.monotonic() < deadline
        time.sleep(0.005)
    clock[0] = later
    gated.gate.set()
    for thread in threads:
        thread.join(30)
    return answers[0], [answers[slot] for slot in range(1, len(others) + 1)]


def summary(answer: Ingested) -> tuple[list[str], list[str], list[tuple[int, str]]]:
    return ([e.id for e in answer.stored], answer.duplicates, [(e.line, e.field) for e in answer.errors])


def test_waiting_deliveries_share_one_transaction_and_get_their_own_answers(store: Store) -> None:
    gated = Gated(live_store(store))
    groups = IngestGroups(gated)
    first = [ev("lead.created", T0, "L-1", source="demo_request")]
    created_2 = ev("lead.created", T0, "L-2", source="demo_request")
    call_1 = ev("activity", NOW + timedelta(seconds=8), "L-1", rep="sato", channel="call", outcome="connected")
    created_3 = ev("lead.created", T0, "L-3", source="webinar")
    stray = ev("activity", T0, "L-404", rep="sato", channel="call", outcome="connected")
    others = [
        ([created_2, call_1], "api"),
        ([first[0]], "api"),  # a re-delivery of the held event
        ([stray], "api"),  # about a lead nobody created
        ([created_3, created_3], "api"),  # the same event twice in one delivery
        ([ev("lead.created", T0, "L-5", source="demo_request")], "crm"),  # another actor
    ]
    lead, answers = run_together(groups, gated, first, others, later=NOW + timedelta(seconds=10))

    # The held transaction alone; then every waiting delivery of actor "api", in arrival order,
    # in one, and the other actor's in another (whichever of their threads leads first).
    assert len(gated.calls) == 3
    api_ids = [e.id for events, actor in others if actor == "api" for e in events]
    assert sorted(gated.calls[1:]) == sorted([api_ids, [others[4][0][0].id]])
    assert groups.stats.largest == 4

    assert summary(lead) == ([first[0].id], [], [])
    assert summary(answers[0]) == ([created_2.id, call_1.id], [], [])
    assert summary(answers[1]) == ([], [first[0].id], [])
    assert summary(answers[2]) == ([], [], [(1, "lead")])  # numbered within its own delivery
    assert summary(answers[3]) == ([created_3.id], [created_3.id], [])
    assert summary(answers[4]) == ([others[4][0][0].id], [], [])

    # Each answer holds the leads it touched, with the effects the shared transaction stored.
    assert set(answers[0].settled.leads) == {"L-1", "L-2"}
    assert {e.lead for e in answers[0].settled.effects} <= {"L-1", "L-2"}
    assert any(e.kind == "clock_stopped" and e.lead == "L-1" for e in answers[0].settled.effects)
    assert set(answers[3].settled.leads) == {"L-3"} and answers[3].settled.leads["L-3"].owner
    assert answers[1].settled.effects == [] or {e.lead for e in answers[1].settled.effects} == {"L-1"}
    # And the store is as if each had come alone: every lead routed once, the call counted.
    for name in ("L-1", "L-2", "L-3", "L-5"):
        row = store.lead(name)
        assert row is not None and row.owner, name
        assert sum(e.type == "lead.assigned" for e in store.events(name)) == 1
    assert store.lead("L-404") is None
    first_contact = {c.stage: c for c in store.clocks(lead="L-1")}["first_contact"]
    assert first_contact.outcome == "met"


def test_a_delivery_that_fails_fails_only_itself(store: Store) -> None:
    gated = Gated(live_store(store))
    groups = IngestGroups(gated)
    first = [ev("lead.created", T0, "L-1", source="demo_request")]
    good = [ev("lead.created", T0, "L-2", source="demo_request")]
    poison = [Event("poison-1", "lead.created", T0, "L-3", {"source": "demo_request"})]
    later = [ev("lead.created", T0, "L-4", source="demo_request")]
    _, answers = run_together(groups, gated, first, [(good, "api"), (poison, "api"), (later, "api")])

    assert isinstance(answers[1], RuntimeError)
    assert summary(answers[0]) == ([good[0].id], [], [])
    assert summary(answers[2]) == ([later[0].id], [], [])
    # The shared attempt stored nothing; each was retried alone.
    assert gated.calls[1] == [good[0].id, "poison-1", later[0].id]
    assert gated.calls[2:] == [[good[0].id], ["poison-1"], [later[0].id]]
    assert groups.stats.retried_alone == 3
    assert store.lead("L-3") is None and store.known_leads({"L-3"}) == set()
    assert {name for name in ("L-1", "L-2", "L-4") if store.lead(name) is not None} == {"L-1", "L-2", "L-4"}


def test_a_group_never_exceeds_max_events(store: Store) -> None:
    gated = Gated(live_store(store))
    groups = IngestGroups(gated, max_events=3)
    first = [ev("lead.created", T0, "L-0", source="demo_request")]
    deliveries = [([ev("lead.created", T0, f"L-{i}", source="demo_request") for _ in range(1)], "api")
                  for i in range(1, 6)]
    _, answers = run_together(groups, gated, first, deliveries)
    assert all(len(call) <= 3 for call in gated.calls)
    assert sorted(len(call) for call in gated.calls[1:]) == [2, 3]
    assert all(len(answer.stored) == 1 for answer in answers)


@pytest.fixture
def concurrent_api(db_url: str) -> Any:
    clock: Callable[[], datetime] = lambda: T0 + timedelta(minutes=30)  # noqa: E731
    app = create_app(db_url, clock=clock, settings=ApiSettings(rate_limit_per_second=10000.0, rate_limit_burst=10000))
    store = app.state.leadclock.store
    token = create_token(store, "admin", name="root")
    from leadclock.policy import preset_text

    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        text = preset_text("b2b-saas") + "\nrouting:\n  reps:\n    sato: {team: east}\n    yamada: {team: east}\n" \
            "  pools:\n    sdrs: [sato, yamada]\n  rules:\n    - {name: all, when: {}, strategy: round_robin, pool: sdrs}\n" \
            "  after_hours: {queue: false}\n"
        response = client.post("/policies", content=text, headers={**headers, "Content-Type": "text/yaml"})
        assert response.status_code == 201, response.text
        yield client, headers, app


def test_concurrent_posts_each_get_their_assignment(concurrent_api: Any) -> None:
    """Through HTTP: 8 clients posting lead.created at once; every answer carries its own lead's
    owner, every lead is assigned exactly once, and the answers match what is stored."""
    client, headers, app = concurrent_api
    store: Store = app.state.leadclock.store
    answers: dict[str, Any] = {}
    lock = threading.Lock()

    def post(worker: int) -> None:
        for n in range(6):
            lead = f"C-{worker}-{n}"
            body = {"id": f"{lead}-c", "type": "lead.created", "at": (T0 + timedelta(minutes=29)).isoformat(),
                    "lead": lead, "source": "demo_request"}
            response = client.post("/events", json=body, headers=headers)
            with lock:
                answers[lead] = response

    threads = [threading.Thread(target=post, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 48
    for lead, response in answers.items():
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["lead"]["id"] == lead and body["assignment"]["owner"] in {"sato", "yamada"}
        assert all(e["lead"] == lead for e in body["effects"])
        stored = store.lead(lead)
        assert stored is not None and stored.owner == body["assignment"]["owner"]
        assert sum(e.type == "lead.assigned" for e in store.events(lead)) == 1
    stats = app.state.leadclock.ingests.stats
    assert stats.deliveries == 48 and stats.transactions <= 48
    # Round robin over two reps, however the deliveries were grouped: an even split.
    owners = [r.json()["assignment"]["owner"] for r in answers.values()]
    assert owners.count("sato") == owners.count("yamada") == 24


def test_async_callers_share_transactions_and_a_closed_loop_stops_nothing(store: Store) -> None:
    """submit_async: awaited from an event loop without a thread each; grouped like the others.
    A caller whose loop is gone by the time its answer is ready (a server stopping) does not
    stop the ingest thread: the next delivery is still served."""
    import asyncio

    gated = Gated(live_store(store))
    groups = IngestGroups(gated)
    held = threading.Thread(target=groups.submit,
                            args=([ev("lead.created", T0, "L-0", source="demo_request")], lambda: NOW, "api"))
    held.start()
    assert gated.entered.wait(30)
    leads = [f"A-{i}" for i in range(3)]

    async def three() -> list[Ingested]:
        tasks = [asyncio.ensure_future(groups.submit_async([ev("lead.created", T0, lead, source="demo_request")],
                                                           lambda: NOW, "api")) for lead in leads]
        while groups.waiting() < 3:
            await asyncio.sleep(0.005)
        gated.gate.set()
        return list(await asyncio.gather(*tasks))

    answers = asyncio.run(three())
    held.join(30)
    assert [sorted(a.settled.leads) for a in answers] == [[lead] for lead in leads]
    assert gated.calls[1] == [e for a in answers for e in (x.id for x in a.stored)]  # one shared transaction

    async def abandon() -> None:
        # Queued behind a held transaction, then the loop ends before the answer comes.
        gated.gate.clear()
        gated.calls.clear()
        gated.entered.clear()
        abandoned = asyncio.ensure_future(groups.submit_async(
            [ev("lead.created", T0, "Z-1", source="demo_request")], lambda: NOW, "api"))
        await asyncio.sleep(0.05)
        assert not abandoned.done()  # still waiting when its loop goes away

    asyncio.run(abandon())
    assert gated.entered.wait(30)  # the abandoned delivery is being ingested
    serving = groups._thread
    gated.gate.set()
    while groups.waiting() or gated.calls == []:
        time.sleep(0.01)
    time.sleep(0.1)  # the abandoned answer is being handed to the closed loop
    later: list[Ingested] = []
    worker = threading.Thread(target=lambda: later.append(
        groups.submit([ev("lead.created", T0, "Z-2", source="demo_request")], lambda: NOW, "api")))
    worker.start()
    worker.join(30)
    assert later and [e.lead for e in later[0].stored] == ["Z-2"]
    assert groups._thread is serving and serving is not None and serving.is_alive()  # it survived
    assert store.lead("Z-1") is not None  # stored all the same: a client's retry finds a duplicate


def test_the_ingest_thread_ends_when_idle_and_comes_back(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from leadclock.service import grouping

    monkeypatch.setattr(grouping, "IDLE_SECONDS", 0.05)
    live = live_store(store)
    groups = IngestGroups(live.ingest)
    first = groups.submit([ev("lead.created", T0, "I-1", source="demo_request")], lambda: NOW, "api")
    deadline = time.monotonic() + 10
    while groups._thread is not None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    second = groups.submit([ev("lead.created", T0, "I-2", source="demo_request")], lambda: NOW, "api")
    assert [e.lead for e in first.stored + second.stored] == ["I-1", "I-2"]
