"""Public disclosure of concluded cases (投诉信息公开, R-47, R-06) and each unit's monthly figures.

- Only concluded cases whose complainant agreed at intake (`publish_consent`) are listed, each
  as an anonymised summary, the finding (R-23) and the measures (R-24), under the unit
  complained about. Never the number, a name, a phone, an address, the facts, a staff name or
  the free-text report (R-33).
- The summary was checked at intake not to hold the complainant's name, phone or id number;
  here it is scrubbed again: every personal value of the case (complainant, agent, respondent
  staff) and anything that looks like a phone or id number or an e-mail address is masked.
- Monthly figures per unit (R-36 on-time rate, R-38 satisfaction rate) count every concluded
  case (aggregates, no case is shown); a rate is given only when the month has at least
  `settings.disclosure_min_cases` cases, so no single case can be read from it.

`GET /public/disclosures` is the page (HTML, server-rendered, no external assets);
`GET /v1/public/disclosures` and `GET /v1/public/units/{unit}/figures` are the same as JSON.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.deps import PoolDep, SettingsDep
from api.repo import Conn
from api.schemas import BEIJING, FINDING_LABELS, R422, R503
from domain.models import CATEGORY_LABELS, Category, Finding, Measure

router = APIRouter(tags=["disclosure"])

MEASURE_LABELS: dict[Measure, str] = {
    Measure.ORAL_WARNING: "口头警告",
    Measure.WRITTEN_WARNING: "书面警告",
    Measure.ORDER_TO_CORRECT: "责令改正",
    Measure.CIRCULATE_CRITICISM: "通报批评",
    Measure.RECOMMEND_DISCIPLINE: "建议纪律处分",
    Measure.ADMINISTRATIVE_PENALTY: "行政处罚",
    Measure.REMEDY: "补救/赔偿",
    Measure.NONE: "无",
}

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

_DISCLOSED = """
FROM complaints c
JOIN complainants p ON p.ref = c.complainant_ref
LEFT JOIN centers ce ON ce.code = c.center
LEFT JOIN center_units u ON u.unit_code = c.respondent_unit AND u.scope = 'unit'
WHERE c.publish_consent AND c.outcome = 'concluded' AND c.finding IS NOT NULL
  AND c.workflow_started
  AND ($1::text IS NULL OR c.center = $1)
  AND ($2::text IS NULL OR c.respondent_unit = $2)
"""

#: The personal values are read only to be masked; they never leave `disclosure()`.
LIST_DISCLOSURES = (
    """
SELECT c.center, ce.name AS center_name, c.respondent_unit,
       COALESCE(u.unit_name, c.respondent_unit_name) AS respondent_unit_name, c.category,
       c.summary, c.finding, c.measures::text AS measures, c.archived_at, c.respondent_staff,
       p.name, p.phone, p.email, p.address, p.id_number, p.agent::text AS agent
"""
    + _DISCLOSED
    + """
ORDER BY c.archived_at DESC, c.number DESC
LIMIT $3 OFFSET $4
"""
)

COUNT_DISCLOSURES = "SELECT count(*) " + _DISCLOSED

#: Month (Beijing) of every concluded case of the units, with R-36 and R-38 counts. On time:
#: neither the handling nor the overall deadline ever went overdue.
UNIT_FIGURES = """
SELECT respondent_unit AS unit_code,
       to_char((archived_at AT TIME ZONE 'UTC') + interval '8 hours', 'YYYY-MM') AS month,
       count(*) AS concluded,
       count(*) FILTER (WHERE NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements(COALESCE(state->'deadlines', '[]'::jsonb)) d
           WHERE d->>'kind' IN ('handling', 'overall') AND (d->>'overdue')::boolean
       )) AS on_time,
       count(*) FILTER (WHERE rating IN ('satisfied', 'basically_satisfied', 'dissatisfied'))
           AS answered,
       count(*) FILTER (WHERE rating IN ('satisfied', 'basically_satisfied')) AS satisfied
FROM complaints
WHERE outcome = 'concluded' AND workflow_started AND archived_at >= $2
  AND respondent_unit = ANY($1::text[])
GROUP BY respondent_unit, month
ORDER BY respondent_unit, month DESC
"""

#: Units with concluded cases in the period, named as the register names them.
UNITS = """
SELECT c.respondent_unit AS unit_code,
       COALESCE(max(u.unit_name), max(c.respondent_unit_name)) AS unit_name
FROM complaints c
LEFT JOIN center_units u ON u.unit_code = c.respondent_unit AND u.scope = 'unit'
WHERE c.outcome = 'concluded' AND c.workflow_started AND c.archived_at >= $1
  AND ($2::text IS NULL OR c.center = $2)
  AND ($3::text IS NULL OR c.respondent_unit = $3)
GROUP BY c.respondent_unit
ORDER BY c.respondent_unit
"""

UNIT_NAME = """
SELECT COALESCE(
    (SELECT unit_name FROM center_units WHERE unit_code = $1 AND scope = 'unit'),
    (SELECT respondent_unit_name FROM complaints
     WHERE respondent_unit = $1 AND outcome = 'concluded' ORDER BY archived_at DESC LIMIT 1))
"""


# --- models ------------------------------------------------------------------------------------


class Disclosure(BaseModel):
    """One concluded case, anonymised: who complained is never shown (R-33, R-47)."""

    center: str = Field(description="The center that handled it.", examples=["default"])
    center_name: str | None = Field(default=None, description="Its name.",
                                    examples=["市效能投诉中心"])
    unit_code: str = Field(description="The unit complained about.", examples=["tax-bureau"])
    unit_name: str = Field(description="Its name.", examples=["市税务局"])
    category: Category = Field(description="R-07 category.")
    category_label: str = Field(description="In Chinese.", examples=["服务态度差"])
    summary: str = Field(description="Anonymised summary.", examples=["窗口服务态度粗暴"])
    finding: Finding = Field(description="R-23 finding.")
    finding_label: str = Field(description="In Chinese.", examples=["成立"])
    measures: list[Measure] = Field(description="R-24 measures.")
    measure_labels: list[str] = Field(description="In Chinese.", examples=[["书面警告"]])
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


# --- the work ----------------------------------------------------------------------------------


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
        category=category, category_label=CATEGORY_LABELS[category],
        summary=scrub(row["summary"] or CATEGORY_LABELS[category], personal),
        finding=finding, finding_label=FINDING_LABELS[finding], measures=measures,
        measure_labels=[MEASURE_LABELS[m] for m in measures],
        concluded_month=_month(row["archived_at"]),
    )


async def list_disclosures(
    conn: Conn, *, center: str | None, unit: str | None, limit: int, offset: int
) -> tuple[list[Disclosure], int]:
    rows = await conn.fetch(LIST_DISCLOSURES, center, unit, limit, offset)
    total = await conn.fetchval(COUNT_DISCLOSURES, center, unit)
    return [disclosure(r) for r in rows], int(total)


def _rate(part: int, whole: int, minimum: int) -> float | None:
    return round(part / whole, 4) if whole and whole >= minimum else None


async def figures(
    conn: Conn, units: list[str], *, since: datetime, minimum: int
) -> dict[str, list[MonthFigures]]:
    """Monthly figures of each unit since `since`, newest month first."""
    out: dict[str, list[MonthFigures]] = {u: [] for u in units}
    for r in await conn.fetch(UNIT_FIGURES, units, since):
        out[r["unit_code"]].append(MonthFigures(
            month=r["month"], concluded=r["concluded"], on_time=r["on_time"],
            on_time_rate=_rate(r["on_time"], r["concluded"], minimum),
            callbacks_answered=r["answered"], satisfied=r["satisfied"],
            satisfaction_rate=_rate(r["satisfied"], r["answered"], minimum),
        ))
    return out


# --- the page ----------------------------------------------------------------------------------

_STYLE = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:0;
color:#1f2328;background:#f6f8fa;line-height:1.6}
header{background:#8b1a1a;color:#fff;padding:1.2rem 2rem}
header h1{margin:0;font-size:1.5rem}header p{margin:.3rem 0 0;opacity:.9}
main{max-width:1100px;margin:0 auto;padding:1rem 2rem 3rem}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:1.2rem 0;padding:1rem 1.4rem}
h2{margin:.2rem 0 .8rem;font-size:1.2rem}h2 small{color:#57606a;font-weight:normal}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
caption{text-align:left;font-weight:bold;padding:.3rem 0}
th,td{border:1px solid #d0d7de;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f3f6}td.num{text-align:right}.none{color:#57606a}
footer{color:#57606a;font-size:.85rem;text-align:center;padding:1rem}
"""


def _pct(rate: float | None) -> str:
    return "样本不足" if rate is None else f"{rate * 100:.1f}%"


def render_page(
    units: list[tuple[str, str]],
    cases: list[Disclosure],
    figs: dict[str, list[MonthFigures]],
    *,
    minimum: int,
    now: datetime,
) -> str:
    """The disclosure page: one section per unit with its monthly figures and its cases."""
    e = html.escape
    by_unit: dict[str, list[Disclosure]] = {}
    for d in cases:
        by_unit.setdefault(d.unit_code, []).append(d)
    names = dict(units)
    for d in cases:
        names.setdefault(d.unit_code, d.unit_name)
    sections = []
    for code in sorted(names, key=lambda c: (names[c], c)):
        rows = "".join(
            f"<tr><td>{e(m.month)}</td><td class=num>{m.concluded}</td>"
            f"<td class=num>{_pct(m.on_time_rate)}</td>"
            f"<td class=num>{m.callbacks_answered}</td>"
            f"<td class=num>{_pct(m.satisfaction_rate)}</td></tr>"
            for m in figs.get(code, [])
        ) or "<tr><td colspan=5 class=none>近期无办结投诉</td></tr>"
        items = "".join(
            f"<tr><td>{e(d.concluded_month)}</td><td>{e(d.category_label)}</td>"
            f"<td>{e(d.summary)}</td><td>{e(d.finding_label)}</td>"
            f"<td>{e('、'.join(d.measure_labels))}</td></tr>"
            for d in by_unit.get(code, [])
        ) or "<tr><td colspan=5 class=none>暂无经投诉人同意公开的案件</td></tr>"
        sections.append(
            f"<section><h2>{e(names[code])} <small>{e(code)}</small></h2>"
            "<table class=figures><caption>月度办理情况</caption>"
            "<tr><th>月份</th><th>办结件数</th><th>按时办结率</th><th>回访件数</th>"
            f"<th>满意率</th></tr>{rows}</table>"
            "<table class=cases><caption>已办结投诉（经投诉人同意公开，已匿名）</caption>"
            "<tr><th>办结月份</th><th>投诉类别</th><th>摘要</th><th>处理结论</th>"
            f"<th>处理措施</th></tr>{items}</table></section>"
        )
    body = "".join(sections) or "<section><p class=none>暂无可公开的投诉办理结果。</p></section>"
    return (
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>效能投诉办理结果公开</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<header><h1>效能投诉办理结果公开</h1>"
        "<p>仅公开经投诉人同意的已办结投诉，均已匿名处理，不含投诉人及任何个人信息。"
        f"按时办结率、满意率按月统计，当月办结或回访不足 {minimum} 件时不显示比率。</p></header>"
        f"<main>{body}</main>"
        f"<footer>更新时间 {e(now.astimezone(BEIJING).strftime('%Y-%m-%d %H:%M'))}（北京时间）"
        "</footer></body></html>"
    )


# --- routes ------------------------------------------------------------------------------------

CenterQuery = Annotated[
    str | None, Query(max_length=64, description="Only this center.", examples=["default"])
]
UnitQuery = Annotated[
    str | None, Query(max_length=64, description="Only this unit.", examples=["tax-bureau"])
]


@router.get(
    "/v1/public/disclosures", summary="Published results (JSON)", responses={**R422, **R503},
    tags=["public"],
)
async def get_disclosures(
    pool: PoolDep,
    center: CenterQuery = None,
    unit: UnitQuery = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=100, description="Rows per page (≤ 100).")] = 20,
) -> DisclosuresPublic:
    """投诉信息公开 Concluded cases whose complainant agreed to publication (R-47): anonymised
    summary, finding and measures, by unit; no personal data. No token needed."""
    data, count = await list_disclosures(pool, center=center, unit=unit, limit=page_size,
                                         offset=(page - 1) * page_size)
    return DisclosuresPublic(data=data, count=count, page=page, page_size=page_size)


@router.get(
    "/v1/public/units/{unit}/figures", summary="A unit's monthly figures",
    responses={**R422, **R503}, tags=["public"],
)
async def get_unit_figures(
    unit: Annotated[str, Path(max_length=64, description="Unit code.", examples=["tax-bureau"])],
    pool: PoolDep,
    settings: SettingsDep,
) -> UnitFigures:
    """On-time rate (R-36) and satisfaction rate (R-38) of the cases about a unit, by month, for
    the last 12 months; aggregates only, rates from `min_cases` cases a month."""
    now = datetime.now(BEIJING)
    minimum = settings.disclosure_min_cases
    figs = await figures(pool, [unit], since=_since(now), minimum=minimum)
    name = await pool.fetchval(UNIT_NAME, unit)
    return UnitFigures(unit_code=unit, unit_name=scrub(name) if name else None,
                       months=figs[unit], min_cases=minimum)


@router.get(
    "/public/disclosures",
    summary="Published results (page)",
    response_class=HTMLResponse,
    responses={200: {"description": "The page (HTML, Chinese).",
                     "content": {"text/html": {"schema": {"type": "string"}}}},
               **R422, **R503},
    tags=["public"],
)
async def disclosures_page(
    pool: PoolDep, settings: SettingsDep, center: CenterQuery = None, unit: UnitQuery = None
) -> HTMLResponse:
    """效能投诉办理结果公开: the public page — each unit's monthly figures and the concluded
    cases published with consent, anonymised. Server-rendered, no scripts, no external files."""
    now = datetime.now(BEIJING)
    since = _since(now)
    minimum = settings.disclosure_min_cases
    cases, _ = await list_disclosures(pool, center=center, unit=unit, limit=PAGE_CASES, offset=0)
    units = [(r["unit_code"], scrub(r["unit_name"] or r["unit_code"]))
             for r in await pool.fetch(UNITS, since, center, unit)]
    codes = sorted({c for c, _ in units} | {d.unit_code for d in cases})
    figs = await figures(pool, codes, since=since, minimum=minimum)
    page = render_page(units, cases, figs, minimum=minimum, now=now)
    return HTMLResponse(page, headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=300",
    })
