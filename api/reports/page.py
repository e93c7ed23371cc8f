"""A report as a printable HTML page (A4, print styles, no script, nothing fetched): the same
content as the JSON and the workbook, labelled in Chinese and English from the figure rows of
`workbook.py` and `domain.labels`. Every figure cell carries its number in `data-value`."""

from __future__ import annotations

import html
from typing import Any

from api.dashboard.page import group_label, num, pct
from api.reports.schemas import Ranked, ReportDetail
from api.reports.workbook import GROUP_COLUMNS, RATES, ROWS
from api.stats.schemas import GroupBy, StatsGroup
from domain.workdays import BEIJING

#: Inline styles only, no script, no outside resource.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

e = html.escape

STYLE = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; font-size: 11pt;
       color: #111; max-width: 190mm; margin: 0 auto; }
h1 { font-size: 16pt; margin: 0 0 4pt; } h2 { font-size: 12.5pt; margin: 14pt 0 4pt;
  border-bottom: 1px solid #999; } table { border-collapse: collapse; width: 100%;
  margin: 4pt 0; page-break-inside: auto; } tr { page-break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 2pt 4pt; text-align: left; font-size: 9.5pt; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #444; font-size: 9.5pt; } .warn { color: #b00; }
@media print { a { color: inherit; text-decoration: none; } }
"""


def _cell(value: Any, rate: bool) -> str:
    shown = pct(value) if rate else num(value)
    return f'<td class="n" data-value="{e("" if value is None else str(value))}">{shown}</td>'


def _trends(d: ReportDetail) -> str:
    labels = {code: label for code, label, _, _ in ROWS}
    rows = "".join(
        f"<tr data-figure=\"{e(t.figure)}\"><td>{e(labels.get(t.figure, t.figure))}</td>"
        f"{_cell(t.current, t.figure in RATES)}{_cell(t.previous, t.figure in RATES)}"
        f"{_cell(t.change, t.figure in RATES)}</tr>"
        for t in d.content.trends)
    return ("<table><tr><th>指标 figure</th><th>本期 current</th><th>上期 previous "
            f"({e(d.content.previous.label)})</th><th>变化 change</th></tr>{rows}</table>")


def _groups(title: str, group: GroupBy, groups: list[StatsGroup], names: dict[str, str]) -> str:
    if not groups:
        return ""
    head = "".join(f"<th>{e(h)}</th>" for h, _, _ in GROUP_COLUMNS)
    rows = "".join(
        f"<tr data-key=\"{e(g.key)}\"><td>{e(group_label(group, g.key, names))}</td>"
        + "".join(_cell(get(g.figures), rate) for _, get, rate in GROUP_COLUMNS) + "</tr>"
        for g in groups)
    return f"<h2>{e(title)}</h2><table><tr><th>名称 name</th>{head}</tr>{rows}</table>"


def _ranked(title: str, group: GroupBy, ranked: list[Ranked], names: dict[str, str]) -> str:
    items = "".join(f"<li>{e(group_label(group, r.key, names))}: {r.count}</li>" for r in ranked)
    return f"<h3>{e(title)}</h3><ol>{items or '<li>—</li>'}</ol>"


def render(d: ReportDetail, names: dict[str, str]) -> str:
    """The whole page."""
    c = d.content
    b, i = c.supervision, c.inspections
    board = "".join(
        f"<tr><td>{e(x.number)}</td><td>{e(x.status)}</td><td>{e(x.handling_unit or '')}</td>"
        f"<td>{e(x.level.value)}</td><td>{e(', '.join(r.code.value for r in x.reasons))}</td>"
        f"{_cell(x.overdue_working_days, False)}</tr>" for x in b.data)
    findings = "".join(
        f"<tr><td>{e(names.get(u.unit, u.unit))}</td>{_cell(u.findings, False)}"
        f"{_cell(u.unresolved, False)}</tr>" for u in i.units_with_findings)
    pace = b.inspections
    warning = f'<p class="warn">{e(pace.warning)}</p>' if pace and pace.warning else ""
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{e(c.center_name)} {e(c.period.label)} 分析汇总</title><style>{STYLE}</style></head>
<body>
<h1>{e(c.center_name)} 投诉举报情况分析汇总 · {e(c.period.label)}</h1>
<p class="meta">中心 center {e(c.center)} · 报送 reported to {e(c.parent or '—')} ·
期间 period {c.period.period_from} – {c.period.period_to} ·
生成 generated {c.generated_at.astimezone(BEIJING):%Y-%m-%d %H:%M} ·
报告 report #{d.id} · SHA-256 <code>{e(d.sha256)}</code></p>
<h2>概况与趋势 figures and trends (R-36..R-39)</h2>{_trends(d)}
<h2>排名 rankings</h2>
{_ranked("投诉最多的单位 units with most complaints", GroupBy.UNIT, c.units_most_complaints, names)}
{_ranked("逾期环节最多的单位 units with most overdue stages", GroupBy.UNIT,
         c.units_most_overdue, names)}
{_ranked("投诉最多的类别 categories with most complaints", GroupBy.CATEGORY,
         c.categories_most_complaints, names)}
{_ranked("逾期环节最多的类别 categories with most overdue stages", GroupBy.CATEGORY,
         c.categories_most_overdue, names)}
{_groups("按单位 by unit", GroupBy.UNIT, c.by_unit, names)}
{_groups("按类别 by category", GroupBy.CATEGORY, c.by_category, names)}
{_groups("按渠道 by channel", GroupBy.CHANNEL, c.by_channel, names)}
{_groups("按月 by month", GroupBy.MONTH, c.by_month, names)}
<h2>督办 open supervisions (R-29, R-30)</h2>
<p>在板 on the board {b.counts.total} · 红 red {b.counts.red} · 黄 yellow {b.counts.yellow} ·
督办中 supervised {b.counts.supervised} · 在办 open cases {c.open.total}</p>
<table><tr><th>编号 number</th><th>状态 status</th><th>承办单位 unit</th><th>级别 level</th>
<th>原因 reasons</th><th>逾期工作日 overdue working days</th></tr>{board}</table>
<h2>明查暗访 inspections (R-40)</h2>
<p>轮次 rounds {i.rounds} (已结束 closed {i.rounds_closed}) · 抽查单位 units drawn
{i.units_drawn} · 发现 findings {i.findings}</p>{warning}
<table><tr><th>单位 unit</th><th>发现 findings</th><th>未办结 unresolved</th></tr>{findings}</table>
</body></html>"""
