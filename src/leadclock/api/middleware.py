"""Request limits enforced before any route runs: body size, and no NUL in the URL.

A pure ASGI middleware: a declared Content-Length over the limit is refused at once, and a body
sent without one (chunked) is counted as it streams in and cut off at the limit. Either way at
most the limit is ever buffered, so a huge upload costs the process nothing.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadclock.api.errors import error_body
from leadclock.api.settings import ApiSettings

# Paths whose bodies carry many events get the batch limit.
BATCH_PATHS = ("/events:batch", "/webhooks/")


def limit_for(path: str, settings: ApiSettings) -> int:
    if any(path == p or (p.endswith("/") and path.startswith(p)) for p in BATCH_PATHS):
        return settings.max_batch_body_bytes
    return settings.max_body_bytes


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes"


def _nul_field(path: str, query: bytes) -> str:
    """Where the NUL is, as the caller would fix it: the query parameter it is in (by name), or
    "(path)" / "(query)" when it is in the path or in a parameter's name."""
    if "\x00" in path:
        return "(path)"
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                                 errors="replace"):
        if "\x00" in name or ("\x00" in value and not name):
            return "(query)"
        if "\x00" in value:
            return name
    return "(query)"


class RequestLimits:
    def __init__(self, app: ASGIApp, settings: ApiSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        query: bytes = scope.get("query_string", b"")
        if "\x00" in path or b"%00" in query or b"\x00" in query:
            # A NUL would reach a database lookup as text, which PostgreSQL refuses outright.
            where = _nul_field(path, query)
            await self._refuse(send, 400, "bad_request", f"{where}: the URL contains a NUL character", where)
            return
        limit = limit_for(path, self.settings)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._refuse(send, 400, "bad_request", "Content-Length is not a number",
                                       "Content-Length")
                    return
                if declared > limit:
                    await self._refuse(send, 413, "payload_too_large", _too_large(limit))
                    return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the route's body read; the HTTPException handler renders it
                    # in the common error shape.
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str, field: str | None = None) -> None:
        body = json.dumps(error_body(code, message, field)).encode()
        await send({
            "type": "http.response.start", "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        })
        await send({"type": "http.response.body", "body": body})


__all__ = ["BATCH_PATHS", "RequestLimits", "limit_for"]
