"""The dashboard (web/) against a real store, on SQLite and PostgreSQL: sign-in (ok, wrong
password, disabled user, throttling), sessions that logout really ends, CSRF on every form, role
scoping (a rep never sees another rep's lead; a manager never another team's), every page for
every role, bad query parameters answered with a 4xx naming them, breach tagging with its audit
entry, the language switch, and `leadclock user`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadclock.api import ApiSettings, create_app, create_token, route_table
from leadclock.api import queries as api_queries
from leadclock.cli.main import app as cli
from leadclock.policy import preset_text
from leadclock.store import Store
from leadclock.web.accounts import create_user, list_users, set_disabled, verify_login
from leadclock.web.i18n import LABELS
from leadclock.web.sessions import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from leadclock.web.throttle import LoginThrottle
from leadclock.web.views.signin import safe_next

T0 = datetime(2026, 7, 8, 1, 0, tzinfo=UTC)  # Wed 10:00 JST, inside b2b-saas business hours
NOW = T0 + timedelta(hours=1)
PASSWORD = "correct horse battery"
runner = CliRunner()

# login -> (role, team, rep)
PEOPLE: dict[str, tuple[str, str | None, str | None]] = {
    "admin": ("admin", None, None),
    "ops": ("ops", None, None),
    "mgr-east": ("manager", "east", None),
    "mgr-west": ("manager", "west", None),
    "sato": ("rep", None, "sato"),
    "tanaka": ("rep", None, "tanaka"),
}
PAGES = ["/ui/", "/ui/fragments/compliance", "/ui/reps", "/ui/breaches", "/ui/breaches?reviewed=all",
         "/ui/scorecards", "/ui/scorecards?week=this", "/ui/trends", "/ui/funnel", "/ui/reports",
         "/ui/reports/correlation", "/ui/reports/root-causes", "/ui/reports/target-review",
         "/ui/reports/consequences", "/ui/reports/digest?kind=daily", "/ui/policy", "/ui/policy/agreement"]


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its production cost takes about half a second a hash on a busy 2-core machine;
    these tests sign in dozens of times. The same code, with the smallest parameters."""
    from argon2 import PasswordHasher

    from leadclock.web import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("no such user"))


def test_passwords_are_stored_as_argon2id_hashes_only() -> None:
    from leadclock.web import accounts

    production = accounts.PasswordHasher()
    assert production.type.name == "ID" and production.memory_cost >= 19 * 1024


@dataclass
class World:
    client: TestClient
    store: Store

    def fresh(self) -> TestClient:
        """Another browser (own cookie jar) on the same app."""
        return TestClient(self.client.app, base_url=str(self.client.base_url), follow_redirects=False)


def _seed(client: TestClient, admin: str) -> None:
    headers = {"Authorization": f"Bearer {admin}"}
    assert client.post("/policies", content=preset_text("b2b-saas"),
                       headers={**headers, "Content-Type": "text/yaml"}).status_code == 201
    for rep, team in (("sato", "east"), ("suzuki", "east"), ("tanaka", "west")):
        assert client.put(f"/reps/{rep}", json={"team": team, "name": rep.title()}, headers=headers).status_code == 200
    at = lambda minutes: (T0 + timedelta(minutes=minutes)).isoformat()  # noqa: E731
    events: list[dict[str, Any]] = []
    # Nobody contacts these demo requests (5 min target): each first-contact clock is breached by NOW.
    for lead, rep in (("L-east", "sato"), ("L-east-2", "suzuki"), ("L-west", "tanaka")):
        events += [{"id": f"{lead}-c", "type": "lead.created", "at": at(0), "lead": lead, "source": "demo_request"},
                   {"id": f"{lead}-a", "type": "lead.assigned", "at": at(1), "lead": lead, "rep": rep}]
    response = client.post("/events:batch", json=events, headers=headers)
    assert response.status_code == 200, response.text


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    app = create_app(db_url, clock=lambda: NOW,
                     settings=ApiSettings(rate_limit_per_second=1000, rate_limit_burst=1000))
    store: Store = app.state.leadclock.store
    for login, (role, team, rep) in PEOPLE.items():
        create_user(store, login=login, password=PASSWORD, role=role, team=team, rep=rep, now=T0,
                    locale="en" if login == "tanaka" else "ja", display_name=login.title())
    create_user(store, login="gone", password=PASSWORD, role="rep", rep="sato", now=T0)
    set_disabled(store, "gone", True)
    with TestClient(app, follow_redirects=False) as client:
        _seed(client, create_token(store, "admin", name="seed"))
        yield World(client, store)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD, **extra: str) -> Any:
    form = client.get("/ui/login")
    assert form.status_code == 200
    return client.post("/ui/login", data={"csrf_token": csrf_of(form.text), "login": login,
                                          "password": password, **extra})


def browser(world: World, login: str) -> TestClient:
    client = world.fresh()
    response = sign_in(client, login)
    assert response.status_code == 303, response.text
    return client


# --------------------------------------------------------------------------- sign-in


def test_sign_in_with_the_right_password_opens_a_session(world: World) -> None:
    client = world.fresh()
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    assert client.get("/ui/").status_code == 303  # not signed in: to the sign-in form
    response = sign_in(client, "mgr-east", next="/ui/breaches")
    assert response.status_code == 303 and response.headers["location"] == "/ui/breaches"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; https below
    page = client.get("/ui/")
    assert page.status_code == 200 and "Mgr-East" in page.text


def test_wrong_password_unknown_login_and_disabled_user_fail_alike(world: World) -> None:
    answers = []
    for login, password in (("mgr-east", "wrong password"), ("nobody", PASSWORD), ("gone", PASSWORD)):
        client = world.fresh()
        response = sign_in(client, login, password)
        answers.append((response.status_code, re.search(r'data-testid="login-error">([^<]*)<', response.text)[1]))
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
        assert client.get("/ui/").status_code == 303
    assert len(set(answers)) == 1 and answers[0][0] == 401


def test_disabling_a_user_ends_their_open_sessions(world: World) -> None:
    client = browser(world, "sato")
    assert client.get("/ui/").status_code == 200
    set_disabled(world.store, "sato", True)
    assert client.get("/ui/").status_code == 303
    assert verify_login(world.store, "sato", PASSWORD) is None


def test_the_session_cookie_is_secure_over_https(world: World) -> None:
    client = TestClient(world.client.app, base_url="https://testserver", follow_redirects=False)
    response = sign_in(client, "ops")
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]


def test_repeated_failures_pause_sign_in(world: World) -> None:
    client = world.fresh()
    for _ in range(5):
        assert sign_in(client, "ops", "not the password").status_code == 401
    assert sign_in(client, "ops").status_code == 429  # even the right password, for a while
    throttle = LoginThrottle(max_failures=2, window=60)
    throttle.failed(["k"], 0.0)
    throttle.failed(["k"], 1.0)
    assert throttle.blocked(["k"], 30.0) and not throttle.blocked(["k"], 62.0)


def test_next_only_ever_points_into_the_dashboard() -> None:
    for evil in ("https://evil.example/", "//evil.example", "/leads", "/ui\\..", None, ""):
        assert safe_next(evil) == "/ui/"
    assert safe_next("/ui/breaches?reviewed=all") == "/ui/breaches?reviewed=all"


# --------------------------------------------------------------------------- sessions and CSRF


def test_logout_ends_the_session_on_the_server(world: World) -> None:
    client = browser(world, "mgr-east")
    cookie = client.cookies.get(SESSION_COOKIE)
    page = client.get("/ui/")
    response = client.post("/ui/logout", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/login")
    # The old cookie, replayed by someone who copied it, no longer opens anything.
    replay = world.fresh()
    replay.cookies.set(SESSION_COOKIE, cookie)
    assert replay.get("/ui/").status_code == 303
    fragment = replay.get("/ui/fragments/compliance", headers={"HX-Request": "true"})
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"] == "/ui/login"


def test_every_form_refuses_a_missing_or_wrong_csrf_token(world: World) -> None:
    client = browser(world, "mgr-east")
    for path, data in (("/ui/logout", {}), ("/ui/locale", {"lang": "en"}),
                       ("/ui/breaches/L-east/first_contact/0", {"category": "system_failure"})):
        for token in (None, "forged"):
            body = dict(data) if token is None else {**data, "csrf_token": token}
            response = client.post(path, data=body)
            assert response.status_code == 403, (path, token, response.status_code)
    assert client.get("/ui/").status_code == 200  # still signed in: nothing was done
    assert api_queries.breach(world.store, "L-east", "first_contact", 0).category is None
    # The sign-in form: its token must match the cookie the form came with.
    fresh = world.fresh()
    fresh.get("/ui/login")
    response = fresh.post("/ui/login", data={"csrf_token": "forged", "login": "ops", "password": PASSWORD})
    assert response.status_code == 403
    fresh.cookies.delete(LOGIN_CSRF_COOKIE)
    response = fresh.post("/ui/login", data={"login": "ops", "password": PASSWORD})
    assert response.status_code == 403


# --------------------------------------------------------------------------- scope


def test_a_rep_sees_only_their_own_leads_and_numbers(world: World) -> None:
    client = browser(world, "sato")
    own = client.get("/ui/leads/L-east")
    assert own.status_code == 200 and "L-east" in own.text
    for other in ("L-east-2", "L-west", "L-nonexistent"):
        assert client.get(f"/ui/leads/{other}").status_code == 404, other
    reps = client.get("/ui/reps").text
    assert "L-east" in reps and "L-east-2" not in reps and "L-west" not in reps
    breaches = client.get("/ui/breaches?reviewed=all").text
    assert "L-east" in breaches and "L-east-2" not in breaches and "L-west" not in breaches
    assert 'name="category"' not in breaches  # reps do not review
    assert client.get("/ui/scorecards?rep=tanaka").status_code == 403
    assert client.get("/ui/?rep=tanaka").status_code == 403
    assert client.get("/ui/trends?team=east").status_code == 403


def test_a_manager_sees_only_their_team(world: World) -> None:
    client = browser(world, "mgr-east")
    assert client.get("/ui/leads/L-east").status_code == 200
    assert client.get("/ui/leads/L-east-2").status_code == 200
    assert client.get("/ui/leads/L-west").status_code == 404
    reps = client.get("/ui/reps").text
    assert "L-east-2" in reps and "L-west" not in reps
    assert "L-west" not in client.get("/ui/breaches?reviewed=all").text
    assert client.get("/ui/scorecards?rep=tanaka").status_code == 404  # not in their team
    assert client.get("/ui/scorecards?team=west").status_code == 403
    assert client.get("/ui/reps?rep=tanaka").status_code == 404
    # Reviewing another team's breach: "no such breach", and nothing is written.
    page = client.get("/ui/breaches")
    response = client.post("/ui/breaches/L-west/first_contact/0",
                           data={"csrf_token": csrf_of(page.text), "category": "system_failure"})
    assert response.status_code == 404
    assert api_queries.breach(world.store, "L-west", "first_contact", 0).category is None


def test_ops_and_admin_see_everything(world: World) -> None:
    for login in ("ops", "admin"):
        client = browser(world, login)
        reps = client.get("/ui/reps").text
        assert all(lead in reps for lead in ("L-east", "L-east-2", "L-west")), login
        assert client.get("/ui/leads/L-west").status_code == 200


@pytest.mark.parametrize("login", sorted(PEOPLE))
def test_every_page_answers_200_for_every_role(world: World, login: str) -> None:
    client = browser(world, login)
    failures = []
    for path in PAGES:
        response = client.get(path)
        if response.status_code != 200:
            failures.append(f"{path}: {response.status_code} {response.text[:200]}")
        elif "text/html" not in response.headers["content-type"]:
            failures.append(f"{path}: {response.headers['content-type']}")
    assert not failures, "\n".join(failures)
    # The page shell: CSP, no framing by others, and the vendored assets are served.
    shell = client.get("/ui/")
    assert "script-src 'self'" in shell.headers["content-security-policy"]
    for asset in ("/ui/static/vendor/htmx.min.js", "/ui/static/vendor/uPlot.iife.min.js", "/ui/static/app.js",
                  "/ui/static/app.css", "/ui/static/vendor/uPlot.min.css"):
        assert asset in shell.text and client.get(asset).status_code == 200, asset


def test_the_compliance_page_polls_a_fragment_and_charts_its_trend(world: World) -> None:
    client = browser(world, "mgr-east")
    page = client.get("/ui/").text
    assert 'hx-get="/ui/fragments/compliance"' in page and 'hx-trigger="every 15s"' in page
    fragment = client.get("/ui/fragments/compliance", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'data-testid="tiles"' in fragment.text and 'id="trend-data"' in fragment.text


# --------------------------------------------------------------------------- bad input


BAD_QUERIES = [
    ("/ui/breaches?page=x", "page"),
    ("/ui/breaches?page=0", "page"),
    ("/ui/breaches?reviewed=maybe", "reviewed"),
    ("/ui/scorecards?week=2026-W99", "week"),
    ("/ui/reports/root-causes?month=2026-13", "month"),
    ("/ui/reports/correlation?quarter=2026Q5", "quarter"),
    ("/ui/reports/digest?kind=hourly", "kind"),
    ("/ui/trends?from=yesterday", "from"),
    ("/ui/funnel?to=2026-02-30", "to"),
    ("/ui/trends?rep=" + "x" * 300, "rep"),
    ("/ui/scorecards?week=9999-W52", "week"),
    ("/ui/trends?from=0001-01-01", "from"),
]


def test_bad_query_parameters_are_4xx_naming_them(world: World) -> None:
    client = browser(world, "ops")
    failures = []
    for path, field in BAD_QUERIES:
        response = client.get(path)
        named = re.search(rf'data-testid="error-message"><code>{re.escape(field)}</code>', response.text)
        if not 400 <= response.status_code < 500 or not named:
            failures.append(f"{path}: {response.status_code} {response.text[-400:]}")
    assert not failures, "\n".join(failures)


def test_junk_in_any_parameter_is_never_a_server_error(world: World) -> None:
    from urllib.parse import quote

    client = browser(world, "ops")
    failures = []
    for page in ("/ui/", "/ui/breaches", "/ui/scorecards", "/ui/trends", "/ui/reports/root-causes",
                 "/ui/reports/correlation"):
        for name in ("week", "month", "quarter", "from", "to", "rep", "team", "page", "reviewed", "kind"):
            for value in ("9999-W52", "0001-01-01", "x" * 201, "\u202e", "10000000000000000000"):
                response = client.get(f"{page}?{name}={quote(value)}")
                if response.status_code >= 500:
                    failures.append(f"{page}?{name}={value[:20]}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_unknown_names_are_404_and_unknown_scope_is_400(world: World) -> None:
    client = browser(world, "ops")
    assert client.get("/ui/reports/no-such-report").status_code == 404
    assert client.get("/ui/nowhere").status_code == 404
    response = client.get("/ui/trends?team=nosuchteam")
    assert response.status_code == 400 and "<code>team</code>" in response.text


def test_bad_review_fields_are_400_and_store_nothing(world: World) -> None:
    client = browser(world, "mgr-east")
    token = csrf_of(client.get("/ui/breaches").text)
    for path, data, field in (
        ("/ui/breaches/L-east/first_contact/0", {"category": "bad_luck"}, "category"),
        ("/ui/breaches/L-east/first_contact/0", {}, "category"),
        ("/ui/breaches/L-east/first_contact/0", {"category": "system_failure", "note": "x" * 5000}, "note"),
        ("/ui/breaches/L-east/first_contact/zero", {"category": "system_failure"}, "seq"),
    ):
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 400 and f"<code>{field}</code>" in response.text, (data, response.text[:300])
    assert client.post("/ui/breaches/L-east/first_contact/7",
                       data={"csrf_token": token, "category": "system_failure"}).status_code == 404
    assert api_queries.breach(world.store, "L-east", "first_contact", 0).category is None
    assert not api_queries.audit(world.store, api_queries.scope_of(_ops()), action="breach.reviewed")


def _ops() -> Any:
    from leadclock.api.auth import Principal

    return Principal(0, "t", "ops")


# --------------------------------------------------------------------------- breach review


def test_tagging_a_breach_stores_the_category_and_an_audit_entry(world: World) -> None:
    client = browser(world, "mgr-east")
    page = client.get("/ui/breaches")
    assert page.status_code == 200 and 'data-lead="L-east"' in page.text
    token = csrf_of(page.text)
    # Without JavaScript: a form POST, then back to the list.
    response = client.post("/ui/breaches/L-east/first_contact/0",
                           data={"csrf_token": token, "category": "missed_notification", "note": "Slack was muted",
                                 "next": "/ui/breaches?reviewed=all"})
    assert response.status_code == 303 and response.headers["location"] == "/ui/breaches?reviewed=all"
    stored = api_queries.breach(world.store, "L-east", "first_contact", 0)
    assert stored is not None and stored.category == "missed_notification" and stored.note == "Slack was muted"
    assert stored.reviewed_by == "manager:mgr-east" and stored.reviewed_at == NOW
    entries = api_queries.audit(world.store, api_queries.scope_of(_ops()), lead="L-east", action="breach.reviewed")
    assert len(entries) == 1 and entries[0].actor == "manager:mgr-east"
    assert entries[0].detail["category"] == "missed_notification"
    # With htmx: the row comes back in place, showing the saved review.
    row = client.post("/ui/breaches/L-east-2/first_contact/0", headers={"HX-Request": "true"},
                      data={"csrf_token": token, "category": "rep_unavailable"})
    assert row.status_code == 200 and row.text.lstrip().startswith("<tr") and "manager:mgr-east" in row.text
    # Reviewed ones leave the default (unreviewed) list and show under "reviewed".
    row_id = 'id="breach-L-east-first_contact-0"'
    assert row_id not in client.get("/ui/breaches").text
    assert row_id in client.get("/ui/breaches?reviewed=yes").text
    # The lead page shows the review too.
    assert "Slack was muted" in client.get("/ui/leads/L-east").text


def test_ops_cannot_review_but_sees_the_list(world: World) -> None:
    client = browser(world, "ops")
    page = client.get("/ui/breaches")
    assert page.status_code == 200 and 'name="category"' not in page.text
    response = client.post("/ui/breaches/L-east/first_contact/0",
                           data={"csrf_token": csrf_of(page.text), "category": "system_failure"})
    assert response.status_code == 403


# --------------------------------------------------------------------------- language


def test_the_language_switch_changes_the_labels_and_is_remembered(world: World) -> None:
    client = browser(world, "mgr-east")
    japanese = client.get("/ui/reps").text
    assert "担当者別" in japanese and "Open leads and time left" not in japanese
    response = client.post("/ui/locale", data={"csrf_token": csrf_of(japanese), "lang": "en", "next": "/ui/reps"})
    assert response.status_code == 303 and response.headers["location"] == "/ui/reps"
    english = client.get("/ui/reps").text
    assert "Open leads and time left, by rep" in english and "担当者別のオープンリード" not in english
    assert '<html lang="en">' in english
    assert next(u for u in list_users(world.store) if u.login == "mgr-east").locale == "en"
    # Reports come in the same language (their own labels).
    assert "Live SLA dashboard" in client.get("/ui/").text
    again = browser(world, "mgr-east")  # a new session keeps the choice
    assert "Open leads and time left, by rep" in again.get("/ui/reps").text
    bad = client.post("/ui/locale", data={"csrf_token": csrf_of(english), "lang": "fr"})
    assert bad.status_code == 400 and "<code>lang</code>" in bad.text


def test_every_label_has_both_languages() -> None:
    assert all(set(entry) == {"ja", "en"} and all(entry.values()) for entry in LABELS.values())


# --------------------------------------------------------------------------- the API is unchanged


def test_the_dashboard_stays_out_of_the_api_schema_and_route_table() -> None:
    app = create_app("sqlite://")
    assert not any(path == "/" or path.startswith("/ui") for _, path in route_table(app))
    assert not any(path.startswith("/ui") for path in app.openapi()["paths"])


# --------------------------------------------------------------------------- CLI


def test_user_create_and_list_through_the_cli(db_url: str) -> None:
    created = runner.invoke(cli, ["user", "create", "--login", "yamada", "--role", "manager", "--team", "east",
                                  "--lang", "en", "--name", "Yamada Hanako", "--db", db_url, "--password-stdin"],
                            input="a long enough password\n")
    assert created.exit_code == 0, created.output
    assert "created user yamada (manager team=east, en)" in created.output
    listed = runner.invoke(cli, ["user", "list", "--db", db_url])
    assert listed.exit_code == 0 and "yamada" in listed.output and "Yamada Hanako" in listed.output
    assert "argon2" not in listed.output  # never the hash
    for args, stdin, field in (
        (["--login", "yamada", "--role", "rep", "--rep", "y"], "another password\n", "--login"),  # taken
        (["--login", "x", "--role", "manager"], "a long enough password\n", "--team"),
        (["--login", "x", "--role", "rep"], "a long enough password\n", "--rep"),
        (["--login", "x", "--role", "boss"], "a long enough password\n", "--role"),
        (["--login", "x", "--role", "ops", "--lang", "fr"], "a long enough password\n", "--lang"),
        (["--login", "x", "--role", "ops"], "short\n", "--password"),
        (["--login", "bad login", "--role", "ops"], "a long enough password\n", "--login"),
    ):
        result = runner.invoke(cli, ["user", "create", *args, "--db", db_url, "--password-stdin"], input=stdin)
        assert result.exit_code == 2 and field in result.output, (args, result.output)
    with Store(db_url) as store:
        users = list_users(store)
        assert [u.login for u in users] == ["yamada"]
        assert verify_login(store, "yamada", "a long enough password") is not None
    prompted = runner.invoke(cli, ["user", "create", "--login", "kimura", "--role", "ops", "--db", db_url],
                             input="typed twice ok\ntyped twice ok\n")
    assert prompted.exit_code == 0, prompted.output
    disabled = runner.invoke(cli, ["user", "disable", "--login", "kimura", "--db", db_url])
    assert disabled.exit_code == 0
    with Store(db_url) as store:
        assert verify_login(store, "kimura", "typed twice ok") is None


# --------------------------------------------------------------------------- charts (pure)


def test_charts_are_found_by_shape_and_compliance_gets_target_lines() -> None:
    from leadclock.reports.output import Column, Report, Table
    from leadclock.web import charts

    rows = [{"date": "2026-10-01", "compliance": 90.0, "leads": 3}, {"date": "2026-10-02", "compliance": None, "leads": 0}]
    report = Report("x", "X", "en", data={"daily": rows, "columns": {"days": ["2026-10-01"], "rate": [1.0]},
                                            "other": {"no": "series"}})
    found = charts.charts_of(report, None)
    assert [c.title for c in found] == ["daily", "columns"]
    assert found[0].x == [datetime(2026, 10, 1, tzinfo=UTC).timestamp(), datetime(2026, 10, 2, tzinfo=UTC).timestamp()]
    assert [s["label"] for s in found[0].series] == ["compliance", "leads"] and found[0].targets == []
    assert found[1].percent and found[1].targets == [90.0, 95.0]
    # The funnel's table becomes bars; the trends heat map a 7 x 24 grid.
    funnel = Report("funnel", "F", "en", tables=[Table("funnel", "F", [Column("stage", "Stage"), Column("count", "N", "int")],
                                                        [{"stage": "Lead", "count": 10, "step": None},
                                                         {"stage": "MQL", "count": 5, "step": 50.0}])])
    assert [(b.label, b.width) for b in charts.funnel_bars(funnel)] == [("Lead", 100.0), ("MQL", 50.0)]
    heat = Report("trends", "T", "en", data={"heatmap": {"weekdays": ["Mon"], "hours": [0, 1],
                                                         "compliance": [[None, 80.0]], "leads": [[0, 5]]}})
    grid = charts.heatmap_of(heat)
    assert grid is not None and grid.cells == [[(None, 0), (80.0, 5)]]
    assert charts.heatmap_of(Report("trends", "T", "en", data={"heatmap": {"weekdays": "bad"}})) is None
