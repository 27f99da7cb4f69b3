"""The dashboard in a real browser: Debian's Chromium driven by Playwright against a real server
(uvicorn on a free port, in a thread) over the 30-day demo history, on SQLite and PostgreSQL.

A manager and a rep sign in and see the numbers the `compliance` report gives for the same store,
scope and instant; the manager tags a breach (htmx, in place) and switches language; the rep
cannot open another rep's lead. Screenshots go to tests/artifacts/ (git-ignored).

Under CI=true a missing Playwright or Chromium fails the test: CI must never pass by not testing.
Elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from leadclock.api import create_app
from leadclock.api import queries as api_queries
from leadclock.policy import load_preset
from leadclock.reports.output import format_value
from leadclock.reports.params import ReportRequest
from leadclock.reports.registry import run
from leadclock.service.ingest import ingest_events
from leadclock.sim.demo import demo_roster, generate
from leadclock.store import Store
from leadclock.web.accounts import create_user

CHROMIUM = os.environ.get("LEADCLOCK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "demo password 1"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Server:
    base: str
    store: Store
    now: datetime


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(db_url: str) -> Iterator[Server]:
    events = list(generate(seed=7, days=30, policy_name="b2b-saas"))
    ingest_events(events, db_url, load_preset("b2b-saas"), roster=demo_roster())
    with Store(db_url) as store:
        latest = store.latest_event_at()
    assert latest is not None
    now = latest + timedelta(minutes=1)  # the instant the demo history describes
    app = create_app(db_url, clock=lambda: now)
    store = app.state.leadclock.store
    for login, role, team, rep, locale in (("inoue", "manager", "sales", None, "ja"),
                                           ("sato", "rep", None, "sdr-sato", "en")):
        create_user(store, login=login, password=PASSWORD, role=role, team=team, rep=rep, locale=locale,
                    now=now, display_name=login.title())
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        yield Server(f"http://127.0.0.1:{port}", store, now)
    finally:
        instance.should_exit = True
        thread.join(timeout=10)
        store.close()


@pytest.fixture
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        _unavailable(f"playwright is not installed ({error})")
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except Exception as error:  # a broken install is as bad as a missing one
            _unavailable(f"Chromium at {CHROMIUM} does not start: {error}")
        try:
            yield browser
        finally:
            browser.close()


def compliance(server: Server, lang: str, **scope: Any) -> Any:
    policy_version = api_queries.active_version(server.store)
    assert policy_version is not None
    policy = server.store.load_policy(policy_version)
    assert policy is not None
    return run("compliance", ReportRequest(store=server.store, policy=policy, now=server.now, lang=lang,  # type: ignore[arg-type]
                                           **scope))


def expected_tiles(report: Any, lang: str) -> dict[str, str]:
    tiles = {row["period"]: format_value(row["compliance"], "percent", lang)  # type: ignore[arg-type]
             for row in report.table("periods").rows if row["period"] in ("today", "week", "month")}
    tiles["in_breach"] = str(len({row["lead"] for row in report.table("in_breach").rows}))
    tiles["due_soon"] = str(len({row["lead"] for row in report.table("due_soon").rows}))
    return tiles


def shown_tiles(page: Any) -> dict[str, str]:
    found = {}
    for key in ("today", "week", "month", "in_breach", "due_soon"):
        found[key] = page.locator(f'[data-testid="tile-{key}"] [data-testid="tile-value"]').inner_text().strip()
    return found


def sign_in(browser: Any, server: Server, login: str, **context: Any) -> Any:
    page = browser.new_page(**context)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{server.base}/ui/")
    assert "/ui/login" in page.url
    page.fill('input[name="login"]', login)
    page.fill('input[name="password"]', PASSWORD)
    page.click('[data-testid="login-submit"]')
    page.wait_for_url(f"{server.base}/ui/")
    page.wait_for_load_state("networkidle")
    page.problems = problems  # checked at the end of each scenario
    return page


def test_manager_and_rep_in_a_real_browser(server: Server, chromium: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    suffix = "pg" if server.store.dialect == "postgresql" else "sqlite"

    # --- the manager (team "sales", Japanese) sees the report's numbers for their team
    manager = sign_in(chromium, server, "inoue", viewport={"width": 1280, "height": 900})
    report = compliance(server, "ja", team="sales")
    assert shown_tiles(manager) == expected_tiles(report, "ja")
    # Per rep: every rep of the team with the compliance the report computed, nobody else.
    by_rep = {row["rep"]: format_value(row["compliance"], "percent", "ja") for row in report.table("by_rep").rows}
    table = manager.locator('[data-table="by_rep"] tbody tr')
    shown = {table.nth(i).locator("td").nth(0).inner_text(): table.nth(i).locator("td").nth(5).inner_text()
             for i in range(table.count())}
    assert shown == by_rep and all(rep.startswith("ae-") for rep in shown)
    assert manager.locator(".chart-area canvas").count() >= 1, "the 30-day trend chart was not drawn"
    manager.screenshot(path=str(ARTIFACTS / f"manager-dashboard-ja-{suffix}.png"), full_page=True)

    # --- the live view refreshes itself: htmx polls the fragment (every 15 s) and swaps it in
    with manager.expect_response(lambda r: "/ui/fragments/compliance" in r.url, timeout=25_000) as polled:
        pass
    assert polled.value.status == 200

    # --- tag a breach (htmx swaps the row in place) and find it stored with its audit entry
    manager.goto(f"{server.base}/ui/breaches")
    row = manager.locator('[data-testid="breach-row"]').first
    lead = row.get_attribute("data-lead")
    row_id = row.get_attribute("id")
    assert lead and row_id
    row.locator('select[name="category"]').select_option("missed_notification")
    row.locator('input[name="note"]').fill("通知を見逃した (browser test)")
    row.locator('button[type="submit"]').click()
    saved = manager.locator(f'#{row_id}[class~="saved"]')
    saved.wait_for(timeout=10_000)
    assert "manager:inoue" in saved.inner_text()
    stage, seq = row.get_attribute("data-stage"), row.get_attribute("data-seq")
    assert stage and seq
    stored = api_queries.breach(server.store, lead, stage, int(seq))
    assert stored is not None and stored.category == "missed_notification" and stored.reviewed_by == "manager:inoue"
    assert stored.note == "通知を見逃した (browser test)"
    audit = api_queries.audit(server.store, api_queries.Scope(everything=True), lead=lead, action="breach.reviewed")
    assert audit and audit[0].detail["category"] == "missed_notification"
    manager.screenshot(path=str(ARTIFACTS / f"breach-review-{suffix}.png"))

    # --- switch to English: labels change, and the numbers are the English report's
    manager.goto(f"{server.base}/ui/")
    manager.click('[data-testid="lang-toggle"]')
    manager.wait_for_load_state("networkidle")
    assert manager.locator("html").get_attribute("lang") == "en"
    assert manager.locator("h1").first.inner_text().startswith("Live SLA dashboard")
    assert manager.locator('nav[aria-label="main"]').inner_text().split()[0] == "Compliance"
    assert shown_tiles(manager) == expected_tiles(compliance(server, "en", team="sales"), "en")
    manager.screenshot(path=str(ARTIFACTS / f"manager-dashboard-en-{suffix}.png"), full_page=True)
    assert not manager.problems, manager.problems

    # --- the rep (sdr-sato, English) sees their own numbers and only their own leads
    rep = sign_in(chromium, server, "sato", viewport={"width": 390, "height": 844}, is_mobile=True)
    mine = compliance(server, "en", rep="sdr-sato")
    assert shown_tiles(rep) == expected_tiles(mine, "en")
    reps_in_table = rep.locator('[data-table="by_rep"] tbody tr td:first-child').all_inner_texts()
    assert reps_in_table == ["sdr-sato"]
    rep.screenshot(path=str(ARTIFACTS / f"rep-phone-{suffix}.png"), full_page=True)
    rep.goto(f"{server.base}/ui/reps")
    leads_shown = set(rep.locator("td a[href^='/ui/leads/']").all_inner_texts())
    others = {c.lead for c in api_queries.clocks(server.store, api_queries.Scope(everything=True), open_only=True,
                                                 limit=5000) if c.owner not in (None, "sdr-sato")}
    assert leads_shown and not (leads_shown & (others - _owned_by(server.store, "sdr-sato")))
    assert not rep.problems, rep.problems
    someone_else = next(iter(sorted(others - _owned_by(server.store, "sdr-sato"))))
    answer = rep.goto(f"{server.base}/ui/leads/{someone_else}")
    assert answer is not None and answer.status == 404

    # --- the first page stays quick on the demo data (about 1,200 leads, 9,000 events)
    median = first_page_seconds(server)
    print(f"\nfirst page ({server.store.dialect}, demo 30 days): median {median * 1000:.0f} ms")
    assert median < 2.0, f"the compliance page took {median:.2f} s"


def _owned_by(store: Store, rep: str) -> set[str]:
    return {lead.id for lead in api_queries.leads(store, api_queries.Scope(everything=False, rep=rep), limit=1000)}


def first_page_seconds(server: Server, rounds: int = 5) -> float:
    """The compliance page's server time (median, warm) for the manager, over plain HTTP."""
    import httpx

    with httpx.Client(base_url=server.base, follow_redirects=False) as client:
        form = client.get("/ui/login")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        assert client.post("/ui/login", data={"csrf_token": token, "login": "inoue",
                                              "password": PASSWORD}).status_code == 303
        client.get("/ui/")  # warm: imports, the policy cache
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            assert client.get("/ui/").status_code == 200
            timings.append(time.perf_counter() - started)
    return sorted(timings)[len(timings) // 2]
