"""Templates and what every page knows: who is signed in, their language, the request's instant.

`Page` is built once per request by `deps.page` (which reads the clock once, the web layer being
an edge) and handed to every template, so nothing below reads the clock or the session again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from leadclock.reports.output import format_value
from leadclock.web.i18n import Lang, lang_of, translator
from leadclock.web.sessions import CSRF_FIELD, SignedIn

WEEKDAYS = {"ja": "月火水木金土日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}

# Pages that leave the frame of this site must not be framed by others, nor run scripts from
# anywhere but here; inline style attributes are allowed (uPlot and htmx set element styles).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class Page:
    """Everything a template needs besides the view's own data."""

    request: Request
    lang: Lang
    now: datetime
    zone: ZoneInfo
    signed: SignedIn | None = None
    active: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def user(self) -> Any:
        return self.signed.user if self.signed else None

    @property
    def csrf(self) -> str:
        return self.signed.csrf if self.signed else ""

    def t(self, key: str) -> str:
        return translator(self.lang)(key)

    def local(self, moment: datetime | None, seconds: bool = False) -> str:
        """An instant in the policy's zone, as people there read it."""
        if moment is None:
            return "—"
        here = moment.astimezone(self.zone)
        clock = here.strftime("%H:%M:%S" if seconds else "%H:%M")
        day = WEEKDAYS[self.lang][here.weekday()]
        if self.lang == "ja":
            return f"{here:%Y-%m-%d}({day}) {clock}"
        return f"{day} {here:%Y-%m-%d} {clock}"

    def left(self, due: datetime | None) -> str:
        """Time until `due` in wall-clock time (when the breach will happen), or how long ago."""
        if due is None:
            return "—"
        seconds = (due - self.now).total_seconds()
        text = format_value(abs(seconds), "seconds", self.lang)
        return text if seconds >= 0 else f"{self.t('overdue_by')} {text}"

    def fmt(self, value: Any, kind: str) -> str:
        if kind == "datetime" and isinstance(value, datetime):
            return self.local(value)  # "2026-10-30(金) 17:46", not an ISO string
        return format_value(value, kind, self.lang)  # type: ignore[arg-type]


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("leadclock.web", "templates"),
                      autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return env


TEMPLATES = _environment()


def render(page: Page, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(page=page, t=page.t, **values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def guess_lang(request: Request) -> Lang:
    """Before sign-in (or on an error page): `?lang=`, then the browser's first language."""
    asked = request.query_params.get("lang")
    if asked in ("ja", "en"):
        return lang_of(asked)
    accept = request.headers.get("accept-language", "").strip().lower()
    return "en" if accept.startswith("en") else "ja"


def render_error(request: Request, status: int, message: str, field: str | None) -> HTMLResponse:
    page: Page | None = getattr(request.state, "page", None)
    if page is None:
        # Not signed in (or failed before the session was read): no database read here, so this
        # page renders even when the database is what failed.
        from leadclock.web.deps import request_now

        page = Page(request=request, lang=guess_lang(request), now=request_now(request), zone=ZoneInfo("UTC"))
    title_key = {400: "bad_input", 403: "forbidden", 404: "not_found", 422: "bad_input"}.get(status, "error_title")
    if request.headers.get("hx-request"):
        # A fragment: a short message htmx can swap in, with the same status.
        return render(page, "_error_fragment.html", status, status_code=status, title_key=title_key,
                      message=message, field=field)
    return render(page, "error.html", status, status_code=status, title_key=title_key, message=message, field=field)


__all__ = ["SECURITY_HEADERS", "TEMPLATES", "Page", "guess_lang", "render", "render_error"]
