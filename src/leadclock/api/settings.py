"""What an API process can be told: limits, webhook secrets, HubSpot mapping, health thresholds.

Defaults are the safe ones (small bodies, no webhook accepted until its secret is set), so a
process started with nothing configured refuses rather than trusts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

# HubSpot property values -> our `lead.status` values. Keys are "<property>:<value>" with the
# value lower-cased; an unmapped change is reported as ignored (never guessed).
DEFAULT_HUBSPOT_STATUS_MAP: dict[str, str] = {
    "hs_lead_status:in_progress": "in_progress",
    "hs_lead_status:attempted_to_contact": "in_progress",
    "hs_lead_status:connected": "in_progress",
    "hs_lead_status:open_deal": "qualified",
    "hs_lead_status:unqualified": "disqualified",
    "hs_lead_status:bad_timing": "nurture",
    "lifecyclestage:salesqualifiedlead": "qualified",
    "lifecyclestage:opportunity": "qualified",
}


class ApiSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Bodies are refused before they are read past these sizes (413): a client cannot make the
    # process buffer more than this. Batches and webhooks carry many events, hence the larger cap.
    max_body_bytes: int = Field(default=1 << 20, gt=0)
    max_batch_body_bytes: int = Field(default=5 << 20, gt=0)
    max_batch_events: int = Field(default=1000, gt=0)

    # Token bucket per API token (and per client address for signed webhooks): `rate_limit_burst`
    # requests at once, refilled at `rate_limit_per_second`. In memory, so per process.
    rate_limit_per_second: float = Field(default=20.0, gt=0)
    rate_limit_burst: int = Field(default=100, gt=0)
    # A verified token is trusted this many seconds without reading its row again; a revocation
    # made through another process (another API process, a script) takes up to this long to bite,
    # one made through this process bites at once. 0: read the row on every request.
    token_cache_seconds: float = Field(default=5.0, ge=0)

    # HubSpot v3 signatures cover the URL HubSpot called; behind a proxy the process sees another
    # one, so the public base URL (scheme://host[:port]) can be given.
    hubspot_client_secret: str | None = None
    hubspot_public_url: str | None = None
    hubspot_max_age_seconds: int = Field(default=300, gt=0)
    # contact.creation carries no properties of its own; when the delivery includes them (or a
    # propertyChange of one of these arrives with the creation) the first one found is the source.
    hubspot_source_properties: tuple[str, ...] = ("lead_source", "hs_analytics_source")
    hubspot_default_source: str = Field(default="hubspot", min_length=1)
    hubspot_lead_prefix: str = "hubspot-"
    hubspot_owner_map: dict[str, str] = Field(default_factory=dict)  # HubSpot owner id -> rep id
    hubspot_status_map: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_HUBSPOT_STATUS_MAP))

    # Other CRMs: X-Leadclock-Signature: sha256=<hex HMAC-SHA256(secret, body)>.
    generic_webhook_secret: str | None = None

    # /healthz says "degraded" when the oldest overdue, unfired clock is older than this.
    max_worker_lag_seconds: float = Field(default=300.0, gt=0)
    # /metrics normally needs an admin or ops token; a scraper on a private network may be let in.
    metrics_public: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        """Settings from LEADCLOCK_* variables (for `python -m leadclock.api`); unset ones keep
        their defaults."""
        env = os.environ if env is None else env
        names = {
            "max_body_bytes": "LEADCLOCK_API_MAX_BODY_BYTES",
            "max_batch_body_bytes": "LEADCLOCK_API_MAX_BATCH_BODY_BYTES",
            "rate_limit_per_second": "LEADCLOCK_API_RATE_LIMIT_PER_SECOND",
            "rate_limit_burst": "LEADCLOCK_API_RATE_LIMIT_BURST",
            "token_cache_seconds": "LEADCLOCK_API_TOKEN_CACHE_SECONDS",
            "hubspot_client_secret": "LEADCLOCK_HUBSPOT_CLIENT_SECRET",
            "hubspot_public_url": "LEADCLOCK_HUBSPOT_PUBLIC_URL",
            "hubspot_default_source": "LEADCLOCK_HUBSPOT_DEFAULT_SOURCE",
            "generic_webhook_secret": "LEADCLOCK_WEBHOOK_SECRET",
            "max_worker_lag_seconds": "LEADCLOCK_MAX_WORKER_LAG_SECONDS",
            "metrics_public": "LEADCLOCK_METRICS_PUBLIC",
        }
        values = {field: env[name] for field, name in names.items() if env.get(name)}
        return cls.model_validate(values)


__all__ = ["DEFAULT_HUBSPOT_STATUS_MAP", "ApiSettings"]
