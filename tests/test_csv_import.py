"""CSV import of HubSpot and Salesforce exports (F28), on both databases."""

from __future__ import annotations

from typer.testing import CliRunner

from leadclock.cli import app
from leadclock.store import Store

runner = CliRunner()

HUBSPOT_JA = (
    "レコードID,名,姓,Eメール,会社名,役職,業種,従業員数,作成日,コンタクト担当者,リードステータス,オリジナルソース\n"
    "101,花子,山田,hanako@example.co.jp,株式会社テスト,部長,SaaS,\"1,200\",2026-07-08 10:00,sdr-yamada,,デモ依頼\n"
    "102,健,佐藤,ken@gmail.com,個人,,,,2026-07-08 11:30,,不適格,ウェビナー\n"
    "103,翔,高橋,sho@example.com,X社,,,many,2026-07-08 12:00,,,ウェビナー\n"
    "104,美咲,鈴木,misaki@example.com,Y社,,,,yesterday,,,ウェビナー\n"
    "105,陽介,木村,yosuke@example.com,Z社,,,,2026-07-08 13:00,,,ファックス\n"
)
MAPPING = "sources:\n  デモ依頼: demo_request\n  ウェビナー: webinar\n"
SALESFORCE = (
    "Lead ID,First Name,Last Name,Email,Company,Title,Lead Owner,Lead Status,Lead Source,Created Date\n"
    "00Q1,Ken,Ito,ken@acme.com,Acme,VP Sales,ae-ito,Qualified,webinar,07/08/2026 10:15 AM\n"
)


def test_hubspot_japanese_export_with_mapping(tmp_path, db_url):
    csv_file = tmp_path / "contacts.csv"
    csv_file.write_text(HUBSPOT_JA, encoding="utf-8-sig")
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    args = ["import", "hubspot", str(csv_file), "--mapping", str(mapping), "--db", db_url, "--preset", "b2b-saas"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output  # three rows rejected, the rest imported
    assert "rows 5  imported 2  rejected 3  events accepted 4  duplicate 0" in result.stdout
    assert "row 4: 従業員数: 'many' is not a whole number" in result.stderr
    assert "row 5: 作成日: 'yesterday' is not a date" in result.stderr
    assert "row 6: オリジナルソース: source 'ファックス' is not a policy source" in result.stderr
    again = runner.invoke(app, args)
    assert "events accepted 0  duplicate 4" in again.stdout  # importing twice changes nothing
    store = Store(db_url)
    try:
        lead = store.lead("hubspot-101")
        assert lead.source == "demo_request" and lead.owner == "sdr-yamada"
        created = store.events("hubspot-101")[0]
        assert created.at.isoformat() == "2026-07-08T01:00:00+00:00"  # read in Asia/Tokyo
        assert created.data["employees"] == 1200 and created.data["name"] == "山田 花子"
        assert store.lead("hubspot-102").status == "disqualified"
        assert store.lead("hubspot-103") is None
    finally:
        store.close()


def test_salesforce_english_export(tmp_path, db_url):
    csv_file = tmp_path / "leads.csv"
    csv_file.write_text(SALESFORCE, encoding="utf-8")
    result = runner.invoke(app, ["import", "salesforce", str(csv_file), "--db", db_url, "--preset", "b2b-saas"])
    assert result.exit_code == 0, result.output
    store = Store(db_url)
    try:
        lead = store.lead("salesforce-00Q1")
        assert (lead.owner, lead.status) == ("ae-ito", "qualified")
        assert store.events("salesforce-00Q1")[0].at.isoformat() == "2026-07-08T01:15:00+00:00"
    finally:
        store.close()


def test_missing_required_column_is_a_clear_error(tmp_path):
    csv_file = tmp_path / "x.csv"
    csv_file.write_text("Name,Email\nA,a@example.com\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "hubspot", str(csv_file), "--db", str(tmp_path / "x.db"), "--preset", "b2b-saas"])
    assert result.exit_code == 2
    assert "no record_id column (Record ID / レコードID / コンタクトID)" in result.stderr


def test_shift_jis_export_from_japanese_excel(tmp_path):
    csv_file = tmp_path / "contacts.csv"
    csv_file.write_bytes(HUBSPOT_JA.splitlines(keepends=True)[0].encode("cp932") + HUBSPOT_JA.splitlines(keepends=True)[1].encode("cp932"))
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    db = str(tmp_path / "sjis.db")
    result = runner.invoke(app, ["import", "hubspot", str(csv_file), "--mapping", str(mapping), "--db", db, "--preset", "b2b-saas"])
    assert result.exit_code == 0, result.output
    store = Store(f"sqlite:///{db}")
    try:
        assert store.events("hubspot-101")[0].data["company"] == "株式会社テスト"
    finally:
        store.close()
