"""Audit tests run on the API's real stack: embedded PostgreSQL, a Temporal server, a real
worker with the real activities, and the app in-process (`tests/api/conftest.py`)."""

from __future__ import annotations

from tests.api.conftest import stack  # noqa: F401  (the fixture, for this folder's modules)
