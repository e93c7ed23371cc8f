"""The model family of `GET /v1/stats`: the figures (R-36..R-39) of a period, in total and per
group. Codes only: the dashboard (`api/dashboard/page.py`) names the groups for people."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


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
        description="Of those, cases whose measures were carried out (整改落实, R-37): the "
        "decision carries at least one measure other than `none` (R-24) and the handler "
        "accepted the responsible unit's rectification report. The numerator.",
        examples=[18])
    unresolved: int = Field(
        description="substantiated - resolved: substantiated cases decided with measure `none`, "
        "or whose rectification is not (yet) accepted; the case file holds the reason (R-37 "
        "reason analysis) or the rectification's state.", examples=[2])
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
    figures: Figures


class OpenCases(BaseModel):
    """在办案件: the open cases now (not bound to the period)."""

    total: int = Field(description="Open (not archived) cases.", examples=[120])
    by_level: dict[str, int] = Field(
        description="red: overdue (marked, or past its nearest due instant); yellow: the "
        "reminder of the nearest due instant has gone out (R-30: the end of the working day "
        "before the due day; the reminders' own rule); "
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
