"""The model family of the public disclosure (R-47): anonymised cases and unit figures. Codes
only: the page (`page.py`) renders the labels."""

from __future__ import annotations

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
    """One month of a unit (R-36, R-38)."""

    month: str = Field(description="YYYY-MM (Beijing).", examples=["2026-11"])
    concluded: int = Field(description="Cases concluded in the month.", examples=[5])
    on_time: int = Field(description="Of those, handled within every deadline.", examples=[4])
    on_time_rate: float | None = Field(
        description="on_time / concluded (按时办结率); null below the minimum count.",
        examples=[0.8],
    )
    callbacks_answered: int = Field(description="Callbacks answered (R-27).", examples=[5])
    satisfied: int = Field(description="Satisfied or basically satisfied.", examples=[4])
    satisfaction_rate: float | None = Field(
        description="satisfied / callbacks_answered (满意率, R-38); null below the minimum count.",
        examples=[0.8],
    )


class UnitFigures(BaseModel):
    """A unit's monthly figures, newest month first."""

    unit_code: str = Field(description="Unit code.", examples=["tax-bureau"])
    unit_name: str | None = Field(description="Unit name.", examples=["市税务局"])
    months: list[MonthFigures] = Field(description="Months with concluded cases.")
    min_cases: int = Field(description="Rates are shown from this many cases a month.",
                           examples=[3])
