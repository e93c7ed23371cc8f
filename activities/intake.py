"""Starting a complaint's workflow from its PostgreSQL row, in one place.

The API tries the start once while it answers an intake (api/cases.py); the reconciler
(activities/reconciler.py) retries it until it happens. Both build the start input here from the
same row columns (`START_COLUMNS`), so a case started late runs exactly as one started at once:
same workflow id (the number), same `ComplaintInput`, including `registered_at`, the instant
the registration became durable in PostgreSQL, from which the acceptance clock counts (R-10).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.labels import label
from domain.models import Actor, Category, ComplaintInput, Role

#: The `complaints` columns a workflow start needs (jsonb as text, see api/repo.py).
START_COLUMNS = """
    number, center, complainant_ref, channel, form, category, grade, respondent_unit,
    respondent_unit_name, summary, received_at, registered_at, policy, policy_version,
    workflow_started, origin_case, registered_by::text AS registered_by
"""

#: Who registered a row that does not say (rows from before migration 0006, forwarded copies).
UNKNOWN_REGISTRAR = Actor(id="intake-reconciler", role=Role.SYSTEM)


def stored_registrar(row: Mapping[str, Any]) -> Actor:
    """The `registered_by` column of the row (an Actor as JSON text), or `UNKNOWN_REGISTRAR`."""
    raw = row.get("registered_by")
    if not raw:
        return UNKNOWN_REGISTRAR
    return Actor.model_validate(json.loads(raw) if isinstance(raw, str) else raw)


def complaint_input(row: Mapping[str, Any], registered_by: Actor | None = None) -> ComplaintInput:
    """The start input of the row's workflow (non-personal by construction, R-33)."""
    return ComplaintInput(
        number=row["number"], complainant_ref=row["complainant_ref"], channel=row["channel"],
        form=row["form"], category=row["category"], grade=row["grade"],
        respondent_unit=row["respondent_unit"],
        respondent_unit_name=row["respondent_unit_name"], summary=row["summary"],
        received_at=row["received_at"], registered_at=row["registered_at"],
        registered_by=registered_by or stored_registrar(row), policy=row["policy"],
        policy_version=row["policy_version"], center=row["center"],
        origin_case=row["origin_case"],
    )


def web_ui_texts(inp: ComplaintInput) -> tuple[str, str]:
    """The summary and details Temporal's Web UI shows: never a name, phone, address or the
    facts (R-33)."""
    category = Category(inp.category)
    summary = f"{inp.number} · {label(category)} · {inp.respondent_unit}"
    details = (
        f"**{inp.number}**\n\n类别 category: {label(category)} ({category.value})"
        f"\n\n等级 grade: {inp.grade.value} · 渠道 channel: {inp.channel.value}"
        f" · 形式 form: {inp.form.value}"
        f"\n\n被投诉单位 respondent: {inp.respondent_unit_name} ({inp.respondent_unit})"
    )
    return summary, details


async def start_complaint(
    client: Client, row: Mapping[str, Any], *, task_queue: str, rpc_timeout: timedelta,
    registered_by: Actor | None = None,
) -> bool:
    """Start the row's workflow (id = number). True when it runs for this row, whether this
    call started it or an earlier try did; False when the number is taken by a workflow of
    another complainant row (a number sequence set back). Temporal errors propagate."""
    inp = complaint_input(row, registered_by)
    summary, details = web_ui_texts(inp)
    try:
        await client.start_workflow(
            "ComplaintWorkflow", inp, id=inp.number, task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=summary, static_details=details, rpc_timeout=rpc_timeout,
        )
    except WorkflowAlreadyStartedError:
        # An earlier try got through before failing, or the number belongs to another case:
        # only the start input can tell.
        return await started_with(client, inp.number, inp.complainant_ref, rpc_timeout)
    return True


async def started_with(
    client: Client, number: str, complainant_ref: str, rpc_timeout: timedelta
) -> bool:
    """Whether workflow `number` was started for this complainant row."""
    handle = client.get_workflow_handle(number)
    async for event in handle.fetch_history_events(rpc_timeout=rpc_timeout):
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [inp] = await client.data_converter.decode(payloads, [ComplaintInput])
        return bool(inp.complainant_ref == complainant_ref)
    return False
