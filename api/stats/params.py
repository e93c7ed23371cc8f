"""The query parameters and the caller that the figures, the board and the dashboard share."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from api.auth import User
from api.deps import IsoText, require
from api.stats.service import FIGURE_ROLES

FiguresUser = Annotated[User, Depends(require(*FIGURE_ROLES))]

DateFrom = Annotated[date | None, IsoText, Query(alias="from", description="First day (Beijing), "
                                        "inclusive; default 1 January of `to`'s year.",
                                        examples=["2026-01-01"])]
DateTo = Annotated[date | None, IsoText, Query(alias="to", description="Last day (Beijing), inclusive; "
                                      "default today.", examples=["2026-11-30"])]
UnitQuery = Annotated[str | None, Query(max_length=64, description="Only this handling unit "
                                        "(`\"\"` = the complaint office itself).",
                                        examples=["tax-bureau"])]
