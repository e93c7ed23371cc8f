"""The leaders' page (领导驾驶舱) as HTML: the figures of `GET /v1/stats` as charts, the head
of the supervision board, every label rendered here from `domain.labels` (the API sends codes).

Inline SVG and inline CSS: no JavaScript, nothing fetched from anywhere (the
Content-Security-Policy says so), readable in Chinese. Every bar carries its number in
`data-value`, so a test (or a curious leader) can check them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from enum import StrEnum

from api.auth import User
from api.stats.schemas import GroupBy, StatsOut
from api.stats.service import OFFICE_KEY, Period
from api.supervision.schemas import Board
from domain.labels import LEVELS, both, text
from domain.labels import label as zh
from domain.models import Category, Channel, DeadlineKind, Status
from domain.workdays import BEIJING

#: Nothing may be loaded from elsewhere: styles are inline, there is no script at all.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

LEVEL_COLORS = {"red": "#d93025", "yellow": "#f2b705", "green": "#34a853"}

e = html.escape


# ------------------------------------------------------------------ labels (codes -> people)

#: How the complaint office appears among the units (the group key `""`).
OFFICE_LABEL = "投诉中心自办 complaint office"


def status_label(status: str) -> str:
    """`已转办 referred`; the code itself if unknown."""
    try:
        return both(Status(status))
    except ValueError:
        return status


def group_label(group_by: GroupBy, key: str, names: dict[str, str]) -> str:
    """The name of a group of `GET /v1/stats` for people (the API sends only the key).

    Args:
        group_by: the grouping.
        key: the group key.
        names: unit code -> the register's name.
    """
    if group_by == GroupBy.UNIT:
        return OFFICE_LABEL if key == OFFICE_KEY else names.get(key, key)
    vocabulary: type[StrEnum] | None = {GroupBy.CATEGORY: Category,
                                        GroupBy.CHANNEL: Channel}.get(group_by)
    if vocabulary is not None:
        try:
            return zh(vocabulary(key))
        except ValueError:
            return key
    if group_by == GroupBy.MONTH:
        return f"{int(key[:4])}年{int(key[5:7])}月" if len(key) == 7 else key
    return key



# ------------------------------------------------------------------ numbers for people


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def num(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _attr(value: float | int | None) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


# ------------------------------------------------------------------ charts (inline SVG)


def bar_chart_vertical(chart: str, title: str, keys: Sequence[tuple[str, str]],
                       series: Sequence[tuple[str, str, str, Sequence[int]]]) -> str:
    """Grouped vertical bars: one group per key, one bar per series.

    Args:
        chart: `data-chart` name.
        title: chart title.
        keys: (key, label) per group.
        series: (name, label, colour, values) per series, values aligned with `keys`.
    """
    width, height, left, bottom, top = 720, 260, 40, 40, 16
    plot_h = height - bottom - top
    step = max(1, -(-max([0, *(v for s in series for v in s[3])]) // 4))  # whole numbers
    top_value = step * 4
    group_w = (width - left - 8) / max(len(keys), 1)
    bar_w = max(min(group_w * 0.8 / max(len(series), 1), 28), 2)
    parts = [f'<svg class="chart" data-chart="{chart}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{e(title)}" xmlns="http://www.w3.org/2000/svg">']
    for i in range(5):  # grid and scale
        y = top + plot_h * i / 4
        value = step * (4 - i)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
                     f'{value}</text>')
    for gi, (key, label) in enumerate(keys):
        x0 = left + gi * group_w + (group_w - bar_w * len(series)) / 2
        for si, (name, slabel, colour, values) in enumerate(series):
            v = values[gi]
            h = plot_h * v / top_value
            x, y = x0 + si * bar_w, top + plot_h - h
            parts.append(
                f'<rect class="bar" data-series="{e(name)}" data-key="{e(key)}" '
                f'data-value="{v}" x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{e(label)} {e(slabel)} {v}</title>'
                "</rect>")
        parts.append(f'<text x="{left + gi * group_w + group_w / 2:.1f}" y="{height - bottom + 16}" '
                     f'class="axis" text-anchor="middle">{e(label)}</text>')
    legend_x = left
    for _name, slabel, colour, _ in series:
        parts.append(f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" '
                     f'fill="{colour}"/><text x="{legend_x + 14}" y="{height - 5}" '
                     f'class="legend">{e(slabel)}</text>')
        legend_x += 14 + 14 * len(slabel) + 20
    parts.append("</svg>")
    return "".join(parts)


def bar_chart_rates(chart: str, title: str, rows: Sequence[tuple[str, str, float | None, str]],
                    colour: str) -> str:
    """Horizontal bars of rates (0..1), one row per key: (key, label, rate, note)."""
    width, row_h, left = 720, 26, 220
    height = max(len(rows), 1) * row_h + 10
    plot_w = width - left - 70
    parts = [f'<svg class="chart" data-chart="{chart}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{e(title)}" xmlns="http://www.w3.org/2000/svg">']
    if not rows:
        parts.append('<text x="10" y="20" class="axis">暂无数据 no data</text>')
    for i, (key, label, rate, note) in enumerate(rows):
        y = 5 + i * row_h
        w = plot_w * (rate or 0)
        parts.append(
            f'<text x="{left - 6}" y="{y + 16}" class="label" text-anchor="end">{e(label)}</text>'
            f'<rect class="track" x="{left}" y="{y + 4}" width="{plot_w}" height="16"/>'
            f'<rect class="bar" data-key="{e(key)}" data-value="{_attr(rate)}" x="{left}" '
            f'y="{y + 4}" width="{w:.1f}" height="16" fill="{colour}">'
            f'<title>{e(label)} {pct(rate)} {e(note)}</title></rect>'
            f'<text x="{left + plot_w + 6}" y="{y + 16}" class="value">{pct(rate)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_levels(chart: str, title: str, by_status: dict[str, dict[str, int]]) -> str:
    """Open cases: one horizontal bar per status, split red / yellow / green."""
    width, row_h, left = 720, 26, 220
    rows = list(by_status.items())
    height = max(len(rows), 1) * row_h + 30
    plot_w = width - left - 70
    most = max([1, *(sum(levels.values()) for _, levels in rows)])
    parts = [f'<svg class="chart" data-chart="{chart}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{e(title)}" xmlns="http://www.w3.org/2000/svg">']
    if not rows:
        parts.append('<text x="10" y="20" class="axis">暂无在办案件 no open cases</text>')
    for i, (status, levels) in enumerate(rows):
        y, x = 5 + i * row_h, float(left)
        parts.append(f'<text x="{left - 6}" y="{y + 16}" class="label" text-anchor="end">'
                     f'{e(status_label(status))}</text>')
        for level in ("red", "yellow", "green"):
            v = levels.get(level, 0)
            w = plot_w * v / most
            parts.append(
                f'<rect class="bar" data-status="{e(status)}" data-level="{level}" '
                f'data-value="{v}" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="16" '
                f'fill="{LEVEL_COLORS[level]}"><title>{e(status_label(status))} '
                f'{text(LEVELS, level, "zh")} {v}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}" class="value">'
                     f'{sum(levels.values())}</text>')
    legend_x, legend_y = left, height - 8
    for level in ("red", "yellow", "green"):
        parts.append(f'<rect x="{legend_x}" y="{legend_y - 9}" width="10" height="10" '
                     f'fill="{LEVEL_COLORS[level]}"/><text x="{legend_x + 14}" y="{legend_y}" '
                     f'class="legend">{text(LEVELS, level, "zh")}</text>')
        legend_x += 170
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------ the page

STYLE = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","PingFang SC",
"Microsoft YaHei",sans-serif;margin:0;background:#f4f6f9;color:#1f2933}
header{background:#8c1c13;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;font-size:13px;opacity:.9}
main{padding:16px 24px;max-width:1200px}
form.period{margin:0 0 14px;font-size:14px} form.period input{margin:0 6px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:10px}
.kpi{background:#fff;border-radius:6px;padding:10px 12px;box-shadow:0 1px 2px #0002}
.kpi .v{font-size:24px;font-weight:600} .kpi .k{font-size:12px;color:#52606d}
section{background:#fff;border-radius:6px;padding:12px 16px;margin:14px 0;
box-shadow:0 1px 2px #0002}
section h2{font-size:16px;margin:0 0 8px}
svg.chart{width:100%;max-width:720px;height:auto}
.grid{stroke:#e4e7eb} .axis,.legend,.label,.value{font-size:11px;fill:#3e4c59}
.track{fill:#f0f2f5}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}
table.board th,table.board td{text-align:left}
.red{color:#d93025;font-weight:600} .yellow{color:#b98900;font-weight:600}
.note{font-size:12px;color:#52606d}
"""


def _kpis(s: StatsOut) -> str:
    t = s.total
    tiles = [
        ("registered", "登记 registered", num(t.registered)),
        ("accepted", "受理 accepted", num(t.accepted)),
        ("concluded", "办结 concluded", num(t.concluded)),
        ("on_time", "按时办结率 on time", pct(t.on_time.all.rate)),
        ("on_time_overall", "总期限内办结 within limit", pct(t.on_time.stages["overall"].rate)),
        ("resolution", "问题解决率 resolved", pct(t.resolution.rate)),
        ("satisfaction", "满意率 satisfied", pct(t.satisfaction.rate)),
        ("handling_average", "平均办理工作日 avg days", num(t.handling_days.average)),
        ("handling_p90", "90%办理工作日 p90 days", num(t.handling_days.p90)),
        ("overdue_cases", "超期案件 overdue", num(t.overdue_cases)),
        ("extended_cases", "延期案件 extended", num(t.extended_cases)),
        ("late_replies", "被投诉单位逾期答复 late replies", num(t.respondent_replies.late)),
        ("open_red", "红色预警 red", num(s.open.by_level["red"])),
        ("open_yellow", "黄色预警 yellow", num(s.open.by_level["yellow"])),
    ]
    return '<div class="kpis">' + "".join(
        f'<div class="kpi" data-figure="{k}"><div class="v">{v}</div><div class="k">{e(label)}'
        "</div></div>" for k, label, v in tiles) + "</div>"


def _unit_table(s: StatsOut, names: dict[str, str]) -> str:
    rows = []
    for g in s.groups:
        f = g.figures
        name = group_label(s.group_by, g.key, names)
        rows.append(
            f'<tr data-key="{e(g.key)}"><td>{e(name)}</td><td>{f.registered}</td>'
            f"<td>{f.concluded}</td><td>{pct(f.on_time.all.rate)}</td>"
            + "".join(f"<td>{pct(f.on_time.stages[k].rate)}</td>" for k in ("handling", "overall"))
            + f"<td>{pct(f.resolution.rate)}</td><td>{pct(f.satisfaction.rate)}</td>"
            f"<td>{num(f.handling_days.average)}</td><td>{f.overdue_cases}</td></tr>")
    head = ("<tr><th>单位 unit</th><th>登记</th><th>办结</th><th>按时办结率</th>"
            f"<th>{e(both(DeadlineKind.HANDLING))}</th><th>{e(both(DeadlineKind.OVERALL))}</th>"
            "<th>解决率</th><th>满意率</th><th>平均工作日</th><th>超期</th></tr>")
    return f'<table class="units">{head}{"".join(rows)}</table>'


def _board_table(board: Board) -> str:
    if not board.data:
        return '<p class="note">没有超期或即将到期的督办案件 nothing overdue or due soon.</p>'
    rows = []
    for item in board.data:
        level = item.level.value
        mark = {"red": "红", "yellow": "黄"}.get(level, "—")
        reasons = "、".join(zh(r.code) for r in item.reasons) or "—"
        due = item.next_due.astimezone(BEIJING).strftime("%Y-%m-%d") if item.next_due else "—"
        rows.append(
            f'<tr data-number="{e(item.number)}"><td>{e(item.number)}</td>'
            f'<td class="{level}">{mark}</td><td>{e(status_label(item.status))}</td>'
            f"<td>{e(item.handling_unit or '自办')}</td><td>{e(reasons)}</td>"
            f"<td>{item.overdue_working_days}</td><td>{due}</td></tr>")
    return ('<table class="board"><tr><th>编号 number</th><th>预警</th><th>状态</th>'
            "<th>承办单位</th><th>督办原因</th><th>超期工作日</th><th>最近期限</th></tr>"
            + "".join(rows) + "</table>")


def _inspection_pace(board: Board) -> str:
    """R-40 for the center (issue 15): rounds this year against one per month ended, the units
    no round drew yet, and the warning when the center falls behind 12 rounds a year."""
    p = board.inspections
    if p is None:  # a unit's own view: the center's rounds are not its business
        return ""
    cls = "red" if p.behind else "note"
    text_ = (f"明查暗访 inspection rounds {p.year}：已抽查 {p.rounds} 轮，截至上月应 {p.expected} 轮，"
             f"全年不少于 12 轮；本年度尚未抽查的单位 {p.units_not_inspected}/{p.units}")
    warning = f"<br>⚠ {e(p.warning)}" if p.warning else ""
    return f'<p class="{cls}" id="inspection-pace">{e(text_)}{warning}</p>'


def render_page(user: User, period: Period, by_month: StatsOut, by_unit: StatsOut,
                board: Board, names: dict[str, str]) -> str:
    """The whole page; every number is taken from the two `StatsOut` and the board.

    Args:
        names: the register's unit names (`stats.service.unit_names`), for the unit groups.
    """
    months = [(g.key, group_label(GroupBy.MONTH, g.key, names)) for g in by_month.groups]
    trend = bar_chart_vertical(
        "trend", "月度趋势 trend by month", months,
        [("registered", "登记", "#1f77b4", [g.figures.registered for g in by_month.groups]),
         ("concluded", "办结", "#8c1c13", [g.figures.concluded for g in by_month.groups])],
    )
    on_time = bar_chart_rates(
        "on_time_by_unit", "各单位按时办结率", [
            (g.key, group_label(GroupBy.UNIT, g.key, names), g.figures.on_time.all.rate,
             f"{g.figures.on_time.all.count}/{g.figures.on_time.all.total}")
            for g in by_unit.groups], "#1f77b4")
    satisfaction = bar_chart_rates(
        "satisfaction_by_unit", "各单位满意率", [
            (g.key, group_label(GroupBy.UNIT, g.key, names), g.figures.satisfaction.rate,
             f"{g.figures.satisfaction.satisfied + g.figures.satisfaction.basically_satisfied}"
             f"/{g.figures.satisfaction.answered}")
            for g in by_unit.groups], "#34a853")
    levels = stacked_levels("open_by_status", "在办案件状态与预警", by_unit.open.by_status)
    scope = f"承办单位 {user.unit}" if user.unit else f"投诉中心 {user.center}"
    generated = by_unit.generated_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>效能投诉 · 领导驾驶舱</title><style>{STYLE}</style></head>
<body>
<header><h1>行政效能投诉 · 效能评估驾驶舱</h1>
<p>{e(scope)} · 统计期间 {period.first} 至 {period.last}（北京时间）· 生成于 {generated}
 · {e(user.id)}（{e(user.role.value)}）</p></header>
<main>
<form class="period" method="get" action="/dashboard">统计期间
<input type="date" name="from" value="{period.first}"> 至
<input type="date" name="to" value="{period.last}"><button type="submit">查询</button></form>
{_kpis(by_unit)}
<section><h2>月度趋势（登记与办结）Trend by month</h2>{trend}</section>
<section><h2>各单位按时办结率 On-time rate by unit</h2>{on_time}
<p class="note">按时办结率：期间内到期或办结的各环节期限中，按期办结的比例（R-36）。</p></section>
<section><h2>各单位满意率 Satisfaction by unit</h2>{satisfaction}
<p class="note">满意率：（满意 + 基本满意）÷ 已回访答复数（R-38）。</p></section>
<section><h2>在办案件状态与预警 Open cases by status and warning level</h2>{levels}</section>
<section><h2>督办台账 Supervision board（前 {len(board.data)} 件 / 共 {board.count} 件）</h2>
{_inspection_pace(board)}
{_board_table(board)}</section>
<section><h2>分单位指标 Figures by unit</h2>{_unit_table(by_unit, names)}
<p class="note">各项指标定义见 docs/figures.md 与 <code>GET /v1/stats</code> 的接口说明。</p></section>
<form method="post" action="/dashboard/logout"><button type="submit">退出 log out</button></form>
</main></body></html>"""


def login_page(message: str = "") -> str:
    note = f'<p class="red">{e(message)}</p>' if message else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>登录 · 效能投诉驾驶舱</title>
<style>{STYLE}</style></head><body>
<header><h1>行政效能投诉 · 效能评估驾驶舱</h1><p>请使用工作令牌登录 Sign in with your token</p>
</header><main><section>{note}
<form method="post" action="/dashboard/login">令牌 token
<input type="password" name="token" autocomplete="current-password" required>
<button type="submit">登录</button></form></section></main></body></html>"""
