"""Lifecycle section of the policy (F7): how leads move between stages and what each move needs.

The stages and the transition table live in `leadclock.scoring.lifecycle`; this section holds the
settings a team may change: the default nurture revisit, what an SQL needs, which flags make a
lead unqualified on arrival, and which parked stages come back when the lead engages again.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from leadclock.policy.durations import Duration
from leadclock.policy.models import Model

_DAY = 86400


class Lifecycle(Model):
    # Revisit date given to a lead moved to nurture without one (004 "revisit in N months").
    # Unset: every move to nurture must name its revisit date.
    nurture_revisit: Duration | None = None
    # Fields that must be filled before a lead becomes an SQL (003: contacted + BANT). Unset: the
    # handoff's required fields, so SQL and the SDR→AE handoff ask for the same things.
    sql_fields: list[str] | None = None
    sql_requires_contact: bool = True
    # Let a rep qualify a Lead straight to SQL (outbound, inbound call) without an MQL step.
    direct_sql: bool = False
    # Flags (see Scoring: competitor, academic, student, peer_company, free_mail or a yes/no lead
    # attribute) that make a new lead Unqualified (003 「アンクオリファイドリードの定義」).
    unqualified_when: list[str] = Field(default_factory=list)
    # Parked stages that are re-evaluated when the lead engages again.
    reengage_from: list[Literal["nurture", "recycled", "unreachable"]] = Field(
        default_factory=lambda: ["nurture", "recycled", "unreachable"]
    )

    @field_validator("nurture_revisit")
    @classmethod
    def _whole_days(cls, value: Duration | None) -> Duration | None:
        # A revisit is a date: anything but whole calendar days would be rounded silently.
        if value is not None and (value.kind != "seconds" or value.amount % _DAY):
            raise ValueError(
                f"a revisit is a date: write whole days or weeks such as '90d' or '12w', not {value}"
            )
        return value

    @field_validator("unqualified_when", "sql_fields")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"{name!r} is not a field or flag name (letters, digits and _)")
        return value
