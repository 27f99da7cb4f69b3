"""Policies (F1): upload -> validated -> a new version that new clocks start under.

Running clocks keep the version their lead started under (DESIGN principle 7; see
`ingesting.py`). A version is the content hash, so uploading the same policy again is not a new
version, but it does make that version the active one again (a rollback is a re-upload).
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, SequenceNode

from leadclock.api import queries, serialize
from leadclock.api.auth import Principal
from leadclock.api.context import (
    AppContext,
    check_model,
    decode_json,
    get_context,
    require,
    text_problem,
)
from leadclock.api.errors import ApiError, not_found
from leadclock.policy import PolicyError, load_policy_text
from leadclock.store import AuditEntry

router = APIRouter(tags=["policies"])

# The loader expands YAML aliases as it merges and validates, so a few lines of nested aliases
# ("billion laughs") cost it minutes of CPU. A real policy is a few thousand nodes (the base
# preset: about a thousand); refuse anything whose alias-expanded tree is far beyond that.
MAX_POLICY_NODES = 50_000

YAML_TYPES = ("text/yaml", "application/yaml", "application/x-yaml", "text/x-yaml", "text/plain")
_UPLOAD_DOC = {"requestBody": {"required": True, "content": {
    "text/yaml": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object", "required": ["yaml"],
                                    "properties": {"yaml": {"type": "string"}, "name": {"type": "string"}}}},
}}}


class PolicyUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(min_length=1)
    name: str | None = Field(default=None, max_length=200, description="file name shown in errors")


async def _upload(request: Request) -> tuple[str, str]:
    """(YAML text, name for error messages) from either body form."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if media in YAML_TYPES:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_yaml", "the policy is not UTF-8 text", field="(body)") from None
        name = "<upload>"
    elif media in ("application/json", "") or media.endswith("+json"):
        upload = check_model(PolicyUpload, decode_json(body))
        text, name = upload.yaml, upload.name or "<upload>"
    else:
        raise ApiError(415, "unsupported_media_type",
                       f"send the policy as text/yaml, or JSON {{\"yaml\": ...}}; got {media!r}",
                       field="Content-Type")
    problem = text_problem(text)
    if problem is not None:
        raise ApiError(422, "invalid_policy", f"the policy text {problem[1]}", field="yaml")
    if not text.strip():
        raise ApiError(422, "invalid_policy", "the policy is empty", field="yaml")
    if _expanded_nodes(text) > MAX_POLICY_NODES:
        raise ApiError(422, "invalid_policy",
                       f"the policy expands to more than {MAX_POLICY_NODES} YAML nodes (aliases of aliases?)",
                       field="yaml")
    return text, name


def _expanded_nodes(text: str) -> int:
    """Nodes of the YAML tree with every alias expanded, counted up to just past the limit (so a
    bomb is measured in microseconds). Unparseable text counts 0: the loader reports why."""
    try:
        root = YAML(typ="rt").compose(io.StringIO(text))
    except (YAMLError, RecursionError):
        return 0
    count, stack = 0, [root]
    while stack and count <= MAX_POLICY_NODES:
        node = stack.pop()
        count += 1
        if isinstance(node, MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return count


@router.get("/policies", summary="Stored policy versions, oldest first; `active` marks the one new clocks use")
def list_policies(
    principal: Annotated[Principal, Depends(require("policies:read"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    active = queries.active_policy(context.store)
    version = active.version if active else None
    return {"active": version,
            "items": [serialize.policy_version(p, active=version) for p in context.store.policy_versions()]}


@router.get("/policies/{version}", summary="One policy version with its YAML")
def get_policy(
    version: Annotated[str, Path(min_length=1, max_length=100)],
    principal: Annotated[Principal, Depends(require("policies:read"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    stored = context.store.policy_version(version)
    if stored is None:
        raise not_found("policy version", version, field="version")
    active = queries.active_policy(context.store)
    return serialize.policy_version(stored, active=active.version if active else None, text=True)


@router.post("/policies", status_code=201, openapi_extra=_UPLOAD_DOC,
             summary="Upload a policy (YAML): validated, stored as a version, active for new clocks")
async def upload_policy(
    request: Request,
    principal: Annotated[Principal, Depends(require("policies:write"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> JSONResponse:
    text, name = await _upload(request)
    from starlette.concurrency import run_in_threadpool

    # Validation and storage are blocking work: off the event loop.
    return await run_in_threadpool(_store_policy, context, principal, text, name)


def _store_policy(context: AppContext, principal: Principal, text: str, name: str) -> JSONResponse:
    try:
        policy = load_policy_text(text, name)
    except PolicyError as exc:
        details = [{"field": p.path or "(top level)", "line": p.line, "reason": p.reason} for p in exc.problems]
        field, reason = (details[0]["field"], details[0]["reason"]) if details else ("(policy)", "is not valid")
        raise ApiError(422, "invalid_policy", f"{len(details)} problem(s) in the policy; first: {field}: {reason}",
                       field=str(field), details=details) from None
    except RecursionError:
        raise ApiError(422, "invalid_policy", "the policy is nested too deeply", field="yaml") from None
    store = context.store
    previous = queries.active_policy(store)
    is_new = store.policy_version(policy.version) is None
    version = store.save_policy(policy, text)
    now = context.now()
    store.add_audit([AuditEntry(
        now, principal.actor, queries.POLICY_ACTIVATED,
        reason=f"{policy.name} {version}" + (" (new version)" if is_new else " (stored version re-activated)"),
        detail={"version": version, "previous": previous.version if previous else None, "name": policy.name},
    )])
    context.policies[version] = policy
    stored = store.policy_version(version)
    assert stored is not None
    return JSONResponse({**serialize.policy_version(stored, active=version), "new_version": is_new,
                         "previous": previous.version if previous else None}, status_code=201)
