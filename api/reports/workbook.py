"""A report as an `.xlsx` workbook (openpyxl), and the figure rows the workbook, the printable
page and the trends share (one list: a figure is named once).

Sheets: 概况 Summary (the headline figures, this period against the previous one), one sheet
per grouping (unit, category, channel, month), 督办 Supervision (the board), 督查 Inspections.
Numbers are cells of numbers (rates as fractions with a percent format), so the parent center
can add and chart them; labels are Chinese and English.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from api.dashboard.page import group_label
from api.stats.schemas import Figures, GroupBy, StatsGroup
from api.stats.service import STAGES
from domain.labels import both
from domain.models import DeadlineKind
from domain.workdays import BEIJING

if TYPE_CHECKING:
    from api.reports.schemas import ReportContent

#: A headline figure: code, label, how to read it from `Figures`, and whether it is a rate.
Row = tuple[str, str, Callable[[Figures], float | int | None], bool]


def _stage(kind: str) -> Row:
    try:
        name = both(DeadlineKind(kind))
    except ValueError:
        name = kind
    return (f"on_time_{kind}", f"按时率 on time: {name}",
            lambda f: f.on_time.stages[kind].rate if kind in f.on_time.stages else None, True)


ROWS: list[Row] = [
    ("registered", "登记 registered", lambda f: f.registered, False),
    ("accepted", "受理 accepted", lambda f: f.accepted, False),
    ("concluded", "办结 concluded", lambda f: f.concluded, False),
    ("on_time", "按时办结率 on time, all stages (R-36)", lambda f: f.on_time.all.rate, True),
    *[_stage(k) for k in STAGES],
    ("resolution_rate", "问题解决率 resolution rate (R-37)", lambda f: f.resolution.rate, True),
    ("substantiated", "属实 substantiated", lambda f: f.resolution.substantiated, False),
    ("resolved", "已解决 resolved", lambda f: f.resolution.resolved, False),
    ("satisfaction_rate", "满意率 satisfaction rate (R-38)", lambda f: f.satisfaction.rate, True),
    ("callbacks_answered", "回访答复 callbacks answered", lambda f: f.satisfaction.answered,
     False),
    ("handling_days_average", "平均办理工作日 average working days (R-39)",
     lambda f: f.handling_days.average, False),
    ("handling_days_p90", "办理工作日90分位 working days, 90th percentile",
     lambda f: f.handling_days.p90, False),
    ("overdue_cases", "逾期案件 overdue cases", lambda f: f.overdue_cases, False),
    ("overdue_deadlines", "逾期环节 overdue stages", lambda f: f.overdue_deadlines, False),
    ("extended_cases", "延期案件 extended cases", lambda f: f.extended_cases, False),
    ("extension_days", "延期天数 extension days", lambda f: f.extension_days, False),
    ("replies_late_rate", "被投诉单位逾期答复率 late replies rate",
     lambda f: f.respondent_replies.late_rate, True),
]
RATES = frozenset(code for code, _, _, rate in ROWS if rate)

#: The columns of a grouping sheet: header, value.
GROUP_COLUMNS: list[tuple[str, Callable[[Figures], Any], bool]] = [
    ("登记 registered", lambda f: f.registered, False),
    ("受理 accepted", lambda f: f.accepted, False),
    ("办结 concluded", lambda f: f.concluded, False),
    ("按时 on time", lambda f: f.on_time.all.count, False),
    ("应按时 clocks", lambda f: f.on_time.all.total, False),
    ("按时办结率 on-time rate", lambda f: f.on_time.all.rate, True),
    ("问题解决率 resolution", lambda f: f.resolution.rate, True),
    ("满意率 satisfaction", lambda f: f.satisfaction.rate, True),
    ("平均工作日 avg days", lambda f: f.handling_days.average, False),
    ("逾期案件 overdue cases", lambda f: f.overdue_cases, False),
    ("逾期环节 overdue stages", lambda f: f.overdue_deadlines, False),
]

PERCENT = "0.0%"
BOLD = Font(bold=True)


def headline(f: Figures) -> list[tuple[str, str, float | int | None]]:
    """(code, label, value) of every headline figure."""
    return [(code, label, get(f)) for code, label, get, _ in ROWS]


def _put(ws: Worksheet, row: list[Any], *, percent: set[int] | None = None,
         bold: bool = False) -> None:
    ws.append(row)
    r = ws.max_row
    for col in percent or ():
        ws.cell(row=r, column=col).number_format = PERCENT
    if bold:
        for c in ws[r]:
            c.font = BOLD


def _summary(ws: Worksheet, c: ReportContent, names: dict[str, str]) -> None:
    ws.title = "概况 Summary"
    _put(ws, ["分析汇总报告 report to the level above"], bold=True)
    _put(ws, ["中心 center", c.center, c.center_name])
    _put(ws, ["上级 reported to", c.parent or "—"])
    _put(ws, ["期间 period", c.period.label, c.period.period_from.isoformat(),
              c.period.period_to.isoformat()])
    _put(ws, ["上期 previous", c.previous.label, c.previous.period_from.isoformat(),
              c.previous.period_to.isoformat()])
    _put(ws, ["生成 generated (Beijing)", _bj(c.generated_at)])
    ws.append([])
    _put(ws, ["代码 code", "指标 figure", "本期 current", "上期 previous", "变化 change"],
         bold=True)
    labels = {code: label for code, label, _, _ in ROWS}
    for t in c.trends:
        _put(ws, [t.figure, labels.get(t.figure, t.figure), t.current, t.previous, t.change],
             percent={3, 4, 5} if t.figure in RATES else None)
    for title, ranked, group in (
            ("投诉最多的单位 units with most complaints", c.units_most_complaints, GroupBy.UNIT),
            ("逾期环节最多的单位 units with most overdue stages", c.units_most_overdue,
             GroupBy.UNIT),
            ("投诉最多的类别 categories with most complaints", c.categories_most_complaints,
             GroupBy.CATEGORY),
            ("逾期环节最多的类别 categories with most overdue stages", c.categories_most_overdue,
             GroupBy.CATEGORY)):
        ws.append([])
        _put(ws, [title], bold=True)
        for r in ranked:
            _put(ws, [r.key, group_label(group, r.key, names), r.count])
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 44


def _groups(wb: Workbook, title: str, group: GroupBy, groups: list[StatsGroup],
            names: dict[str, str]) -> None:
    ws = wb.create_sheet(title)
    _put(ws, ["代码 key", "名称 name", *[h for h, _, _ in GROUP_COLUMNS]], bold=True)
    percent = {i + 3 for i, (_, _, rate) in enumerate(GROUP_COLUMNS) if rate}
    for g in groups:
        _put(ws, [g.key, group_label(group, g.key, names),
                  *[get(g.figures) for _, get, _ in GROUP_COLUMNS]], percent=percent)
    ws.column_dimensions["B"].width = 28


def _supervision(wb: Workbook, c: ReportContent) -> None:
    ws = wb.create_sheet("督办 Supervision")
    b = c.supervision
    _put(ws, ["督办台账 supervision board as of", _bj(b.as_of)], bold=True)
    _put(ws, ["在板 on the board", b.counts.total])
    _put(ws, ["红色 red (overdue)", b.counts.red])
    _put(ws, ["黄色 yellow (reminded)", b.counts.yellow])
    _put(ws, ["督办中 supervised", b.counts.supervised])
    _put(ws, ["在办 open cases", c.open.total])
    ws.append([])
    _put(ws, ["编号 number", "状态 status", "承办单位 unit", "级别 level", "督办原因 reasons",
              "逾期工作日 overdue working days"], bold=True)
    for item in b.data:
        _put(ws, [item.number, item.status, item.handling_unit or "", item.level.value,
                  ", ".join(r.code.value for r in item.reasons), item.overdue_working_days])
    if b.inspections is not None:
        p = b.inspections
        ws.append([])
        _put(ws, ["明查暗访 rounds this year", p.rounds, "expected by now", p.expected])
        if p.warning:
            _put(ws, [p.warning])


def _inspections(wb: Workbook, c: ReportContent, names: dict[str, str]) -> None:
    ws = wb.create_sheet("督查 Inspections")
    i = c.inspections
    _put(ws, ["本期督查轮次 rounds drawn", i.rounds])
    _put(ws, ["已结束 closed", i.rounds_closed])
    _put(ws, ["抽查单位 units drawn", i.units_drawn])
    _put(ws, ["督查发现 findings", i.findings])
    ws.append([])
    _put(ws, ["单位 unit", "名称 name", "发现 findings", "未办结 unresolved"], bold=True)
    for u in i.units_with_findings:
        _put(ws, [u.unit, names.get(u.unit, u.unit), u.findings, u.unresolved])


def _bj(t: datetime) -> str:
    return f"{t.astimezone(BEIJING):%Y-%m-%d %H:%M}"


def workbook(c: ReportContent, names: dict[str, str]) -> bytes:
    """The report as `.xlsx` bytes.

    Args:
        c: the report's content.
        names: unit code -> the register's name.
    """
    wb = Workbook()
    _summary(wb.active, c, names)
    for title, group, groups in (("按单位 By unit", GroupBy.UNIT, c.by_unit),
                                 ("按类别 By category", GroupBy.CATEGORY, c.by_category),
                                 ("按渠道 By channel", GroupBy.CHANNEL, c.by_channel),
                                 ("按月 By month", GroupBy.MONTH, c.by_month)):
        if groups or group != GroupBy.MONTH:
            _groups(wb, title, group, groups, names)
    _supervision(wb, c)
    _inspections(wb, c, names)
    wb.properties.title = f"{c.center} {c.period.label} 分析汇总"
    wb.properties.creator = "complaints"
    wb.properties.created = wb.properties.modified = c.generated_at.astimezone(BEIJING).replace(
        tzinfo=None)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
