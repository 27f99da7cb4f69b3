"""Query-string values of the dashboard, read strictly: a bad one is a 400 naming the parameter.

FastAPI's typed parameters would answer a bad value with its own wording; reading them here keeps
one message style (the field, then what was expected) in both languages' pages, and lets the same
rules serve the reports' parameters (`week`, `month`, `from`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import Request

from leadclock.reports.output import ReportError
from leadclock.reports.params import parse_instant
from leadclock.web.errors import bad_input

MAX_TEXT = 200
# Reports look back and ahead from the dates people give (a week before, 30 days of trend): the
# year 1 or 9999 would overflow the calendar there, and no lead history lies outside these years.
YEARS = range(1970, 2201)


def text(request: Request, name: str, max_length: int = MAX_TEXT) -> str | None:
    values = request.query_params.getlist(name)
    if not values or values[-1] == "":
        return None
    value = values[-1].strip()
    if len(value) > max_length:
        raise bad_input(name, f"at most {max_length} characters")
    if "\x00" in value or any(ord(c) < 32 for c in value):
        raise bad_input(name, "contains control characters")
    return value or None


def whole(request: Request, name: str, default: int, *, low: int = 1, high: int = 100_000) -> int:
    value = text(request, name, 12)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise bad_input(name, f"must be a whole number from {low} to {high}, not {value!r}")
    return int(value)


def choice(request: Request, name: str, allowed: Iterable[str], default: str | None = None) -> str | None:
    options = tuple(allowed)
    value = text(request, name)
    if value is None:
        return default
    if value not in options:
        raise bad_input(name, f"must be one of {', '.join(options)}, not {value!r}")
    return value


def instant(request: Request, name: str, zone: ZoneInfo, *, end: bool = False) -> datetime | None:
    value = text(request, name, 40)
    try:
        found = parse_instant(value, zone, name, end=end)
    except ReportError as error:
        raise bad_input(error.field, error.reason) from None
    except (OverflowError, ValueError):
        raise bad_input(name, f"{value!r} is out of range") from None
    if found is not None and found.year not in YEARS:
        raise bad_input(name, f"{value!r}: the year must be from {YEARS.start} to {YEARS.stop - 1}")
    return found


__all__ = ["choice", "instant", "text", "whole"]
