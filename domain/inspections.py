"""Inspection rounds (明查暗访督查, R-40): the messages of `InspectionRoundWorkflow` and the draw.

Pure: no Temporal, no I/O. The workflow (`workflows/inspection.py`), its activities
(`activities/inspection.py`) and the API (`api/inspections/`) all use these.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone

from pydantic import BaseModel, ConfigDict, Field

from domain.models import Actor, Category, Grade, Role

#: Who may submit findings and close a round: the inspectors (the supervision office).
INSPECTOR_ROLES = frozenset({Role.SUPERVISOR})


class Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ messages


class InspectionRoundInput(Msg):
    """Start input (the schedule's action carries it)."""

    center: str = Field(default="default", description="The center whose units are inspected.")
    proportion_percent: int = Field(default=30, ge=1, le=100,
                                    description="Share of the register drawn (按比例随机抽取).")
    min_units: int = Field(default=1, ge=0, le=1000, description="Draw at least this many.")
    window_days: int = Field(default=25, ge=1, le=366,
                             description="The round closes by itself this many days after it "
                             "started (before next month's round).")
    not_before: datetime | None = Field(default=None, description="The unannounced instant "
                                        "the round was planned for (明查暗访): it draws then.")
    plan_seed: int | None = Field(default=None, description="The seed the instant was drawn "
                                  "with (InspectionMonthWorkflow).")


class InspectionMonthInput(Msg):
    """The monthly schedule's input: the draw's parameters for every center's round."""

    proportion_percent: int = Field(default=30, ge=1, le=100)
    min_units: int = Field(default=1, ge=0, le=1000)
    window_days: int = Field(default=25, ge=1, le=366)


class PlanInput(Msg):
    month_of: datetime = Field(description="An instant of the month planned (the schedule's).")


class PlannedRound(Msg):
    """One center's round of the month: the unannounced instant and the seed it was drawn with
    (`unannounced_instant(month_of, seed, is_working_day)` re-computes it)."""

    center: str
    seed: int
    at: datetime


class MonthPlan(Msg):
    month: str = Field(description="YYYY-MM (Beijing).")
    month_of: datetime | None = Field(default=None, description="The instant planned from.")
    rounds: list[PlannedRound] = Field(default_factory=list, max_length=1000)


class PrepareInput(Msg):
    round_id: str
    center: str
    started_at: datetime


class Exemption(Msg):
    """A leader's exemption of a unit with unresolved findings from the draws (R-40): only
    with a reason, recorded on every round it applies to."""

    unit: str
    reason: str
    by: str
    at: datetime
    until: datetime


class RoundSetup(Msg):
    """What a draw is made from."""

    register_units: list[str] = Field(description="Active units subject to inspection, by code.")
    previous_round: str | None = None
    previous_units_with_findings: list[str] = Field(default_factory=list)
    # Since "inspection-draw-2026-12" (absent from older histories):
    unresolved_units: list[str] | None = Field(
        default=None, description="Units with findings not yet resolved, from every round of "
        "the center, active in the register and not exempted: always drawn.")
    not_in_register: list[str] = Field(default_factory=list, description="Units with "
                                       "unresolved findings no longer active in the register.")
    exempted: list[Exemption] = Field(default_factory=list)
    uncovered_units: list[str] = Field(default_factory=list, description="Register units not "
                                       "yet drawn by any round of the center this (Beijing) "
                                       "year (全覆盖): drawn first.")


class Draw(Msg):
    """The outcome of `draw_units`."""

    seed: int
    size: int = Field(description="Target size: max(min_units, ceil(proportion × register)), "
                      "at most the register, at least the mandatory units.")
    mandatory: list[str] = Field(description="Units with findings in the previous round that "
                                 "are in the register: always included.")
    not_in_register: list[str] = Field(default_factory=list,
                                       description="Previous units with findings no longer in "
                                       "the register (cannot be inspected).")
    drawn: list[str] = Field(description="All units to inspect, sorted.")
    # Since "inspection-draw-2026-12":
    random_quota: int | None = Field(default=None, description="Units drawn at random in "
                                     "addition to the mandatory ones.")
    random: list[str] = Field(default_factory=list, description="The units drawn at random.")
    uncovered: list[str] = Field(default_factory=list, description="Register units not yet "
                                 "inspected this year before this draw.")
    exempted: list[Exemption] = Field(default_factory=list, description="Units with unresolved "
                                      "findings exempted by a leader, with the reason.")


class DrawRecord(Msg):
    """`record_inspection_draw`'s input: everything an auditor needs to re-check the draw."""

    round_id: str
    center: str
    started_at: datetime
    closes_at: datetime
    proportion_percent: int
    min_units: int
    register_units: list[str]
    previous_round: str | None
    draw: Draw
    scheduled_at: datetime | None = None
    plan_seed: int | None = None


class SubmitFindingInput(Msg):
    """`submit-finding`: a finding already stored in PostgreSQL (facts stay there)."""

    actor: Actor
    finding_id: str = Field(min_length=1, max_length=64)
    unit: str = Field(min_length=1, max_length=64, description="The unit found at fault.")
    category: Category
    grade: Grade = Grade.BASIC
    summary: str = Field(min_length=1, max_length=500, description="Non-personal summary.")


class FileFindingInput(Msg):
    round_id: str
    center: str
    finding_id: str
    actor: Actor


class FileFindingResult(Msg):
    number: str = Field(description="The complaint the finding became.")


class FindingRecord(Msg):
    finding_id: str
    unit: str
    category: Category
    grade: Grade
    summary: str
    at: datetime
    by: Actor
    number: str | None = Field(default=None, description="The complaint, once filed.")


class CloseRoundInput(Msg):
    actor: Actor
    comment: str = Field(default="", max_length=2000)


class CloseRecord(Msg):
    round_id: str
    closed_at: datetime
    closed_by: str
    units_with_findings: list[str]


class RoundState(Msg):
    """The `state` Query and the workflow's result (non-personal)."""

    round_id: str
    center: str
    status: str = Field(description="planned | drawing | open | closed")
    started_at: datetime
    closes_at: datetime
    proportion_percent: int
    min_units: int
    register_units: list[str] = Field(default_factory=list)
    previous_round: str | None = None
    draw: Draw | None = None
    findings: list[FindingRecord] = Field(default_factory=list)
    units_with_findings: list[str] = Field(default_factory=list)
    closed_at: datetime | None = None
    closed_by: str | None = None
    comment: str = ""


# ------------------------------------------------------------------ the draw (pure)


def draw_size(register_size: int, proportion_percent: int, min_units: int) -> int:
    """ceil(proportion × register), at least `min_units`, at most the register (integer math)."""
    by_share = (proportion_percent * register_size + 99) // 100
    return min(register_size, max(min_units, by_share))


def draw_units(register_units: list[str], previous: list[str], *, proportion_percent: int,
               min_units: int, seed: int) -> Draw:
    """Draw the units to inspect (R-40): the previous round's units with findings, always, and
    the rest at random from the register with `random.Random(seed)`, up to the target size.

    Deterministic for a given input and seed: an auditor re-runs it from the recorded values.
    """
    pool = sorted(set(register_units))
    mandatory = sorted(set(previous) & set(pool))
    gone = sorted(set(previous) - set(pool))
    size = max(draw_size(len(pool), proportion_percent, min_units), len(mandatory))
    rest = [u for u in pool if u not in mandatory]
    picked = random.Random(seed).sample(rest, size - len(mandatory))
    return Draw(seed=seed, size=size, mandatory=mandatory, not_in_register=gone,
                drawn=sorted(mandatory + picked))


def draw_round(register_units: list[str], mandatory: list[str], *, proportion_percent: int,
               min_units: int, seed: int, uncovered: list[str] | None = None,
               not_in_register: list[str] | None = None,
               exempted: list[Exemption] | None = None) -> Draw:
    """Draw the units to inspect (R-40): every unit with unresolved findings (`mandatory`), plus
    a random quota *in addition* — the proportion of the register, at least `min_units` — from
    the rest of the register with `random.Random(seed)`, the units not yet inspected this year
    (`uncovered`) first, so that 12 rounds at a proportion of at least 1/12 cover the whole
    register in a year (全覆盖).

    Deterministic for a given input and seed: an auditor re-runs it from the recorded values.
    """
    pool = sorted(set(register_units))
    must = sorted(set(mandatory))
    fresh = sorted(set(uncovered or []) & set(pool))
    quota = draw_size(len(pool), proportion_percent, min_units)
    rng = random.Random(seed)
    first = [u for u in fresh if u not in must]
    others = [u for u in pool if u not in must and u not in fresh]
    picked = rng.sample(first, min(quota, len(first)))
    picked += rng.sample(others, min(quota - len(picked), len(others)))
    return Draw(seed=seed, size=len(must) + len(picked), mandatory=must,
                not_in_register=sorted(set(not_in_register or [])),
                drawn=sorted(set(must) | set(picked)), random_quota=quota,
                random=sorted(picked), uncovered=fresh, exempted=list(exempted or []))


#: Beijing time has had no daylight saving since 1991: a fixed offset is exact.
_BEIJING = timezone(timedelta(hours=8))
#: Rounds a center owes a year (R-40: 不少于12次).
ROUNDS_A_YEAR = 12


def year_start(now: datetime) -> datetime:
    """The start of the Beijing year of `now`: rounds are counted from there."""
    return datetime(now.astimezone(_BEIJING).year, 1, 1, tzinfo=_BEIJING)


def rounds_expected(now: datetime) -> int:
    """Rounds due by `now` (R-40): one for every Beijing month ended this year, so that a center
    keeping pace reaches 12 by the year's end."""
    return now.astimezone(_BEIJING).month - 1


#: The hours of a working day an unannounced visit may fall in (09:00..16:59).
VISIT_HOURS = range(9, 17)


def unannounced_instant(month_of: datetime, seed: int,
                        working: Callable[[date], bool] | None = None) -> datetime:
    """The unannounced instant of a center's round (明查暗访): a working day of the Beijing
    month of `month_of`, not before it, drawn with `random.Random(seed)`, at a random minute of
    office hours. `month_of` itself when no working day is left in the month."""
    local = month_of.astimezone(_BEIJING)
    is_working = working or (lambda d: d.weekday() < 5)
    first = local.date()
    days = []
    d = first
    while d.month == first.month:
        if is_working(d):
            days.append(d)
        d += timedelta(days=1)
    rng = random.Random(seed)
    if not days:
        return month_of
    day = rng.choice(days)
    at = datetime.combine(day, time(rng.choice(VISIT_HOURS), rng.randrange(60)), _BEIJING)
    return max(at, local).astimezone(month_of.tzinfo)
