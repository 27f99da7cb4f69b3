"""F22 trends: is SLA compliance getting better or worse, and where does it drop? (001 「トレンド分析」)

`leadclock report trends [--from --to]` (default: the 90 local days ending today).

Every figure is the share of leads within SLA (no breached clock; see `reports/cohort.py`),
grouped by the *local* time the lead arrived (the policy's time zone):

* rolling 30 days: for each day of the range, the leads of that day and the 29 before it;
* monthly: calendar months (the first and last may be partial, cut by the range);
* by weekday of arrival ("does Friday drop? is Monday worse, the weekend's backlog?");
* by hour of arrival (local hour of lead creation, 0-23) and weekday x hour (the heat map);
* by rep tenure: whole weeks between the rep's first assignment in the store (the deadline of
  their first clock, UTC day) and the day the rep's first clock on the lead started, bucketed 0-4, 5-12, 13-26 and
  27+ weeks (0-4 = the first five weeks). Counted per (lead, rep) pair whose first clock started
  in the range, with only the rep's own clocks (as a rep's compliance is everywhere else).

Speed: nothing is read row by row. Leads are counted by the database per 15-minute bucket of
arrival (exact local hours for every real time zone), pairs per rep and day, first assignments
per rep; the three reads run at once on PostgreSQL (`cohort.concurrently`).

A weekday is called out when it has at least `MIN_LEADS` leads and its compliance is at least
`DROP_POINTS` points below the other six days together. Morning (arrivals before 12:00) and
afternoon (12:00-18:00) are compared in a note (001: "are morning leads handled better?"). Chart series are in `report.data`
(`rolling`, `heatmap`, `targets`) for the dashboard and `reports/charts.py`.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from leadclock.reports.cohort import (
    concurrently,
    first_assignments,
    lead_buckets,
    local,
    pair_days,
    pct,
)
from leadclock.reports.output import Column, Report, Table
from leadclock.reports.params import ReportRequest, range_period

DEFAULT_DAYS = 90
WINDOW_DAYS = 30
MIN_LEADS = 20
DROP_POINTS = 5.0
TENURE_BUCKETS = ((0, 4, "0-4"), (5, 12, "5-12"), (13, 26, "13-26"), (27, None, "27+"))
TARGETS = (90.0, 95.0)

_WEEKDAYS = {
    "ja": ("月", "火", "水", "木", "金", "土", "日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_WORDS = {
    "ja": {
        "title": "SLAコンプライアンスの傾向", "rolling": "30日ローリング", "monthly": "月次",
        "weekday": "曜日別（リード到着）", "hour": "時間帯別（リード到着、現地時刻）", "tenure": "担当者の在籍期間別",
        "date": "日付", "leads": "リード", "day": "当日", "rolling30": "30日ローリング", "month": "月",
        "within": "SLA内", "compliance": "コンプライアンス", "vs": "他の曜日との差", "hour_col": "時", "weekday_col": "曜日",
        "bucket": "在籍（週）", "reps": "担当者", "pairs": "リード（担当者×リード）",
        "range": "期間: {label}（{tz}）",
        "empty": "この期間にリードはありません（{label}）。",
        "drop": "{day}曜日に到着したリードのコンプライアンスは{value}%で、他の曜日（{others}%）より{points}ポイント低い（{n}件）。",
        "no_drop": "{day}曜日: {value}%（他の曜日 {others}%、{n}件）— 目立った低下はありません。",
        "halves": "午前に到着したリード（12時前）: {am}%（{n_am}件）、午後（12〜18時）: {pm}%（{n_pm}件）。",
        "tenure_note": "在籍0-4週の担当者: {new}%（{n_new}件）、27週以上: {old}%（{n_old}件）。",
        "trend": "30日ローリング: 期間の初め {first}% → 終わり {last}%（{delta:+.1f}ポイント）。",
    },
    "en": {
        "title": "SLA compliance trends", "rolling": "Rolling 30 days", "monthly": "Monthly",
        "weekday": "By weekday of arrival", "hour": "By hour of arrival (local time)", "tenure": "By rep tenure",
        "date": "Date", "leads": "Leads", "day": "Day", "rolling30": "Rolling 30 days", "month": "Month",
        "within": "Within SLA", "compliance": "Compliance", "vs": "vs the other days", "hour_col": "Hour", "weekday_col": "Weekday",
        "bucket": "Tenure (weeks)", "reps": "Reps", "pairs": "Leads (rep x lead)",
        "range": "Range: {label} ({tz})",
        "empty": "No leads arrived in this range ({label}).",
        "drop": "Leads arriving on {day} are {value}% compliant, {points} points below the other days ({others}%; {n} leads).",
        "no_drop": "{day}: {value}% (the other days {others}%, {n} leads): no marked drop.",
        "halves": "Morning arrivals (before 12:00): {am}% of {n_am}; afternoon (12:00-18:00): {pm}% of {n_pm}.",
        "tenure_note": "Reps in weeks 0-4: {new}% ({n_new} leads); 27+ weeks: {old}% ({n_old} leads).",
        "trend": "Rolling 30 days: {first}% at the start of the range, {last}% at the end ({delta:+.1f} points).",
    },
}


def tenure_bucket(weeks: int) -> str:
    """The tenure bucket label for a whole number of weeks since the rep's first assignment."""
    for low, high, label in TENURE_BUCKETS:
        if weeks >= low and (high is None or weeks <= high):
            return label
    return TENURE_BUCKETS[0][2]  # a lead before the rep's first clock (another rep's lead): new


def _rate_frame(grouped: pl.DataFrame) -> pl.DataFrame:
    return grouped.with_columns(
        compliance=pl.when(pl.col("leads") > 0).then((100.0 * pl.col("within") / pl.col("leads")).round(1))
    )


def _counts() -> tuple[pl.Expr, pl.Expr]:
    return pl.col("n").sum().alias("leads"), pl.col("n").filter(pl.col("within")).sum().alias("within")


def _group(cohort: pl.DataFrame, key: str) -> pl.DataFrame:
    counted = cohort.group_by(key).agg(*_counts())
    return _rate_frame(counted).sort(key)


def build(request: ReportRequest) -> Report:
    words = _WORDS[request.lang]
    period = range_period(request, DEFAULT_DAYS)
    zone = request.zone
    report = Report("trends", words["title"], request.lang,
                    params={"from": period.start, "to": period.end, "label": period.label,
                            "team": request.team, "rep": request.rep, "source": request.source})
    report.lines.append(words["range"].format(label=period.label, tz=zone.key))
    # The rolling window of the first day reaches 29 days before the range.
    cohort, pairs, firsts = concurrently(
        request.store,
        lambda: lead_buckets(request, period.start - timedelta(days=WINDOW_DAYS - 1), period.end),
        lambda: pair_days(request, period.start, period.end),
        lambda: first_assignments(request.store, period.end),
    )
    cohort = cohort.with_columns(local=local("created_at", request)).with_columns(
        day=pl.col("local").dt.date(), weekday=pl.col("local").dt.weekday() - 1,
        hour=pl.col("local").dt.hour(), in_range=pl.col("created_at") >= period.start,
    )
    in_range = cohort.filter(pl.col("in_range"))
    report.data["targets"] = list(TARGETS)
    if in_range.is_empty():
        report.notes.append(words["empty"].format(label=period.label))
    _rolling(report, request, cohort, period.start.astimezone(zone).date(),
             (period.end - timedelta(microseconds=1)).astimezone(zone).date(), words)
    _monthly(report, in_range, words)
    _weekday_hour(report, request, in_range, words)
    _tenure(report, pairs, firsts, words)
    return report


def _rolling(report: Report, request: ReportRequest, cohort: pl.DataFrame, first: date, last: date,
             words: dict[str, str]) -> None:
    days = pl.DataFrame({"day": pl.date_range(first - timedelta(days=WINDOW_DAYS - 1), last, "1d", eager=True)})
    daily = days.join(cohort.group_by("day").agg(*_counts()), on="day", how="left")
    daily = daily.with_columns(pl.col("leads").fill_null(0), pl.col("within").fill_null(0)).sort("day")
    daily = daily.with_columns(
        window_leads=pl.col("leads").rolling_sum(WINDOW_DAYS, min_samples=1),
        window_within=pl.col("within").rolling_sum(WINDOW_DAYS, min_samples=1),
    ).filter(pl.col("day") >= first)
    rows = [
        {"date": row["day"], "leads": row["leads"], "compliance": pct(row["within"], row["leads"]),
         "window_leads": row["window_leads"], "rolling": pct(row["window_within"], row["window_leads"])}
        for row in daily.iter_rows(named=True)
    ]
    report.tables.append(Table("rolling", words["rolling"], [
        Column("date", words["date"], "date"), Column("leads", words["leads"], "int"),
        Column("compliance", words["day"], "percent"), Column("window_leads", f"{words['leads']} (30d)", "int"),
        Column("rolling", words["rolling30"], "percent"),
    ], rows))
    report.data["rolling"] = [{"date": r["date"].isoformat(), "compliance": r["rolling"], "day": r["compliance"],
                               "leads": r["leads"]} for r in rows]
    measured = [r["rolling"] for r in rows if r["rolling"] is not None]
    if len(measured) >= 2:
        report.notes.append(words["trend"].format(first=measured[0], last=measured[-1],
                                                  delta=measured[-1] - measured[0]))


def _monthly(report: Report, cohort: pl.DataFrame, words: dict[str, str]) -> None:
    grouped = _group(cohort.with_columns(month=pl.col("local").dt.strftime("%Y-%m")), "month")
    report.tables.append(Table("monthly", words["monthly"], [
        Column("month", words["month"]), Column("leads", words["leads"], "int"),
        Column("within", words["within"], "int"), Column("compliance", words["compliance"], "percent"),
    ], grouped.select("month", "leads", "within", "compliance").to_dicts()))


def _weekday_hour(report: Report, request: ReportRequest, cohort: pl.DataFrame, words: dict[str, str]) -> None:
    names = _WEEKDAYS[request.lang]
    grouped = {row["weekday"]: row for row in _group(cohort, "weekday").iter_rows(named=True)}
    total_leads = int(cohort["n"].sum() or 0)
    total_within = int(cohort.filter(pl.col("within"))["n"].sum() or 0)
    rows = []
    for index, name in enumerate(names):
        row = grouped.get(index, {"leads": 0, "within": 0, "compliance": None})
        others = pct(total_within - row["within"], total_leads - row["leads"])
        rows.append({"weekday": name, "leads": row["leads"], "compliance": row["compliance"],
                     "vs_others": None if row["compliance"] is None or others is None
                     else round(row["compliance"] - others, 1), "others": others})
    report.tables.append(Table("weekday", words["weekday"], [
        Column("weekday", words["weekday_col"]),
        Column("leads", words["leads"], "int"), Column("compliance", words["compliance"], "percent"),
        Column("vs_others", words["vs"], "delta"),
    ], rows))
    for index in (4, 0):  # Friday first (001 asks about Friday, then Monday)
        row = rows[index]
        if row["leads"] < MIN_LEADS or row["vs_others"] is None:
            continue
        key = "drop" if row["vs_others"] <= -DROP_POINTS else "no_drop"
        report.notes.append(words[key].format(day=names[index],
                                              value=row["compliance"], others=row["others"],
                                              points=round(-row["vs_others"], 1), n=row["leads"]))
    by_hour = {row["hour"]: row for row in _group(cohort, "hour").iter_rows(named=True)}
    halves = [[by_hour[h] for h in hours if h in by_hour] for hours in (range(12), range(12, 18))]
    counts = [(sum(r["leads"] for r in rows_), sum(r["within"] for r in rows_)) for rows_ in halves]
    if all(n for n, _ in counts):
        report.notes.append(words["halves"].format(am=pct(counts[0][1], counts[0][0]), n_am=counts[0][0],
                                                   pm=pct(counts[1][1], counts[1][0]), n_pm=counts[1][0]))
    report.tables.append(Table("hour", words["hour"], [
        Column("hour", words["hour_col"]), Column("leads", words["leads"], "int"),
        Column("compliance", words["compliance"], "percent"),
    ], [{"hour": f"{h:02d}:00", "leads": by_hour.get(h, {}).get("leads", 0),
         "compliance": by_hour.get(h, {}).get("compliance")} for h in range(24)]))
    cells = _group(cohort.with_columns(cell=pl.col("weekday") * 24 + pl.col("hour")), "cell")
    found = {row["cell"]: row for row in cells.iter_rows(named=True)}
    report.data["heatmap"] = {
        "weekdays": list(names), "hours": list(range(24)),
        "compliance": [[found.get(d * 24 + h, {}).get("compliance") for h in range(24)] for d in range(7)],
        "leads": [[found.get(d * 24 + h, {}).get("leads", 0) for h in range(24)] for d in range(7)],
    }


def _tenure(report: Report, pairs: pl.DataFrame, firsts: pl.DataFrame, words: dict[str, str]) -> None:
    first_day = firsts.select("owner", first_day=(pl.col("first_at").dt.epoch("s") // 86400))
    joined = pairs.join(first_day, on="owner", how="left").with_columns(
        weeks=((pl.col("day") - pl.col("first_day")) // 7).fill_null(0).clip(lower_bound=0))
    bucket_of = pl.lit(TENURE_BUCKETS[-1][2])
    for _low, high, label in reversed(TENURE_BUCKETS[:-1]):
        bucket_of = pl.when(pl.col("weeks") <= high).then(pl.lit(label)).otherwise(bucket_of)
    joined = joined.with_columns(bucket=bucket_of)
    grouped = joined.group_by("bucket").agg(reps=pl.col("owner").n_unique(), leads=pl.col("n").sum(),
                                            breached=pl.col("n").filter(pl.col("breached") > 0).sum())
    found = {row["bucket"]: row for row in grouped.iter_rows(named=True)}
    rows = []
    for _low, _high, label in TENURE_BUCKETS:
        row = found.get(label)
        leads = row["leads"] if row else 0
        rows.append({"bucket": label, "reps": row["reps"] if row else 0, "leads": leads,
                     "compliance": pct(leads - row["breached"], leads) if row else None})
    report.tables.append(Table("tenure", words["tenure"], [
        Column("bucket", words["bucket"]), Column("reps", words["reps"], "int"),
        Column("leads", words["pairs"], "int"), Column("compliance", words["compliance"], "percent"),
    ], rows))
    new, old = rows[0], rows[-1]
    if new["compliance"] is not None and old["compliance"] is not None:
        report.notes.append(words["tenure_note"].format(new=new["compliance"], n_new=new["leads"],
                                                        old=old["compliance"], n_old=old["leads"]))
