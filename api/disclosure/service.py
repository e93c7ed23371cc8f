"""Public disclosure of concluded cases (投诉信息公开, R-47, R-06) and each unit's monthly figures.

- Only concluded cases whose complainant agreed at intake (`publish_consent`) are listed, each
  as an anonymised summary, the finding (R-23) and the measures (R-24), under the unit
  complained about. Never the number, a name, a phone, an address, the facts, a staff name or
  the free-text report (R-33).
- The summary was checked at intake not to hold the complainant's name, phone or id number;
  here it is scrubbed again: every personal value of the case (complainant, agent, respondent
  staff) and anything that looks like a phone or id number or an e-mail address is masked.
- Monthly figures per unit (R-36 on-time rate, R-38 satisfaction rate) count the concluded
  cases whose complainant agreed to publication (R-47; aggregates, no case is shown); a month
  with fewer than `settings.disclosure_min_cases` such cases gives neither counts nor rates
  (`suppressed`, with a note), likewise its callbacks, so no single case can be read from it.

`GET /public/disclosures` is the page (`page.py`); `GET /v1/public/disclosures` and
`GET /v1/public/units/{unit}/figures` are the same as JSON, with codes instead of labels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from api.complaints.queries import Conn
from api.disclosure import queries as q
from api.disclosure.schemas import Disclosure, MonthFigures, UnitFigures
from domain.labels import label
from domain.models import Category, Finding, Measure
from domain.workdays import BEIJING

#: How many months of figures the page and the API show.
MONTHS = 12
#: How many cases the page lists at most (the newest).
PAGE_CASES = 500

MASK = "＊＊＊"

#: What looks personal in free text: e-mail addresses, 18-character id numbers, and any run of
#: 7 or more digits (mobile and landline numbers, 15-digit id numbers), separators allowed.
_PERSONAL_PATTERNS = (
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])"),
    re.compile(r"(?:\+?86[-\s]?)?\d(?:[-\s()（）]?\d){6,}"),
)


def scrub(text: str, personal: Iterable[str | None] = ()) -> str:
    """Mask the case's personal values and whatever looks like a phone, id number or e-mail."""
    for value in sorted({v.strip() for v in personal if v and len(v.strip()) >= 2},
                        key=len, reverse=True):
        text = text.replace(value, MASK)
    for pattern in _PERSONAL_PATTERNS:
        text = pattern.sub(MASK, text)
    return text


def _month(t: datetime) -> str:
    return t.astimezone(BEIJING).strftime("%Y-%m")


def _since(now: datetime, months: int = MONTHS) -> datetime:
    """The first instant (Beijing) of the month `months - 1` months before `now`'s."""
    local = now.astimezone(BEIJING)
    index = local.year * 12 + local.month - 1 - (months - 1)
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=BEIJING)


def disclosure(row: Any) -> Disclosure:
    """An anonymised disclosure from a `LIST_DISCLOSURES` row."""
    agent = json.loads(row["agent"]) if row["agent"] else {}
    personal = [row["name"], row["phone"], row["email"], row["address"], row["id_number"],
                row["respondent_staff"], agent.get("name"), agent.get("phone")]
    measures = [Measure(m) for m in json.loads(row["measures"] or "[]")]
    finding, category = Finding(row["finding"]), Category(row["category"])
    return Disclosure(
        center=row["center"], center_name=row["center_name"], unit_code=row["respondent_unit"],
        unit_name=scrub(row["respondent_unit_name"] or row["respondent_unit"], personal),
        category=category, summary=scrub(row["summary"] or label(category), personal),
        finding=finding, measures=measures,
        concluded_month=_month(row["archived_at"]),
    )


async def list_disclosures(
    conn: Conn, *, center: str | None, unit: str | None, limit: int, offset: int
) -> tuple[list[Disclosure], int]:
    rows = await conn.fetch(q.LIST_DISCLOSURES, center, unit, limit, offset)
    total = await conn.fetchval(q.COUNT_DISCLOSURES, center, unit)
    return [disclosure(r) for r in rows], int(total)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def month_figures(r: Any, minimum: int) -> MonthFigures:
    """One month of a `UNIT_FIGURES` row; a part counting fewer than `minimum` cases is
    withheld whole (counts and rate)."""
    concluded, answered = int(r["concluded"]), int(r["answered"])
    shown_c, shown_a = concluded >= minimum, answered >= minimum
    suppressed: list[Any] = [x for x, shown in (("concluded", shown_c), ("callbacks", shown_a))
                             if not shown]
    return MonthFigures(
        month=r["month"],
        concluded=concluded if shown_c else None,
        on_time=r["on_time"] if shown_c else None,
        on_time_rate=_rate(r["on_time"], concluded) if shown_c else None,
        callbacks_answered=answered if shown_a else None,
        satisfied=r["satisfied"] if shown_a else None,
        satisfaction_rate=_rate(r["satisfied"], answered) if shown_a else None,
        suppressed=suppressed,
        note=f"fewer than {minimum} cases: not published (R-47)" if suppressed else None,
    )


async def figures(
    conn: Conn, units: list[str], *, since: datetime, minimum: int
) -> dict[str, list[MonthFigures]]:
    """Monthly figures of each unit since `since`, newest month first."""
    out: dict[str, list[MonthFigures]] = {u: [] for u in units}
    for r in await conn.fetch(q.UNIT_FIGURES, units, since):
        out[r["unit_code"]].append(month_figures(r, minimum))
    return out




async def unit_figures(conn: Conn, unit: str, *, now: datetime, minimum: int) -> UnitFigures:
    """A unit's figures for the last `MONTHS` months, its name scrubbed."""
    figs = await figures(conn, [unit], since=_since(now), minimum=minimum)
    name = await conn.fetchval(q.UNIT_NAME, unit)
    return UnitFigures(unit_code=unit, unit_name=scrub(name) if name else None,
                       months=figs[unit], min_cases=minimum)


async def page_data(
    conn: Conn, *, center: str | None, unit: str | None, now: datetime, minimum: int
) -> tuple[list[tuple[str, str]], list[Disclosure], dict[str, list[MonthFigures]]]:
    """What the page shows: the units (code, name), the newest cases, each unit's figures."""
    since = _since(now)
    cases, _ = await list_disclosures(conn, center=center, unit=unit, limit=PAGE_CASES, offset=0)
    units = [(r["unit_code"], scrub(r["unit_name"] or r["unit_code"]))
             for r in await conn.fetch(q.UNITS, since, center, unit)]
    codes = sorted({c for c, _ in units} | {d.unit_code for d in cases})
    return units, cases, await figures(conn, codes, since=since, minimum=minimum)
