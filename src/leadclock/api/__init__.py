"""The HTTP API (FastAPI; OpenAPI at /docs): events in, leads, clocks, breaches, roster, policies,
audit and inbox out, signed CRM webhooks, health and metrics.

    from leadclock.api import create_app, create_token
    app = create_app(db_url)                     # serve with uvicorn, or `python -m leadclock.api`
    token = create_token(app.state.leadclock.store, "admin", name="bootstrap")
"""

from leadclock.api.app import create_app, route_table
from leadclock.api.auth import Principal, create_token, list_tokens, revoke_token
from leadclock.api.errors import ApiError
from leadclock.api.settings import ApiSettings

__all__ = [
    "ApiError", "ApiSettings", "Principal", "create_app", "create_token", "list_tokens", "revoke_token",
    "route_table",
]
