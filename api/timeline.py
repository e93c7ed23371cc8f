"""The case's readable timeline: who did what, when (Beijing time), with what effect.

For now it is built from the state's `actions` and `ignored_signals`; it is kept here, alone,
so that it can later be rebuilt from the workflow history (`handle.fetch_history()`) without
touching the route.
"""

from __future__ import annotations

from datetime import datetime

from api.schemas import BEIJING, Timeline, TimelineEntry
from domain.models import CaseState


def _bj(t: datetime) -> datetime:
    return t.astimezone(BEIJING)


def build_timeline(state: CaseState) -> Timeline:
    """Every recorded action and every ignored signal of the case, oldest first."""
    entries = [
        TimelineEntry(
            seq=a.seq, at=_bj(a.at), at_beijing=f"{_bj(a.at):%Y-%m-%d %H:%M}",
            who=a.actor.id, role=a.actor.role.value, unit=a.actor.unit, what=a.action,
            status_before=a.status_before.value, status_after=a.status_after.value,
            detail=a.detail,
        )
        for a in state.actions
    ]
    entries += [
        TimelineEntry(
            seq=None, at=_bj(s.at), at_beijing=f"{_bj(s.at):%Y-%m-%d %H:%M}",
            who="—", role="signal", what=s.signal, detail={"reason": s.reason}, ignored=True,
        )
        for s in state.ignored_signals
    ]
    entries.sort(key=lambda e: (e.at, e.seq if e.seq is not None else 1 << 30))
    return Timeline(number=state.number, status=state.status, entries=entries)
