"""PostgreSQL for every process: the pool and the migrations (the embedded server, the
databases and the two roles: db_server.py).

`create_pool(settings)` is the one way in: it uses `settings.database_url` or, when that is empty,
starts (or attaches to) the embedded PostgreSQL under `settings.data_dir / "pg"`; it opens an
asyncpg pool whose connections map `json`/`jsonb` to Python objects, and applies the migrations.

Least privilege (issue 13): two roles. The *owner* role (`settings.migrate_database_url`; the
embedded server's `complaints_owner`) owns the schema and runs the migrations; after every
migration run it grants the *app* role (the user of `settings.database_url`; embedded:
`complaints_app`) SELECT, INSERT, UPDATE and DELETE on the tables — but only SELECT and INSERT on
the append-only tables (`APPEND_ONLY`: the archive, the access log, the seals, the
complainant's own words). The app role owns
nothing, so it cannot ALTER a table, disable a trigger or TRUNCATE. A pool opened with the app
role alone applies nothing: it checks that the schema is up to date (migrating is the owner's).

CLI:
    python -m db migrate   apply `migrations/NNNN_*.sql` not yet applied (as the owner role,
                           `migrate_database_url`), grant the app role, print what ran
    python -m db url       print the database URL (starting the embedded server if needed and
                           leaving it running after the command exits)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from config import ROOT, Settings, get_settings
from db_server import embedded_owner_url, embedded_url, quote_ident, user_of

log = logging.getLogger("complaints.db")

MIGRATIONS_DIR = ROOT / "migrations"
#: Key of the advisory lock that serializes migration runners ("complain" in ASCII).
MIGRATION_LOCK_KEY = 0x636F6D706C61696E
_MIGRATION_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.sql$")

CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""
TAKE_MIGRATION_LOCK = "SELECT pg_advisory_xact_lock($1)"
SELECT_APPLIED = "SELECT version FROM schema_migrations"
IS_APPLIED = "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)"
RECORD_MIGRATION = "INSERT INTO schema_migrations (version) VALUES ($1)"
SCHEMA_MIGRATIONS_EXISTS = "SELECT to_regclass('schema_migrations') IS NOT NULL"

#: Tables the app may only read and append to (R-35 archive, access log, seals of the chain,
#: the centers' reports to the level above).
APPEND_ONLY = ("archives", "access_log", "archive_seals", "complainant_texts", "center_reports")

_T = TypeVar("_T")

#: A connection of its own or one borrowed from a pool (`async with pool.acquire() as conn`).
Connection = asyncpg.Connection | PoolConnectionProxy


# ------------------------------------------------------------------ JSON codec


def _scrub(value: Any) -> Any:
    """U+0000 cannot be stored in jsonb: replace it, so a projection can never be refused."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def json_dumps(value: Any) -> str:
    """Encode a Python object for a `json`/`jsonb` parameter (UTF-8 text, not `\\u` escapes)."""
    return json.dumps(_scrub(value), ensure_ascii=False)


async def init_connection(conn: Connection) -> None:
    """Map `json` and `jsonb` to Python objects on this connection (both ways).

    Args:
        conn: a fresh connection (used as the pool's `init`).
    """
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=json_dumps, decoder=json.loads, schema="pg_catalog"
        )


# ------------------------------------------------------------------ pool


async def database_url(settings: Settings) -> str:
    """`settings.database_url`, or the embedded server's URL (started in a thread if needed)."""
    if settings.database_url:
        return settings.database_url
    return await asyncio.to_thread(embedded_url, settings.data_dir)


async def migrate_url(settings: Settings) -> str:
    """The URL migrations run with: `settings.migrate_database_url`; the embedded owner role's
    when no database is configured; else `settings.database_url` (one role for everything)."""
    if settings.migrate_database_url:
        return settings.migrate_database_url
    if not settings.database_url:
        return await asyncio.to_thread(embedded_owner_url, settings.data_dir)
    return settings.database_url


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release, instead of asyncpg's `RESET ALL; UNLISTEN *; CLOSE ALL;
    SELECT pg_advisory_unlock_all()` (one more round trip for every acquire). Before calling
    it asyncpg still rolls back a transaction left open; nothing else outlives one here: the
    code sets settings with `SET LOCAL` only, takes transaction-scoped advisory locks only,
    never LISTENs and declares no cursor WITH HOLD (tests/test_db.py checks the sources)."""


async def open_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """An asyncpg pool whose connections decode `json`/`jsonb` to Python objects.

    Args:
        url: the database URL.
        min_size: connections opened at once.
        max_size: the most connections this pool opens.
    """
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=init_connection, reset=keep_session
    )
    assert pool is not None
    return pool


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """The process's pool: database chosen by `settings`, JSON codec registered, migrated.

    The migrations run as the owner role (`migrate_url`) on a connection of their own, then the
    pool opens as the app role; with one role for both, through the pool as before.

    Args:
        settings: uses `database_url` (empty = embedded under `data_dir / "pg"`),
            `migrate_database_url`, `db_pool_min` and `db_pool_max`.
    """
    url = await database_url(settings)
    owner_url = await migrate_url(settings)
    applied: list[str] = []
    if owner_url != url:
        conn = await asyncpg.connect(owner_url)
        try:
            applied = await migrate(conn, app_role=user_of(url))
        finally:
            await conn.close()
    pool = await open_pool(url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    try:
        if owner_url == url:
            applied = await migrate(pool)
    except BaseException:
        await pool.close()
        raise
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    return pool


# ------------------------------------------------------------------ migrations


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[str, Path]]:
    """The migrations in order, as `(version, path)`; the version is the file name's stem.

    Raises:
        ValueError: two files share a number.
    """
    found: dict[str, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise ValueError(f"migration file name not NNNN_name.sql: {path.name}")
        if match.group(1) in found:
            raise ValueError(f"two migrations numbered {match.group(1)}: "
                             f"{found[match.group(1)].name}, {path.name}")
        found[match.group(1)] = path
    return [(path.stem, path) for _, path in sorted(found.items())]


async def migrate(
    conn_or_pool: Connection | asyncpg.Pool,
    *,
    directory: Path = MIGRATIONS_DIR,
    app_role: str | None = None,
) -> list[str]:
    """Apply the migrations not yet recorded in `schema_migrations`, each in its own transaction.

    Idempotent, and safe when several processes start at once: every transaction first takes
    the same advisory lock, then checks whether its migration is still to be applied. An
    up-to-date schema needs no privilege beyond reading `schema_migrations`, so the app role may
    call this too; it fails on a pending migration (the owner must run `python -m db migrate`).

    Args:
        conn_or_pool: a connection, or a pool to borrow one from.
        directory: where the `NNNN_name.sql` files are.
        app_role: the role the application connects as; when it is not the connected role, it
            is granted what it needs (`grant_app`) after the migrations, every time.

    Returns:
        The versions applied by this call, in order (empty when the schema was up to date).
    """
    if isinstance(conn_or_pool, asyncpg.Pool):
        async with conn_or_pool.acquire() as borrowed:
            return await migrate(borrowed, directory=directory, app_role=app_role)
    conn = conn_or_pool
    files = migration_files(directory)
    async with conn.transaction():
        await conn.execute(TAKE_MIGRATION_LOCK, MIGRATION_LOCK_KEY)
        if not await conn.fetchval(SCHEMA_MIGRATIONS_EXISTS):
            await conn.execute(CREATE_SCHEMA_MIGRATIONS)
        done = {r["version"] for r in await conn.fetch(SELECT_APPLIED)}
    applied: list[str] = []
    for version, path in files:
        if version not in done and await _apply(conn, version, path):
            applied.append(version)
    if app_role and app_role != await conn.fetchval("SELECT current_user"):
        await grant_app(conn, app_role)
    return applied


async def grant_app(conn: Connection, app_role: str) -> None:
    """Give the app role what it needs and no more (idempotent; run by the owner).

    Every table of the public schema: SELECT, INSERT, UPDATE, DELETE — but the append-only ones
    (`APPEND_ONLY`) only SELECT and INSERT; never TRUNCATE, REFERENCES or TRIGGER. Sequences:
    USAGE and SELECT (and UPDATE, i.e. `setval`, except the append-only tables' own). The
    app owns nothing, so ALTER TABLE (and so DISABLE TRIGGER) and DROP are refused to it.
    """
    role = quote_ident(app_role)
    append_only = [t for t in APPEND_ONLY if await conn.fetchval("SELECT to_regclass($1)", t)]
    async with conn.transaction():
        await conn.execute(TAKE_MIGRATION_LOCK, MIGRATION_LOCK_KEY)
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        await conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        await conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
        )
        await conn.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}")
        await conn.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}")
        # The migrations' own record is the owner's: the app reads it (is the schema current?).
        await conn.execute(f"REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM {role}")
        for table in append_only:
            await conn.execute(f"REVOKE UPDATE, DELETE ON {quote_ident(table)} FROM {role}")
            seq = await conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
            if seq:
                await conn.execute(f"REVOKE UPDATE ON SEQUENCE {seq} FROM {role}")


async def _apply(conn: Connection, version: str, path: Path) -> bool:
    """Apply one migration under the lock unless another process just did; True if applied."""
    async with conn.transaction():
        await conn.execute(TAKE_MIGRATION_LOCK, MIGRATION_LOCK_KEY)
        if await conn.fetchval(IS_APPLIED, version):
            return False
        await conn.execute(path.read_text(encoding="utf-8"))
        await conn.execute(RECORD_MIGRATION, version)
    log.info("migration %s applied", version)
    return True


# ------------------------------------------------------------------ CLI


async def _cli_migrate(settings: Settings) -> list[str]:
    app_url = await database_url(settings)
    conn = await asyncpg.connect(await migrate_url(settings))
    try:
        return await migrate(conn, app_role=user_of(app_url))
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m db migrate|url`."""
    parser = argparse.ArgumentParser(prog="python -m db", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["migrate", "url"])
    args = parser.parse_args(argv)
    import logs  # JSON lines (logs.py), as every process of the stack writes them

    logs.configure("WARNING")
    settings = get_settings()
    if args.command == "url":
        print(settings.database_url or embedded_url(settings.data_dir, keep_running=True))
        return 0
    applied = asyncio.run(_cli_migrate(settings))
    print("\n".join(f"applied {v}" for v in applied) if applied else "schema up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
