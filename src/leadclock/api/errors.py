"""One error shape for every failure, and the handlers that make sure of it.

    {"error": {"code": "invalid_event", "message": "...", "field": "at", "details": [...]}}

Bad input is the caller's problem and says so with a 4xx that names the field (DESIGN principle
10); anything else is a 500 whose body carries a reference to the server log and never a trace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadclock.store import StoreError

log = logging.getLogger("leadclock.api")

# Codes for the statuses Starlette raises by itself (unknown path, wrong method, ...).
_STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "invalid_request", 429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """An answer other than success, raised anywhere below a route and rendered by the handler."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = list(details or [])
        self.headers = dict(headers or {})


def error_body(
    code: str, message: str, field: str | None = None, details: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field, "details": list(details or [])}}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error.code, error.message, error.field, error.details),
        status_code=error.status,
        headers=error.headers or None,
    )


def not_found(what: str, ident: object, field: str | None = None) -> ApiError:
    return ApiError(404, "not_found", f"no {what} {ident!r}", field=field)


def _location(loc: Sequence[Any]) -> str:
    # FastAPI says ("query", "due_before") or ("body", "events", 3, "at"): the first part is
    # where, the rest the path; a caller fixes "due_before" or "events[3].at".
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(body)"


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        field = _location(error.get("loc", ()))
        message = str(error.get("msg", "is not valid"))
        # Pydantic prefixes a validator's own message; the caller wants the message.
        message = message.removeprefix("Value error, ")
        details.append({"field": field, "reason": message})
    return details


async def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    first = details[0] if details else {"field": "(request)", "reason": "is not valid"}
    message = f"{first['field']}: {first['reason']}"
    return error_response(ApiError(422, "invalid_request", message, field=first["field"], details=details))


async def _on_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(ApiError(exc.status_code, code, message, headers=exc.headers))


async def _on_store(_request: Request, exc: Exception) -> JSONResponse:
    # The store refuses a write as a whole, so nothing of it was kept: the caller's data was bad.
    return error_response(ApiError(422, "rejected", f"not stored: {exc}"))


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is down or unreachable: retrying later is the right move, so say 503.
        log.error("database unavailable: %s", exc.__class__.__name__)
        return error_response(ApiError(503, "database_unavailable", "the database is unavailable; retry later",
                                       headers={"Retry-After": "5"}))
    if isinstance(exc, DataError):
        # A value the database would not take (out of its range): input, not a server fault.
        return error_response(ApiError(422, "rejected", "a value is out of the range the database can store"))
    reference = uuid.uuid4().hex[:12]
    # The trace goes to the server log with a reference the caller can quote; never to the caller.
    log.exception("unhandled error (reference %s)", reference)
    return error_response(ApiError(500, "internal_error", f"internal error (reference {reference})"))


# The error shape, as /openapi.json documents it for every operation's 4xx and 5xx answers.
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error", "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "field", "details"],
        "properties": {
            "code": {"type": "string", "minLength": 1, "description": "machine-readable, e.g. invalid_request"},
            "message": {"type": "string", "minLength": 1},
            "field": {"type": ["string", "null"],
                      "description": "the input to fix (e.g. events[3].at); null when no one field is at fault"},
            "details": {"type": "array", "items": {"type": "object"}},
        },
    }},
}
_ERROR_RESPONSE = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def document_errors(app: FastAPI) -> None:
    """Make /openapi.json tell the truth about errors: FastAPI documents a 422 body of
    `{"detail": [...]}` (its own validation error), which this app never sends; every failure
    here is the one error shape above."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI caches the document; this edits it in place (idempotently)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Error"] = ERROR_SCHEMA
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Invalid input (`field` names it)", **_ERROR_RESPONSE}
                responses.setdefault("4XX", {"description": "Refused (see `error.code`)", **_ERROR_RESPONSE})
                responses.setdefault("5XX", {"description": "Server or database failure", **_ERROR_RESPONSE})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(StoreError, _on_store)
    app.add_exception_handler(Exception, _on_unexpected)
    document_errors(app)


__all__ = ["ERROR_SCHEMA", "ApiError", "document_errors", "error_body", "error_response", "install_handlers", "not_found", "validation_details"]
