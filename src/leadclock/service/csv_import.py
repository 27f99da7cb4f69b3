"""CSV import of CRM exports (F28): HubSpot contacts and Salesforce leads, English or Japanese
headers, a mapping file for custom columns, and a per-row error report.

Each row becomes events with ids derived from the CRM's record id, so importing the same file
twice changes nothing (the store ignores repeated ids). Export dates carry no offset: they are
read in the policy's time zone (or the mapping's `timezone`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from leadclock.engine.events import Event, EventError, parse_event
from leadclock.engine.replay import LineError

# Our field -> the header names each CRM uses (English, then Japanese UI exports).
STANDARD_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "hubspot": {
        "record_id": ("Record ID", "レコードID", "コンタクトID"),
        "created": ("Create Date", "作成日"),
        "email": ("Email", "Eメール", "メールアドレス"),
        "first_name": ("First Name", "名"),
        "last_name": ("Last Name", "姓"),
        "company": ("Company Name", "会社名"),
        "title": ("Job Title", "役職"),
        "industry": ("Industry", "業種"),
        "employees": ("Number of Employees", "従業員数"),
        "country": ("Country/Region", "国/地域"),
        "owner": ("Contact owner", "コンタクト担当者"),
        "status": ("Lead Status", "リードステータス"),
        "source": ("Original Source", "オリジナルソース", "Lead Source"),
    },
    "salesforce": {
        "record_id": ("Lead ID", "リード ID", "リードID"),
        "created": ("Created Date", "作成日"),
        "email": ("Email", "メール"),
        "first_name": ("First Name", "名"),
        "last_name": ("Last Name", "姓"),
        "company": ("Company", "会社名"),
        "title": ("Title", "役職"),
        "industry": ("Industry", "業種"),
        "employees": ("No. of Employees", "従業員数"),
        "country": ("Country", "国"),
        "owner": ("Lead Owner", "リード所有者"),
        "status": ("Lead Status", "リード状況"),
        "source": ("Lead Source", "リードソース"),
    },
}
# CRM lead statuses that are decisions in our contract; others (New, Working...) are not events.
STATUS_WORDS = {
    "qualified": "qualified", "sql": "qualified", "sales qualified lead": "qualified",
    "unqualified": "disqualified", "disqualified": "disqualified", "不適格": "disqualified",
    "nurture": "nurture", "ナーチャー": "nurture", "recycled": "recycled", "garbage": "garbage",
    "unreachable": "unreachable", "連絡不可": "unreachable", "適格": "qualified",
}
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y")


@dataclass
class Mapping_:
    """A mapping file: extra/renamed columns, CRM source values -> policy sources, time zone."""

    columns: dict[str, str] = field(default_factory=dict)  # our field -> header in the file
    sources: dict[str, str] = field(default_factory=dict)  # CRM value -> policy source
    default_source: str | None = None
    timezone: str | None = None


def load_mapping(path: Path | None) -> Mapping_:
    if path is None:
        return Mapping_()
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a mapping file is a YAML mapping (columns, sources, default_source, timezone)")
    unknown = set(data) - {"columns", "sources", "default_source", "timezone"}
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    return Mapping_(dict(data.get("columns") or {}), {str(k): str(v) for k, v in (data.get("sources") or {}).items()},
                    data.get("default_source"), data.get("timezone"))


def _header_index(kind: str, headers: list[str], mapping: Mapping_) -> dict[str, str]:
    present = {h.strip().lstrip("\ufeff"): h for h in headers}
    found: dict[str, str] = {}
    for name, candidates in STANDARD_COLUMNS[kind].items():
        for candidate in (mapping.columns.get(name), *candidates):
            if candidate and candidate in present:
                found[name] = present[candidate]
                break
    for name, header in mapping.columns.items():  # custom fields beyond the standard ones
        if name not in found and header in present:
            found[name] = present[header]
    return found


def _parse_date(text: str, zone: ZoneInfo) -> datetime:
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _DATE_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"{text!r} is not a date and time this importer reads") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def rows_to_events(kind: str, rows: Iterable[Mapping[str, str]], headers: list[str], mapping: Mapping_,
                   timezone: str, known_sources: set[str]) -> Iterator[tuple[int, list[Event] | LineError]]:
    """Events for each data row (row numbers count the header as row 1), or the row's error."""
    if kind not in STANDARD_COLUMNS:
        raise ValueError(f"unknown CRM {kind!r}; known: {', '.join(STANDARD_COLUMNS)}")
    index = _header_index(kind, headers, mapping)
    for needed in ("record_id", "created"):
        if needed not in index:
            names = " / ".join(STANDARD_COLUMNS[kind][needed])
            raise ValueError(f"the file has no {needed} column ({names}); map it in the mapping file's columns")
    zone = ZoneInfo(mapping.timezone or timezone)
    for number, row in enumerate(rows, start=2):
        try:
            yield number, _row_events(kind, row, index, mapping, zone, known_sources)
        except (ValueError, EventError) as exc:
            column = exc.field if isinstance(exc, EventError) else getattr(exc, "column", "")
            reason = exc.reason if isinstance(exc, EventError) else str(exc)
            yield number, LineError(number, column or "(row)", reason)


class _RowError(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column


def _row_events(kind: str, row: Mapping[str, str], index: dict[str, str], mapping: Mapping_,
                zone: ZoneInfo, known_sources: set[str]) -> list[Event]:
    def value(name: str) -> str:
        header = index.get(name)
        return (row.get(header) or "").strip() if header else ""

    record = value("record_id")
    if not record:
        raise _RowError(index["record_id"], "is empty: every row needs the CRM's record id")
    try:
        created = _parse_date(value("created"), zone)
    except ValueError as exc:
        raise _RowError(index["created"], str(exc)) from None
    crm_source = value("source")
    source = mapping.sources.get(crm_source) or (crm_source if crm_source in known_sources else None) or mapping.default_source
    if not source:
        raise _RowError(index.get("source", "source"), f"source {crm_source!r} is not a policy source; map it under 'sources' in the mapping file (or set default_source)")
    lead = f"{kind}-{record}"
    attributes: dict[str, Any] = {"source": source}
    name = " ".join(part for part in (value("last_name"), value("first_name")) if part)
    if name:
        attributes["name"] = name
    for key in ("email", "company", "title", "industry", "country"):
        if value(key):
            attributes[key] = value(key)
    if value("employees"):
        try:
            attributes["employees"] = int(value("employees").replace(",", ""))
        except ValueError:
            raise _RowError(index["employees"], f"{value('employees')!r} is not a whole number") from None
    for custom in mapping.columns:
        if custom not in STANDARD_COLUMNS[kind] and value(custom):
            attributes[custom] = value(custom)
    at = created.isoformat()
    events = [parse_event({"id": f"{lead}:created", "type": "lead.created", "at": at, "lead": lead, **attributes})]
    if value("owner"):
        events.append(parse_event({"id": f"{lead}:owner", "type": "lead.assigned", "at": at, "lead": lead,
                                   "rep": value("owner"), "by": f"{kind} import"}))
    status = STATUS_WORDS.get(value("status").casefold())
    if status is not None:
        reason = "imported from the CRM" if status in ("disqualified", "garbage") else ""
        events.append(parse_event({"id": f"{lead}:status:{status}", "type": "lead.status", "at": at, "lead": lead,
                                   "status": status, **({"reason": reason} if reason else {})}))
    return events


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The file's headers and rows; UTF-8 with or without BOM, or Shift_JIS (Japanese Excel)."""
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError(f"{path}: neither UTF-8 nor Shift_JIS text")
    reader = csv.DictReader(text.splitlines())
    return list(reader.fieldnames or []), list(reader)
