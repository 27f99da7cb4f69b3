"""Demo history: a month of leads as the CRM of seed 000's 25-person SaaS team would send them.

The team is the one of 000 (4 SDRs, 6 AEs and their two managers); the numbers a RevOps person
expects to recognise come from 001: the source mix of a B2B SaaS funnel, first-contact targets
per source, the hot / warm / cold cadences, qualification shares (001 warns that fewer than 20%
disqualified means reps accept everything), and conversion that falls with slower first contact
(001's compliance-tier table, 000's "each hour of delay reduces conversion by 10%").

The history is *behaviour*, not SLA verdicts: reps are drawn from habits (one fast rep, typical
reps, one struggling rep, a contractor who is not on the roster), and the engine decides what was
met or breached. Nothing here reads the clock; `start` is an argument, and the same arguments give
the same events byte for byte.

Scale: the same generator feeds the replay benchmark (a million leads, ~8 million events), so the
simulation runs on integer local wall-clock seconds, keeps only the events that lie in the future
of the lead currently being created (a lead's events never precede its creation, so every earlier
day can be sorted and flushed), and formats timestamps from lookup tables.
"""

from __future__ import annotations

import gc
import json
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import numpy as np

from leadclock.policy import Policy, load_preset
from leadclock.policy.models import CadenceSla, Calendar, ClockSla

__all__ = [
    "LEAD_HORIZON_DAYS",
    "UNKNOWN_REP",
    "Rep",
    "demo_roster",
    "generate",
    "write_jsonl",
]

DAY = 86_400
HOUR = 3_600
MINUTE = 60
# A lead's history is cut 30 days after its creation: long enough for 001's "demo to close in
# 14 days (velocity) / 30 days (mid-market)", short enough to bound the events held in memory.
LEAD_HORIZON_DAYS = 30
# Assigned now and then (a contractor covering a queue) but absent from the roster, so reports
# have to say "unknown rep" instead of dropping the lead.
UNKNOWN_REP = "contractor-01"
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH_NAIVE = datetime(1970, 1, 1)


# ---------------------------------------------------------------------------------------------
# The team


@dataclass(frozen=True)
class Rep:
    """A person on the roster. `tier_pool` lists the tiers the rep may be routed (001: hot leads
    to top performers only, cold to juniors); empty means any tier."""

    id: str
    name: str
    role: Literal["sdr", "ae", "manager"]
    team: str
    manager: str | None
    tier_pool: tuple[str, ...] = ()
    name_en: str = ""


SDR_TEAM = "inside-sales"
AE_TEAM = "sales"

_ROSTER: tuple[Rep, ...] = (
    Rep("mgr-matsumoto", "松本恵", "manager", SDR_TEAM, None, (), "Megumi Matsumoto"),
    Rep("sdr-sato", "佐藤健太", "sdr", SDR_TEAM, "mgr-matsumoto", ("hot", "warm", "cold"), "Kenta Sato"),
    # 001's scorecard example is 山田花子 at 89%: a good rep, not the best.
    Rep("sdr-yamada", "山田花子", "sdr", SDR_TEAM, "mgr-matsumoto", ("hot", "warm", "cold"), "Hanako Yamada"),
    Rep("sdr-suzuki", "鈴木美咲", "sdr", SDR_TEAM, "mgr-matsumoto", ("warm", "cold"), "Misaki Suzuki"),
    Rep("sdr-takahashi", "高橋翔", "sdr", SDR_TEAM, "mgr-matsumoto", ("warm", "cold"), "Sho Takahashi"),
    Rep("mgr-inoue", "井上隆", "manager", AE_TEAM, None, (), "Takashi Inoue"),
    Rep("ae-tanaka", "田中誠", "ae", AE_TEAM, "mgr-inoue", (), "Makoto Tanaka"),
    Rep("ae-ito", "伊藤彩", "ae", AE_TEAM, "mgr-inoue", (), "Aya Ito"),
    Rep("ae-watanabe", "渡辺大輔", "ae", AE_TEAM, "mgr-inoue", (), "Daisuke Watanabe"),
    Rep("ae-nakamura", "中村由美", "ae", AE_TEAM, "mgr-inoue", (), "Yumi Nakamura"),
    Rep("ae-kobayashi", "小林拓也", "ae", AE_TEAM, "mgr-inoue", (), "Takuya Kobayashi"),
    Rep("ae-kato", "加藤真央", "ae", AE_TEAM, "mgr-inoue", (), "Mao Kato"),
)


def demo_roster(sdrs: int | None = None, aes: int | None = None) -> list[Rep]:
    """000's team: 4 SDRs and 6 AEs, with the SDR manager and the AE manager.

    With `sdrs` / `aes`, a larger team of the same shape (benchmarks: a 50-rep SDR team): the
    named people come first, then numbered ones (`sdr-005`, ...). Asking for the default sizes
    (or fewer) returns the named team unchanged, so the demo history stays the same.
    """
    roster = list(_ROSTER)
    extra_sdrs = max(0, (sdrs or 0) - sum(1 for r in roster if r.role == "sdr"))
    extra_aes = max(0, (aes or 0) - sum(1 for r in roster if r.role == "ae"))
    base = len(roster)
    for n in range(extra_sdrs):
        number = 5 + n
        roster.append(Rep(f"sdr-{number:03d}", f"SDR {number:03d}", "sdr", SDR_TEAM, "mgr-matsumoto",
                          ("warm", "cold") if n % 2 else ("hot", "warm", "cold"), f"SDR {number:03d}"))
    for n in range(extra_aes):
        number = 7 + n
        roster.append(Rep(f"ae-{number:03d}", f"AE {number:03d}", "ae", AE_TEAM, "mgr-inoue", (), f"AE {number:03d}"))
    return roster if len(roster) > base else list(_ROSTER)


@dataclass(frozen=True)
class _SdrHabits:
    on_time: float  # share of first contacts made within the source's target
    late_sigma: float  # spread of how late the other ones are (lognormal, in targets)
    queue_minutes: float  # minutes per lead when working the after-hours backlog at opening
    quit_early: float  # share of unanswered cadences abandoned before the minimum attempts
    decides_on_time: float  # share of qualification decisions within the SLA
    hands_off_on_time: float  # share of handoffs requested within the SLA
    skill: float  # discovery quality: scales qualification and win chances


@dataclass(frozen=True)
class _AeHabits:
    accept_hours: float  # median business hours from handoff to acceptance (000: 3.2 h average)
    rejects: float  # share of handoffs sent back
    skill: float


# One fast rep, two typical ones, one struggling: first-contact compliance spreads ~60-95%
# as 001 describes ("some reps are always fast, others slow = training or motivation").
_SDR_HABITS: dict[str, _SdrHabits] = {
    "sdr-sato": _SdrHabits(0.96, 0.5, 2.0, 0.02, 0.96, 0.95, 1.15),
    "sdr-yamada": _SdrHabits(0.90, 0.7, 3.0, 0.05, 0.92, 0.92, 1.05),
    "sdr-suzuki": _SdrHabits(0.84, 0.8, 3.5, 0.10, 0.88, 0.88, 1.0),
    "sdr-takahashi": _SdrHabits(0.62, 1.0, 6.0, 0.30, 0.72, 0.75, 0.8),
    UNKNOWN_REP: _SdrHabits(0.55, 1.1, 7.0, 0.35, 0.70, 0.70, 0.8),
}
_AE_HABITS: dict[str, _AeHabits] = {
    "ae-tanaka": _AeHabits(1.0, 0.06, 1.1),
    "ae-ito": _AeHabits(2.0, 0.07, 1.0),
    "ae-watanabe": _AeHabits(2.5, 0.08, 1.0),
    "ae-nakamura": _AeHabits(2.5, 0.08, 1.0),
    "ae-kobayashi": _AeHabits(2.5, 0.07, 1.0),
    # The AE whose rejection rate the manager should notice (000: track rejection per AE).
    "ae-kato": _AeHabits(5.0, 0.16, 0.85),
}
_DEFAULT_SDR = _SDR_HABITS["sdr-suzuki"]
_DEFAULT_AE = _AE_HABITS["ae-watanabe"]
# Numbered reps of a larger roster take the named reps' habits in turn, so a 50-rep team spreads
# from fast to struggling like the named one does (a single profile would make every row alike).
_SDR_PROFILES = tuple(_SDR_HABITS[r] for r in ("sdr-sato", "sdr-yamada", "sdr-suzuki", "sdr-takahashi"))
_AE_PROFILES = tuple(_AE_HABITS[r] for r in ("ae-tanaka", "ae-ito", "ae-watanabe", "ae-nakamura", "ae-kobayashi", "ae-kato"))


# ---------------------------------------------------------------------------------------------
# What the leads look like

# 001's B2B SaaS template sources with the mix of a typical inbound funnel: content and webinars
# bring volume, demo / trial / pricing bring intent. Unknown sources get weights by priority.
_SOURCE_MIX: dict[str, float] = {
    # b2b-saas
    "demo_request": 0.15, "free_trial": 0.15, "pricing_inquiry": 0.10,
    "content_download": 0.35, "webinar": 0.25,
    # lead-types
    "pricing_page": 0.06, "talk_to_sales": 0.04, "inbound_call": 0.03, "newsletter": 0.15,
    "event": 0.07, "referral": 0.05,
    # enterprise
    "named_account_inbound": 0.15, "conference": 0.30, "whitepaper": 0.45,
    # smb
    "inbound_demo": 0.25, "outbound_qualified": 0.30, "marketing_qualified": 0.45,
}
_PRIORITY_WEIGHT = {"hot": 1.0, "warm": 2.0, "cold": 1.5}

# Arrival intensity by local hour: a working-day curve with a lunch dip and a long evening tail.
_HOURLY = (
    0.04, 0.03, 0.02, 0.02, 0.02, 0.04, 0.10, 0.25, 0.55, 1.0, 1.3, 1.3,
    0.85, 1.1, 1.3, 1.25, 1.1, 0.9, 0.65, 0.5, 0.45, 0.4, 0.3, 0.15,
)
# Weekends and holidays bring ~30% of a weekday's volume and weekday evenings ~10% of a day's:
# together about a fifth of all leads arrive outside business hours.
_CLOSED_DAY_WEIGHT = 0.3
_WEEKDAY_AFTER_HOURS = 0.10

# Per tier (by position: most urgent first): chance a call connects (falling with each call),
# chance an email gets a reply, base chance a reached lead is qualified.
_CONNECT = (0.45, 0.30, 0.20)
_REPLY = (0.12, 0.08, 0.06)
_QUALIFY = (0.31, 0.21, 0.13)

_SURNAMES = (
    ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松田", "matsuda"), ("木村", "kimura"),
    ("林", "hayashi"), ("清水", "shimizu"), ("山崎", "yamazaki"), ("森", "mori"),
    ("池田", "ikeda"), ("橋本", "hashimoto"), ("阿部", "abe"), ("石川", "ishikawa"),
    ("前田", "maeda"), ("藤田", "fujita"), ("小川", "ogawa"), ("岡田", "okada"),
    ("後藤", "goto"), ("長谷川", "hasegawa"), ("村上", "murakami"), ("近藤", "kondo"),
)
_GIVEN = (
    ("陽介", "yosuke"), ("直美", "naomi"), ("大輝", "daiki"), ("結衣", "yui"), ("亮", "ryo"),
    ("麻衣", "mai"), ("健一", "kenichi"), ("真由美", "mayumi"), ("翔太", "shota"),
    ("彩花", "ayaka"), ("誠", "makoto"), ("恵子", "keiko"), ("拓海", "takumi"),
    ("美穂", "miho"), ("智也", "tomoya"), ("沙織", "saori"),
)
_COMPANY_STEMS = (
    ("アオバ", "aoba"), ("ミライ", "mirai"), ("サクラ", "sakura"), ("ヒカリ", "hikari"),
    ("ツバサ", "tsubasa"), ("アサヒ", "asahi"), ("ホクト", "hokuto"), ("ヤマト", "yamato"),
    ("ミナト", "minato"), ("カエデ", "kaede"), ("イロハ", "iroha"), ("ソラ", "sora"),
    ("ナギ", "nagi"), ("コトブキ", "kotobuki"), ("ハヤテ", "hayate"), ("トキワ", "tokiwa"),
    ("シンセイ", "shinsei"), ("ダイチ", "daichi"), ("リンク", "link"), ("ノゾミ", "nozomi"),
)
_COMPANY_KINDS = (
    # (suffix, domain word, industry)
    ("テック", "tech", "SaaS"), ("クラウド", "cloud", "SaaS"), ("ソフト", "soft", "SaaS"),
    ("システムズ", "systems", "IT Services"), ("ソリューションズ", "solutions", "IT Services"),
    ("データ", "data", "IT Services"), ("工業", "kogyo", "Manufacturing"),
    ("製作所", "seisakusho", "Manufacturing"), ("商事", "shoji", "Retail"),
    ("リテール", "retail", "Retail"), ("フィナンシャル", "financial", "Finance"),
    ("メディカル", "medical", "Healthcare"),
)
_TITLES = (("VP", 0.06), ("Director", 0.08), ("部長", 0.16), ("Manager", 0.14), ("課長", 0.18),
           ("Staff", 0.14), ("担当", 0.24))
_FREE_MAIL = ("gmail.com", "yahoo.co.jp", "outlook.jp")

_NEXT_STEPS = (
    "デモ日程を調整", "決裁者同席のミーティングを設定", "資料送付後に再架電", "トライアル環境を案内",
    "見積もりの前提を確認",
)
_AE_NEXT_STEPS = ("提案書の作成", "技術検証の日程調整", "見積もり提示", "決裁者へのプレゼン")
_DEAL_NEXT_STEPS = ("契約条件の確認", "稟議の進捗確認", "導入スケジュールの合意", "価格交渉")
_BANT: dict[str, tuple[str, ...]] = {
    "budget": ("年間300万円で承認済み", "年間150万円（予算確保済み）", "来期予算で500万円を申請中",
               "既存ツール費の置き換え（年間120万円）", "部門予算内（年間200万円）"),
    "authority": ("営業部長が決裁者", "CROが最終決裁", "情報システム部長と共同決裁", "代表取締役が決裁",
                  "事業部長が決裁（稟議あり）"),
    "need": ("リード対応の遅れで商談を逃している", "SDRとAEの引き継ぎが属人的", "SLA遵守率を可視化したい",
             "インバウンド増加で対応が追いつかない", "マーケと営業の責任範囲を明確にしたい"),
    "timeline": ("今四半期中に導入", "3か月以内に導入", "年度内に決定", "来期初めに稼働",
                 "1か月以内にPoC開始"),
    "next_step": ("デモ日程確定（AE同席）", "決裁者同席の提案ミーティング", "見積もり提示",
                  "トライアル環境の提供", "技術要件のすり合わせ"),
}
# Fields SDRs most often skip (000: budget and timeline are the ones AEs chase).
_MISSING_WEIGHT = {"budget": 3.0, "timeline": 3.0, "authority": 2.0, "need": 1.0, "next_step": 1.0}
_DISQUALIFY = (("not_icp", 0.30), ("no_need", 0.20), ("no_budget", 0.22), ("no_authority", 0.10),
               ("duplicate", 0.08), ("competitor", 0.05), ("student", 0.05))
_NURTURE = (("timing", 0.5), ("early_research", 0.3), ("no_budget_this_year", 0.2))
_REJECT_WEIGHT = {"missing_info": 0.4, "wrong_icp": 0.35, "no_interest": 0.25}
_ENGAGEMENT = (("download", 0.45), ("webinar", 0.25), ("pricing_visit", 0.30))


# ---------------------------------------------------------------------------------------------
# Business hours on local wall-clock seconds


class _Hours:
    """Opening hours and holidays on local wall-clock seconds since 1970-01-01 00:00 local.

    Simulating in wall-clock time keeps "09:00 next morning" a matter of integer arithmetic; the
    conversion to instants happens once per event when it is stored.
    """

    def __init__(self, weekly: Sequence[tuple[tuple[int, int], ...]], holidays: set[int]) -> None:
        if not any(weekly):
            raise ValueError("the business calendar has no opening hours")
        self._weekly = tuple(weekly)  # index 0 = Monday
        self._holidays = holidays
        self._days: dict[int, tuple[tuple[int, int], ...]] = {}

    @property
    def business_day_seconds(self) -> float:
        """Length of an average open day: what "1bd" means on this calendar."""
        lengths = [sum(e - s for s, e in day) for day in self._weekly if day]
        return sum(lengths) / len(lengths)

    def day(self, d: int) -> tuple[tuple[int, int], ...]:
        """Absolute open intervals of local day number `d` (days since 1970-01-01)."""
        ivals = self._days.get(d)
        if ivals is None:
            if d in self._holidays:
                ivals = ()
            else:
                base = d * DAY
                # 1970-01-01 was a Thursday (Monday = 0).
                ivals = tuple((base + s, base + e) for s, e in self._weekly[(d + 3) % 7])
            self._days[d] = ivals
        return ivals

    def is_open(self, t: int) -> bool:
        return any(s <= t < e for s, e in self.day(t // DAY))

    def add(self, t: float, secs: float) -> int:
        """`t` plus `secs` of business time (counting starts at the next opening)."""
        t = int(t)
        left = int(secs)
        d = t // DAY
        days = self._days
        for _ in range(800):  # 800 days: far beyond any delay drawn here
            ivals = days.get(d)
            if ivals is None:
                ivals = self.day(d)
            for s, e in ivals:
                if t < e:
                    if t < s:
                        t = s
                    room = e - t
                    if left < room:
                        return t + left
                    left -= room
                    t = e
            d += 1
        raise ValueError("no business hours within two years")

    def nth_day(self, d: int, n: int) -> int:
        """The n-th business day counting from day `d` (d itself is the first when open)."""
        count = 0
        days = self._days
        for _ in range(800):
            ivals = days.get(d)
            if ivals is None:
                ivals = self.day(d)
            if ivals:
                count += 1
                if count >= n:
                    return d
            d += 1
        raise ValueError("no business days within two years")


def _hours_from_policy(policy: Policy, first_year: int, last_year: int) -> _Hours:
    calendar: Calendar | None = policy.calendars.get("business")
    if calendar is None:
        calendar = next((c for c in policy.calendars.values() if not c.always), None)
    if calendar is None or calendar.always:
        return _Hours([((0, DAY),)] * 7, set())

    def secs(hhmm: str) -> int:
        hours, minutes = hhmm.split(":")
        return int(hours) * HOUR + int(minutes) * MINUTE

    order = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    weekly = [tuple((secs(a), secs(b)) for a, b in calendar.weekly.get(day, [])) for day in order]
    closed: set[int] = set()
    years = range(first_year, last_year + 1)
    for country in calendar.holidays.countries:
        for day in holidays_lib.country_holidays(country, subdiv=calendar.holidays.subdivision, years=years):
            closed.add(day.toordinal() - _EPOCH_ORDINAL)
    for text in calendar.holidays.dates:
        closed.add(date.fromisoformat(text).toordinal() - _EPOCH_ORDINAL)
    return _Hours(weekly, closed)


class _ArrivalShape:
    """Samples a second of the day from `_HOURLY`, restricted to the open or the closed part."""

    def __init__(self, relative: tuple[tuple[int, int], ...]) -> None:
        self._open = relative
        open_w: list[float] = []
        closed_w: list[float] = []
        for hour, weight in enumerate(_HOURLY):
            lo, hi = hour * HOUR, (hour + 1) * HOUR
            inside = sum(max(0, min(hi, e) - max(lo, s)) for s, e in relative) / HOUR
            open_w.append(weight * inside)
            closed_w.append(weight * (1 - inside))
        self.open_total = sum(open_w)
        self.closed_total = sum(closed_w)
        self._open_cum = _cumulative(open_w)
        self._closed_cum = _cumulative(closed_w)

    def sample(self, r: random.Random, want_open: bool) -> int:
        cum = self._open_cum if want_open else self._closed_cum
        for _ in range(64):
            hour = min(bisect_right(cum, r.random() * cum[-1]), 23)
            sec = hour * HOUR + int(r.random() * HOUR)
            # Partly open hours need a check; whole hours pass at once.
            if any(s <= sec < e for s, e in self._open) == want_open:
                return sec
        return sec


def _cumulative(weights: Iterable[float]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


class _Choice:
    """A weighted choice drawn with one uniform number (bisect on the cumulative weights)."""

    __slots__ = ("_cum", "_names", "_total")

    def __init__(self, items: Sequence[tuple[str, float]]) -> None:
        self._names = tuple(name for name, _ in items)
        self._cum = _cumulative(weight for _, weight in items)
        self._total = self._cum[-1]

    def __call__(self, r: random.Random) -> str:
        return self._names[min(bisect_right(self._cum, r.random() * self._total), len(self._names) - 1)]


_TITLE = _Choice(_TITLES)
_ENGAGE = _Choice(_ENGAGEMENT)
_DISQUALIFY_REASON = _Choice(_DISQUALIFY)
_NURTURE_REASON = _Choice(_NURTURE)


# ---------------------------------------------------------------------------------------------
# Time zone and timestamp text


@cache
def _hms_table() -> tuple[str, ...]:
    return tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY))


class _Zone:
    """Local wall clock <-> UTC seconds, and ISO 8601 text with the offset, through caches."""

    def __init__(self, name: str) -> None:
        self._tz = ZoneInfo(name)
        self._from_local: dict[int, int] = {}
        self._from_utc: dict[int, int] = {}
        self._dates: dict[int, str] = {}
        self._offsets: dict[int, str] = {}
        self._hms = _hms_table()

    def utc(self, local: int) -> int:
        hour = local // HOUR
        off = self._from_local.get(hour)
        if off is None:
            wall = (_EPOCH_NAIVE + timedelta(hours=hour)).replace(tzinfo=self._tz)
            off = int(wall.utcoffset().total_seconds())  # type: ignore[union-attr]
            self._from_local[hour] = off
        return local - off

    def fixed_offset(self, lo: int, hi: int) -> int | None:
        """The zone's offset if it is the same at every instant in [lo, hi] (UTC seconds)."""
        # Offsets change at most twice a year and never back within 12 hours.
        seen = {int(datetime.fromtimestamp(t, self._tz).utcoffset().total_seconds())  # type: ignore[union-attr]
                for t in [*range(lo, hi, 12 * HOUR), hi]}
        return seen.pop() if len(seen) == 1 else None

    def day_text(self, d: int) -> str:
        text = self._dates.get(d)
        if text is None:
            text = self._dates[d] = date.fromordinal(_EPOCH_ORDINAL + d).isoformat() + "T"
        return text

    def offset_text(self, off: int) -> str:
        sign = "+" if off >= 0 else "-"
        return f"{sign}{abs(off) // 3600:02d}:{abs(off) // 60 % 60:02d}"

    def text(self, utc: int) -> str:
        # The offset is looked up at the instant itself, so the text always names that instant.
        hour = utc // HOUR
        off = self._from_utc.get(hour)
        if off is None:
            off = int(datetime.fromtimestamp(hour * HOUR, self._tz).utcoffset().total_seconds())  # type: ignore[union-attr]
            self._from_utc[hour] = off
        local = utc + off
        d = local // DAY
        off_text = self._offsets.get(off)
        if off_text is None:
            off_text = self._offsets[off] = self.offset_text(off)
        return self.day_text(d) + self._hms[local - d * DAY] + off_text


# ---------------------------------------------------------------------------------------------
# The policy, reduced to what behaviour depends on


@dataclass(frozen=True)
class _Plan:
    source: str
    tier_rank: int  # 0 = most urgent tier
    contact: float  # first-contact target, business seconds
    qualify: float
    handoff: float
    accept: float
    min_attempts: int
    steps: tuple[tuple[float | None, int | None, tuple[str, ...]], ...]
    on_exhausted: str


def _target(sla: object, business_day: float, default: float) -> float:
    if not isinstance(sla, ClockSla):
        return default
    seconds = sla.target.seconds(business_day)
    # "same_day" depends on where counting starts; half a day is what reps treat it as.
    return business_day / 2 if seconds is None else seconds


def _plans(policy: Policy, business_day: float) -> dict[str, _Plan]:
    tiers = policy.tier_order()
    plans: dict[str, _Plan] = {}
    for name, source in policy.sources.items():
        tier = source.priority

        def sla(stage: str, source_name: str = name, tier_name: str = tier) -> object | None:
            return policy.stage_sla(stage, source_name, tier_name)

        cadence = sla("cadence")
        min_attempts, steps, on_exhausted = 2, [], "nurture"
        if isinstance(cadence, CadenceSla):
            min_attempts, steps, on_exhausted = cadence.min_attempts, list(cadence.steps), cadence.on_exhausted
        if not steps and tier in policy.tiers:
            # A source row that gives only "min attempts" follows its tier's written cadence.
            tier_cadence = policy.tiers[tier].sla.cadence
            if isinstance(tier_cadence, CadenceSla):
                steps = list(tier_cadence.steps)
        plan_steps = tuple(
            (None if s.after is None else s.after.seconds(business_day), s.day, tuple(s.channels))
            for s in steps
        ) or ((None, None, ("call",)), (None, 2, ("email",)))
        plans[name] = _Plan(
            source=name,
            tier_rank=min(tiers.index(tier) if tier in tiers else 1, 2),
            contact=max(60.0, _target(sla("first_contact"), business_day, 4 * HOUR)),
            qualify=max(HOUR, _target(sla("qualification"), business_day, 3 * business_day)),
            handoff=max(HOUR, _target(sla("handoff"), business_day, business_day)),
            accept=max(HOUR, _target(sla("acceptance"), business_day, business_day)),
            min_attempts=min_attempts,
            steps=plan_steps,
            on_exhausted=on_exhausted,
        )
    return plans


# ---------------------------------------------------------------------------------------------
# The simulation


_Item = tuple[str, str, str | None, dict[str, Any]]  # type, id, lead, fields
_Emit = Callable[[int, str, dict[str, Any]], None]


class _Simulation:
    def __init__(
        self, *, seed: int, start: date, days: int, leads_per_day: float, policy: Policy,
        timezone: str, until: date, roster: Sequence[Rep] = _ROSTER,
    ) -> None:
        self._rng = random.Random(seed)
        self._start_day = start.toordinal() - _EPOCH_ORDINAL
        self._days = days
        self._leads_per_day = leads_per_day
        self._zone = _Zone(timezone)
        last = until + timedelta(days=LEAD_HORIZON_DAYS + 60)
        self._hours = _hours_from_policy(policy, start.year - 1, last.year + 1)
        self._until = (until.toordinal() - _EPOCH_ORDINAL) * DAY  # local seconds, exclusive
        self._base_utc = self._zone.utc(self._start_day * DAY)
        self._business_day = self._hours.business_day_seconds
        self._plans = _plans(policy, self._business_day)
        if not self._plans:
            raise ValueError(f"policy {policy.name!r} defines no lead sources")
        names = list(self._plans)
        weights = [
            _SOURCE_MIX.get(n, _PRIORITY_WEIGHT.get(policy.sources[n].priority, 1.0) / 10)
            for n in names
        ]
        self._source_names = names
        self._source_cum = _cumulative(w / sum(weights) for w in weights)
        self._required = list(policy.handoff.required_fields)
        reasons = policy.handoff.rejection_reasons or ["missing_info"]
        self._reject_reason = _Choice([(r, _REJECT_WEIGHT.get(r, 0.2)) for r in reasons])
        self._missing = _Choice([(f, _MISSING_WEIGHT.get(f, 1.0)) for f in self._required or ["budget"]])
        self._sdrs = [r.id for r in roster if r.role == "sdr"]
        self._aes = [r.id for r in roster if r.role == "ae"]
        if not self._sdrs or not self._aes:
            raise ValueError("the roster needs at least one SDR and one AE")
        self._sdr_manager = next((r.id for r in roster if r.role == "manager" and r.team == SDR_TEAM),
                                 next(r.id for r in _ROSTER if r.role == "manager"))
        self._sdr_habits = dict(_SDR_HABITS)
        self._ae_habits = dict(_AE_HABITS)
        for i, rep_id in enumerate(r for r in self._sdrs if r not in _SDR_HABITS):
            self._sdr_habits[rep_id] = _SDR_PROFILES[i % len(_SDR_PROFILES)]
        for i, rep_id in enumerate(r for r in self._aes if r not in _AE_HABITS):
            self._ae_habits[rep_id] = _AE_PROFILES[i % len(_AE_PROFILES)]
        self._sdr_next = 0
        self._ae_next = 0
        self._companies = self._make_companies()
        self._shapes: dict[tuple[tuple[int, int], ...], _ArrivalShape] = {}
        # Morning backlog per (rep, opening instant): after-hours leads are worked in turn.
        self._queue: dict[tuple[str, int], int] = {}
        self._off: set[tuple[str, int]] = set()
        self._away: dict[tuple[str, int], tuple[int, int]] = {}
        self._count = 0
        # Events by UTC day since the start: (instants, items), sorted only when flushed.
        self._buckets: dict[int, tuple[list[int], list[_Item]]] = {}
        horizon = self._until + (LEAD_HORIZON_DAYS + 2) * DAY
        # Most zones keep one offset for a month: then local -> UTC is a subtraction.
        self._fixed = self._zone.fixed_offset(self._base_utc - DAY, self._zone.utc(horizon))
        self._next_flush = 0
        self._schedule_availability(seed)

    # ------------------------------------------------------------------ storage and flushing

    def _put(self, local: int, kind: str, eid: str, lead: str | None, fields: dict[str, Any]) -> None:
        utc = local - self._fixed if self._fixed is not None else self._zone.utc(local)
        bucket = (utc - self._base_utc) // DAY
        slot = self._buckets.get(bucket)
        if slot is None:
            slot = self._buckets[bucket] = ([], [])
        slot[0].append(utc)
        slot[1].append((kind, eid, lead, fields))

    def _flush(self, below: int | None) -> Iterator[dict[str, Any]]:
        """Yield every stored bucket before `below` (all when None), each sorted by instant."""
        last = max(self._buckets, default=-1) + 1 if below is None else below
        zone = self._zone
        fixed = self._fixed
        hms = _hms_table()
        fixed_text = "" if fixed is None else zone.offset_text(fixed)
        while self._next_flush < last:
            slot = self._buckets.pop(self._next_flush, None)
            self._next_flush += 1
            if slot is None:
                continue
            keys, items = slot
            # Stable: events at the same second keep the order they were generated in, which
            # within one lead is the order they happened in.
            order = np.argsort(np.array(keys, dtype=np.int64), kind="stable").tolist()
            day_text = zone.day_text
            for i in order:
                kind, eid, lead, fields = items[i]
                if fixed is None:
                    at = zone.text(keys[i])
                else:
                    local = keys[i] + fixed
                    d = local // DAY
                    at = day_text(d) + hms[local - d * DAY] + fixed_text
                if lead is None:
                    yield {"id": eid, "type": kind, "at": at, **fields}
                else:
                    yield {"id": eid, "type": kind, "at": at, "lead": lead, **fields}

    def run(self) -> Iterator[dict[str, Any]]:
        r = self._rng
        hours = self._hours
        day_weights = [
            1.0 if hours.day(self._start_day + i) else _CLOSED_DAY_WEIGHT for i in range(self._days)
        ]
        total_weight = sum(day_weights) or 1.0
        expected_total = self._leads_per_day * self._days
        for i in range(self._days):
            day = self._start_day + i
            if day * DAY >= self._until:
                break
            self._queue = {k: v for k, v in self._queue.items() if k[1] >= day * DAY}
            lam = expected_total * day_weights[i] / total_weight
            count = max(0, round(lam + r.gauss(0.0, math.sqrt(lam)))) if lam > 0 else 0
            arrivals = self._arrivals(day, count)
            # The leads of a day allocate hundreds of thousands of small acyclic objects that
            # stay alive until flushed; the cyclic collector would rescan them over and over
            # (a quarter of the run time) and can find nothing. It is off only here, never
            # while the caller runs between yields.
            collecting = gc.isenabled()
            gc.disable()
            try:
                for local in arrivals:
                    self._lead(local)
            finally:
                if collecting:
                    gc.enable()
            # Leads of later days cannot produce events before their own creation, so every
            # bucket that ends by the next local midnight is final.
            next_midnight = self._zone.utc((day + 1) * DAY)
            yield from self._flush((next_midnight - self._base_utc) // DAY)
        yield from self._flush(None)

    # ------------------------------------------------------------------ arrivals and routing

    def _arrivals(self, day: int, count: int) -> list[int]:
        r = self._rng
        base = day * DAY
        relative = tuple((s - base, e - base) for s, e in self._hours.day(day))
        shape = self._shapes.get(relative)
        if shape is None:
            shape = self._shapes[relative] = _ArrivalShape(relative)
        after_hours = _WEEKDAY_AFTER_HOURS if shape.open_total > 0 else 1.0
        if shape.closed_total <= 0:
            after_hours = 0.0
        times = [base + shape.sample(r, r.random() >= after_hours) for _ in range(count)]
        times.sort()
        return times

    def _route_sdr(self, t: int, avoid: str | None = None) -> str:
        # A contractor covers a queue now and then; they are not on the roster (unknown rep).
        if self._rng.random() < 0.006:
            return UNKNOWN_REP
        day = t // DAY
        rep = self._sdrs[self._sdr_next]
        # Round robin that skips reps off that day without resetting the order (F8).
        for _ in range(len(self._sdrs)):
            rep = self._sdrs[self._sdr_next]
            self._sdr_next = (self._sdr_next + 1) % len(self._sdrs)
            if (rep, day) not in self._off and rep != avoid:
                return rep
        return rep

    def _route_ae(self, t: int, avoid: str | None = None) -> str:
        day = t // DAY
        rep = self._aes[self._ae_next]
        for _ in range(len(self._aes)):
            rep = self._aes[self._ae_next]
            self._ae_next = (self._ae_next + 1) % len(self._aes)
            if (rep, day) not in self._off and rep != avoid:
                return rep
        return rep

    def _available(self, rep: str, t: int) -> int:
        """`t`, or when the rep is off that day or away then, the moment they are back."""
        for _ in range(30):
            day = t // DAY
            if (rep, day) in self._off:
                t = self._hours.add(self._hours.nth_day(day + 1, 1) * DAY, 300 + self._rng.random() * 1500)
                continue
            window = self._away.get((rep, day))
            if window is not None and window[0] <= t < window[1]:
                t = window[1] + 60 + int(self._rng.random() * 540)
                continue
            return t
        return t

    def _schedule_availability(self, seed: int) -> None:
        """A handful of days off and meetings away, drawn apart so leads do not shift them."""
        r = random.Random(seed * 7919 + 17)
        hours = self._hours
        people = self._sdrs + self._aes
        n = 0
        for i in range(self._days):
            day = self._start_day + i
            ivals = hours.day(day)
            if not ivals:
                continue
            opening, closing = ivals[0][0], ivals[-1][1]
            for rep in people:
                x = r.random()
                if x < 0.012:
                    self._off.add((rep, day))
                    back = hours.day(hours.nth_day(day + 1, 1))[0][0]
                    events = ((opening - 300, "offline"), (back - 300, "online"))
                elif x < 0.03:
                    s = opening + HOUR + int(r.random() * max(1, closing - opening - 4 * HOUR))
                    e = min(closing, s + HOUR + int(r.random() * 2 * HOUR))
                    self._away[(rep, day)] = (s, e)
                    events = ((s, "away"), (e, "online"))
                else:
                    continue
                for t, status in events:
                    if t < self._until:
                        n += 1
                        self._put(t, "rep.availability", f"avail-{n}", None, {"rep": rep, "status": status})

    # ------------------------------------------------------------------ lead attributes

    def _make_companies(self) -> list[tuple[str, str, str, int]]:
        r = random.Random(20261001)  # fixed: the same firms appear whatever the seed
        out = []
        for stem, stem_ro in _COMPANY_STEMS:
            for kind, kind_ro, industry in _COMPANY_KINDS:
                x = r.random()
                employees = int(10 + r.random() * 90) if x < 0.4 else (
                    int(100 + r.random() * 900) if x < 0.82 else int(1000 + r.random() * 15000))
                out.append((f"株式会社{stem}{kind}", f"{stem_ro}-{kind_ro}.co.jp", industry, employees))
        return out

    def _person(self) -> dict[str, Any]:
        r = self._rng
        name, domain, industry, employees = self._companies[int(r.random() * len(self._companies))]
        surname, sur_ro = _SURNAMES[int(r.random() * len(_SURNAMES))]
        given, given_ro = _GIVEN[int(r.random() * len(_GIVEN))]
        title = _TITLE(r)
        x = r.random()
        if x < 0.015:  # 003's negative attributes: academic address, competitor, free mail
            return {"name": surname + given, "company": "東都大学", "email": f"{given_ro}.{sur_ro}@toto-u.ac.jp",
                    "industry": "Education", "employees": 0, "title": "学生", "country": "JP"}
        if x < 0.02:
            name, domain, industry = "株式会社リードタイム", "leadtime-sla.co.jp", "SaaS"
        elif x < 0.10:
            domain = _FREE_MAIL[int(r.random() * len(_FREE_MAIL))]
        return {"name": surname + given, "company": name, "email": f"{given_ro}.{sur_ro}@{domain}",
                "industry": industry, "employees": employees, "title": title, "country": "JP"}

    # ------------------------------------------------------------------ one lead

    def _lead(self, created: int) -> None:
        """One lead's story, in the order it happens."""
        r = self._rng
        rand = r.random
        hours = self._hours
        self._count += 1
        lead = f"L-{10000 + self._count}"
        cap = min(created + LEAD_HORIZON_DAYS * DAY, self._until)
        n = 0
        buckets = self._buckets
        base = self._base_utc
        fixed = self._fixed
        put = self._put

        def emit(t: int, kind: str, fields: dict[str, Any]) -> None:
            # The hot path of the whole generator: the common case is inlined from _put.
            nonlocal n
            n += 1
            if t < cap:
                if fixed is None:
                    put(t, kind, f"{lead}-{n}", lead, fields)
                    return
                utc = t - fixed
                slot = buckets.get((utc - base) // DAY)
                if slot is None:
                    slot = buckets[(utc - base) // DAY] = ([], [])
                slot[0].append(utc)
                slot[1].append((kind, f"{lead}-{n}", lead, fields))

        plan = self._plans[self._source_names[min(bisect_right(self._source_cum, rand()), len(self._source_names) - 1)]]
        attrs = self._person()
        negative = attrs["industry"] == "Education" or attrs["company"] == "株式会社リードタイム"
        created_fields: dict[str, Any] = {"source": plan.source, **attrs}
        if attrs["employees"] >= 1000 and rand() < 0.1:
            # F16's manual escalation for high-value deals (> $100k) needs some large estimates.
            created_fields["value"] = int(round(15_000_000 + rand() * 45_000_000, -5))
        emit(created, "lead.created", created_fields)

        # Marketing touches keep arriving whatever sales does (downloads, webinars, pricing).
        if rand() < 0.45:
            for _ in range(1 if rand() < 0.75 else 2):
                emit(created + 600 + int(r.expovariate(1 / (4 * DAY))), "engagement", {"action": _ENGAGE(r)})
        if rand() < 0.01:
            emit(created + DAY + int(rand() * 9 * DAY), "lead.updated", {"title": _TITLE(r)})

        # --- assignment (F8, F9): automatic within seconds; after hours at the next opening.
        open_now = hours.is_open(created)
        if open_now:
            x = rand()
            if x < 0.94:
                t_assign, by = created + 2 + int(rand() * 23), "round_robin"
            elif x < 0.98:
                t_assign, by = created + 30 + int(rand() * 120), "round_robin"
            else:  # the rule did not match; someone routed it by hand
                t_assign, by = hours.add(created, 300 + rand() * 2100), "manual"
            opening = t_assign
        else:
            opening = hours.add(created, 0)
            # The overnight queue is flushed at the opening (F9), in arrival order.
            t_assign, by = opening + 1 + int(rand() * 25), "round_robin"
        rep = self._route_sdr(t_assign)
        emit(t_assign, "lead.assigned", {"rep": rep, "by": by})

        # --- first contact: per-rep habits; after-hours leads wait in the morning backlog.
        habits = self._sdr_habits.get(rep, _DEFAULT_SDR)
        target = plan.contact
        if open_now:
            if rand() < habits.on_time:
                delay = target * (0.08 + 0.85 * rand())
            else:
                delay = target * (1.0 + r.lognormvariate(-0.3, habits.late_sigma))
        else:
            key = (rep, opening)
            place = self._queue.get(key, 0)
            self._queue[key] = place + 1
            delay = 60 + rand() * 180 + place * habits.queue_minutes * MINUTE * (0.6 + 0.8 * rand())
            if rand() > habits.on_time:
                delay += target * r.lognormvariate(0.0, habits.late_sigma)
        t1 = self._available(rep, hours.add(t_assign, delay))
        if plan.tier_rank == 0 and delay > 15 * MINUTE and rand() < 0.5:
            # F17: a hot lead untouched 15 minutes after assignment goes to the next rep.
            t_re = hours.add(t_assign, 15 * MINUTE + rand() * 10 * MINUTE)
            if t_re < t1:
                rep = self._route_sdr(t_re, avoid=rep)
                emit(t_re, "lead.assigned", {"rep": rep, "by": "reassignment"})
                habits = self._sdr_habits.get(rep, _DEFAULT_SDR)
                delay = 15 * MINUTE + 60 + rand() * 5 * MINUTE
                t1 = self._available(rep, hours.add(t_re, 60 + rand() * 5 * MINUTE))
        speed = 0.9 ** (delay / HOUR)  # 000: each hour of delay costs 10% of conversion

        # --- the cadence (F11): touches until reached, exhausted, or the rep gives up.
        touches = self._touches(plan, t1)
        quit_after = 1 + int(rand() * max(1, plan.min_attempts - 1)) if rand() < habits.quit_early else None
        rank = plan.tier_rank
        attempts = calls = 0
        reached = wrong = pending_reply = None
        last = t1
        for t_touch, channels in touches:
            if (pending_reply is not None and pending_reply <= t_touch) or (
                quit_after is not None and attempts >= quit_after
            ):
                break
            t = t_touch
            for channel in channels:
                if channel == "call":
                    p = _CONNECT[rank] * 0.8**calls
                    calls += 1
                    x = rand()
                    if attempts == 0 and x < 0.015:
                        outcome = "wrong_number"
                    elif x < p:
                        outcome = "connected"
                    elif x < p + (1 - p) * 0.45:
                        outcome = "voicemail"
                    else:
                        outcome = "no_answer"
                    fields: dict[str, Any] = {"rep": rep, "channel": "call", "outcome": outcome}
                    if outcome == "connected":
                        fields["next_step"] = _NEXT_STEPS[int(rand() * len(_NEXT_STEPS))]
                    emit(t, "activity", fields)
                    attempts += 1
                    last = t
                    if outcome == "connected":
                        reached = t
                        break
                    if outcome == "wrong_number":
                        wrong = t
                        break
                    if rank == 0 and outcome == "no_answer" and rand() < 0.2:
                        # 001: call first, SMS where possible.
                        t += 60 + int(rand() * 120)
                        emit(t, "activity", {"rep": rep, "channel": "sms", "outcome": "sent"})
                        attempts += 1
                        last = t
                else:
                    emit(t, "activity", {"rep": rep, "channel": channel, "outcome": "sent"})
                    attempts += 1
                    last = t
                    if channel == "email" and pending_reply is None and rand() < _REPLY[rank]:
                        # Replies come when the lead reads mail, business hours or not.
                        pending_reply = t + 600 + int(r.expovariate(1 / (5 * HOUR)))
                t += 60 + int(rand() * 240)
            if reached is not None or wrong is not None:
                break
        if reached is None and wrong is None and pending_reply is not None:
            emit(pending_reply, "activity", {"rep": rep, "channel": "email", "outcome": "replied"})
            reached = hours.add(pending_reply, 10 * MINUTE + rand() * 3 * HOUR)
            emit(reached, "activity", {"rep": rep, "channel": "call", "outcome": "connected",
                                       "next_step": _NEXT_STEPS[int(rand() * len(_NEXT_STEPS))]})

        if wrong is not None:
            emit(hours.add(wrong, 300 + rand() * HOUR), "lead.status",
                 {"status": "disqualified", "reason": "wrong_contact", "rep": rep})
            return
        if reached is None:
            gave_up = quit_after is not None and attempts >= quit_after
            if not gave_up and plan.on_exhausted == "manager":
                # 001: six attempts in 48 h without a connection -> the manager tries next.
                t_m = hours.add(last, 30 * MINUTE + rand() * self._business_day / 2)
                connected = rand() < 0.3
                emit(t_m, "activity", {"rep": self._sdr_manager, "channel": "call",
                                       "outcome": "connected" if connected else "no_answer"})
                last = t_m
                if connected:
                    reached = t_m
            if reached is None:
                x = rand()
                t_d = hours.add(last, self._business_day * (0.5 + 1.5 * rand()))
                if gave_up and x < 0.5:
                    return  # left hanging: no decision ever recorded
                if x < 0.6 or gave_up:
                    status = "recycled" if plan.on_exhausted == "recycle" else "nurture"
                    emit(t_d, "lead.status", self._nurture(t_d, rep, status, "no_response"))
                elif x < 0.85:
                    emit(t_d, "lead.status", {"status": "unreachable", "reason": "no_response", "rep": rep})
                return

        # --- qualification decision (001: qualified / disqualified with a reason / nurture).
        # The qualification clock counts from the first attempt (001), so that is where the
        # rep's habit is measured from; the decision still follows the conversation.
        if rand() < habits.decides_on_time:
            t_dec = hours.add(t1, 5 * MINUTE + rand() * 0.85 * plan.qualify)
        else:
            t_dec = hours.add(t1, plan.qualify * (1 + r.lognormvariate(-0.7, 0.8)))
        t_dec = max(t_dec, hours.add(reached, 5 * MINUTE))
        p_qualify = _QUALIFY[rank] * (0.75 + 0.35 * speed) * habits.skill
        x = rand()
        if negative:
            reason = "student" if attrs["industry"] == "Education" else "competitor"
            emit(t_dec, "lead.status", {"status": "disqualified", "reason": reason, "rep": rep})
            return
        if x >= p_qualify:
            if x < p_qualify + (1 - p_qualify) * 0.64:
                emit(t_dec, "lead.status", {"status": "disqualified", "reason": _DISQUALIFY_REASON(r), "rep": rep})
            else:
                emit(t_dec, "lead.status", self._nurture(t_dec, rep, "nurture", _NURTURE_REASON(r)))
            return
        emit(t_dec, "lead.status", {"status": "qualified", "rep": rep})
        self._handoff(plan, emit, rep, habits, t_dec, speed)

    def _touches(self, plan: _Plan, t1: int) -> Iterator[tuple[int, tuple[str, ...]]]:
        """When the rep makes each touch of the cadence, running a little behind it.

        Lazy: most leads answer within the first touches, so later ones are rarely computed.
        """
        r = self._rng
        hours = self._hours
        first_day = t1 // DAY
        yield t1, plan.steps[0][2]
        prev = t1
        count = len(plan.steps[0][2])
        for after, day, channels in plan.steps[1:]:
            if after is not None:
                t = hours.add(prev, after * (1 + 0.4 * r.random()) + 60 + r.random() * 300)
            elif day is not None:
                t = self._moment_in(hours.nth_day(first_day, day))
                if t <= prev + 600:
                    t = hours.add(prev, 30 * MINUTE + r.random() * HOUR)
            else:
                t = hours.add(prev, 5 * MINUTE + r.random() * 20 * MINUTE)
            yield t, channels
            count += len(channels)
            prev = t
        touch = len(plan.steps)
        while count < plan.min_attempts:
            # A written cadence shorter than the minimum: one more touch each business day.
            t = self._moment_in(hours.nth_day(prev // DAY + 1, 1))
            yield t, (("call",) if touch % 2 else ("email",))
            touch += 1
            count += 1
            prev = t

    def _moment_in(self, day: int) -> int:
        s, e = self._hours.day(day)[0]
        margin = min(30 * MINUTE, (e - s) // 4)
        return s + margin + int(self._rng.random() * max(1, e - s - 2 * margin))

    def _nurture(self, t: int, rep: str, status: str, reason: str) -> dict[str, Any]:
        months = 3 if self._rng.random() < 0.6 else 6
        revisit = date.fromordinal(_EPOCH_ORDINAL + t // DAY) + timedelta(days=30 * months)
        return {"status": status, "reason": reason, "revisit": revisit.isoformat(), "rep": rep}

    def _bant(self) -> dict[str, str]:
        r = self._rng
        return {k: v[int(r.random() * len(v))] for k, v in _BANT.items()}

    def _handoff(self, plan: _Plan, emit: _Emit, sdr: str, habits: _SdrHabits, t_q: int, speed: float) -> None:
        """SDR -> AE (000): required fields, acceptance or rejection, then the opportunity."""
        r = self._rng
        rand = r.random
        hours = self._hours
        if rand() < habits.hands_off_on_time:
            t_h = hours.add(t_q, 5 * MINUTE + plan.handoff * 0.5 * rand())
        else:
            t_h = hours.add(t_q, plan.handoff * (1 + r.lognormvariate(-0.5, 0.8)))
        ae = self._route_ae(t_h)
        bant = self._bant()
        if self._required and rand() < 0.10:
            # 000: "no handoff without them" - the engine refuses; the SDR completes it later.
            missing = self._missing(r)
            emit(t_h, "handoff.requested", {"from": sdr, "to": ae,
                                            "fields": {k: v for k, v in bant.items() if k != missing}})
            if rand() < 0.08:
                return  # never completed: the qualified lead sits (not_handed_off escalation)
            t_h = hours.add(t_h, 20 * MINUTE + rand() * 5 * HOUR)
        emit(t_h, "handoff.requested", {"from": sdr, "to": ae, "fields": bant})

        for round_ in range(2):
            ae_habits = self._ae_habits.get(ae, _DEFAULT_AE)
            t_resp = hours.add(t_h, ae_habits.accept_hours * HOUR * r.lognormvariate(0.0, 0.8))
            t_resp = self._available(ae, t_resp)
            if rand() >= ae_habits.rejects:
                break
            reason = self._reject_reason(r)
            emit(t_resp, "handoff.rejected", {"rep": ae, "reason": reason})
            x = rand()
            t_back = hours.add(t_resp, self._business_day * (0.2 + rand()))
            if round_ == 0 and x < 0.45:
                # The lead goes back; the SDR fills the gap and it goes to another AE.
                ae = self._route_ae(t_back, avoid=ae)
                t_h = t_back
                bant = {**bant, "next_step": _BANT["next_step"][int(rand() * len(_BANT["next_step"]))]}
                emit(t_h, "handoff.requested", {"from": sdr, "to": ae, "fields": bant})
                continue
            if x < 0.8:
                emit(t_back, "lead.status", self._nurture(t_back, sdr, "nurture", reason))
            else:
                why = {"wrong_icp": "not_icp", "no_interest": "no_need"}.get(reason, "no_need")
                emit(t_back, "lead.status", {"status": "disqualified", "reason": why, "rep": sdr})
            return
        emit(t_resp, "handoff.accepted", {"rep": ae})

        # --- the AE works it: first call, discovery meeting, maybe an opportunity and a deal.
        t = hours.add(t_resp, 5 * MINUTE + rand() * 90 * MINUTE)
        emit(t, "activity", {"rep": ae, "channel": "call", "outcome": "connected",
                             "next_step": "ディスカバリーミーティング"})
        gap = self._business_day * (0.5 + 3 * rand())
        if gap > 1.8 * self._business_day and rand() < 0.8:
            # F12: a qualified lead is touched every 24-48 h until the meeting; most AEs confirm.
            emit(hours.add(t, gap / 2), "activity", {"rep": ae, "channel": "email", "outcome": "sent",
                                                     "next_step": "ミーティング確認"})
        t = hours.add(t, gap)
        if rand() < 0.12:
            emit(t, "activity", {"rep": ae, "channel": "meeting", "outcome": "no_show"})
            t = hours.add(t, self._business_day * (1 + 2 * rand()))
        emit(t, "activity", {"rep": ae, "channel": "meeting", "outcome": "held",
                             "next_step": _AE_NEXT_STEPS[int(rand() * len(_AE_NEXT_STEPS))]})
        skill = habits.skill * ae_habits.skill
        if rand() >= 0.62 * (0.6 + 0.4 * speed) * skill:
            if rand() < 0.5:
                emit(hours.add(t, HOUR + rand() * self._business_day), "lead.status",
                     self._nurture(t, ae, "nurture", "not_ready"))
            return
        t = hours.add(t, 30 * MINUTE + rand() * self._business_day)
        # 001's deal sizes sit around ¥0.95-1.24M and are larger after fast responses.
        amount = r.lognormvariate(math.log(1_000_000), 0.5) * (0.9 + 0.15 * speed)
        amount = int(round(min(5_000_000, max(500_000, amount)), -4))
        emit(t, "opportunity.created", {"amount": amount, "rep": ae})
        close = hours.add(t, self._business_day * (6 + 14 * rand()))
        follow = t
        while True:  # F12: in-progress deals get a touch every few days
            follow = hours.add(follow, self._business_day * (2 + 3 * rand()))
            if follow >= close:
                break
            if rand() < 0.5:
                emit(follow, "activity", {"rep": ae, "channel": "email", "outcome": "sent"})
            else:
                emit(follow, "activity", {"rep": ae, "channel": "call", "outcome": "connected",
                                          "next_step": _DEAL_NEXT_STEPS[int(rand() * len(_DEAL_NEXT_STEPS))]})
        won = rand() < 0.42 * (0.55 + 0.45 * speed) * skill
        final = int(round(amount * (0.85 + 0.2 * rand()), -4)) if won else amount
        emit(close, "deal.closed", {"won": won, "amount": final, "rep": ae})


# ---------------------------------------------------------------------------------------------
# Public API


def generate(
    *,
    seed: int = 7,
    start: date = date(2026, 10, 1),
    days: int = 30,
    leads_per_day: float = 40,
    policy_name: str = "b2b-saas",
    timezone: str = "Asia/Tokyo",
    policy: Policy | None = None,
    until: date | None = None,
    roster: Sequence[Rep] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield a demo CRM history as event dicts of the contract, in non-decreasing `at` order.

    Leads arrive on `days` local days from `start` (about `leads_per_day` a day on average;
    weekdays carry more than weekends), in `timezone`, under the policy `policy_name` (a preset)
    or `policy`. Events are cut at local midnight of `until` (default: the day after the last
    day), as an export taken at that moment would be: the last leads are still in flight. Pass a
    later `until` to let them run out (a lead's history ends 30 days after its creation).

    The same arguments always give the same events; streaming keeps memory to the events still
    ahead of the lead being created.

    `roster` (default: `demo_roster()`, 000's 4 SDRs and 6 AEs) are the people leads are routed
    to; reps not in the named team take its habits in turn.
    """
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    if not leads_per_day >= 0 or math.isinf(leads_per_day):
        raise ValueError(f"leads_per_day must be a finite number >= 0, got {leads_per_day}")
    resolved = policy if policy is not None else load_preset(policy_name)
    sim = _Simulation(
        seed=seed, start=start, days=days, leads_per_day=float(leads_per_day), policy=resolved,
        timezone=timezone, until=until if until is not None else start + timedelta(days=days),
        roster=tuple(roster) if roster is not None else _ROSTER,
    )
    return sim.run()


def _line_encoder() -> Callable[[dict[str, Any]], str]:
    """Compact JSON with non-ASCII kept, as json.dumps(ensure_ascii=False, separators=(",", ":"))."""
    make = getattr(json.encoder, "c_make_encoder", None)
    basestring = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or basestring is None:
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def default(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    # One C encoder for all lines: json.dumps builds a new one per call, which costs as much as
    # the encoding itself. No circular-reference markers: events are plain trees.
    encoder = make(None, default, basestring, None, ":", ",", False, False, True)

    def encode(event: dict[str, Any]) -> str:
        return "".join(encoder(event, 0))

    return encode


def write_jsonl(events: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write events as compact JSON lines (UTF-8, Japanese kept readable); return the count."""
    encode = _line_encoder()
    count = 0
    batch: list[str] = []
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for event in events:
            batch.append(encode(event))
            if len(batch) >= 4096:
                count += len(batch)
                batch.append("")
                out.write("\n".join(batch))
                batch = []
        if batch:
            count += len(batch)
            batch.append("")
            out.write("\n".join(batch))
    return count
