"""Efficiency figures (R-36..R-39) in SQL over the read model, its clocks and the events.

`compute_stats` is the one place the figures are computed: `GET /v1/stats` returns it as JSON
and `GET /dashboard` draws it. Every figure is defined next to its field below (and in
docs/figures.md); in short, each figure counts what happened in the period, dated by its own
instant: a case is *registered* when received, *accepted* when accepted, *concluded* when the
decision is made; a clock counts when it was met or fell due; a callback when it was answered.

Working days in SQL come from the `workdays` table, which `ensure_workdays` fills from
`domain.workdays` (official holidays and 调休 working weekends, R-41..R-43) for every year the
figures touch, and refills when the holiday data of a year changes.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import asyncpg
from pydantic import BaseModel, Field

from domain import workdays
from domain.models import CATEGORY_LABELS, STATUS_LABELS, Category, Status

log = logging.getLogger("complaints.stats")

BEIJING = workdays.BEIJING

#: Clocks whose timeliness is an on-time figure (R-36): the stages and the overall limit.
STAGES: tuple[str, ...] = ("acceptance", "opinion", "handling", "supervision", "overall")

STAGE_LABELS: dict[str, str] = {
    "acceptance": "受理决定 acceptance",
    "opinion": "拟办意见 opinion",
    "handling": "办理 handling",
    "supervision": "督办答复 supervision",
    "overall": "总办结期限 overall limit",
}

CHANNEL_LABELS: dict[str, str] = {
    "hotline": "热线电话", "web": "网站平台", "window": "窗口现场", "letter": "信函",
    "email": "电子邮件", "inspection": "督查发现", "other": "其他",
}

#: The key of cases without a handling unit (self-handled, or not yet referred).
OFFICE_KEY = ""
OFFICE_LABEL = "投诉中心自办 complaint office"

#: The longest period one request may cover.
MAX_PERIOD_DAYS = 3660

#: Key of the advisory lock serialising calendar fills ("workdays" in ASCII).
WORKDAYS_LOCK_KEY = 0x776F726B64617973


class GroupBy(StrEnum):
    """How `GET /v1/stats` splits the figures (R-39)."""

    NONE = "none"
    UNIT = "unit"
    CATEGORY = "category"
    CHANNEL = "channel"
    MONTH = "month"


# ------------------------------------------------------------------ response models


class Ratio(BaseModel):
    """A share: `count` of `total`; `rate` = count / total rounded to 4 places (None if 0)."""

    total: int = Field(description="The denominator.", examples=[40])
    count: int = Field(description="The numerator.", examples=[37])
    rate: float | None = Field(description="count / total, 0..1, 4 decimals; null when total is 0.",
                               examples=[0.925])


class OnTime(BaseModel):
    """按时办结率 (R-36)."""

    stages: dict[str, Ratio] = Field(
        description="Per clock kind (acceptance, opinion, handling, supervision, overall): "
        "`total` = clocks of that kind that were met, or were missed (marked overdue, or still "
        "open past their due instant), whose settling instant lies in the period — the closing "
        "instant when met on time, else the due instant; cancelled clocks that never fell due "
        "do not count. `count` = those met (closed as met) at or before their due instant, "
        "after approved extensions. `overall` is the case-level rate: decisions within the "
        "30-day limit (R-17, R-19). Grouped by unit, a clock belongs to the case's handling "
        "unit while it ran (the complaint office when there was none).",
    )
    all: Ratio = Field(description="All five kinds together (sum of the stages).")


class Resolution(BaseModel):
    """问题解决率 (R-37)."""

    substantiated: int = Field(
        description="Concluded cases (decision in the period) whose finding is substantiated or "
        "partially substantiated: the denominator.", examples=[20])
    resolved: int = Field(
        description="Of those, cases whose reported result carries at least one measure other "
        "than `none` (the measures the handling unit reports as taken, R-24): the numerator.",
        examples=[18])
    unresolved: int = Field(
        description="substantiated - resolved: substantiated cases reported with measure "
        "`none`; the case file holds the reason (R-37 reason analysis).", examples=[2])
    unsubstantiated: int = Field(description="Concluded cases found unsubstantiated (context).",
                                 examples=[5])
    rate: float | None = Field(description="resolved / substantiated.", examples=[0.9])


class Satisfaction(BaseModel):
    """满意率 (R-38)."""

    answered: int = Field(
        description="Callbacks answered in the period: `record-satisfaction` events (each "
        "callback is answered at most once; no answer within the window is `no_response` and "
        "is not counted).", examples=[30])
    satisfied: int = Field(description="满意.", examples=[20])
    basically_satisfied: int = Field(description="基本满意.", examples=[7])
    dissatisfied: int = Field(description="不满意.", examples=[3])
    rate: float | None = Field(description="(satisfied + basically_satisfied) / answered.",
                               examples=[0.9])


class HandlingTime(BaseModel):
    """Handling time in working days (R-39)."""

    cases: int = Field(description="Concluded cases measured (decision in the period).",
                       examples=[25])
    average: float | None = Field(
        description="Mean of the working days from receipt to decision, counted as R-41 counts a "
        "limit: working days after the day of receipt up to and including the day of the "
        "decision (Beijing dates; holidays and 调休 working weekends as published). 2 decimals.",
        examples=[4.2])
    p90: int | None = Field(
        description="90th percentile (nearest rank, PostgreSQL percentile_disc): the smallest "
        "value that at least 90% of the cases do not exceed.", examples=[8])


class RespondentReplies(BaseModel):
    """The respondent's replies to requests for documents (R-21, R-22)."""

    answered: int = Field(description="Replies received in the period (investigation steps "
                          "`explanation_received`).", examples=[12])
    late: int = Field(description="Of those, answered after the reply deadline.", examples=[3])
    late_rate: float | None = Field(description="late / answered.", examples=[0.25])
    overdue: int = Field(description="Reply deadlines that passed unanswered in the period "
                         "(`overdue` events of the `document_reply` clock).", examples=[2])


class Figures(BaseModel):
    """The figures of one group (or of the whole scope)."""

    registered: int = Field(description="Cases received in the period (R-03 time of the "
                            "complaint).", examples=[60])
    accepted: int = Field(description="Cases accepted in the period (any route).", examples=[50])
    concluded: int = Field(description="办结: cases whose decision (report-result, R-23) was "
                           "made in the period; a case handled again counts its last decision.",
                           examples=[45])
    on_time: OnTime
    resolution: Resolution
    satisfaction: Satisfaction
    handling_days: HandlingTime
    overdue_cases: int = Field(
        description="Cases with at least one stage clock that fell overdue in the period "
        "(`overdue` events, R-30; the respondent's reply clock is counted under "
        "respondent_replies).", examples=[4])
    overdue_deadlines: int = Field(description="Stage clocks that fell overdue in the period.",
                                   examples=[5])
    extended_cases: int = Field(description="Cases with an extension approved in the period "
                                "(R-18).", examples=[3])
    extension_days: int = Field(description="Days granted by those approvals.", examples=[25])
    respondent_replies: RespondentReplies


class StatsGroup(BaseModel):
    key: str = Field(description="unit code ('' = complaint office), category, channel or "
                     "YYYY-MM (Beijing).", examples=["tax-bureau"])
    label: str = Field(description="For people.", examples=["市税务局"])
    figures: Figures


class OpenCases(BaseModel):
    """在办案件: the open cases now (not bound to the period)."""

    total: int = Field(description="Open (not archived) cases.", examples=[120])
    by_level: dict[str, int] = Field(
        description="red: overdue (marked, or past its nearest due instant); yellow: the "
        "nearest due instant within one working day (by the end of the next working day); "
        "green: the rest.",
        examples=[{"red": 3, "yellow": 5, "green": 112}])
    by_status: dict[str, dict[str, int]] = Field(
        description="status -> level -> count.",
        examples=[{"referred": {"red": 2, "yellow": 1, "green": 30}}])


class StatsOut(BaseModel):
    """R-36..R-39 figures for a period, in total and per group."""

    period_from: date = Field(description="First day (Beijing), inclusive.")
    period_to: date = Field(description="Last day (Beijing), inclusive.")
    group_by: GroupBy
    unit: str | None = Field(description="Only this handling unit (a unit user always sees "
                             "only its own).")
    total: Figures
    groups: list[StatsGroup] = Field(
        description="One entry per key with any figure; months: every month of the period; "
        "units: also every active unit of the register.")
    open: OpenCases
    generated_at: datetime


# ------------------------------------------------------------------ the working-day calendar


def year_days(year: int) -> list[tuple[date, bool]]:
    """Every day of `year` and whether it is a working day (domain.workdays, R-41)."""
    d, out = date(year, 1, 1), []
    while d.year == year:
        out.append((d, workdays.is_working_day(d)))
        d += timedelta(days=1)
    return out


def year_digest(days: list[tuple[date, bool]]) -> str:
    off = ",".join(d.isoformat() for d, working in days if not working)
    return hashlib.sha256(off.encode()).hexdigest()


SELECT_WORKDAY_YEARS = "SELECT year, digest FROM workday_years"
TAKE_WORKDAYS_LOCK = "SELECT pg_advisory_xact_lock($1)"
UPSERT_WORKDAY = """
INSERT INTO workdays (day, working, ordinal) SELECT d, w, 0 FROM unnest($1::date[], $2::bool[]) AS x(d, w)
ON CONFLICT (day) DO UPDATE SET working = EXCLUDED.working
"""
UPSERT_WORKDAY_YEAR = """
INSERT INTO workday_years (year, official, digest) VALUES ($1, $2, $3)
ON CONFLICT (year) DO UPDATE SET official = EXCLUDED.official, digest = EXCLUDED.digest,
                                 filled_at = now()
"""
RENUMBER_WORKDAYS = """
UPDATE workdays w SET ordinal = x.n
FROM (SELECT day, (sum(working::int) OVER (ORDER BY day))::int AS n FROM workdays) x
WHERE w.day = x.day AND w.ordinal <> x.n
"""
MIN_RECEIVED_YEAR = """
SELECT extract(year FROM min(received_at) AT TIME ZONE 'Asia/Shanghai')::int
FROM case_figures WHERE center = $1
"""


_digests: dict[int, tuple[list[tuple[date, bool]], str]] = {}
_digests_stamp: tuple[tuple[str, float], ...] | None = None


def _holiday_files_stamp() -> tuple[tuple[str, float], ...]:
    folder = workdays.holidays_dir()
    try:
        return tuple(sorted((p.name, p.stat().st_mtime) for p in folder.glob("*.toml")))
    except OSError:
        return ()


def _year(year: int) -> tuple[list[tuple[date, bool]], str]:
    """The days of `year` and their digest, cached until a holiday file changes."""
    global _digests_stamp
    stamp = _holiday_files_stamp()
    if stamp != _digests_stamp:
        if _digests_stamp is not None:
            workdays.reload_calendar()  # a running process picks up new holiday files
        _digests.clear()
        _digests_stamp = stamp
    if year not in _digests:
        days = year_days(year)
        _digests[year] = (days, year_digest(days))
    return _digests[year]


async def ensure_workdays(conn: Any, first_year: int, last_year: int) -> None:
    """Make `workdays` hold every day of `first_year`..`last_year` as domain.workdays sees them.

    Years are (re)filled when missing or when their days off changed (an operator added a
    year's holiday data, R-43), and the ordinals renumbered. When nothing changed this costs one
    small query (the stored digests) and no writes.

    Args:
        conn: a connection or pool.
        first_year: first year needed.
        last_year: last year needed (inclusive).
    """
    stored = {r["year"]: r["digest"] for r in await conn.fetch(SELECT_WORKDAY_YEARS)}
    # The table stays contiguous, so that the ordinals count across years.
    lo, hi = min([first_year, *stored]), max([last_year, *stored])
    stale = [y for y in range(lo, hi + 1) if stored.get(y) != _year(y)[1]]
    if stale:
        await _fill(conn, stale)


async def _fill(conn: Any, years: list[int]) -> None:
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as c:
            await _fill(c, years)
            return
    async with conn.transaction():
        # Concurrent fillers write the same rows: one at a time, and idempotent.
        await conn.execute(TAKE_WORKDAYS_LOCK, WORKDAYS_LOCK_KEY)
        for y in years:
            days, digest = _year(y)
            await conn.execute(UPSERT_WORKDAY, [d for d, _ in days], [w for _, w in days])
            await conn.execute(UPSERT_WORKDAY_YEAR, y, workdays.has_official_data(y), digest)
        await conn.execute(RENUMBER_WORKDAYS)
    log.info("working-day calendar filled for %s", ", ".join(map(str, years)))


# ------------------------------------------------------------------ the queries

#: Parameters of every figure query: $1 center, $2 period start, $3 period end (exclusive),
#: $4 handling unit ('' = the complaint office) or NULL (all), $5 grouping (GroupBy value).
#: They read the narrow projections `case_figures` (f: one row per started case) and
#: `case_deadlines` (d: one row per clock), which triggers keep in step with `complaints`.
#: Counts are grouped by key only and summed into the totals here (a plain GROUP BY runs in
#: parallel, GROUPING SETS does not); the handling time comes as a histogram, from which
#: the average and the percentile are exact. Only the distinct-case counts need GROUPING SETS.


def _key(month: str, unit: str, row: str = "f") -> str:
    """The group key of a row whose own Beijing month is `month` and whose unit is `unit`."""
    return f"""CASE $5::text
        WHEN 'unit' THEN coalesce({unit}, '')
        WHEN 'category' THEN {row}.category
        WHEN 'channel' THEN {row}.channel
        WHEN 'month' THEN {month}
        ELSE '' END"""


def _unit_filter(unit: str) -> str:
    return f"($4::text IS NULL OR coalesce({unit}, '') = $4)"


def _count_cases(what: str) -> str:
    return f"""
SELECT {_key(f'f.{what}_month', 'f.handling_unit')} AS k, count(*) AS n
FROM case_figures f
WHERE f.center = $1 AND f.{what}_at >= $2 AND f.{what}_at < $3
  AND {_unit_filter('f.handling_unit')}
GROUP BY 1
"""


#: Cases received / accepted in the period (R-39).
COUNT_REGISTERED = _count_cases("received")
COUNT_ACCEPTED = _count_cases("accepted")

#: Concluded cases, resolution (R-37) and the handling time in working days (R-39, R-41) as
#: a histogram: one row per key and number of working days.
CONCLUDED = f"""
SELECT {_key('f.decided_month', 'f.handling_unit')} AS k,
       w_to.ordinal - w_from.ordinal AS wd,
       count(*) AS concluded,
       count(*) FILTER (WHERE f.finding IN ('substantiated', 'partially_substantiated'))
           AS substantiated,
       count(*) FILTER (WHERE f.finding IN ('substantiated', 'partially_substantiated')
                        AND f.with_measures) AS resolved,
       count(*) FILTER (WHERE f.finding = 'unsubstantiated') AS unsubstantiated
FROM case_figures f
LEFT JOIN workdays w_from ON w_from.day = f.received_day
LEFT JOIN workdays w_to ON w_to.day = f.decided_day
WHERE f.center = $1 AND f.decided_at >= $2 AND f.decided_at < $3
  AND {_unit_filter('f.handling_unit')}
GROUP BY 1, 2
"""

#: On-time clocks per kind (R-36); $6 the kinds, $7 now. On time: met before the end of the
#: due day, 24:00 Beijing (`deadline_end`, migration 0007; domain.workdays.is_late).
ON_TIME = f"""
SELECT {_key('d.settled_month', 'd.unit', 'd')} AS k, d.kind,
       count(*) AS due,
       count(*) FILTER (WHERE d.state = 'met' AND d.closed_at < deadline_end(d.due_at))
           AS on_time
FROM case_deadlines d
WHERE d.center = $1 AND d.settled_at >= $2 AND d.settled_at < $3
  AND d.kind = ANY($6::text[])
  AND (d.state = 'met' OR d.overdue OR (d.state = 'open' AND deadline_end(d.due_at) <= $7))
  AND {_unit_filter('d.unit')}
GROUP BY 1, 2
"""

#: Answered callbacks (R-38), from the events.
SATISFACTION = f"""
SELECT k,
       count(*) FILTER (WHERE rating IN ('satisfied', 'basically_satisfied', 'dissatisfied'))
           AS answered,
       count(*) FILTER (WHERE rating = 'satisfied') AS satisfied,
       count(*) FILTER (WHERE rating = 'basically_satisfied') AS basically_satisfied,
       count(*) FILTER (WHERE rating = 'dissatisfied') AS dissatisfied
FROM (SELECT {_key('beijing_month(e.at)', 'f.handling_unit')} AS k,
             e.detail->>'rating' AS rating
      FROM case_events e JOIN case_figures f ON f.number = e.number
      WHERE e.action = 'record-satisfaction' AND e.at >= $2 AND e.at < $3
        AND f.center = $1 AND {_unit_filter('f.handling_unit')}) s
GROUP BY 1
"""

#: Overdue clocks, approved extensions and the respondents' replies, from the events.
EVENT_COUNTS = f"""
SELECT k, GROUPING(k) = 1 AS is_total,
       count(DISTINCT number) FILTER (WHERE stage_overdue) AS overdue_cases,
       count(*) FILTER (WHERE stage_overdue) AS overdue_deadlines,
       count(DISTINCT number) FILTER (WHERE extension) AS extended_cases,
       coalesce(sum(days) FILTER (WHERE extension), 0)::int AS extension_days,
       count(*) FILTER (WHERE reply) AS replies,
       count(*) FILTER (WHERE reply AND late) AS late_replies,
       count(*) FILTER (WHERE reply_overdue) AS replies_overdue
FROM (SELECT {_key('beijing_month(e.at)', 'f.handling_unit')} AS k, e.number,
             e.action = 'overdue' AND e.detail->>'deadline' <> 'document_reply' AS stage_overdue,
             e.action = 'overdue' AND e.detail->>'deadline' = 'document_reply' AS reply_overdue,
             e.action = 'decide-extension' AND e.detail->>'approved' = 'true' AS extension,
             CASE WHEN e.action = 'decide-extension' AND jsonb_typeof(e.detail->'days') = 'number'
                  THEN (e.detail->>'days')::numeric::int END AS days,
             e.action = 'record-investigation'
                 AND e.detail->>'kind' = 'explanation_received' AS reply,
             e.detail->>'answered_late' = 'true' AS late
      FROM case_events e JOIN case_figures f ON f.number = e.number
      WHERE e.action IN ('overdue', 'decide-extension', 'record-investigation')
        AND e.at >= $2 AND e.at < $3
        AND f.center = $1 AND {_unit_filter('f.handling_unit')}) s
GROUP BY GROUPING SETS ((k), ())
"""

#: Open cases now by status and warning level; $1 center, $2 unit or NULL, $3 "soon" (end of
#: the next working day), $4 now. Red: marked overdue or past the end of the nearest due
#: instant (`deadline_end`: 24:00 Beijing for a day deadline).
OPEN_CASES = """
SELECT status,
       CASE WHEN overdue OR deadline_end(next_due) <= $4 THEN 'red'
            WHEN next_due <= $3 THEN 'yellow'
            ELSE 'green' END AS level,
       count(*) AS n
FROM case_figures f
WHERE f.center = $1 AND f.status <> 'archived'
  AND ($2::text IS NULL OR coalesce(f.handling_unit, '') = $2)
GROUP BY 1, 2
"""

UNIT_NAMES = "SELECT code, name, active FROM unit_register WHERE center = $1"


# ------------------------------------------------------------------ computing

#: The figure queries are planned for their actual period and grouping every time: a generic
#: plan (which PostgreSQL picks for a prepared statement after five runs) cannot know that a
#: year-long period covers most rows and turns hash joins into nested loops, 5x slower.
CUSTOM_PLAN = "SET LOCAL plan_cache_mode = force_custom_plan"


async def fetch(pool: Any, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one figure query on a connection of its own, with a plan for these arguments."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute(CUSTOM_PLAN)
        rows: list[asyncpg.Record] = await conn.fetch(query, *args)
        return rows



@dataclass(frozen=True)
class Period:
    """Beijing dates `first`..`last` (inclusive) as instants `[start, end)`."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=BEIJING)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=BEIJING)

    def months(self) -> list[str]:
        out, y, m = [], self.first.year, self.first.month
        while (y, m) <= (self.last.year, self.last.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def default_period(today: date) -> Period:
    """This year up to today (Beijing)."""
    return Period(date(today.year, 1, 1), today)


def ratio(count: int, total: int) -> Ratio:
    return Ratio(total=total, count=count, rate=round(count / total, 4) if total else None)


class _Acc:
    """The raw numbers of one group, filled query by query."""

    def __init__(self) -> None:
        self.n: dict[str, int] = {}
        self.stages: dict[str, tuple[int, int]] = {}
        self.days: dict[int, int] = {}  # working days -> concluded cases

    def add(self, **counts: int) -> None:
        for name, value in counts.items():
            self.n[name] = self.n.get(name, 0) + value

    def add_stage(self, kind: str, due: int, on_time: int) -> None:
        d, o = self.stages.get(kind, (0, 0))
        self.stages[kind] = (d + due, o + on_time)

    def add_days(self, days: int, cases: int) -> None:
        self.days[days] = self.days.get(days, 0) + cases

    def handling_time(self) -> HandlingTime:
        cases = sum(self.days.values())
        if not cases:
            return HandlingTime(cases=0, average=None, p90=None)
        total = sum(d * n for d, n in self.days.items())
        rank, seen = (9 * cases + 9) // 10, 0  # nearest rank: ceil(0.9 × cases)
        p90 = None
        for d in sorted(self.days):
            seen += self.days[d]
            if seen >= rank:
                p90 = d
                break
        return HandlingTime(cases=cases, average=round(total / cases, 2), p90=p90)

    def figures(self) -> Figures:
        n = self.n.get
        stages = {}
        for kind in STAGES:
            due, on_time = self.stages.get(kind, (0, 0))
            stages[kind] = ratio(on_time, due)
        due = sum(r.total for r in stages.values())
        met = sum(r.count for r in stages.values())
        subst, resolved = n("substantiated", 0), n("resolved", 0)
        answered = n("answered", 0)
        happy = n("satisfied", 0) + n("basically_satisfied", 0)
        replies = n("replies", 0)
        return Figures(
            registered=n("registered", 0),
            accepted=n("accepted", 0),
            concluded=n("concluded", 0),
            on_time=OnTime(stages=stages, all=ratio(met, due)),
            resolution=Resolution(
                substantiated=subst, resolved=resolved, unresolved=subst - resolved,
                unsubstantiated=n("unsubstantiated", 0),
                rate=ratio(resolved, subst).rate,
            ),
            satisfaction=Satisfaction(
                answered=answered, satisfied=n("satisfied", 0),
                basically_satisfied=n("basically_satisfied", 0),
                dissatisfied=n("dissatisfied", 0), rate=ratio(happy, answered).rate,
            ),
            handling_days=self.handling_time(),
            overdue_cases=n("overdue_cases", 0),
            overdue_deadlines=n("overdue_deadlines", 0),
            extended_cases=n("extended_cases", 0),
            extension_days=n("extension_days", 0),
            respondent_replies=RespondentReplies(
                answered=replies, late=n("late_replies", 0),
                late_rate=ratio(n("late_replies", 0), replies).rate,
                overdue=n("replies_overdue", 0),
            ),
        )


def soon_instant(now: datetime) -> datetime:
    """The end of the next working day: a due instant up to here is "within one working day"."""
    return workdays.add_working_days(now, 1)


def _label(group_by: GroupBy, key: str, units: dict[str, str]) -> str:
    if group_by == GroupBy.UNIT:
        return OFFICE_LABEL if key == OFFICE_KEY else units.get(key, key)
    if group_by == GroupBy.CATEGORY:
        try:
            return CATEGORY_LABELS[Category(key)]
        except ValueError:
            return key
    if group_by == GroupBy.CHANNEL:
        return CHANNEL_LABELS.get(key, key)
    if group_by == GroupBy.MONTH:
        return f"{int(key[:4])}年{int(key[5:7])}月" if len(key) == 7 else key
    return key


async def open_cases(pool: Any, *, center: str, unit: str | None, now: datetime) -> OpenCases:
    """The open cases now, by status and warning level (red / yellow / green)."""
    rows = await fetch(pool, OPEN_CASES, center, unit, soon_instant(now), now)
    by_level = {"red": 0, "yellow": 0, "green": 0}
    by_status: dict[str, dict[str, int]] = {}
    for r in rows:
        by_level[r["level"]] += r["n"]
        by_status.setdefault(r["status"], {"red": 0, "yellow": 0, "green": 0})[r["level"]] = r["n"]
    order = [s.value for s in Status]
    by_status = dict(sorted(by_status.items(), key=lambda kv: order.index(kv[0])
                            if kv[0] in order else len(order)))
    return OpenCases(total=sum(by_level.values()), by_level=by_level, by_status=by_status)


async def compute_stats(
    pool: asyncpg.Pool,
    *,
    center: str,
    period: Period,
    group_by: GroupBy = GroupBy.NONE,
    unit: str | None = None,
    now: datetime | None = None,
) -> StatsOut:
    """Every figure of `period` for `center` (optionally one handling unit), grouped.

    Args:
        pool: the asyncpg pool; the queries run side by side on separate connections.
        center: the caller's center (R-46).
        period: Beijing dates, inclusive.
        group_by: the grouping (R-39); NONE gives the totals only.
        unit: only this handling unit ('' = the complaint office), or None for all.
        now: the instant "open" and "past due" refer to (default: now).
    """
    now = now or datetime.now(UTC)
    first_year = await pool.fetchval(MIN_RECEIVED_YEAR, center)
    years = [period.first.year, now.astimezone(BEIJING).year]
    await ensure_workdays(pool, min([*years, first_year or years[0]]), max([*years, period.last.year]))
    args = (center, period.start, period.end, unit, group_by.value)
    open_now, (registered, accepted, concluded, on_time, satisfaction, events, units) = (
        await asyncio.gather(
            open_cases(pool, center=center, unit=unit, now=now),
            asyncio.gather(
                fetch(pool, COUNT_REGISTERED, *args),
                fetch(pool, COUNT_ACCEPTED, *args),
                fetch(pool, CONCLUDED, *args),
                fetch(pool, ON_TIME, *args, list(STAGES), now),
                fetch(pool, SATISFACTION, *args),
                fetch(pool, EVENT_COUNTS, *args),
                pool.fetch(UNIT_NAMES, center),
            ),
        )
    )
    total = _Acc()
    groups: dict[str, _Acc] = {}

    def both(row: asyncpg.Record) -> tuple[_Acc, _Acc]:
        """The row's group and the total: additive counts go to both."""
        return groups.setdefault(row["k"], _Acc()), total

    for name, rows in (("registered", registered), ("accepted", accepted)):
        for r in rows:
            for a in both(r):
                a.add(**{name: r["n"]})
    for r in concluded:
        for a in both(r):
            a.add(concluded=r["concluded"], substantiated=r["substantiated"],
                  resolved=r["resolved"], unsubstantiated=r["unsubstantiated"])
            if r["wd"] is not None:
                a.add_days(r["wd"], r["concluded"])
    for r in satisfaction:
        for a in both(r):
            a.add(**{k: v for k, v in r.items() if k != "k"})
    for r in on_time:
        for a in both(r):
            a.add_stage(r["kind"], r["due"], r["on_time"])
    for r in events:  # distinct cases are not additive: the total is its own grouping set
        target = total if r["is_total"] else groups.setdefault(r["k"], _Acc())
        target.add(**{k: v for k, v in r.items() if k not in ("k", "is_total")})

    names = {r["code"]: r["name"] for r in units}
    keys = set(groups) if group_by != GroupBy.NONE else set()
    if group_by == GroupBy.MONTH:
        keys |= set(period.months())
    if group_by == GroupBy.UNIT and unit is None:
        keys |= {r["code"] for r in units if r["active"]}
    ordered = sorted(keys, key=lambda k: (group_by == GroupBy.UNIT and k == OFFICE_KEY, k))
    return StatsOut(
        period_from=period.first, period_to=period.last, group_by=group_by, unit=unit,
        total=total.figures(),
        groups=[
            StatsGroup(key=k, label=_label(group_by, k, names),
                       figures=groups.get(k, _Acc()).figures())
            for k in ordered
        ],
        open=open_now, generated_at=now,
    )


def status_label(status: str) -> str:
    try:
        return STATUS_LABELS[Status(status)]
    except ValueError:
        return status


def month_bounds(year: int, month: int) -> Period:
    """The calendar month as a period (handy for callers and tests)."""
    return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
