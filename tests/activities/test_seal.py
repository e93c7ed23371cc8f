"""Seals of the chain heads (activities/seal.py) and the access log's chain (migration 0010),
without Temporal: a local `openssl ts` authority, the app role's pool."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest

import db
import db_server
from activities import seal as seal_module
from activities.archive_anchor import check_access_log
from activities.seal import seal
from activities.seal_check import load_roots, load_seals
from tests.fixtures_pg import fresh_database, owner_url, pg_settings
from tests.tsa import local_tsa


async def log_read(pool: asyncpg.Pool, number: str = "TS-1") -> None:
    await pool.execute("INSERT INTO access_log (actor_id, actor_role, number, what) "
                       "VALUES ('auditor-01', 'auditor', $1, 'archive')", number)


async def add_archive(pool: asyncpg.Pool, number: str) -> None:
    await pool.execute("INSERT INTO archives (number, document, canonical, sha256) "
                       "VALUES ($1, '{}', '{}', md5($1))", number)


async def test_seals_cover_new_archives_in_rounds_and_check_against_their_authority(
    pg_pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seal_module, "MAX_ENTRIES", 2)
    for n in ("A-1", "A-2", "A-3"):
        await add_archive(pg_pool, n)
    await log_read(pg_pool)
    copies = tmp_path / "seals"
    with local_tsa(tmp_path / "tsa") as tsa, local_tsa(tmp_path / "other") as other:
        first = await seal(pg_pool, tsa.url, copies)
        second = await seal(pg_pool, tsa.url, copies)
        assert (first.sealed, second.sealed) == (True, True)
        assert second.archive_id is not None and first.archive_id is not None
        assert second.archive_id > first.archive_id  # a backlog over two rounds
        assert (await seal(pg_pool, tsa.url, copies)).sealed is False  # nothing new
        index = await load_seals(pg_pool, copies, load_roots(tsa.roots_file))
        assert index.problems == [] and index.valid == 2 and index.signature_checked
        assert {v[0] for v in index.archives.values()} >= {"A-1", "A-2", "A-3"}
        # The one seal that lists an archive is found by binary search over the copies.
        covering = await load_seals(pg_pool, copies, load_roots(tsa.roots_file),
                                    covering=second.archive_id)
        assert set(covering.archives) == {second.archive_id} and covering.problems == []
        # Another authority's certificate does not vouch for these tokens.
        wrong = await load_seals(pg_pool, copies, load_roots(other.roots_file))
        assert wrong.valid == 0 and all("signature" in p for p in wrong.problems)
    # A copy altered (or a message edited in PostgreSQL) no longer matches its token.
    path = copies / f"seal-{first.seal_id:08d}.json"
    path.write_text(path.read_text().replace('"A-1"', '"A-9"').replace('\\"A-1\\"', '\\"A-9\\"'))
    index = await load_seals(pg_pool, copies, load_roots(tmp_path / "tsa" / "ca.pem"))
    assert any(p.startswith(f"seal {first.seal_id}: the row in PostgreSQL differs") for p in index.problems)
    assert any("covers another message" in p for p in index.problems)
    shutil.rmtree(copies)


async def test_access_log_rows_before_the_chain_join_it(pg_admin_url: str, tmp_path: Path) -> None:
    """Migration 0010 chains the rows written before it, in id order."""
    before = tmp_path / "before"
    before.mkdir()
    for version, path in db.migration_files():
        if version < "0010":
            shutil.copy(path, before / path.name)
    async with fresh_database(pg_admin_url, migrated=False) as url:
        conn = await asyncpg.connect(owner_url(url))
        try:
            await db.migrate(conn, directory=before)
            for i in range(3):
                await conn.execute("INSERT INTO access_log (actor_id, actor_role, number, what) "
                                   "VALUES ($1, 'auditor', 'TS-1', 'archive')", f"auditor-0{i}")
            await db.migrate(conn, app_role=db_server.APP_ROLE)
        finally:
            await conn.close()
        pool = await db.create_pool(pg_settings(url))
        try:
            await log_read(pool)
            check = await check_access_log(pool)
            assert check == {"rows": 4, "ok": True, "failures": 0, "problems": [], "sealed_heads": 0}
        finally:
            await pool.close()
