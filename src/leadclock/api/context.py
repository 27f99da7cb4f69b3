"""What every route gets: the store, the clock, settings, limiter and per-process counters, and
the dependencies that authenticate, rate-limit and authorise a request before its body is read.

Routes read their bodies through `read_json` / `read_model` (not FastAPI body parameters) so that
the order of answers is always 401, 429, 403, then 400/422: an anonymous caller learns nothing
about a route's body schema, and bad JSON can never mask a missing token.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from leadclock.api.auth import (
    Principal,
    authenticate,
    authorize,
    cached_principal,
    parse_bearer,
    verify,
)
from leadclock.api.errors import ApiError, validation_details
from leadclock.api.ratelimit import RateLimiter, retry_after
from leadclock.api.settings import ApiSettings
from leadclock.api.tokencache import TokenCache
from leadclock.policy import Policy
from leadclock.service.grouping import IngestGroups
from leadclock.service.live import Live
from leadclock.store import Store

M = TypeVar("M", bound=BaseModel)


@dataclass
class AppContext:
    store: Store
    clock: Callable[[], datetime]
    settings: ApiSettings
    limiter: RateLimiter
    # Policies are immutable per version (the version is a content hash), so a loaded one can be
    # kept for the life of the process.
    policies: dict[str, Policy] = field(default_factory=dict)
    # Per-process counters for /metrics (events by outcome, webhook deliveries by result).
    counters: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    live: Live = field(init=False)
    policy_seen: bool = False  # a policy is stored (they are never deleted): ingest may proceed
    # Verified tokens, for `settings.token_cache_seconds` (see tokencache.py).
    tokens: TokenCache = field(init=False)
    # Concurrent POST /events share one ingest transaction (group commit, service.grouping).
    ingests: IngestGroups = field(init=False)

    def __post_init__(self) -> None:
        self.live = Live(self.store)
        self.tokens = TokenCache(self.settings.token_cache_seconds)
        self.ingests = IngestGroups(self.live.ingest, self.settings.max_batch_events)

    def count(self, name: str, label: str, n: int = 1) -> None:
        if n:
            with self.lock:
                self.counters[(name, label)] += n

    def now(self) -> datetime:
        """The app's clock in UTC. Effects' dedupe keys are made from the instant's text, so the
        same moment must always be written the same way."""
        moment = self.clock()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("the API clock must return tz-aware instants")
        return moment.astimezone(UTC)

    def policy(self, version: str) -> Policy | None:
        cached = self.policies.get(version)
        if cached is None:
            cached = self.store.load_policy(version)
            if cached is not None:
                self.policies[version] = cached
        return cached


# The dependencies below are `async def` although they do no I/O: FastAPI runs a plain `def`
# dependency in the thread pool, and each such hop costs more CPU than the dependency itself.
# The one that may read the database (a token not in the cache) hands that part to the pool.


async def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.leadclock
    return context


def rate_limit(context: AppContext, key: str) -> None:
    wait = context.limiter.take(key)
    if wait > 0:
        raise ApiError(429, "rate_limited", f"too many requests; retry in {retry_after(wait)} s",
                       headers={"Retry-After": retry_after(wait)})


def _admit(request: Request, context: AppContext, principal: Principal) -> Principal:
    rate_limit(context, f"token:{principal.token_id}")
    request.state.principal = principal
    return principal


def authenticated(request: Request, context: AppContext) -> Principal:
    """`current_principal` for a route already running in a worker thread."""
    principal = authenticate(context.store, request.headers.get("authorization"), context.now(), context.tokens)
    return _admit(request, context, principal)


async def current_principal(request: Request, context: Annotated[AppContext, Depends(get_context)]) -> Principal:
    credentials = parse_bearer(request.headers.get("authorization"))
    now = context.now()
    principal = cached_principal(context.tokens, credentials, now)
    if principal is None:
        principal = await run_in_threadpool(verify, context.store, credentials, now, context.tokens)
    return _admit(request, context, principal)


def require(permission: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, once it is known to hold `permission`."""

    async def dependency(request: Request) -> Principal:
        # current_principal called, not declared as a sub-dependency: one node less for FastAPI
        # to resolve on every request.
        principal = await current_principal(request, request.app.state.leadclock)
        authorize(principal, permission)
        return principal

    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return dependency


# --------------------------------------------------------------------------- bodies


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode_json(body: bytes) -> Any:
    """Strict JSON: no NaN/Infinity (PostgreSQL's json refuses them, so SQLite must too), valid
    UTF-8, bounded nesting. Any failure is a 400 naming where."""
    if not body.strip():
        raise ApiError(400, "invalid_json", "the request body is empty; a JSON document was expected",
                       field="(body)")
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                       field="(body)") from None
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not UTF-8 text", field="(body)") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "JSON nested too deeply", field="(body)") from None
    except ValueError as exc:  # NaN/Infinity, integers of more than 4300 digits
        raise ApiError(400, "invalid_json", f"not valid JSON: {exc}", field="(body)") from None


def text_problem(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string (key or value) a database could not store as text: a NUL character
    (PostgreSQL refuses it) or a lone surrogate (not encodable as UTF-8). Iterative, so a deeply
    nested document cannot exhaust the stack."""
    if _clean(value):
        return None  # the common case, found without building a path for every value
    return _first_problem(value, path)


def _first_problem(value: Any, path: str) -> tuple[str, str] | None:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            reason = _bad_text(item)
            if reason:
                return where or "(value)", reason
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{where}.{key}" if where else str(key)
                reason = _bad_text(str(key))
                if reason:
                    return child_path, f"key {reason}"
                stack.append((child, child_path))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


def _clean(value: Any) -> bool:
    """True when no key or string in `value` needs a look from `text_problem`'s full walk. Runs
    on every event of every batch, so it only walks exact JSON types (anything else, e.g. a
    non-string key, says False and lets the full walk decide) and pushes only containers."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str or not _text_ok(key):
                    return False
                child_kind = type(child)
                if child_kind is str:
                    if not _text_ok(child):
                        return False
                elif child_kind is dict or child_kind is list:
                    stack.append(child)
                elif isinstance(child, str | dict | list):
                    return False
        elif kind is list:
            stack.extend(item)
        elif kind is str:
            if not _text_ok(item):
                return False
        elif isinstance(item, str | dict | list):
            return False
    return True


def _text_ok(text: str) -> bool:
    # isascii() reads a flag of the string: only non-ASCII text can hold a lone surrogate, so
    # ASCII text (nearly all of it) is spared the UTF-8 encode.
    if text.isascii():
        return "\x00" not in text
    return _bad_text(text) is None


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not valid Unicode)"
    return None


async def read_json(request: Request) -> Any:
    value = decode_json(await request.body())
    problem = text_problem(value)
    if problem is not None:
        raise ApiError(422, "invalid_text", f"{problem[0]}: {problem[1]}", field=problem[0])
    return value


def check_model(model: type[M], value: Any) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        details = validation_details(exc.errors(include_url=False))
        first = details[0] if details else {"field": "(body)", "reason": "is not valid"}
        raise ApiError(422, "invalid_request", f"{first['field']}: {first['reason']}",
                       field=first["field"], details=details) from None


def body_of(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency reading the JSON body as `model`; list it after the permission dependency."""

    async def dependency(request: Request) -> M:
        return check_model(model, await read_json(request))

    dependency.__name__ = f"body_{model.__name__}"
    return dependency


def json_body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body read by `body_of`, so /docs still shows it. Self-contained: a nested
    model's schema is written in place, since nothing would put it under components/schemas (a
    `$ref` there would dangle)."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": inline_schema(model.model_json_schema(ref_template="#/$defs/{model}"))}}}}


def inline_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every `{"$ref": "#/$defs/X"}` replaced by X's schema and `$defs` dropped."""
    definitions: dict[str, Any] = schema.get("$defs", {})

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name in seen:
                    raise ValueError(f"recursive model {name!r} cannot be inlined")
                rest = {k: resolve(v, seen) for k, v in node.items() if k != "$ref"}
                return {**resolve(definitions[name], (*seen, name)), **rest}
            return {k: resolve(v, seen) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema, ())
    return resolved


__all__ = [
    "AppContext", "authenticated", "body_of", "check_model", "current_principal", "decode_json", "get_context",
    "json_body_doc", "rate_limit", "read_json", "require", "text_problem",
]
