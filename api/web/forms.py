"""Forms generated from the API's own body models (`api/complaints/bodies.py`, which derive from
the ACTIONS and SIGNALS tables of `domain/actions.py`), the form data turned back into a body,
and every refusal turned into Chinese messages beside the field it concerns.

Nothing here decides what is allowed: the page offers `CaseService.view(...).allowed_actions`
and the action goes through `CaseService.act`, the same path as the REST API.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from api.errors import ApiError
from domain.labels import label

#: Chinese labels of the fields of the action and signal bodies and the intake record.
FIELD_LABELS: dict[str, str] = {
    "route": "受理方式", "note": "备注", "units": "参与单位（联合办理，逗号分隔）",
    "reason": "理由", "basis": "依据", "guidance": "告知投诉人去向", "to": "转送机关",
    "to_center": "转至投诉中心（代码，可空）", "handling_unit": "承办单位（代码）",
    "opinion": "拟办意见", "approved": "审批意见", "comment": "意见/说明",
    "finding": "查处结论", "measures": "处理措施", "remedy": "补救措施",
    "responsible": "责任人处理情况", "report": "处理报告", "days": "天数",
    "primary": "主件编号", "action": "督办处理方式", "message": "反馈内容（结果及理由）",
    "appeal_route": "申诉途径", "rating": "满意度", "kind": "调查方式", "party": "相关单位或专家",
    "to_parent": "向上级投诉中心申诉", "source": "督办来源",
}

#: Chinese headings of the API's error codes.
CODE_MESSAGES: dict[str, str] = {
    "forbidden": "您的角色无权办理此事项",
    "invalid_status": "案件当前状态不允许此操作",
    "invalid_state": "案件当前情况下不能办理此操作",
    "invalid_body": "填写内容不符合规定",
    "validation_error": "填写内容有误",
    "not_found": "未找到该投诉件",
    "case_opening": "案件正在建立，请稍后再办理",
    "action_failed": "工作流拒绝了此操作",
    "idempotency_conflict": "重复提交的内容与前次不同",
    "temporal_timeout": "系统未及时确认，操作可能已执行：请刷新页面查看后再决定是否重试",
    "temporal_unavailable": "流程服务暂时不可用，请稍后再试",
    "database_unavailable": "数据库暂时不可用，请稍后再试",
    "case_not_ready": "案件暂时无法读取，请稍后再试",
    "too_many_requests": "尝试次数过多，请稍后再试",
}

#: pydantic error types -> Chinese.
_PYDANTIC: dict[str, str] = {
    "missing": "必填",
    "string_too_short": "必填",
    "string_too_long": "内容过长（最多 {max_length} 字）",
    "enum": "请选择一个有效选项",
    "literal_error": "请选择一个有效选项",
    "int_parsing": "请填写整数",
    "int_type": "请填写整数",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "too_short": "至少选择 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "bool_parsing": "请选择是或否",
    "bool_type": "请选择是或否",
    "string_pattern_mismatch": "格式不正确",
    "extra_forbidden": "不应填写此项",
    "datetime_from_date_parsing": "请填写有效的日期时间",
    "datetime_parsing": "请填写有效的日期时间",
}


@dataclass
class Widget:
    """One field of a generated form."""

    name: str
    label: str
    kind: str  # select | checkboxes | yesno | checkbox | number | textarea | text
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    description: str = ""


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """`X | None` -> (X, True)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _constraint(info: Any, name: str) -> Any:
    for m in info.metadata:
        if hasattr(m, name):
            return getattr(m, name)
    return None


def widgets(model: type[BaseModel], *, skip: frozenset[str] = frozenset()) -> list[Widget]:
    """The form of a body model: one widget per field, its kind from the field's type."""
    out: list[Widget] = []
    for name, info in model.model_fields.items():
        if name in ("actor", *skip):
            continue
        ann, optional = _unwrap(info.annotation)
        required = info.is_required()
        w = Widget(name=name, label=FIELD_LABELS.get(name, name), kind="text", required=required,
                   description=info.description or "")
        if isinstance(ann, type) and issubclass(ann, StrEnum):
            w.kind = "select"
            w.options = [(m.value, label(m)) for m in ann]
        elif typing.get_origin(ann) is list:
            (item,) = typing.get_args(ann)
            if isinstance(item, type) and issubclass(item, StrEnum):
                w.kind = "checkboxes"
                w.options = [(m.value, label(m)) for m in item]
            else:
                w.kind = "list"
        elif ann is bool:
            w.kind = "yesno" if required else "checkbox"
        elif ann is int:
            w.kind = "number"
            w.minimum, w.maximum = _constraint(info, "ge"), _constraint(info, "le")
        else:
            w.max_length = _constraint(info, "max_length")
            w.kind = "textarea" if (w.max_length or 0) >= 2000 else "text"
        out.append(w)
    return out


def body_from_form(form: Any, ws: list[Widget]) -> dict[str, Any]:
    """The JSON body the API route would receive, from the form's fields (empty = absent)."""
    body: dict[str, Any] = {}
    for w in ws:
        if w.kind == "checkboxes":
            body[w.name] = [v for v in form.getlist(w.name) if isinstance(v, str)]
            continue
        raw = form.get(w.name)
        if w.kind == "checkbox":
            body[w.name] = raw in ("on", "true", "1")
            continue
        if not isinstance(raw, str):
            continue
        raw = raw.strip()
        if raw == "":
            if w.required and w.kind in ("text", "textarea"):
                body[w.name] = ""  # "必填" beside the field
            continue
        if w.kind == "yesno":
            body[w.name] = {"yes": True, "no": False}.get(raw, raw)
        elif w.kind == "number":
            body[w.name] = int(raw) if re.fullmatch(r"-?\d{1,9}", raw) else raw
        elif w.kind == "list":
            body[w.name] = [p for p in re.split(r"[\s,，、;；]+", raw) if p]
        else:
            body[w.name] = raw
    return body


def pydantic_errors(e: ValidationError) -> dict[str, str]:
    """field -> Chinese message."""
    out: dict[str, str] = {}
    for err in e.errors():
        loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
        name = ".".join(loc) or "_form"
        rule = re.match(r"^(?:Value error, )?([a-z_][a-z_.]*): (.*)$", str(err.get("msg", "")), re.S)
        if err.get("type") == "value_error" and rule:  # a model validator naming its field
            out.setdefault(rule.group(1) if name == "_form" else name,
                           f"填写内容不符合规定（{rule.group(2)}）")
            continue
        template = _PYDANTIC.get(err.get("type", ""))
        ctx = err.get("ctx") or {}
        if template is not None:
            try:
                msg = template.format(**ctx)
            except (KeyError, IndexError):
                msg = template
        else:
            msg = "填写有误：" + str(err.get("msg", ""))
        out.setdefault(name, msg)
    return out


def api_errors(e: ApiError, field_names: list[str]) -> dict[str, str]:
    """field (or `_form`) -> Chinese message for a refusal of the service (403/404/409/422/503).

    A rule's message names its field first (`units: ...`): it is shown beside that field."""
    heading = CODE_MESSAGES.get(e.code, "操作未完成")
    fields = e.extra.get("fields")
    out: dict[str, str] = {}
    if isinstance(fields, list):
        for f in fields:
            name = str(f.get("field", "_form")).removeprefix("body.")
            out.setdefault(name, f"{heading}：{f.get('message', '')}")
        if out:
            return out
    m = re.match(r"^([a-z_][a-z_.]*): (.*)$", e.message, re.S)
    if m and m.group(1) in field_names:
        return {m.group(1): f"{heading}（{m.group(2)}）"}
    detail = e.message
    if e.code == "invalid_status" and "status" in e.extra:
        detail = f"当前状态：{e.extra['status']}；{e.message}"
    return {"_form": f"{heading}（{detail}）"}
