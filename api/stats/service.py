"""Efficiency figures (R-36..R-39) in SQL over the read model, its clocks and the events.

`compute_stats` is the one place the figures are computed: `GET /v1/stats` returns it as JSON
and `GET /dashboard` draws it. Every figure is defined next to its field in `schemas.py` (and in
docs/figures.md); in short, each figure counts what happened in the period, dated by its own
instant: a case is *registered* when received, *accepted* when accepted, *concluded* when the
decision is made; a clock counts when it was met or fell due; a callback when it was answered.
Working days are counted with the `workdays` table (`calendar.py`). The sums come from the
rollups of migration 0017, equal to the raw computation by construction (triggers in the
projection's transaction) and by test (tests/api/stats/test_rollups.py); only what depends on
"now" is read live (the clocks due today, the open cases due between today and "soon").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from api.auth import User
from api.errors import ApiError, validation_error
from api.stats import calendar
from api.stats import queries as q
from api.stats.schemas import (
    Figures,
    GroupBy,
    HandlingTime,
    OnTime,
    OpenCases,
    Ratio,
    Resolution,
    RespondentReplies,
    Satisfaction,
    StatsGroup,
    StatsOut,
)
from domain import workdays
from domain.models import Role, Status
from domain.workdays import BEIJING

#: Clocks whose timeliness is an on-time figure (R-36): the stages and the overall limit.
STAGES: tuple[str, ...] = ("acceptance", "opinion", "handling", "supervision", "overall")

#: The key of cases without a handling unit (self-handled, or not yet referred).
OFFICE_KEY = ""

#: The longest period one request may cover.
MAX_PERIOD_DAYS = 3660

#: The dates a period may use (the working-day calendar is filled for the years touched).
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)

#: The additive counts of `queries.CASE_COUNTS` (summed into groups and the total alike).
ADDITIVE = ("registered", "accepted", "concluded", "substantiated", "resolved", "unsubstantiated",
            "answered", "satisfied", "basically_satisfied", "dissatisfied", "overdue_deadlines",
            "extension_days", "replies", "late_replies", "replies_overdue")

#: Who sees the figures and the board: the office's staff, and each handling unit its own (R-39).
FIGURE_ROLES = (Role.HANDLER, Role.LEADER, Role.SUPERVISOR, Role.AUDITOR, Role.UNIT)


async def fetch(pool: Any, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one figure query on a connection of its own, with a plan for these arguments."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute(q.CUSTOM_PLAN)
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
    """Yellow up to here: the latest due instant whose reminder has gone out by `now` (R-30,
    `domain.workdays.yellow_until`, the reminders' own rule)."""
    return workdays.yellow_until(now)


async def open_cases(pool: Any, *, center: str, unit: str | None, now: datetime) -> OpenCases:
    """The open cases now, by status and warning level (red / yellow / green)."""
    rows = await fetch(pool, q.OPEN_CASES, center, unit, soon_instant(now), now)
    by_level = {"red": 0, "yellow": 0, "green": 0}
    by_status: dict[str, dict[str, int]] = {}
    for r in rows:
        by_level[r["level"]] += r["n"]
        by_status.setdefault(r["status"], {"red": 0, "yellow": 0, "green": 0})[r["level"]] = r["n"]
    order = [s.value for s in Status]
    by_status = dict(sorted(by_status.items(), key=lambda kv: order.index(kv[0])
                            if kv[0] in order else len(order)))
    return OpenCases(total=sum(by_level.values()), by_level=by_level, by_status=by_status)


def spans(period: Period, today: date) -> tuple[date, date, date, date, date, date]:
    """How the rollups cover `period`: the first and last month read as whole months (months
    inside the period and before today's month), then the two ranges of single days at the
    edges (a range is empty when its first day is after its last).
    """
    first_whole = period.first if period.first.day == 1 else _next_month(period.first)
    end = min((period.last + timedelta(days=1)).replace(day=1), today.replace(day=1))
    if first_whole >= end:  # no whole month: every day of the period as days
        return (*EMPTY, period.first, period.last, *EMPTY)
    last_whole = (end - timedelta(days=1)).replace(day=1)
    return (first_whole, last_whole, period.first, first_whole - timedelta(days=1), end,
            period.last)


#: An empty range (first after last).
EMPTY = (date(9999, 12, 1), date(1, 1, 1))


def _next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


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
    today = now.astimezone(BEIJING).date()
    first_year = await pool.fetchval(q.MIN_RECEIVED_YEAR, center)
    years = [period.first.year, today.year]
    # The working-day table is a cache of domain.workdays: filled here, see calendar.py.
    await calendar.ensure_workdays(pool, min([*years, first_year or years[0]]),
                                   max([*years, period.last.year]))
    args = (center, unit, group_by.value, *spans(period, today))
    live = []
    if period.first <= today <= period.last:  # clocks due today and already past (24:00 rule)
        day = Period(today, today)
        live = [fetch(pool, q.TODAY_CLOCKS, center, unit, group_by.value, day.start, day.end,
                      list(STAGES), now)]
    open_now, (counts, on_time, days, repeats, units, *today_clocks) = await asyncio.gather(
        open_cases(pool, center=center, unit=unit, now=now),
        asyncio.gather(
            fetch(pool, q.CASE_COUNTS, *args),
            fetch(pool, q.ON_TIME, *args, list(STAGES), today),
            fetch(pool, q.HANDLING_DAYS, *args),
            fetch(pool, q.REPEATS, center, unit, group_by.value, period.first, period.last),
            pool.fetch(q.UNIT_NAMES, center),
            *live,
        ),
    )
    total = _Acc()
    groups: dict[str, _Acc] = {}

    def both(row: asyncpg.Record) -> tuple[_Acc, _Acc]:
        """The row's group and the total: additive counts go to both."""
        return groups.setdefault(row["k"], _Acc()), total

    # A case counts once per group (exact, see queries.REPEATS): per case and unit when grouped
    # by unit or limited to one unit, else per case; the total per case unless limited.
    in_group = "unit" if group_by == GroupBy.UNIT or unit is not None else "any"
    in_total = "unit" if unit is not None else "any"
    for r in counts:
        for a in both(r):
            a.add(**{k: r[k] for k in ADDITIVE})
        groups[r["k"]].add(overdue_cases=r[f"overdue_first_{in_group}"],
                           extended_cases=r[f"extended_first_{in_group}"])
        total.add(overdue_cases=r[f"overdue_first_{in_total}"],
                  extended_cases=r[f"extended_first_{in_total}"])
    for r in repeats:
        name = f"{r['what']}_cases"
        groups.setdefault(r["k"], _Acc()).add(**{name: r[f"{in_group}_group"]})
        total.add(**{name: r[f"{in_total}_total"]})
    for r in on_time:
        for a in both(r):
            a.add_stage(r["kind"], r["due"], r["on_time"])
    for r in (today_clocks[0] if today_clocks else []):
        for a in both(r):
            a.add_stage(r["kind"], r["due"], 0)
    for r in days:
        for a in both(r):
            a.add_days(r["wd"], r["cases"])

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
            StatsGroup(key=k, figures=groups.get(k, _Acc()).figures())
            for k in ordered
        ],
        open=open_now, generated_at=now,
    )


async def unit_names(pool: Any, center: str) -> dict[str, str]:
    """The register's name of each unit of `center` (the dashboard names its groups with it)."""
    return {r["code"]: r["name"] for r in await pool.fetch(q.UNIT_NAMES, center)}


def period_of(date_from: date | None, date_to: date | None, *, today: date) -> Period:
    """The requested period; 422 if it is reversed or longer than MAX_PERIOD_DAYS."""
    last = date_to or today
    first = date_from or date(last.year, 1, 1)
    problems = []
    for name, day in (("from", first), ("to", last)):
        if not EARLIEST <= day <= LATEST:
            problems.append({"field": name, "location": "query", "type": "rule",
                             "message": f"must lie between {EARLIEST} and {LATEST}"})
    if problems:
        raise validation_error(problems)
    if first > last:
        problems.append({"field": "from", "location": "query", "type": "rule",
                         "message": "must not be after `to`"})
    elif (last - first).days > MAX_PERIOD_DAYS:
        problems.append({"field": "to", "location": "query", "type": "rule",
                         "message": f"a period covers at most {MAX_PERIOD_DAYS} days"})
    if problems:
        raise validation_error(problems)
    return Period(first, last)


def scope_unit(user: User, unit: str | None) -> str | None:
    """The unit the figures are limited to: a unit user's own, whatever it asked for."""
    if user.role == Role.UNIT:
        if unit not in (None, user.unit):
            raise ApiError(403, "forbidden", "a handling unit sees only its own figures")
        return user.unit
    return unit
