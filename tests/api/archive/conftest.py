"""The archive's tests play the DBA: a superuser's connection to the stack's database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

import db
from tests.fixtures_pg import database_url_for
from tests.stack import Stack


@pytest_asyncio.fixture(loop_scope="session")
async def dba(stack: Stack, pg_admin_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A superuser's connection to the stack's database (JSON codec registered): the app's own
    role cannot disable a trigger or rewrite an archive (issue 13), a DBA can."""
    name = await stack.pool.fetchval("SELECT current_database()")
    conn = await asyncpg.connect(database_url_for(pg_admin_url, name))
    await db.init_connection(conn)
    try:
        yield conn
    finally:
        await conn.close()
