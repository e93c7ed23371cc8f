"""What Temporal shows of a case: its search attributes (DESIGN.md, stable names) and the Web
UI's current details. Never a complainant's identity (R-33)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from domain.labels import both
    from domain.models import CaseState
    from workflows.complaint.options import _bj

# Search attributes (DESIGN.md, stable names; registered by every launcher).
SA_STATUS = SearchAttributeKey.for_keyword("ComplaintStatus")
SA_CATEGORY = SearchAttributeKey.for_keyword("ComplaintCategory")
SA_GRADE = SearchAttributeKey.for_keyword("ComplaintGrade")
SA_HANDLING_UNIT = SearchAttributeKey.for_keyword("HandlingUnit")
SA_RESPONDENT_UNIT = SearchAttributeKey.for_keyword("RespondentUnit")
SA_CHANNEL = SearchAttributeKey.for_keyword("ComplaintChannel")
SA_DUE_AT = SearchAttributeKey.for_datetime("DueAt")
SA_OVERDUE = SearchAttributeKey.for_bool("Overdue")
SA_SUPERVISED = SearchAttributeKey.for_bool("Supervised")
#: All of them, for the launchers that register them (make run, tests, benchmarks).
SEARCH_ATTRIBUTES = (
    SA_STATUS,
    SA_CATEGORY,
    SA_GRADE,
    SA_HANDLING_UNIT,
    SA_RESPONDENT_UNIT,
    SA_CHANNEL,
    SA_DUE_AT,
    SA_OVERDUE,
    SA_SUPERVISED,
)


def publish(s: CaseState, last_values: dict[str, Any]) -> dict[str, Any]:
    """Keep the search attributes and the Web UI's current details in step with the case;
    returns the values now published (upserts only what changed since `last_values`)."""
    due = s.next_due()
    values: dict[str, Any] = {
        "status": s.status.value,
        "category": s.category.value,
        "grade": s.grade.value,
        "unit": s.handling_unit,
        "respondent": s.respondent_unit,
        "channel": s.channel.value,
        "due": due,
        "overdue": s.overdue,
        "supervised": s.supervised,
    }
    if values != last_values:
        keys = {
            "status": SA_STATUS,
            "category": SA_CATEGORY,
            "grade": SA_GRADE,
            "unit": SA_HANDLING_UNIT,
            "respondent": SA_RESPONDENT_UNIT,
            "channel": SA_CHANNEL,
            "due": SA_DUE_AT,
            "overdue": SA_OVERDUE,
            "supervised": SA_SUPERVISED,
        }
        updates: list[SearchAttributeUpdate[Any]] = []
        for name, value in values.items():
            if last_values.get(name, object()) == value:
                continue
            key = keys[name]
            updates.append(key.value_unset() if value is None else key.value_set(value))
        workflow.upsert_search_attributes(updates)
    last = s.actions[-1] if s.actions else None
    marks = " ".join(m for m, on in (("⚠ 超期 OVERDUE", s.overdue), ("督办 SUPERVISED", s.supervised)) if on)
    workflow.set_current_details(
        f"**{s.number}** · {both(s.status)}"
        + (f" · {s.outcome.value}" if s.outcome else "")
        + (f" · {marks}" if marks else "")
        + f"\n\n下一期限 next due: {_bj(due)} (北京时间 Beijing)"
        + f"\n\n承办单位 handling unit: {s.handling_unit or '—'}"
        + (
            f"\n\n整改落实 rectification: {rect.unit} · {both(rect.state)}"
            + (" · 待验收后归档 archive waits for it" if rect.held_outcome else "")
            if (rect := s.open_rectification())
            else ""
        )
        + (
            f"\n\n最近操作 last action: {last.action} by {last.actor.id} ({last.actor.role.value})"
            f" at {_bj(last.at)}"
            if last
            else ""
        )
    )
    return values
