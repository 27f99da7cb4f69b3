"""The active policy as written (YAML) and the agreement it renders (F3), in the user's language:
the same `policy/render.py` that writes the Markdown, HTML and PDF documents."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from leadclock.policy.render import render_html
from leadclock.web.deps import SignedPage, active_policy, web_state
from leadclock.web.render import SECURITY_HEADERS, render

router = APIRouter(include_in_schema=False)


@router.get("/ui/policy")
def policy_page(request: Request, current: SignedPage) -> Response:
    current.active = "policy"
    active = active_policy(request)
    return render(current, "policy.html", active=active, stored=active.stored(web_state(request).context.store))


@router.get("/ui/policy/agreement")
def agreement(request: Request, current: SignedPage) -> Response:
    # A document of its own (framed by the policy page): its styles must not leak into the page.
    html = render_html(active_policy(request).policy, current.lang)
    html = html.replace("</head>", '<link rel="stylesheet" href="/ui/static/fonts.css">\n</head>', 1)
    return HTMLResponse(html, headers={**SECURITY_HEADERS, "X-Frame-Options": "SAMEORIGIN"})
