"""Benchmark lead scoring (F5-F7): leads per second and the time of each phase.

    python bench/scoring.py [--n 1000000] [--repeat 3] [--seed 7] [--gc]

Leads are synthetic with a realistic mix (B2B, Japan-first): 40 industries written in English and
Japanese (with case and full-width variants), a long-tailed employee count, a few hundred titles
built from seniority × function in both languages, 5,000 companies of which 170 are target
accounts, and addresses at the company's domain (about 70%), free mail (about 22%, carrier mail
included), universities (3%) and competitors (2%); some fields are missing, as in CRM exports.

Phases (each run takes all `--n` leads through them in order; the median of `--repeat` runs is
printed; the policy is compiled once):
  score_lead        ICP attribute points and negatives: the target is >= 100,000 leads/s
  apply_engagement  one behaviour action on every lead (half score points, half do not)
  apply_decay       75 days after that engagement: two decay periods of the base preset's 30 days
  tier_for          score tier, intent signals and source priority
  mql_check         threshold and trigger actions
  score_lead stream score_lead again with the collector on, each card dropped after use
The garbage collector is off while a phase is timed, as `timeit` does: the bench keeps 1M cards
alive, which a service that scores and stores leads does not, and the collector's full passes
over them would be measured instead of scoring. `--gc` leaves it on (the generated input is
frozen out of the collector's sight either way).
The machine's load average is printed with the result: on a shared 2-core machine other work
easily costs a third of the rate, so read the numbers with it.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    from leadclock.policy import load_policy_text
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from leadclock.policy import load_policy_text

from leadclock.scoring import (
    apply_decay,
    apply_engagement,
    compile_scoring,
    mql_check,
    score_lead,
    tier_for,
)

TARGET = 100_000

HIGH_INDUSTRIES = ["SaaS", "Software", "ソフトウェア", "クラウドサービス"]
MID_INDUSTRIES = ["IT Services", "ITサービス", "Consulting", "コンサルティング", "Fintech"]
LOW_INDUSTRIES = ["Manufacturing", "製造業", "Retail", "小売", "Logistics", "物流"]
OTHER_INDUSTRIES = [
    "Healthcare", "医療", "Education", "教育", "Government", "官公庁", "Media", "メディア",
    "Real Estate", "不動産", "Construction", "建設", "Energy", "エネルギー", "Hospitality",
    "Insurance", "保険", "Banking", "銀行", "Telecom", "通信", "Automotive", "自動車",
    "Food", "食品",
]
SENIORITY = [
    "VP", "Vice President", "Director", "Head of", "Chief", "部長", "本部長", "課長", "Manager",
    "Senior Manager", "Staff", "担当", "主任", "Engineer", "Specialist", "Analyst", "Intern",
    "学生", "Student", "CEO", "代表取締役", "CTO",
]
FUNCTIONS = [
    "Sales", "Marketing", "営業", "マーケティング", "IT", "情報システム", "Engineering", "経営企画",
    "Operations", "Finance", "人事",
]
FREE_MAIL = [
    "gmail.com", "yahoo.co.jp", "outlook.com", "hotmail.com", "icloud.com", "outlook.jp",
    "docomo.ne.jp", "ezweb.ne.jp", "i.softbank.jp", "me.com",
]
UNIVERSITIES = ["u-tokyo.ac.jp", "kyoto-u.ac.jp", "ox.ac.uk", "stanford.edu", "keio.jp"]
COMPETITORS = ["rival-crm.co.jp", "competitor.com", "jp.competitor.com"]
ACTIONS = [
    "report_download", "assessment_request", "webinar", "pricing_page", "email_open",
    "contact_form", "demo_request",
]
SOURCES = ["demo_request", "pricing_inquiry", "webinar", "content_download", "newsletter",
           "referral", "inbound_call", None]


def bench_policy(companies: list[str]) -> str:
    """The base preset with a real-looking ICP: industries, bands, titles, 170 target accounts."""
    def flow(items: list[str]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    return f"""\
extends: lead-types
icp:
  industry:
    high: {flow(HIGH_INDUSTRIES)}
    mid: {flow(MID_INDUSTRIES)}
    low: {flow(LOW_INDUSTRIES)}
  employees:
    high: [">=1000"]
    mid: ["100-999"]
    low: ["10-99"]
  title:
    high: [VP, Vice President, Director, Head of, Chief, 部長, 本部長, CEO, CTO, 代表取締役]
    mid: [Manager, 課長, 主任]
    low: ["/\\\\bstaff\\\\b/", 担当]
  target_account:
    high: {flow(companies[:20])}
    mid: {flow(companies[20:70])}
    low: {flow(companies[70:170])}
scoring:
  competitor_domains: [rival-crm.co.jp, competitor.com]
  academic_domains: [keio.jp]
"""


def make_leads(n: int, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    rng = random.Random(seed)
    companies = [f"Company {i:04d} K.K." for i in range(5000)]
    industries = HIGH_INDUSTRIES + MID_INDUSTRIES + LOW_INDUSTRIES + OTHER_INDUSTRIES
    industries += [i.upper() for i in industries[:6]] + ["ＳａａＳ"]  # as typed into forms
    titles = [f"{s} {f}" if s.isascii() else f"{f}{s}" for s in SENIORITY for f in FUNCTIONS]
    titles += SENIORITY
    start = datetime(2026, 1, 5, tzinfo=UTC)
    leads = []
    for i in range(n):
        company = rng.randrange(5000) if rng.random() < 0.9 else rng.randrange(170)
        roll = rng.random()
        if roll < 0.70:
            domain = f"company{company:04d}.co.jp"
        elif roll < 0.92:
            domain = rng.choice(FREE_MAIL)
        elif roll < 0.95:
            domain = rng.choice(UNIVERSITIES)
        elif roll < 0.97:
            domain = rng.choice(COMPETITORS)
        else:
            domain = f"sub{company % 50}.company{company:04d}.com"
        lead: dict[str, Any] = {
            "email": f"user{i}@{domain}",
            "company": companies[company],
            "created": start + timedelta(seconds=rng.randrange(90 * 86400)),
        }
        if rng.random() < 0.95:
            lead["industry"] = rng.choice(industries)
        if rng.random() < 0.90:
            lead["employees"] = int(rng.lognormvariate(4.5, 1.8))
        if rng.random() < 0.95:
            lead["title"] = rng.choice(titles)
        if rng.random() < 0.01:
            lead["student"] = True
        leads.append(lead)
    return leads, companies


def timed(fn: Callable[..., Any], keep_gc: bool, *args: Any) -> tuple[float, Any]:
    """Wall time of one run of fn(*args) and its result."""
    gc.collect()
    if not keep_gc:
        gc.disable()
    try:
        t0 = time.perf_counter()
        result = fn(*args)
        return time.perf_counter() - t0, result
    finally:
        gc.enable()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gc", action="store_true", help="leave the garbage collector on")
    args = parser.parse_args()
    n = args.n
    load_before = os.getloadavg()[0]

    t0 = time.perf_counter()
    leads, companies = make_leads(n, args.seed)
    t_generate = time.perf_counter() - t0

    t0 = time.perf_counter()
    policy = load_policy_text(bench_policy(companies), "bench-policy")
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = compile_scoring(policy)
    t_compile = time.perf_counter() - t0

    rng = random.Random(args.seed + 1)
    actions = [rng.choice(ACTIONS) for _ in range(n)]
    sources = [rng.choice(SOURCES) for _ in range(n)]
    # The synthetic input is fixture, not work: keep the collector from walking it.
    gc.collect()
    gc.freeze()

    def score_all() -> list[Any]:
        return [score_lead(lead, lead["created"], compiled) for lead in leads]

    def engage_all(cards: list[Any]) -> None:
        for card, lead, action in zip(cards, leads, actions, strict=True):
            apply_engagement(card, action, lead["created"] + timedelta(days=1), compiled)

    def decay_all(cards: list[Any]) -> None:
        for card, lead in zip(cards, leads, strict=True):
            # Engaged a day after creation, looked at 75 days after that: two 30-day periods.
            engaged = lead["created"] + timedelta(days=1)
            apply_decay(card, engaged, engaged + timedelta(days=75), compiled)

    def tier_all(cards: list[Any]) -> list[Any]:
        return [
            tier_for(card, (action,), source, compiled)
            for card, action, source in zip(cards, actions, sources, strict=True)
        ]

    def mql_all(cards: list[Any]) -> list[Any]:
        return [mql_check(card, (action,), compiled)
                for card, action in zip(cards, actions, strict=True)]

    # Each run takes fresh leads through every phase in order, as the engine would.
    names = ("score_lead", "apply_engagement", "apply_decay", "tier_for", "mql_check")
    runs: dict[str, list[float]] = {name: [] for name in names}
    cards: list[Any] = []
    for _ in range(args.repeat):
        cards = []
        elapsed, cards = timed(score_all, args.gc)
        runs["score_lead"].append(elapsed)
        runs["apply_engagement"].append(timed(engage_all, args.gc, cards)[0])
        runs["apply_decay"].append(timed(decay_all, args.gc, cards)[0])
        runs["tier_for"].append(timed(tier_all, args.gc, cards)[0])
        runs["mql_check"].append(timed(mql_all, args.gc, cards)[0])
    phases = [(name, statistics.median(runs[name])) for name in names]
    t_score = phases[0][1]

    def score_streamed() -> int:
        # As a service scores: each card is used (here: its score summed) and let go.
        total = 0
        for lead in leads:
            total += score_lead(lead, lead["created"], compiled).score
        return total

    cards = decisions = mqls = []  # let the retained cards go before the streamed runs
    gc.collect()
    streamed = statistics.median(
        timed(score_streamed, True)[0] for _ in range(args.repeat)
    )
    # Tier and MQL once more for the summary line.
    cards = score_all()
    decisions, mqls = tier_all(cards), mql_all(cards)

    print(f"leadclock scoring benchmark: {n:,} synthetic leads, median of {args.repeat} runs"
          f"{' (GC on)' if args.gc else ' (GC off while timed)'}; "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"  generate leads      {t_generate:8.2f} s   (not scoring)")
    print(f"  load policy         {t_load * 1000:8.1f} ms")
    print(f"  compile matchers    {t_compile * 1000:8.1f} ms")
    print(f"  {'phase':18s} {'time':>9s} {'µs/lead':>9s} {'leads/s':>12s}")
    for name, seconds in phases:
        print(f"  {name:18s} {seconds:8.3f}s {seconds / n * 1e6:9.2f} {n / seconds:12,.0f}")
    total = sum(seconds for _, seconds in phases)
    print(f"  {'all phases':18s} {total:8.3f}s {total / n * 1e6:9.2f} {n / total:12,.0f}")
    print(f"  {'score_lead stream':18s} {streamed:8.3f}s {streamed / n * 1e6:9.2f} "
          f"{n / streamed:12,.0f}   (GC on, cards not kept)")

    tiers: dict[str | None, int] = {}
    for decision in decisions:
        tiers[decision.tier] = tiers.get(decision.tier, 0) + 1
    flagged = sum(1 for card in cards if card.flags)
    print(f"  mix: {flagged / n:.0%} flagged, {sum(1 for m in mqls if m) / n:.0%} MQL, tiers "
          + ", ".join(f"{k}: {v / n:.0%}" for k, v in sorted(tiers.items(), key=str)))
    rate = n / t_score
    verdict = "OK" if rate >= TARGET else "BELOW TARGET"
    print(f"score_lead: {rate:,.0f} leads/s, {n / streamed:,.0f} streamed (target {TARGET:,}): "
          f"{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
