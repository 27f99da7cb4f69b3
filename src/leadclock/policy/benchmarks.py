"""Industry benchmarks and the target ladder (F4), from seed 001.

The benchmark figures live in benchmarks.json (data, with the seed section they come from), not
in code. `advise` turns a team's measured baseline into the next SLA target the way 001
「組織の容量評価」 says: never jump from the baseline straight to the industry best ("すぐに5分の
SLAを設定しない。失敗する"); set the first rung of the ladder below the baseline, hold it for a
month, then tighten rung by rung, and never aim tighter than the segment's best.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from numbers import Real
from typing import Literal

from leadclock.policy.durations import Duration
from leadclock.policy.i18n import Lang, format_duration, format_minutes
from leadclock.policy.models import Model, Text

__all__ = ["Advice", "Benchmark", "advise", "load_benchmarks"]


class BestAverage(Model):
    best: Duration
    average: Duration

    def minutes(self, which: Literal["best", "average"]) -> float | None:
        """Clock minutes; None for "same day", which has no fixed length."""
        seconds = getattr(self, which).seconds(86400.0)
        return None if seconds is None else seconds / 60


class CycleBenchmark(Model):
    label: Text
    duration: Duration
    or_longer: bool = False  # the seed's "90日以上"


class Benchmark(Model):
    key: str
    label: Text
    first_response: BestAverage
    qualification: BestAverage
    demo_to_close: tuple[CycleBenchmark, ...] = ()
    notes: tuple[Text, ...] = ()
    source: Text

    @property
    def first_response_best_minutes(self) -> float:
        minutes = self.first_response.minutes("best")
        if minutes is None:  # the ladder needs a number; the shipped data always has one
            raise ValueError(f"benchmark {self.key}: first-response best has no length in minutes")
        return minutes

    @property
    def first_response_average_minutes(self) -> float:
        minutes = self.first_response.minutes("average")
        if minutes is None:
            raise ValueError(f"benchmark {self.key}: first-response average has no length")
        return minutes

    def summary(self, lang: Lang) -> list[str]:
        """Readable lines, e.g. "初回レスポンス: 最高5分、平均42分"."""
        words = _WORDS[lang]
        lines = [
            words["first_response"].format(
                best=format_duration(self.first_response.best, lang),
                average=format_duration(self.first_response.average, lang)),
            words["qualification"].format(
                best=format_duration(self.qualification.best, lang),
                average=format_duration(self.qualification.average, lang)),
        ]
        if self.demo_to_close:
            cycles = []
            for cycle in self.demo_to_close:
                length = format_duration(cycle.duration, lang)
                if cycle.or_longer:
                    length = words["or_longer"].format(length=length)
                cycles.append(words["cycle"].format(length=length, label=cycle.label.get(lang)))
            lines.append(words["demo_to_close"].format(cycles=words["sep"].join(cycles)))
        lines += [note.get(lang) for note in self.notes]
        return lines


class _Ladder(Model):
    hold: Text  # how long each rung is held before tightening ("1ヶ月間")
    source: Text


class _Data(Model):
    source: Text
    ladder: _Ladder
    segments: dict[str, dict[str, object]]


@cache
def _data() -> tuple[_Data, dict[str, Benchmark]]:
    raw = json.loads(
        resources.files("leadclock.policy").joinpath("benchmarks.json").read_text(encoding="utf-8")
    )
    data = _Data.model_validate(raw)
    segments = {
        key: Benchmark.model_validate({"key": key, **fields})
        for key, fields in data.segments.items()
    }
    return data, segments


def load_benchmarks() -> dict[str, Benchmark]:
    """The 001 benchmarks by segment key: b2b_saas, b2c_ec, enterprise."""
    return dict(_data()[1])  # a fresh dict: callers may not change the shared one


# --------------------------------------------------------------------------- the ladder

AdviceStatus = Literal["tighten", "at_best", "ladder_end"]


@dataclass(frozen=True)
class Advice:
    segment: str
    baseline_minutes: float
    status: AdviceStatus  # tighten: set next_target; at_best / ladder_end: hold the current level
    next_target_minutes: float | None
    remaining_rungs: tuple[float, ...]  # the rungs after next_target, tightest last
    best_minutes: float
    average_minutes: float
    message: Text  # .ja / .en, or .get(lang)

    @property
    def plan(self) -> tuple[float, ...]:
        """Every rung still to climb: the next target, then the remaining ones."""
        if self.next_target_minutes is None:
            return ()
        return (self.next_target_minutes, *self.remaining_rungs)


def _positive_minutes(name: str, value: object) -> float:
    # bool is an int in Python; True minutes is a mistake, not one minute.
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number of minutes, got {value!r}")
    number = float(value)
    if math.isnan(number) or math.isinf(number) or number <= 0:
        raise ValueError(f"{name} must be a positive, finite number of minutes, got {value!r}")
    return number


def _rungs(ladder: Sequence[float]) -> tuple[float, ...]:
    if isinstance(ladder, str | bytes) or not isinstance(ladder, Sequence) or not ladder:
        raise ValueError(f"ladder must be a non-empty sequence of minutes, got {ladder!r}")
    values = {_positive_minutes("ladder", rung) for rung in ladder}
    return tuple(sorted(values, reverse=True))  # loosest first, whatever order it was given in


def advise(
    baseline_minutes: float, segment: str = "b2b_saas", ladder: Sequence[float] = (30, 15, 5)
) -> Advice:
    """The next first-contact target for a team whose measured average is `baseline_minutes`.

    The plan is the ladder's rungs strictly below the baseline (a target the team already meets
    changes nothing) and no tighter than the segment's best. 001's example: a 2-hour baseline
    gives 30 min, then 15, then 5.
    """
    baseline = _positive_minutes("baseline_minutes", baseline_minutes)
    benchmarks = load_benchmarks()
    if segment not in benchmarks:
        raise ValueError(
            f"segment {segment!r} is not a benchmark segment; known: {', '.join(benchmarks)}"
        )
    rungs = _rungs(ladder)
    bench = benchmarks[segment]
    best, average = bench.first_response_best_minutes, bench.first_response_average_minutes
    plan = [rung for rung in rungs if best <= rung < baseline]

    if baseline <= best:
        status: AdviceStatus = "at_best"
        next_target, remaining = None, ()
    elif plan:
        status = "tighten"
        next_target, remaining = plan[0], tuple(plan[1:])
    else:
        status = "ladder_end"
        next_target, remaining = None, ()

    messages = {}
    hold = _data()[0].ladder.hold
    for lang in ("ja", "en"):
        words = _WORDS[lang]
        values = {
            "baseline": format_minutes(baseline, lang),
            "best": format_minutes(best, lang),
            "average": format_minutes(average, lang),
            "segment": bench.label.get(lang),
            "hold": hold.get(lang),
            "last": format_minutes(rungs[-1], lang),
        }
        if status == "tighten":
            assert next_target is not None
            values["next"] = format_minutes(next_target, lang)
            values["rest"] = words["arrow"].join(format_minutes(r, lang) for r in remaining)
            key = "tighten" if remaining else "tighten_last"
        else:
            key = status
        messages[lang] = words[key].format(**values)
    return Advice(
        segment=segment, baseline_minutes=baseline, status=status,
        next_target_minutes=next_target, remaining_rungs=remaining, best_minutes=best,
        average_minutes=average, message=Text(**messages),
    )


# Fixed words only: every figure is filled in from the data or the arguments.
_WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "tighten": (
            "現在の初回コンタクトまでの平均は{baseline}です。いきなり業界最高の{best}を目標にせず、"
            "まず{next}のSLAを設定して{hold}一貫して達成し、その後{rest}へ段階的に締めてください"
            "（{segment}: 最高{best}、平均{average}）。"
        ),
        "tighten_last": (
            "現在の初回コンタクトまでの平均は{baseline}です。次は{next}のSLAを設定し、{hold}"
            "一貫して達成してください。これがラダーの最終段です（{segment}: 最高{best}、平均{average}）。"
        ),
        "at_best": (
            "現在の初回コンタクトまでの平均{baseline}は、既に{segment}の業界最高{best}を満たしています。"
            "目標をこれ以上締めず、現在の水準を維持してください。"
        ),
        "ladder_end": (
            "現在の初回コンタクトまでの平均{baseline}はラダーの最終段{last}を既に下回っていますが、"
            "{segment}の業界最高{best}には届いていません。現在の水準を維持し、さらに締める場合は"
            "ラダーに段を追加してください。"
        ),
        "arrow": "→",
        "first_response": "初回レスポンス: 最高{best}、平均{average}",
        "qualification": "評価時間: 最高{best}、平均{average}",
        "demo_to_close": "デモからクローズまで: {cycles}",
        "cycle": "{length}（{label}）",
        "or_longer": "{length}以上",
        "sep": "、",
    },
    "en": {
        "tighten": (
            "Your current average time to first contact is {baseline}. Do not jump straight to "
            "the industry best of {best}: set a {next} SLA, meet it consistently {hold}, then "
            "tighten to {rest} step by step ({segment}: best {best}, average {average})."
        ),
        "tighten_last": (
            "Your current average time to first contact is {baseline}. Set a {next} SLA next and "
            "meet it consistently {hold}; this is the last rung of the ladder ({segment}: best "
            "{best}, average {average})."
        ),
        "at_best": (
            "Your current average time to first contact, {baseline}, already meets the {segment} "
            "best of {best}: hold this level rather than tightening further."
        ),
        "ladder_end": (
            "Your current average time to first contact, {baseline}, is already below the "
            "ladder's last rung ({last}) but not yet at the {segment} best of {best}: hold this "
            "level, or add a rung to the ladder to tighten further."
        ),
        "arrow": " → ",
        "first_response": "First response: best {best}, average {average}",
        "qualification": "Qualification: best {best}, average {average}",
        "demo_to_close": "Demo to close: {cycles}",
        "cycle": "{length} ({label})",
        "or_longer": "{length} or more",
        "sep": ", ",
    },
}
