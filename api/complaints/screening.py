"""Personal data in what staff and complainants write with an action (R-32, R-33): staff text
carrying personal data is refused with 422 naming the field and the kind (never the value); the
complainant's own words are kept whole in PostgreSQL and sent on redacted
(`domain.personal_data`, run off the event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import asyncpg

from api.complaints import queries as q
from api.errors import validation_error
from domain import personal_data as pd
from domain.models import Action

T = TypeVar("T")

#: The complainant's own words (R-27, R-28), whoever enters them (the complainant on the public
#: page, a handler at the callback): kept whole in PostgreSQL (`complainant_texts`), sent to the
#: workflow and shown to units redacted. Every other text of an action or signal is staff text:
#: refused (422) when it carries personal data (`domain.personal_data`).
COMPLAINANT_TEXTS: dict[Action, tuple[str, ...]] = {
    Action.APPEAL: ("reason",),
    Action.RECORD_SATISFACTION: ("comment",),
}


async def identity(pool: asyncpg.Pool, number: str) -> pd.Identity:
    """The complainant's and agent's own data of the case, for the guard (not logged: they
    are only compared, never shown)."""
    return pd.Identity.of(await q.read_identity(pool, number))


async def refuse_personal_data(pool: asyncpg.Pool, number: str, texts: Mapping[str, str]) -> None:
    """422 naming each field of staff text that carries personal data, and what kind
    (never the value); nothing is applied (R-32, R-33)."""
    if not texts:
        return
    problems = await _off_loop(pd.problems, texts, await identity(pool, number))
    if problems:
        raise validation_error(problems)


async def screen(
    pool: asyncpg.Pool, action: Action, number: str, body: Mapping[str, Any], data: dict[str, Any]
) -> dict[str, str]:
    """Before an action's Update: staff text with personal data is refused (422); the
    complainant's own words (`COMPLAINANT_TEXTS`) are redacted in `data` (in place).
    Returns those words as given, to be kept in PostgreSQL."""
    own = {f for f in COMPLAINANT_TEXTS.get(action, ()) if isinstance(data.get(f), str)}
    texts = pd.text_fields({k: v for k, v in body.items() if k not in own})
    if not texts and not any(data[f] for f in own):
        return {}
    who = await identity(pool, number)
    problems = await _off_loop(pd.problems, texts, who)
    if problems:
        raise validation_error(problems)
    kept: dict[str, str] = {}
    for f in own:
        if data[f]:
            kept[f], data[f] = data[f], await _off_loop(pd.redact, data[f], who)
    return kept


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run the guard (pure Python, up to ~0.1 s on 8,000 characters stuffed with numbers) in a
    thread, so that the event loop keeps answering other requests."""
    return await asyncio.to_thread(fn, *args)
