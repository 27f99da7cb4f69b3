"""Why a clock ended as it did, in one sentence of the page's language (F27).

The same facts `leadclock explain` prints (service/explain.py): the target and calendar, the
deadline in local time, when and why it stopped, the business time it counted. The engine's own
`reason` ("call by sdr-sato (voicemail)", "assigned to ...") is quoted as it is: it names the
event that decided, which is the evidence a manager needs.
"""

from __future__ import annotations

from leadclock.engine.state import Clock
from leadclock.reports.output import format_value
from leadclock.web.render import Page


def explain_clock(clock: Clock, page: Page) -> str:
    t = page.t
    ja = page.lang == "ja"
    verdict = t(f"explain_{clock.outcome}") if clock.outcome in ("met", "breached", "open", "cancelled") else clock.outcome
    parts = [
        (f"目標 {clock.target}({clock.calendar}カレンダー)、期限 {page.local(clock.due_at)}" if ja
         else f"target {clock.target} ({clock.calendar} calendar), due {page.local(clock.due_at)}"),
    ]
    if clock.max_at is not None:
        parts.append(f"許容最大 {page.local(clock.max_at)}" if ja else f"maximum {page.local(clock.max_at)}")
    sentence = ("、" if ja else "; ").join(parts)
    sentence += (" — " + verdict)
    if clock.stopped_at is not None:
        spent = format_value(clock.business_seconds, "seconds", page.lang) if clock.business_seconds is not None else "—"
        sentence += (f"({page.local(clock.stopped_at)}、営業時間で {spent})" if ja
                     else f" ({page.local(clock.stopped_at)}, after {spent} of business time)")
    elif clock.outcome == "breached" and clock.breached_at is not None:
        sentence += (f"({page.local(clock.breached_at)} から超過中)" if ja
                     else f" (past its deadline since {page.local(clock.breached_at)})")
    if clock.exceeded_max:
        sentence += ("、" if ja else ", ") + t("explain_max")
    if clock.reason:
        sentence += (f"。理由: {clock.reason}" if ja else f". Because: {clock.reason}")
    if clock.stage == "cadence":
        sentence += (f"(試行 {clock.attempts}/{clock.required})" if ja
                     else f" ({clock.attempts} of {clock.required} attempts)")
    return sentence


__all__ = ["explain_clock"]
