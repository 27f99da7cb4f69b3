"""Sign-in, sign-out and the language switch.

The sign-in form has no session to hold a CSRF secret, so it uses a double-submit cookie: the
form's hidden token must equal the `leadclock_login_csrf` cookie, which another site can neither
read nor set. Failures (unknown login, wrong password, disabled user) all answer the same words
after the same argon2 work; five in fifteen minutes for one login or one address pause it (429).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from leadclock.web.accounts import set_locale, verify_login
from leadclock.web.deps import (
    SignedPage,
    WebState,
    active_policy,
    checked_form,
    request_now,
    text_field,
    web_state,
)
from leadclock.web.errors import WebError, bad_input
from leadclock.web.i18n import translator
from leadclock.web.render import Page, guess_lang, render
from leadclock.web.sessions import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL,
    close_session,
    new_token,
    open_session,
    same_token,
)

router = APIRouter(include_in_schema=False)
HOME = "/ui/"
COOKIE_PATH = "/"  # "/" so the cookie also reaches "/" (which redirects) and every /ui page


def safe_next(value: str | None) -> str:
    """Only a path of this dashboard: `next=https://evil.example` or `//evil` goes home."""
    if not value or not value.startswith("/ui/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return HOME
    return value


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _login_page(request: Request, *, status: int = 200, error: str | None = None,
                next_path: str = HOME, login: str = "", notice: str | None = None) -> Response:
    now = request_now(request)
    lang = guess_lang(request)
    current = Page(request=request, lang=lang, now=now, zone=active_policy(request).zone)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not (20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum()):
        token = new_token()  # none yet, or not one this server could have made
    response = render(current, "login.html", status, csrf_token=token, error=error, next_path=next_path,
                      login=login, notice=notice)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path=COOKIE_PATH, httponly=True,
                        samesite="lax", secure=_secure(request))
    return response


@router.get("/ui/login")
def login_form(request: Request) -> Response:
    bye = request.query_params.get("bye") == "1"
    notice = translator(guess_lang(request))("logged_out") if bye else None
    return _login_page(request, next_path=safe_next(request.query_params.get("next")), notice=notice)


@router.post("/ui/login")
async def login_submit(request: Request, state: Annotated[WebState, Depends(web_state)]) -> Response:
    try:
        form = await request.form(max_files=0, max_fields=20)
    except Exception:  # any unreadable body is the caller's problem: refuse, never a 500
        raise WebError(400, "the form could not be read", "(body)") from None
    values = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE), values.get(CSRF_FIELD)):
        raise WebError(403, "the sign-in form's security token is missing or stale; reload the page")
    login = text_field(values, "login", required=True, max_length=100) or ""
    password = values.get("password") or ""
    if not password:
        raise bad_input("password", "is required")
    next_path = safe_next(values.get("next"))
    keys = [f"login:{login.lower()}", f"ip:{request.client.host if request.client else '-'}"]
    words = translator(guess_lang(request))
    if state.throttle.blocked(keys, time.monotonic()):
        return _login_page(request, status=429, error=words("login_throttled"), next_path=next_path,
                           login=login)
    user = verify_login(state.context.store, login, password)
    if user is None:
        state.throttle.failed(keys, time.monotonic())
        return _login_page(request, status=401, error=words("login_failed"), next_path=next_path,
                           login=login)
    state.throttle.succeeded(keys[:1])
    # A fresh session id at every sign-in (no fixation), and the browser's previous one ends.
    close_session(state.context.store, request.cookies.get(SESSION_COOKIE))
    cookie, _session = open_session(state.context.store, user.id, request_now(request))
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=int(SESSION_TTL.total_seconds()), path=COOKIE_PATH,
                        httponly=True, samesite="lax", secure=_secure(request))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/ui/logout")
async def logout(request: Request, current: SignedPage,
                 state: Annotated[WebState, Depends(web_state)]) -> Response:
    await checked_form(request, current)
    close_session(state.context.store, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(f"/ui/login?bye=1&lang={current.lang}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/ui/locale")
async def switch_locale(request: Request, current: SignedPage,
                        state: Annotated[WebState, Depends(web_state)]) -> Response:
    values = await checked_form(request, current)
    lang = text_field(values, "lang", required=True, max_length=5)
    if lang not in ("ja", "en"):
        raise bad_input("lang", f"must be ja or en, not {lang!r}")
    assert current.signed is not None
    set_locale(state.context.store, current.signed.user.id, lang)
    return RedirectResponse(safe_next(values.get("next")), status_code=303)
