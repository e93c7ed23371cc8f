"""Deadline policies as versioned data (RULES.md "Policies").

A case records the policy name and version it was registered under and keeps them for life, so
a policy is never edited in place: a change is a new version in `POLICIES`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain.models import DeadlineKind, LimitUnit


class Limit(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: int
    unit: LimitUnit


class Policy(BaseModel):
    """Every time limit of a case, by deadline kind, plus the extension cap (R-19)."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int
    description: str
    limits: dict[DeadlineKind, Limit]
    max_extension_days: int = 20
    remind: bool = True

    def limit(self, kind: DeadlineKind) -> Limit:
        return self.limits[kind]


WD = LimitUnit.WORKING_DAYS

DEFAULT_V1 = Policy(
    name="default",
    version=1,
    description="RULES.md default policy: 24h / 5wd / 2wd / 5wd / 30d(+20) / 5wd / 5wd; rectification 15wd",
    limits={
        DeadlineKind.ACKNOWLEDGEMENT: Limit(amount=24, unit=LimitUnit.HOURS),
        DeadlineKind.ACCEPTANCE: Limit(amount=5, unit=WD),
        DeadlineKind.OPINION: Limit(amount=2, unit=WD),
        DeadlineKind.HANDLING: Limit(amount=5, unit=WD),
        DeadlineKind.OVERALL: Limit(amount=30, unit=LimitUnit.DAYS),
        DeadlineKind.RETURN_WINDOW: Limit(amount=1, unit=WD),
        DeadlineKind.CALLBACK: Limit(amount=5, unit=WD),
        DeadlineKind.SUPERVISION: Limit(amount=5, unit=WD),
        # Added later for document requests; no earlier v1 case ever had this clock,
        # so adding it changes no running deadline.
        DeadlineKind.DOCUMENT_REPLY: Limit(amount=5, unit=WD),
        # Added with the rectification clock (issue 15, R-37): no earlier case ever ran it, so
        # adding it to v1 changes no running deadline. 15 working days to carry out measures.
        DeadlineKind.RECTIFICATION: Limit(amount=15, unit=WD),
    },
    max_extension_days=20,
)

M = LimitUnit.MINUTES

# Short limits for benchmarks and demos on the dev server (never for real cases).
BENCH_V1 = Policy(
    name="bench",
    version=1,
    description="Benchmark policy: every limit in minutes",
    limits={
        DeadlineKind.ACKNOWLEDGEMENT: Limit(amount=60, unit=M),
        DeadlineKind.ACCEPTANCE: Limit(amount=2, unit=M),
        DeadlineKind.OPINION: Limit(amount=2, unit=M),
        DeadlineKind.HANDLING: Limit(amount=2, unit=M),
        DeadlineKind.OVERALL: Limit(amount=10, unit=M),
        DeadlineKind.RETURN_WINDOW: Limit(amount=1, unit=M),
        DeadlineKind.CALLBACK: Limit(amount=2, unit=M),
        DeadlineKind.SUPERVISION: Limit(amount=2, unit=M),
        DeadlineKind.DOCUMENT_REPLY: Limit(amount=2, unit=M),
        DeadlineKind.RECTIFICATION: Limit(amount=2, unit=M),
    },
    remind=False,
)

POLICIES: dict[tuple[str, int], Policy] = {(p.name, p.version): p for p in (DEFAULT_V1, BENCH_V1)}


def latest(name: str) -> Policy:
    """The newest version of a policy, used for new cases."""
    versions = [p for (n, _), p in POLICIES.items() if n == name]
    if not versions:
        raise KeyError(f"unknown policy {name!r}; known: {sorted({n for n, _ in POLICIES})}")
    return max(versions, key=lambda p: p.version)


def get(name: str, version: int) -> Policy:
    try:
        return POLICIES[(name, version)]
    except KeyError:
        raise KeyError(f"unknown policy {name!r} version {version}") from None
