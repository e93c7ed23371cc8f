"""The public disclosure page (效能投诉办理结果公开, R-47): server-rendered HTML, no scripts, no
external files; the labels of categories, findings and measures come from `domain.labels`."""

from __future__ import annotations

import html
from datetime import datetime

from api.disclosure.schemas import Disclosure, MonthFigures
from domain.labels import label
from domain.workdays import BEIJING

#: Nothing may be loaded from elsewhere, and nothing is sent anywhere.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")

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


def _count(n: int | None, minimum: int) -> str:
    return f"不足{minimum}件" if n is None else str(n)


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
            f"<tr><td>{e(m.month)}</td><td class=num>{_count(m.concluded, minimum)}</td>"
            f"<td class=num>{_pct(m.on_time_rate)}</td>"
            f"<td class=num>{_count(m.callbacks_answered, minimum)}</td>"
            f"<td class=num>{_pct(m.satisfaction_rate)}</td></tr>"
            for m in figs.get(code, [])
        ) or "<tr><td colspan=5 class=none>近期无办结投诉</td></tr>"
        items = "".join(
            f"<tr><td>{e(d.concluded_month)}</td><td>{e(label(d.category))}</td>"
            f"<td>{e(d.summary)}</td><td>{e(label(d.finding))}</td>"
            f"<td>{e('、'.join(label(m) for m in d.measures))}</td></tr>"
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
        "按时办结率、满意率按月统计，仅计经投诉人同意公开的案件；"
        f"当月办结或回访不足 {minimum} 件时，件数和比率均不公布。</p></header>"
        f"<main>{body}</main>"
        f"<footer>更新时间 {e(now.astimezone(BEIJING).strftime('%Y-%m-%d %H:%M'))}（北京时间）"
        "</footer></body></html>"
    )
