"""API tokens (admin only): make one (its plaintext is shown once), list them, revoke one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from leadclock.api.auth import Principal, TokenInfo, create_token, list_tokens, revoke_token
from leadclock.api.context import AppContext, body_of, get_context, json_body_doc, require
from leadclock.api.errors import ApiError, not_found
from leadclock.api.serialize import instant
from leadclock.store import AuditEntry
from leadclock.store.token_models import TOKEN_ROLES

router = APIRouter(tags=["tokens"])


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(json_schema_extra={"enum": list(TOKEN_ROLES)})
    name: str = Field(min_length=1, max_length=200)
    team: str | None = Field(default=None, max_length=200)
    rep: str | None = Field(default=None, max_length=200)


def _info(t: TokenInfo) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "role": t.role, "team": t.team, "rep": t.rep,
            "created_at": instant(t.created_at), "revoked_at": instant(t.revoked_at),
            "last_used_at": instant(t.last_used_at)}


@router.get("/tokens", summary="Every token (never their secrets)")
def get_tokens(
    principal: Annotated[Principal, Depends(require("tokens:admin"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    return {"items": [_info(t) for t in list_tokens(context.store)]}


@router.post("/tokens", status_code=201, openapi_extra=json_body_doc(TokenRequest),
             summary="Make a token; the answer holds its plaintext, shown this once")
def post_token(
    principal: Annotated[Principal, Depends(require("tokens:admin"))],
    body: Annotated[TokenRequest, Depends(body_of(TokenRequest))],
    context: Annotated[AppContext, Depends(get_context)],
) -> JSONResponse:
    now = context.now()
    try:
        plaintext = create_token(context.store, body.role, team=body.team, rep=body.rep, name=body.name, now=now)
    except ValueError as exc:
        field = "role" if "role" in str(exc) else ("team" if "team" in str(exc) else "rep")
        raise ApiError(422, "invalid_request", f"{field}: {exc}", field=field) from None
    token_id = int(plaintext.split("_", 2)[1])
    context.store.add_audit([AuditEntry(now, principal.actor, "token.created", reason=f"{body.role} {body.name}",
                                        detail={"token": token_id, "role": body.role, "team": body.team,
                                                "rep": body.rep})])
    info = next(t for t in list_tokens(context.store) if t.id == token_id)
    return JSONResponse({**_info(info), "token": plaintext}, status_code=201)


@router.delete("/tokens/{token_id}", summary="Revoke a token (kept, so the audit trail still names it)")
def delete_token(
    token_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    principal: Annotated[Principal, Depends(require("tokens:admin"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    now = context.now()
    revoked = revoke_token(context.store, token_id, now=now)
    context.tokens.forget(token_id)  # refused from the next request on, not after the cache's ttl
    if not revoked:
        if not any(t.id == token_id for t in list_tokens(context.store)):
            raise not_found("token", token_id, field="token_id")
    else:
        context.store.add_audit([AuditEntry(now, principal.actor, "token.revoked", detail={"token": token_id})])
    info = next(t for t in list_tokens(context.store) if t.id == token_id)
    return _info(info)
