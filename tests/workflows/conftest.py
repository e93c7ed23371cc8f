"""Workflow tests get a time-skipping server each: time starts at today's instant for every
test, and no case of an earlier test can hold the clock."""

from __future__ import annotations

from tests.conftest import time_skipping_server

env = time_skipping_server("function")
