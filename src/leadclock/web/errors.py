"""Failures of a page, shown as pages.

The JSON API answers `{"error": ...}`; a browser gets an HTML page with the same status and the
field at fault named ("week: '2026-W99' ..."), in the user's language. Bad input is a 4xx and
costs nothing; anything unexpected is a 500 whose page carries a reference to the server log.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadclock.api.errors import validation_details

log = logging.getLogger("leadclock.web")

LOGIN_PATH = "/ui/login"


class WebError(Exception):
    """A refused page: status, message, and the query parameter or form field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.status = status
        self.message = message
        self.field = field


class LoginRequired(Exception):
    """No (valid) session: a page goes to the sign-in form, an htmx fragment tells htmx to."""


def bad_input(field: str, reason: str) -> WebError:
    return WebError(400, reason, field)


def not_found(what: str) -> WebError:
    return WebError(404, what)


def forbidden(what: str) -> WebError:
    return WebError(403, what)


def _render_error(request: Request, status: int, message: str, field: str | None) -> Response:
    from leadclock.web.render import render_error

    return render_error(request, status, message, field)


async def _on_web_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebError)
    return _render_error(request, exc.status, exc.message, exc.field)


async def _on_login_required(request: Request, _exc: Exception) -> Response:
    if request.headers.get("hx-request"):
        # htmx follows HX-Redirect with a full page load; a 303 would be swapped into the fragment.
        return Response(status_code=401, headers={"HX-Redirect": LOGIN_PATH})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    from urllib.parse import quote

    return RedirectResponse(f"{LOGIN_PATH}?next={quote(target, safe='')}", status_code=303)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    first = details[0] if details else {"field": "(request)", "reason": "is not valid"}
    return _render_error(request, 400, str(first["reason"]), str(first["field"]))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "error"
    return _render_error(request, exc.status_code, message, None)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, OperationalError | InterfaceError):
        log.error("database unavailable: %s", exc.__class__.__name__)
        response = _render_error(request, 503, "the database is unavailable; retry later", None)
        response.headers["Retry-After"] = "5"
        return response
    reference = uuid.uuid4().hex[:12]
    log.exception("unhandled dashboard error (reference %s)", reference)
    return _render_error(request, 500, f"internal error (reference {reference})", None)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(WebError, _on_web_error)
    app.add_exception_handler(LoginRequired, _on_login_required)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)


__all__ = ["LOGIN_PATH", "LoginRequired", "WebError", "bad_input", "forbidden", "install_handlers",
           "not_found"]
