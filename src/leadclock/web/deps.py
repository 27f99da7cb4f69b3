"""What every dashboard route depends on: the app's store and clock, the signed-in user, their
scope, the CSRF check on POST, and the active policy.

Order of refusals, as in the API: no session (sign-in page, or 401 + HX-Redirect for htmx),
then CSRF (403), then role (403) and scope (404: another rep's lead "does not exist"), then bad
fields (400 naming the field). Nothing is written before all of them passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from leadclock.api import queries
from leadclock.api.auth import Principal
from leadclock.api.context import AppContext
from leadclock.policy import Policy, load_preset
from leadclock.reports.params import local_zone
from leadclock.store import PolicyVersion, Store
from leadclock.web.errors import LoginRequired, WebError, bad_input, forbidden
from leadclock.web.render import Page
from leadclock.web.sessions import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, find_session, same_token
from leadclock.web.throttle import LoginThrottle


@dataclass
class WebState:
    context: AppContext
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    _fallback: Policy | None = None

    def fallback_policy(self) -> Policy:
        # A store nobody has uploaded a policy to yet still gets pages (in the base preset's zone).
        if self._fallback is None:
            self._fallback = load_preset("base")
        return self._fallback


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def request_now(request: Request) -> datetime:
    """The request's instant: read once (the web layer is an edge) and kept on the request."""
    cached = getattr(request.state, "now", None)
    if cached is None:
        cached = web_state(request).context.now()
        request.state.now = cached
    return cached


@dataclass(frozen=True)
class ActivePolicy:
    policy: Policy
    version: str | None  # None: nothing stored, the base preset stands in

    @property
    def zone(self) -> ZoneInfo:
        return local_zone(self.policy)

    def stored(self, store: Store) -> PolicyVersion | None:
        """The stored text and date (read only by the policy page: every other page needs the
        parsed policy alone, which the app caches per version)."""
        return store.policy_version(self.version) if self.version else None


def active_policy(request: Request) -> ActivePolicy:
    cached = getattr(request.state, "policy", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    state = web_state(request)
    version = queries.active_version(state.context.store)
    policy = state.context.policy(version) if version else None
    found = ActivePolicy(policy, version) if policy is not None else ActivePolicy(state.fallback_policy(), None)
    request.state.policy = found
    return found


def page(request: Request) -> Page:
    """The signed-in user's page context; no session means the sign-in page."""
    state = web_state(request)
    now = request_now(request)
    signed = find_session(state.context.store, request.cookies.get(SESSION_COOKIE), now)
    if signed is None:
        raise LoginRequired()
    built = Page(request=request, lang="en" if signed.user.locale == "en" else "ja", now=now,
                 zone=active_policy(request).zone, signed=signed)
    request.state.page = built  # error pages render in the user's language too
    return built


SignedPage = Annotated[Page, Depends(page)]


def principal_of(current: Page) -> Principal:
    assert current.signed is not None
    return current.signed.user.principal()  # type: ignore[no-any-return]


def require(current: Page, permission: str) -> Principal:
    principal = principal_of(current)
    if not principal.may(permission):
        raise forbidden(f"a {principal.role} may not do this ({permission})")
    return principal


async def checked_form(request: Request, current: Page) -> dict[str, str]:
    """The POSTed form, once its CSRF token matched the session's (403 otherwise). Only text
    fields; a repeated field keeps its last value; a file upload is refused."""
    try:
        form = await request.form(max_files=0, max_fields=50)
    except Exception:  # malformed body or a file part: refuse, never a 500
        raise WebError(400, "the form could not be read", "(body)") from None
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise WebError(400, "file uploads are not accepted here", key)
        values[key] = value
    given = values.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not same_token(current.csrf, given):
        raise forbidden("the form's security token is missing or stale; reload the page and try again")
    return values


def text_field(values: dict[str, Any], name: str, *, required: bool = False, max_length: int = 200) -> str | None:
    value = values.get(name)
    if value is None or value == "":
        if required:
            raise bad_input(name, "is required")
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise bad_input(name, f"must be text of at most {max_length} characters")
    if "\x00" in value:
        raise bad_input(name, "contains a NUL character")
    return value


__all__ = [
    "ActivePolicy", "SignedPage", "WebState", "active_policy", "checked_form", "page", "principal_of",
    "request_now", "require", "text_field", "web_state",
]
