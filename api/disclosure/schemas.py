"""The model family of the public disclosure (R-47): anonymised cases and unit figures. Codes
only: the page (`page.py`) renders the labels."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.models import Category, Finding, Measure


class Disclosure(BaseModel):
    """One concluded case, anonymised: who complained is never shown (R-33, R-47)."""

    center: str = Field(description="The center that handled it.", examples=["default"])
    center_name: str | None = Field(default=None, description="Its name.",
                                    examples=["市效能投诉中心"])
    unit_code: str = Field(description="The unit complained about.", examples=["tax-bureau"])
    unit_name: str = Field(description="Its name.", examples=["市税务局"])
    category: Category = Field(description="R-07 category.")
    summary: str = Field(description="Anonymised summary.", examples=["窗口服务态度粗暴"])
    finding: Finding = Field(description="R-23 finding.")
    measures: list[Measure] = Field(description="R-24 measures.")
    concluded_month: str = Field(description="Month concluded (Beijing).", examples=["2026-11"])


class DisclosuresPublic(BaseModel):
    """A page of disclosed cases, newest first."""

    data: list[Disclosure] = Field(description="This page.")
    count: int = Field(description="All disclosed cases matching.", examples=[12])
    page: int = Field(description="Page, from 1.", examples=[1])
    page_size: int = Field(description="Rows per page.", examples=[20])


class MonthFigures(BaseModel):
    """One month of a unit (R-36, R-38), from the cases whose complainant agreed to publication.
    Below the minimum count (`UnitFigures.min_cases`) nothing is given, not even the count
    (R-47: no single case can be read from the figures): the numbers are null and
    `suppressed` says which part was withheld."""

    month: str = Field(description="YYYY-MM (Beijing).", examples=["2026-11"])
    concluded: int | None = Field(
        description="Cases concluded in the month; null below the minimum count.", examples=[5]
    )
    on_time: int | None = Field(
        description="Of those, handled within every deadline; null below the minimum count.",
        examples=[4],
    )
    on_time_rate: float | None = Field(
        description="on_time / concluded (按时办结率); null below the minimum count.",
        examples=[0.8],
    )
    callbacks_answered: int | None = Field(
        description="Callbacks answered (R-27); null below the minimum count.", examples=[5]
    )
    satisfied: int | None = Field(
        description="Satisfied or basically satisfied; null below the minimum count.",
        examples=[4],
    )
    satisfaction_rate: float | None = Field(
        description="satisfied / callbacks_answered (满意率, R-38); null below the minimum count.",
        examples=[0.8],
    )
    suppressed: list[Literal["concluded", "callbacks"]] = Field(
        default_factory=list,
        description="What is withheld because the month has fewer cases than the minimum: "
        "`concluded` (concluded, on_time, on_time_rate) and/or `callbacks` (callbacks_answered, "
        "satisfied, satisfaction_rate).",
        examples=[[]],
    )
    note: str | None = Field(
        default=None, description="Why figures are withheld, for people.",
        examples=["fewer than 3 cases: not published (R-47)"],
    )


class UnitFigures(BaseModel):
    """A unit's monthly figures, newest month first."""

    unit_code: str = Field(description="Unit code.", examples=["tax-bureau"])
    unit_name: str | None = Field(description="Unit name.", examples=["市税务局"])
    months: list[MonthFigures] = Field(description="Months with concluded cases.")
    min_cases: int = Field(description="Counts and rates are shown from this many cases a "
                           "month; below it they are withheld (R-47).", examples=[3])
