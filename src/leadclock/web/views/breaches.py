"""Breach review (F24): breaches in the user's scope, newest first, each with the cause the data
suggests (`reports.root_causes.suggest`, once installed) and a form to confirm a root cause with
a note.

The form writes through `api.queries.review_breach`, the function behind the API's
`POST /breaches/{lead}/{stage}/{seq}/review`: the category, the note, the reviewer and the audit
entry land in one transaction, whichever door the manager used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Table, select

from leadclock.api import queries
from leadclock.api.auth import Principal
from leadclock.api.routes.tracking import MAX_SEQ, Category
from leadclock.store import Breach, Store
from leadclock.store.models import BreachRow, LeadRow
from leadclock.web.deps import (
    SignedPage,
    WebState,
    active_policy,
    checked_form,
    principal_of,
    require,
    text_field,
    web_state,
)
from leadclock.web.errors import bad_input, not_found
from leadclock.web.query import choice, whole
from leadclock.web.render import Page, render
from leadclock.web.scope import breach_condition, sees_lead
from leadclock.web.suggestions import Suggested, suggest_many
from leadclock.web.views.signin import safe_next

router = APIRouter(include_in_schema=False)
_leads: Table = LeadRow.__table__  # type: ignore[assignment]
_breach_table: Table = BreachRow.__table__  # type: ignore[assignment]

CATEGORIES: tuple[str, ...] = get_args(Category)
PER_PAGE = 50
MAX_NOTE = 4000


@dataclass
class BreachRow:
    breach: Breach
    source: str | None
    tier: str | None
    suggestion: Suggested | None
    saved: bool = False


def _breaches_in_scope(store: Store, principal: Principal, reviewed: bool | None, *, limit: int,
                       offset: int) -> list[Breach]:
    statement = select(_breach_table).where(breach_condition(principal))
    if reviewed is not None:
        column = _breach_table.c.reviewed_by
        statement = statement.where(column.is_not(None) if reviewed else column.is_(None))
    statement = statement.order_by(_breach_table.c.at.desc(), _breach_table.c.lead, _breach_table.c.stage,
                                   _breach_table.c.seq).limit(limit).offset(offset)
    with store._read() as connection:
        return [Breach(lead=r.lead, stage=r.stage, seq=r.seq, at=r.at, owner=r.owner, category=r.category,
                       note=r.note, reviewed_by=r.reviewed_by, reviewed_at=r.reviewed_at)
                for r in connection.execute(statement)]


def _lead_facts(store: Store, ids: list[str]) -> dict[str, Any]:
    if not ids:
        return {}
    with store._read() as connection:
        rows = connection.execute(select(_leads.c.id, _leads.c.source, _leads.c.tier).where(_leads.c.id.in_(ids)))
        return {row.id: row for row in rows}


def _rows(request: Request, store: Store, found: list[Breach], current: Page) -> list[BreachRow]:
    facts = _lead_facts(store, sorted({b.lead for b in found}))
    suggested = suggest_many(store, active_policy(request).policy, found, current.lang)
    return [BreachRow(b, getattr(facts.get(b.lead), "source", None), getattr(facts.get(b.lead), "tier", None),
                      suggested.get((b.lead, b.stage, b.seq))) for b in found]


@router.get("/ui/breaches")
def breaches_page(request: Request, current: SignedPage,
                  state: Annotated[WebState, Depends(web_state)]) -> Response:
    current.active = "breaches"
    principal = principal_of(current)
    reviewed_text = choice(request, "reviewed", ("no", "yes", "all"), "no")
    page_number = whole(request, "page", 1, high=100_000)
    reviewed = {"no": False, "yes": True, "all": None}[reviewed_text or "no"]
    store = state.context.store
    found = _breaches_in_scope(store, principal, reviewed, limit=PER_PAGE + 1, offset=(page_number - 1) * PER_PAGE)
    more = len(found) > PER_PAGE
    return render(current, "breaches.html", rows=_rows(request, store, found[:PER_PAGE], current), more=more,
                  page_number=page_number, reviewed=reviewed_text, categories=CATEGORIES,
                  may_review=principal.may("breaches:review"), next_path=str(request.url.path) + (
                      f"?{request.url.query}" if request.url.query else ""))


@router.post("/ui/breaches/{lead}/{stage}/{seq}")
async def review(request: Request, lead: str, stage: str, seq: str, current: SignedPage,
                 state: Annotated[WebState, Depends(web_state)]) -> Response:
    values = await checked_form(request, current)
    principal = require(current, "breaches:review")
    if not seq.isdigit() or int(seq) > MAX_SEQ:
        raise bad_input("seq", f"must be a whole number from 0 to {MAX_SEQ}")
    store = state.context.store
    existing = queries.breach(store, lead, stage, int(seq)) if len(lead) <= 500 and len(stage) <= 100 else None
    record = store.lead(lead) if existing is not None else None
    if existing is None or record is None or not sees_lead(store, principal, record, {existing.owner} - {None}):
        # Outside the user's scope a breach "does not exist", as in the API.
        raise not_found(f"no breach {lead}/{stage}/{seq}")
    category = text_field(values, "category", required=True, max_length=100)
    if category not in CATEGORIES:
        raise bad_input("category", f"must be one of {', '.join(CATEGORIES)}, not {category!r}")
    note = text_field(values, "note", max_length=MAX_NOTE)
    if not queries.review_breach(store, lead, stage, int(seq), category=category, note=note,
                                 actor=principal.actor, now=current.now):
        raise not_found(f"no breach {lead}/{stage}/{seq}")
    if request.headers.get("hx-request"):
        found = queries.breach(store, lead, stage, int(seq))
        assert found is not None
        row = _rows(request, store, [found], current)[0]
        row.saved = True
        return render(current, "_breach_row.html", row=row, categories=CATEGORIES, may_review=True,
                      next_path=safe_next(values.get("next")))
    return RedirectResponse(safe_next(values.get("next") or "/ui/breaches"), status_code=303)
