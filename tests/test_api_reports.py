"""GET /reports/{name}: formats, scope by token (rep to themselves, manager to their team), bad
input as 422 naming the field (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from report_support import NOW, fill, policy, scorecard_history

from leadclock.api import ApiSettings, create_app, create_token
from leadclock.store import Store


class Client:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def get(self, path: str, who: str = "admin", **params: Any) -> Any:
        return self.client.get(path, params=params, headers={"Authorization": f"Bearer {self.tokens[who]}"})


@pytest.fixture
def api(db_url: str) -> Iterator[Client]:
    with Store(db_url) as store:
        store.upgrade()
        fill(store, scorecard_history(), policy())
    app = create_app(db_url, clock=lambda: NOW, settings=ApiSettings(rate_limit_per_second=1000, rate_limit_burst=1000))
    store = app.state.leadclock.store
    tokens = {
        "admin": create_token(store, "admin"),
        "ops": create_token(store, "ops"),
        "manager": create_token(store, "manager", team="inside-sales"),
        "manager-sales": create_token(store, "manager", team="sales"),
        "rep": create_token(store, "rep", rep="sdr-yamada"),
        "integration": create_token(store, "integration"),
    }
    with TestClient(app) as client:
        yield Client(client, tokens)


def test_scorecard_as_json_is_the_report(api: Client) -> None:
    response = api.get("/reports/scorecard", rep="sdr-yamada", week="2026-W28")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["name"] == "scorecard" and "SLAコンプライアンス:89%(47中42がSLA内)" in body["lines"]
    assert body["tables"][0]["rows"][0]["assigned"] == 47


@pytest.mark.parametrize(("fmt", "media", "needle"), [
    ("csv", "text/csv", "sdr-yamada,山田花子,47,42"), ("md", "text/markdown", "- Lead #12345: first contact 18 min"),
    ("html", "text/html", "Lead #12401: no decision after 48 h"),
])
def test_other_formats(api: Client, fmt: str, media: str, needle: str) -> None:
    response = api.get("/reports/scorecard", rep="sdr-yamada", week="2026-W28", format=fmt, lang="en")
    assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    assert needle in response.text


def test_a_rep_sees_themselves_only(api: Client) -> None:
    own = api.get("/reports/scorecard", "rep", week="2026-W28")  # no rep given: forced to themselves
    assert own.status_code == 200 and own.json()["params"]["rep"] == "sdr-yamada"
    live = api.get("/reports/compliance", "rep", as_of=NOW.isoformat())
    assert live.status_code == 200 and live.json()["params"]["rep"] == "sdr-yamada"
    for params in ({"rep": "sdr-sato"}, {"team": "inside-sales"}):
        response = api.get("/reports/compliance", "rep", **params)
        assert response.status_code == 403 and response.json()["error"]["field"] in ("rep", "team")


def test_a_manager_sees_their_team_only(api: Client) -> None:
    team = api.get("/reports/team-scorecard", "manager", week="2026-W28")  # forced to inside-sales
    assert team.status_code == 200
    assert [r["rep"] for r in team.json()["tables"][0]["rows"]] == ["sdr-sato", "sdr-yamada", "inside-sales"]
    assert api.get("/reports/scorecard", "manager", rep="sdr-yamada", week="2026-W28").status_code == 200
    assert api.get("/reports/scorecard", "manager-sales", rep="sdr-yamada").status_code == 403
    assert api.get("/reports/team-scorecard", "manager", team="sales").status_code == 403
    live = api.get("/reports/compliance", "manager-sales").json()
    assert live["params"]["team"] == "sales"


def test_ops_and_admin_see_everything_integration_nothing(api: Client) -> None:
    assert api.get("/reports/team-scorecard", "ops", team="sales", week="2026-W28").status_code == 200
    response = api.get("/reports/compliance", "integration")
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/reports/scorecard", {"rep": "nobody"}, "rep"),
    ("/reports/scorecard", {"rep": "sdr-yamada", "week": "2026-W99"}, "week"),
    ("/reports/team-scorecard", {"team": "nowhere"}, "team"),
    ("/reports/digest", {"kind": "hourly"}, "kind"),
    ("/reports/compliance", {"as_of": "yesterday"}, "as_of"),
    ("/reports/compliance", {"from": "2026-13-01"}, "from"),
    ("/reports/compliance", {"format": "pdf"}, "format"),
])
def test_bad_input_is_422_naming_the_field(api: Client, path: str, params: dict[str, str], field: str) -> None:
    response = api.get(path, **params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_unknown_report_is_404(api: Client) -> None:
    response = api.get("/reports/horoscope")
    assert response.status_code == 404 and response.json()["error"]["field"] == "name"


def test_digest_and_consequences(api: Client) -> None:
    digest = api.get("/reports/digest", kind="weekly", week="2026-W28", format="md")
    assert digest.status_code == 200 and "2026-W28" in digest.text
    ladder = api.get("/reports/consequences", week="2026-W28").json()
    assert {r["rep"] for r in ladder["tables"][0]["rows"]} == {"sdr-yamada", "sdr-sato"}
