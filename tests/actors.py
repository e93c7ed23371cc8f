"""The people (and the system) the tests act as, on the Temporal side: one definition each."""

from __future__ import annotations

from domain.models import Actor, Role

HANDLER = Actor(id="handler-01", role=Role.HANDLER)
LEADER = Actor(id="leader-01", role=Role.LEADER)
SUPERVISOR = Actor(id="supervisor-01", role=Role.SUPERVISOR)
TAX = Actor(id="tax-01", role=Role.UNIT, unit="tax-bureau")
HOUSING = Actor(id="housing-01", role=Role.UNIT, unit="housing-bureau")
COMPLAINANT = Actor(id="complainant", role=Role.COMPLAINANT)
INTAKE = Actor(id="intake-01", role=Role.INTAKE)
SYSTEM = Actor(id="system", role=Role.SYSTEM)
