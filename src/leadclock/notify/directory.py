"""Who a role means, and how each person is reached: the roster turned into recipients.

Pure: built from plain roster entries (the store's `reps` rows, the policy's `routing.reps`) and
the policy's channels; the worker builds one per tick. The planner (`plan.plan_messages`) asks
`resolve(role, effect)`; scheduled reports ask `people_with(role, near=rep)` and `addresses(person)`.

Roles:
- `rep`: the rep the effect is about (`plan.rep_of`: the owner, or the SDR a rejected handoff
  went back to).
- `manager`: that rep's manager (roster, else the policy's `routing.reps.<id>.manager`).
- any other role name (`sales_ops`, `sdr_manager`, `ae_manager`, `vp`, ...): the people whose
  roster role is that name, those of the rep's team first (a team's own SDR manager is told,
  not every SDR manager of the company); when nobody of the team holds it, everyone who does.

Addresses: a person is reached on every policy channel for which they have an address — e-mail
(`contact.email`), Slack (`contact.slack`, a member id), the in-app inbox (always, by id) — or only
on the channels listed in `contact.channels` when that is set. Webhook channels carry the person's
id and are used only when listed there or named by an escalation step. A person without any
address is reached nowhere; `unreachable` collects them and the live path logs them, so operations
can fix the roster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leadclock.engine.state import Effect
from leadclock.notify.plan import Recipient, rep_of
from leadclock.policy import Policy


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str | None = None
    team: str | None = None
    role: str | None = None
    manager: str | None = None
    locale: str | None = None
    contact: Mapping[str, Any] = field(default_factory=dict)


def people_of(reps: Iterable[Any]) -> list[Person]:
    """Persons from the store's roster rows (`Store.reps()`)."""
    return [Person(r.id, r.name, r.team, r.role, r.manager, r.locale, r.contact or {}) for r in reps]


# The contact key holding a person's address on each channel type; None = addressed by id.
ADDRESS_KEYS: Mapping[str, str | None] = {"email": "email", "slack": "slack", "inapp": None, "webhook": None}
# Channel types used without being asked for (webhooks go only where a person or step names them).
DEFAULT_TYPES = frozenset({"email", "slack", "inapp"})


class Directory:
    def __init__(self, people: Iterable[Person], policy: Policy) -> None:
        self.policy = policy
        self.people: dict[str, Person] = {}
        policy_reps = policy.routing.reps
        for rep_id, rep in policy_reps.items():  # the policy knows routing facts of its reps
            self.people[rep_id] = Person(rep_id, team=rep.team, role=rep.role, manager=rep.manager)
        for person in people:  # the roster is the authority where it says something
            known = self.people.get(person.id)
            if known is not None:
                person = Person(
                    person.id, person.name, person.team or known.team, person.role or known.role,
                    person.manager or known.manager, person.locale, person.contact,
                )
            self.people[person.id] = person
        self.by_role: dict[str, list[Person]] = {}
        for person in self.people.values():
            if person.role:
                self.by_role.setdefault(person.role, []).append(person)
        self.unreachable: set[str] = set()

    def team_of(self, person: str | None) -> str | None:
        found = self.people.get(person or "")
        return found.team if found else None

    def people_with(self, role: str, near: str | None = None) -> list[str]:
        """Ids of the people `role` means for something about rep `near` (see the module doc)."""
        if role == "rep":
            return [near] if near else []
        if role == "manager":
            found = self.people.get(near or "")
            return [found.manager] if found is not None and found.manager else []
        holders = self.by_role.get(role, [])
        team = self.team_of(near)
        same_team = [p.id for p in holders if team is not None and p.team == team]
        return same_team or sorted(p.id for p in holders)

    def addresses(self, person_id: str) -> list[Recipient]:
        """(recipient, channel name, locale) for every channel that reaches `person_id`."""
        person = self.people.get(person_id, Person(person_id))
        wanted = person.contact.get("channels")
        found: list[Recipient] = []
        for name, channel in self.policy.channels.items():
            if wanted is not None:
                if name not in wanted and channel.type not in wanted:
                    continue
            elif channel.type not in DEFAULT_TYPES:
                continue
            key = ADDRESS_KEYS.get(channel.type)
            address = person_id if key is None else person.contact.get(key)
            if address:
                found.append((str(address), name, person.locale))
        if not found:
            self.unreachable.add(person_id)
        return found

    def resolve(self, role: str, effect: Effect) -> list[Recipient]:
        """The planner's resolver: every address of every person `role` means for `effect`."""
        near = rep_of(effect)
        found: list[Recipient] = []
        for person in self.people_with(role, near):
            found.extend(self.addresses(person))
        return found


__all__ = ["ADDRESS_KEYS", "DEFAULT_TYPES", "Directory", "Person", "people_of"]
