"""F4: the 001 industry benchmarks and the 30 → 15 → 5 minute target ladder."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadclock.policy.benchmarks import _WORDS, advise, load_benchmarks

SEGMENTS = ("b2b_saas", "b2c_ec", "enterprise")


# --------------------------------------------------------------------------- the data


def test_segments() -> None:
    assert sorted(load_benchmarks()) == sorted(SEGMENTS)


def minutes(duration: object) -> float:
    return duration.seconds(86400.0) / 60  # type: ignore[attr-defined]


def test_b2b_saas_matches_the_seed() -> None:
    b = load_benchmarks()["b2b_saas"]
    assert b.first_response_best_minutes == 5
    assert b.first_response_average_minutes == 42
    assert minutes(b.qualification.best) == 24 * 60
    assert minutes(b.qualification.average) == 5 * 24 * 60
    cycles = [(c.label.en, minutes(c.duration) / (24 * 60), c.or_longer) for c in b.demo_to_close]
    assert cycles == [("velocity", 14, False), ("mid-market", 30, False), ("enterprise", 90, True)]
    assert [c.label.ja for c in b.demo_to_close] == ["ベロシティ", "ミッドマーケット", "エンタープライズ"]


def test_b2c_ec_matches_the_seed() -> None:
    b = load_benchmarks()["b2c_ec"]
    assert (b.first_response_best_minutes, b.first_response_average_minutes) == (2, 24)
    assert b.qualification.best.kind == "same_day"  # 当日
    assert minutes(b.qualification.average) == 48 * 60


def test_enterprise_matches_the_seed() -> None:
    b = load_benchmarks()["enterprise"]
    assert (b.first_response_best_minutes, b.first_response_average_minutes) == (15, 180)
    assert minutes(b.qualification.best) == 72 * 60
    assert minutes(b.qualification.average) == 14 * 24 * 60
    assert b.notes and "長いサイクル" in b.notes[0].ja


@pytest.mark.parametrize("segment", SEGMENTS)
def test_labels_and_source_in_both_languages(segment: str) -> None:
    b = load_benchmarks()[segment]
    assert b.key == segment
    assert b.label.ja and b.label.en
    assert "001" in b.source.ja and "業界ベンチマーク分析" in b.source.ja
    assert "001" in b.source.en and "benchmark" in b.source.en.lower()


def test_summary_reads_like_the_seed() -> None:
    ja = load_benchmarks()["b2b_saas"].summary("ja")
    assert ja[0] == "初回レスポンス: 最高5分、平均42分"
    assert ja[1] == "評価時間: 最高24時間、平均5日"
    assert "90日以上（エンタープライズ）" in ja[2]
    en = load_benchmarks()["b2c_ec"].summary("en")
    assert en == ["First response: best 2 min, average 24 min",
                  "Qualification: best same business day, average 48 h"]


def test_callers_cannot_change_the_shared_data() -> None:
    load_benchmarks().pop("b2b_saas")
    assert "b2b_saas" in load_benchmarks()


# --------------------------------------------------------------------------- the ladder


def test_worked_example_from_the_seed() -> None:
    """001: an average of 2 hours → not 5 min at once: 30 min for a month, then 15, then 5."""
    advice = advise(120)
    assert advice.status == "tighten"
    assert advice.next_target_minutes == 30
    assert advice.remaining_rungs == (15, 5)
    assert advice.plan == (30, 15, 5)
    assert (advice.best_minutes, advice.average_minutes) == (5, 42)
    assert advice.message.ja.startswith("現在の初回コンタクトまでの平均は2時間です。")
    assert "まず30分のSLAを設定して1ヶ月間一貫して達成し、その後15分→5分へ" in advice.message.ja
    assert "最高5分、平均42分" in advice.message.ja
    assert "set a 30 min SLA, meet it consistently for a month, then tighten to 15 min → 5 min" in (
        advice.message.en
    )
    assert advice.message.get("en") == advice.message.en


@pytest.mark.parametrize(
    ("baseline", "status", "next_target", "remaining"),
    [
        (31, "tighten", 30, (15, 5)),
        (30, "tighten", 15, (5,)),  # a rung the team already meets is no step: go below it
        (29.5, "tighten", 15, (5,)),
        (15, "tighten", 5, ()),
        (10, "tighten", 5, ()),
        (5.01, "tighten", 5, ()),
        (5, "at_best", None, ()),  # meets the best: hold
        (3, "at_best", None, ()),
    ],
)
def test_ladder_boundaries(
    baseline: float, status: str, next_target: float | None, remaining: tuple[float, ...]
) -> None:
    advice = advise(baseline)
    assert (advice.status, advice.next_target_minutes, advice.remaining_rungs) == (
        status, next_target, remaining,
    )


def test_last_rung_and_hold_messages() -> None:
    last = advise(10)
    assert "これがラダーの最終段です" in last.message.ja and "last rung" in last.message.en
    hold = advise(3)
    assert "維持" in hold.message.ja and "3分" in hold.message.ja and "5分" in hold.message.ja
    assert "hold" in hold.message.en


def test_enterprise_ladder_stops_at_its_best() -> None:
    assert advise(120, "enterprise").plan == (30, 15)
    assert advise(20, "enterprise").plan == (15,)
    assert advise(15, "enterprise").status == "at_best"
    assert advise(10, "enterprise").status == "at_best"
    assert "15分" in advise(120, "enterprise").message.ja


def test_ladder_already_climbed_but_best_not_reached() -> None:
    # B2C best is 2 min and the default ladder ends at 5: below 5 there is no rung left
    advice = advise(4, "b2c_ec")
    assert (advice.status, advice.next_target_minutes, advice.plan) == ("ladder_end", None, ())
    assert "最終段5分" in advice.message.ja and "2分" in advice.message.ja
    assert advise(4, "b2c_ec", ladder=(30, 15, 5, 2)).plan == (2,)


def test_custom_ladder_in_any_order() -> None:
    assert advise(300, ladder=(5, 60, 15, 60)).plan == (60, 15, 5)
    assert advise(300, ladder=(1, 3)).plan == ()  # both tighter than the best of 5
    assert advise(90.5).message.en.startswith("Your current average time to first contact is 90.5 min")


@given(
    baseline=st.floats(min_value=0.01, max_value=1e6, allow_nan=False),
    segment=st.sampled_from(SEGMENTS),
    ladder=st.lists(st.floats(min_value=0.5, max_value=1e4, allow_nan=False), min_size=1,
                    max_size=6),
)
def test_plan_is_between_baseline_and_best(
    baseline: float, segment: str, ladder: list[float]
) -> None:
    advice = advise(baseline, segment, ladder)
    plan = advice.plan
    assert all(advice.best_minutes <= rung < baseline for rung in plan)
    assert list(plan) == sorted(set(plan), reverse=True)
    assert (advice.status == "tighten") == bool(plan)
    if baseline <= advice.best_minutes:
        assert advice.status == "at_best"
    assert advice.message.ja and advice.message.en


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("baseline", [-1, 0, 0.0, math.nan, math.inf, -math.inf, "30", None, True])
def test_bad_baseline(baseline: object) -> None:
    with pytest.raises(ValueError, match="baseline_minutes"):
        advise(baseline)  # type: ignore[arg-type]


def test_unknown_segment() -> None:
    with pytest.raises(ValueError, match=r"segment 'saas'.*b2b_saas"):
        advise(60, "saas")


@pytest.mark.parametrize("ladder", [(), "30", (30, -5), (30, math.nan), (0,), None, (30, "15")])
def test_bad_ladder(ladder: object) -> None:
    with pytest.raises(ValueError, match="ladder"):
        advise(60, ladder=ladder)  # type: ignore[arg-type]


def test_messages_hold_no_numbers() -> None:
    """Every figure in the advice comes from the data or the arguments."""
    for lang, words in _WORDS.items():
        for key, text in words.items():
            assert not re.search(r"\d", text), f"{key} ({lang}): {text!r}"
