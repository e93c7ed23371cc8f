"""The timeline as it is sent: JSON, or the printable page of the case file (卷宗), whose
labels are rendered here from `domain/labels.py` (the JSON carries codes only)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from api.timeline.reader import bj_text
from api.timeline.schemas import CaseTimeline, TimelineItem, TimelineRun
from domain.labels import CHANGES, ENTRY_KINDS, EVENTS, both, label, text
from domain.models import Role, Status

IGNORED_PREFIX = "已忽略 ignored: "
REFUSED_PREFIX = "已拒绝 refused: "

#: Variants of a step's label that depend on what was decided.
DETAIL_LABELS: dict[tuple[str, str, Any], tuple[str, str]] = {
    ("approve-opinion", "approved", True): ("领导审批同意", "opinion approved"),
    ("approve-opinion", "approved", False): ("领导退回", "opinion sent back"),
    ("decide-extension", "approved", True): ("批准延期", "extension approved"),
    ("decide-extension", "approved", False): ("不予延期", "extension refused"),
    ("review-rectification", "accepted", True): ("整改验收通过", "rectification accepted"),
    ("review-rectification", "accepted", False): ("整改退回", "rectification sent back"),
}

#: A sender without a staff role: a signal sent from the CLI or the Web UI.
OPERATOR = ("运维", "operator")


def event_label(what: str, detail: dict[str, Any]) -> str:
    """The bilingual label of a step, refined by what was decided (approved or not, ...)."""
    if what == "overdue" and detail.get("escalated"):
        return text(EVENTS, "overdue-escalated")
    for (name, key, value), pair in DETAIL_LABELS.items():
        if name == what and detail.get(key) is value:
            return f"{pair[0]} {pair[1]}"
    return text(EVENTS, what)


def entry_label(item: TimelineItem) -> str:
    """What an entry is called on the page: `受理 accepted`, `已忽略 ignored: …`, …"""
    if item.ignored:
        return IGNORED_PREFIX + text(EVENTS, item.what)
    if item.what == "deadline-closed" and item.deadlines:
        return f"{text(EVENTS, 'deadline-closed')}: {both(item.deadlines[0].kind)}"
    return (REFUSED_PREFIX if item.refused else "") + event_label(item.what, item.detail)


def role_label(role: str) -> str:
    if role == "operator":
        return " ".join(OPERATOR)
    return both(Role(role)) if role in Role._value2member_map_ else role


def status_label(value: str | None) -> str | None:
    if value is None:
        return None
    return both(Status(value)) if value in Status._value2member_map_ else value


def change_label(change: str) -> str:
    return text(CHANGES, change)


TimelineFormat = Annotated[
    Literal["json", "html"],
    Query(description="json (default), or html: a printable page for the case file (卷宗)."),
]
Download = Annotated[
    bool,
    Query(description="true: sent as an attachment (`<number>-timeline.json` or `.html`)."),
]

#: OpenAPI description of the 200 answer: JSON or the printable page.
TIMELINE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The timeline (JSON), or with format=html the printable page.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
}


def timeline_response(t: CaseTimeline, fmt: str, download: bool) -> Response:
    """The timeline as JSON or as the printable page, inline or as an attachment.

    The JSON is written here, not by the route's `response_model` (`CaseTimeline`), so that
    what `ChainTimeline` adds (each entry's run, the runs) is not filtered out.
    """
    headers = {}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{t.number}-timeline.{fmt}"'
    if fmt == "html":
        return HTMLResponse(render_html(t), headers=headers)
    text = t.model_dump_json(indent=2) if download else t.model_dump_json()
    return Response(text, media_type="application/json", headers=headers)



_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
  sans-serif;margin:2em;color:#111;font-size:13px}
h1{font-size:20px;margin:0 0 .3em}h2{font-size:15px;margin:1.2em 0 .4em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:4px 6px;
  vertical-align:top;text-align:left}th{background:#eee}
.meta td:first-child{width:16em;background:#f6f6f6}
.ignored{color:#7a4b00;background:#fff7e6}.refused{color:#8b0000;background:#fdecec}
.timer,.clock{color:#555}.small{font-size:11px;color:#555}
ul{margin:0;padding-left:1.1em}code{font-size:11px;word-break:break-all}
@media print{body{margin:0}th{background:#ddd!important}tr{page-break-inside:avoid}
  .noprint{display:none}}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _value_text(v: Any) -> str:
    if isinstance(v, str):
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            return v
        return bj_text(t) if t.tzinfo else v
    return json.dumps(v, ensure_ascii=False)


def _detail_html(detail: dict[str, Any]) -> str:
    parts = []
    for k, v in detail.items():
        if v in (None, "", [], {}) or k == "deadlines":  # the clocks are under Effect
            continue
        parts.append(f"<li>{_e(k)}: {_e(_value_text(v))}</li>")
    return f"<ul>{''.join(parts)}</ul>" if parts else ""


def _effect_html(item: TimelineItem) -> str:
    parts: list[str] = []
    if item.status_before and item.status_after and item.status_before != item.status_after:
        before, after = status_label(item.status_before), status_label(item.status_after)
        parts.append(f"<li>状态 status: {_e(before)} → {_e(after)}</li>")
    for d in item.deadlines:
        text = f"{both(d.kind)}: {change_label(d.change)} {d.due_at_beijing}"
        if d.previous_due_at is not None:
            text += f" (原 was {bj_text(d.previous_due_at)})"
        if d.on_time is not None:
            text += " · 按时 on time" if d.on_time else " · 超期 late"
        if d.provisional:
            text += " · 暂定 provisional"
        parts.append(f"<li>{_e(text)}</li>")
    if item.reason:
        parts.append(f"<li>原因 reason: {_e(item.reason)}</li>")
    if item.pending:
        parts.append("<li>待处理 not yet applied</li>")
    return f"<ul>{''.join(parts)}</ul>" if parts else ""


def _rows(entries: Iterable[TimelineItem], multi_run: bool = False) -> str:
    rows = []
    for x in entries:
        css = "ignored" if x.ignored else "refused" if x.refused else x.kind
        unit = f" · {_e(x.unit)}" if x.unit else ""
        who = f"{_e(x.who)}<br><span class=small>{_e(role_label(x.role))}{unit}</span>"
        run = getattr(x, "run", None)
        where = f"#{x.event_id}" if x.event_id else ""
        if run is not None and multi_run:
            where = f"{where} · 运行 run {run}".lstrip(" ·")
        event = f"<br><span class=small>{_e(where)}</span>" if where else ""
        # The reason of an ignored signal or a refusal is shown under Effect, not twice.
        detail = {k: v for k, v in x.detail.items() if not (x.reason and k == "reason")}
        rows.append(
            f"<tr class={css}><td>{_e(bj_text(x.at, seconds=True))}{event}</td>"
            f"<td>{who}</td>"
            f"<td><b>{_e(entry_label(x))}</b><br><span class=small>{_e(x.what)} · "
            f"{_e(text(ENTRY_KINDS, x.kind))}</span>{_detail_html(detail)}</td>"
            f"<td>{_effect_html(x)}</td></tr>"
        )
    return "\n".join(rows)


def _runs_text(runs: list[TimelineRun], complete: bool) -> str:
    """`共 3 次运行 3 runs: 1 <run id> (120 events, continued as new); 2 ...`."""
    if not runs:
        return "1"
    parts = [
        f"{r.run} {r.run_id or '—'} ({r.history_events} events"
        + (f", {r.ended.replace('-', ' ')}" if r.ended else ", open")
        + ")"
        for r in runs
    ]
    head = f"共 {len(runs)} 次运行 {len(runs)} run{'s' if len(runs) != 1 else ''}"
    if not complete:
        head += " · 更早的运行已不可读 earlier runs could not be read"
    return f"{head}: " + "; ".join(parts)


def render_html(t: CaseTimeline) -> str:
    """A self-contained printable page of the timeline (no external assets), for the 卷宗."""
    runs: list[TimelineRun] = getattr(t, "runs", [])
    meta = [
        ("投诉编号 Number", t.number),
        ("类别 Category", f"{label(t.category)} ({t.category.value})"),
        ("等级 Grade", t.grade.value),
        ("被投诉单位 Respondent unit", t.respondent_unit),
        ("承办单位 Handling unit", t.handling_unit or "—"),
        ("状态 Status", both(t.status) + (f" · {t.outcome.value}" if t.outcome else "")),
        (
            "来源 Source",
            "Temporal 工作流历史 workflow history"
            if t.source == "temporal"
            else "归档中的工作流历史 history stored in the archive",
        ),
        ("工作流 Workflow", f"{t.workflow_id} / {t.run_id or '—'} · {t.history_events} events"),
        ("运行 Runs", _runs_text(runs, getattr(t, "runs_complete", True))),
        ("开始 Started", bj_text(t.started_at, seconds=True)),
        ("结束 Closed", bj_text(t.closed_at, seconds=True)),
    ]
    if t.archive is not None:
        meta.append(("归档哈希 Archive SHA-256", t.archive.sha256))
        meta.append(("前一归档 Previous archive", t.archive.prev_sha256 or "—"))
    meta_rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in meta)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{_e(t.number)} 办理过程 Case timeline</title><style>{_CSS}</style></head>
<body>
<h1>投诉办理过程记录 Case timeline — {_e(t.number)}</h1>
<p class=small>时间均为北京时间 All times are Beijing time (UTC+8). 生成于 Generated
{_e(bj_text(t.generated_at, seconds=True))}. #n = Temporal 历史事件编号 history event id
(<code>temporal workflow show --workflow-id {_e(t.workflow_id)}</code>; of the run shown as
"运行 run n" when the case continued as new).</p>
<table class=meta>{meta_rows}</table>
<h2>过程 Timeline ({len(t.entries)})</h2>
<table>
<thead><tr><th style="width:11em">时间 When</th><th style="width:12em">操作人 Who</th>
<th>事项 What</th><th style="width:30%">结果 Effect</th></tr></thead>
<tbody>
{_rows(t.entries, len(runs) > 1)}
</tbody></table>
<p class=small>本页由工作流历史生成，不含投诉人个人信息。 Built from the workflow history;
it holds no complainant identity (R-32, R-33).</p>
</body></html>
"""
